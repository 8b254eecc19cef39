"""Registry against a real MLflow server (SQLite store, and PostgreSQL store with TEST_DATABASE_URL)."""

from dataclasses import dataclass

import pytest

from ml.config import GateParams
from ml.data import Dataset
from ml.registry import GateRefusedError, Registry, RegistryError
from ml.train import TrainResult, train_model
from tests.servers import Server
from tests.utils import make_settings


@dataclass
class Backend:
    server: Server
    good: TrainResult
    weak: TrainResult


@pytest.fixture(scope="session")
def postgres_backend(mlflow_server_postgres, small_dataset, params):
    settings = make_settings(mlflow_server_postgres.url)
    frame = small_dataset.frame.copy()
    frame["TARGET"] = frame["TARGET"].sample(frac=1.0, random_state=3).to_numpy()
    weak = train_model(Dataset(frame, "TARGET", "SK_ID_CURR", "shuffled", "x"), params, settings, quiet=True)
    return Backend(mlflow_server_postgres, train_model(small_dataset, params, settings, quiet=True), weak)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request) -> Backend:
    if request.param == "postgres":
        return request.getfixturevalue("postgres_backend")
    return Backend(*(request.getfixturevalue(name) for name in ("mlflow_server", "trained_run", "weak_run")))


def make_registry(backend: Backend, name: str, gate: GateParams | None = None) -> Registry:
    return Registry(name, backend.server.url, gate or GateParams(min_auc=0.70, max_auc_drop=0.01))


def register(registry: Registry, run: TrainResult) -> str:
    return registry.register(run.model_uri, run.run_id)


def test_promote_list_history_and_rollback(backend, model_name):
    registry = make_registry(backend, model_name)
    v1, v2 = register(registry, backend.good), register(registry, backend.good)
    assert (v1, v2) == ("1", "2")
    registry.promote(v1, "champion", "first model", who="alice")
    event, verdict = registry.promote(v2, "champion", "retrained", who="bob")
    assert verdict.passed and verdict.champion_version == "1"
    assert (event.previous, event.version, event.who, event.why) == ("1", "2", "bob", "retrained")

    versions = {v.version: v for v in registry.list_versions()}
    assert versions["2"].aliases == ["champion"] and versions["1"].aliases == []
    assert versions["2"].metrics["test_roc_auc"] == backend.good.metrics["test_roc_auc"]
    assert versions["2"].tags["champion_by"] == "bob"

    rolled = registry.rollback("v2 misbehaves", who="carol")
    assert (rolled.action, rolled.version, rolled.previous) == ("rollback", "1", "2")
    assert registry.version_for("champion") == "1"
    with pytest.raises(RegistryError, match="no previous champion"):
        registry.rollback("again")

    history = registry.history()
    assert [(e.action, e.version, e.who) for e in history] == [
        ("promote", "1", "alice"),
        ("promote", "2", "bob"),
        ("rollback", "1", "carol"),
    ]
    assert all(e.when for e in history)


def test_rollback_walks_back_through_several_champions(backend, model_name):
    registry = make_registry(backend, model_name)
    versions = [register(registry, backend.good) for _ in range(3)]
    for version in versions:
        registry.promote(version, "champion", f"promote {version}")
    assert registry.rollback("r1").version == "2"
    assert registry.rollback("r2").version == "1"
    assert registry.version_for("champion") == "1"


def test_gate_refuses_a_weak_model_and_changes_nothing(backend, model_name):
    registry = make_registry(backend, model_name)
    good, weak = register(registry, backend.good), register(registry, backend.weak)
    registry.promote(good, "champion", "baseline")
    before_history, before_aliases = registry.history(), registry.aliases()
    with pytest.raises(GateRefusedError) as refused:
        registry.promote(weak, "champion", "try the weak one")
    assert "below the minimum 0.7000" in str(refused.value)
    assert not refused.value.verdict.passed
    assert registry.history() == before_history and registry.aliases() == before_aliases
    with pytest.raises(RegistryError, match="needs a reason"):
        registry.promote(weak, "champion", "", force=True)
    event, verdict = registry.promote(weak, "champion", "incident drill", force=True)
    assert event.forced and not verdict.passed and registry.version_for("champion") == weak


def test_gate_refuses_a_drop_against_the_champion(backend, model_name):
    registry = make_registry(backend, model_name, GateParams(min_auc=0.0, max_auc_drop=0.01))
    good, weak = register(registry, backend.good), register(registry, backend.weak)
    registry.promote(good, "champion", "baseline")
    verdict = registry.check_gate(weak)
    assert not verdict.passed and "worse than champion v1" in verdict.reasons[0]


def test_challenger_and_archive(backend, model_name):
    registry = make_registry(backend, model_name)
    v1, v2 = register(registry, backend.good), register(registry, backend.weak)
    registry.promote(v1, "champion", "baseline")
    _, verdict = registry.promote(v2, "challenger", "shadow it")
    assert verdict is None and registry.version_for("challenger") == v2
    with pytest.raises(RegistryError, match="is the champion"):
        registry.archive(v1)
    registry.archive(v2, "not good enough")
    assert registry.version_for("challenger") is None
    with pytest.raises(RegistryError, match="archived"):
        registry.promote(v2, "challenger")
    with pytest.raises(RegistryError, match="no version 99"):
        registry.promote("99")
    with pytest.raises(RegistryError, match="unknown alias"):
        registry.promote(v1, "production")
