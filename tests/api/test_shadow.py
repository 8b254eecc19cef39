"""Shadow scoring (api/shadow.py): a real API process serving a champion while the challenger (trained
on a shuffled target, so its scores differ) scores every accepted row off the request path; both log
backends; the challenger leaves shadowing when promoted; a challenger that raises changes no answer."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sklearn.metrics import roc_auc_score

from api.auth import API_KEY_HEADER
from api.core.config import ApiSettings
from api.main import create_app
from api.model_holder import LoadedModel
from ml.cli import main as cli_main
from ml.data import Dataset
from ml.features import FeatureBuilder
from ml.outcomes import import_outcomes, json_chunks
from ml.registry import GateRefusedError, Registry
from ml.scoring import ScoringModel
from ml.shadow_log import shadow_engine
from tests.api.conftest import ADMIN_KEY, Api
from tests.servers import create_postgres_database, drop_postgres_database
from tests.utils import load_registered_model


def _records(dataset: Dataset, n: int) -> list[dict[str, Any]]:
    frame = dataset.frame.drop(columns=[dataset.target]).head(n)
    return [{k: v if v == v else None for k, v in row.items()} for row in frame.to_dict("records")]


def _pairs(database_url: str, expected: int) -> list[sa.Row[Any]]:
    """Logged decisions left-joined with their shadow score, once `expected` shadow rows are stored."""
    engine = shadow_engine(database_url)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            counts = [
                connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("inference_log", "shadow_scores")
            ]
        if min(counts) >= expected:
            break
        time.sleep(0.2)
    with engine.connect() as connection:
        return list(
            connection.execute(
                sa.text(
                    'SELECT l.request_id, l."row", l.model_version, s.model_version, s.probability, '
                    "l.features, l.probability FROM inference_log l LEFT JOIN shadow_scores s ON s.request_id = l.request_id "
                    'AND s."row" = l."row" ORDER BY l.id'
                )
            ).all()
        )


@pytest.fixture(params=["sqlite", "postgresql"])
def log_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty inference log on each backend (a database of its own on PostgreSQL)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shadow-log.db'}"
        return
    admin_url: str = request.getfixturevalue("postgres_url")
    url, name = create_postgres_database(admin_url)
    yield url
    shadow_engine.cache_clear()  # its pooled connections would keep the database open
    drop_postgres_database(admin_url, name)


def test_challenger_scores_every_accepted_row_then_leaves_when_promoted(
    own_registry: Registry,
    weak_run: Any,
    mlflow_server: Any,
    small_dataset: Dataset,
    start_api: Callable[..., Api],
    log_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    challenger = own_registry.register(weak_run.model_uri, weak_run.run_id)
    own_registry.promote(challenger, "challenger", "shadow test", who="pytest")
    api = start_api(mlflow_server.url, model_name=own_registry.name, database_url=log_url)
    records = _records(small_dataset, 60)
    with api.client(ADMIN_KEY) as client:
        assert client.get("/health").json()["challenger_version"] == challenger
        assert client.get("/model").json()["challenger"]["version"] == challenger
        singles = [client.post("/predict", json={"features": r}).json() for r in records[:5]]
        batch = client.post("/predict/batch", json=[*records[5:], {"AMT_CREDIT": "lots"}]).json()
        assert batch["scored"] == 55 and batch["rejected"] == 1
        pairs = _pairs(log_url, 60)
        assert len(pairs) == 60 and all(pair[3] == challenger for pair in pairs)
        weak = load_registered_model(mlflow_server.url, own_registry.name, challenger)
        expected = weak.predict_frame(small_dataset.frame.head(60).drop(columns=[small_dataset.target]))
        assert np.allclose([pair[4] for pair in pairs], expected)
        assert [s["probability"] for s in singles] != list(expected[:5])  # the champion answered
        metrics = client.get("/metrics").text
        assert re.search(rf'api_shadow_scores_total{{model_version="{challenger}"}} 60\.0', metrics)

        pair = _check_report(client, log_url, own_registry.name, small_dataset, capsys)

        gate = own_registry.gate.model_copy(deep=True)
        gate.live.enabled = True
        judged = Registry(own_registry.name, mlflow_server.url, gate, log_url)
        n = pair["rows"]
        with pytest.raises(GateRefusedError, match=f"only {n} shadowed decisions; the live gate needs 1000"):
            judged.promote(challenger, "champion", "looks better live", who="pytest")
        refusal = judged.history()[-1]
        assert refusal.action == "refused" and refusal.live and refusal.live["figures"]["rows"] == n
        assert own_registry.version_for("champion") == "1"
        event, verdict = judged.promote(challenger, "champion", "won in shadow", who="pytest", force=True)
        assert event.live and event.live["figures"]["swap_share"] == pytest.approx(pair["swap_share"])
        assert own_registry.version_for("challenger") is None
        client.post("/model/reload").raise_for_status()
        assert client.get("/health").json()["challenger_version"] is None
        client.post("/predict", json={"features": records[0]}).raise_for_status()
        time.sleep(0.5)
        pairs = _pairs(log_url, n)
        assert len(pairs) == n + 1 and pairs[-1][2] == challenger and pairs[-1][3] is None


def _check_report(
    client: httpx.Client, log_url: str, name: str, dataset: Dataset, capsys: pytest.CaptureFixture[str]
) -> dict[str, Any]:
    """GET /challenger/report and `compare-live` against counts made here from the log itself."""
    second = client.post("/predict/batch", json=_records(dataset, 360)[60:]).json()
    n = 60 + second["scored"]
    pairs = _pairs(log_url, n)
    expected = Counter(f"{decision}_{shadow}" for decision, shadow in _decisions(log_url))
    assert sum(expected.values()) == n and len(pairs) == n and n > 300
    rids = {pair[0] for pair in pairs}
    targets = dataset.frame[dataset.target].tolist()  # the second batch's row r is record 60 + r
    truth = [
        targets[60 + p[1] - 1] if p[0] == second["request_id"] else targets[i] for i, p in enumerate(pairs)
    ]
    outcomes = [
        {"request_id": pair[0], "row": pair[1], "defaulted": int(y), "observed_at": date.today().isoformat()}
        for pair, y in zip(pairs, truth, strict=True)
    ]
    assert len(rids) == 7 and import_outcomes(log_url, json_chunks(outcomes), strict=True).stored == n

    report = client.get("/challenger/report", params={"hours": 1}).json()
    pair = report["pairs"][0]
    assert {key: value["count"] for key, value in pair["swap"].items()} == dict(expected)
    assert pair["swap_in"] == expected["refuse_approve"] and pair["swap_out"] == expected["approve_refuse"]
    assert pair["rows"] == n and len(pair["separating_features"]) > 0
    probabilities = np.array([[p[6], p[4]] for p in pairs])
    assert pair["outcomes"]["rows"] == n
    assert pair["outcomes"]["champion_auc"] == pytest.approx(roc_auc_score(truth, probabilities[:, 0]))
    assert pair["outcomes"]["challenger_auc"] == pytest.approx(roc_auc_score(truth, probabilities[:, 1]))

    assert cli_main(["--model-name", name, "compare-live", "--database-url", log_url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["pairs"][0]["swap"] == pair["swap"]
    assert report["gate"]["figures"]["rows"] == n and not report["gate"]["enforced"]
    return dict(pair)


def _decisions(log_url: str) -> list[sa.Row[Any]]:
    with shadow_engine(log_url).connect() as connection:
        return list(
            connection.execute(
                sa.text(
                    "SELECT l.decision, s.decision FROM inference_log l JOIN shadow_scores s "
                    'ON s.request_id = l.request_id AND s."row" = l."row"'
                )
            ).all()
        )


def test_a_failing_challenger_changes_no_answer(
    champion: Any, champion_model: ScoringModel, tmp_path: Path
) -> None:
    """A challenger whose booster does not match its schema raises on every row: answers are unchanged."""
    settings = ApiSettings(
        mlflow_tracking_uri=champion.tracking_uri,
        model_name=champion.name,
        model_cache_dir=tmp_path / "cache",
        database_url=f"sqlite:///{tmp_path / 'log.db'}",
        admin_api_keys=ADMIN_KEY,
        shadow_share=1.0,
    )
    with TestClient(create_app(settings), headers={API_KEY_HEADER: ADMIN_KEY}) as client:
        schema = client.get("/model").json()["feature_schema"]
        records = [
            {spec["name"]: spec["example"] for spec in schema["features"] if spec["example"] is not None}
        ]
        records.append({**records[0], "AMT_CREDIT": 2 * records[0].get("AMT_CREDIT", 1e5)})
        before = client.post("/predict/batch", json=records).json()["results"]
        shadow = client.app.state.shadow  # type: ignore[attr-defined]
        served = client.app.state.holder.current  # type: ignore[attr-defined]
        broken = ScoringModel(champion_model.booster, champion_model.schema, champion_model.meta)
        narrow = champion_model.schema.model_copy(update={"features": champion_model.schema.features[:-3]})
        broken.builder = FeatureBuilder(narrow)  # fewer columns than its booster takes: predict raises
        shadow.holder.current = LoadedModel(
            broken, served.name, "999", "challenger", None, "mlflow", served.loaded_at
        )
        after = client.post("/predict/batch", json=records).json()["results"]
        assert shadow.flush(10)
        assert after == before
        assert shadow.errors == 2 and shadow.scored == 0
        assert 'api_shadow_errors_total{model_version="999"} 2.0' in client.get("/metrics").text


def test_shadow_table_is_added_to_an_existing_log(log_url: str) -> None:
    """A log made before shadow scoring gets the table (and keeps its rows) when first opened."""
    engine = sa.create_engine(log_url.replace("postgresql://", "postgresql+psycopg2://"))
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "CREATE TABLE inference_log (id INTEGER PRIMARY KEY, ts TIMESTAMP NOT NULL, "
                "request_id TEXT, features TEXT NOT NULL)"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO inference_log (id, ts, request_id, features) VALUES (1, '2026-01-01', 'r', '{}')"
            )
        )
    engine.dispose()
    inspector = sa.inspect(shadow_engine(log_url))
    assert inspector.has_table("shadow_scores")
    assert "row" in {column["name"] for column in inspector.get_columns("inference_log")}
    with shadow_engine(log_url).connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM inference_log")).scalar_one() == 1
