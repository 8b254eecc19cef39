"""Fixtures of the drift tests: CSV batches (clean and drifted), a params file, settings and CLI
arguments that point at the session's MLflow server and champion."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from ml.config import Params, Settings
from ml.drift.batches import make_production_batch
from ml.generate import generate_applications

BATCH_ROWS = 3_000
CLEAN_SEED, DRIFTED_SEED = 101, 102
SHIFTED = {"AMT_INCOME_TOTAL", "AMT_CREDIT", "EXT_SOURCE_1", "EXT_SOURCE_2", "EXT_SOURCE_3"}
MONITORING_EXPERIMENT = "tests-drift"


@dataclass(frozen=True)
class Batches:
    clean: Path
    drifted: Path


@pytest.fixture(scope="session")
def batches(tmp_path_factory) -> Batches:
    """Labelled CSV batches: fresh rows like the training data, and the ML core's drifted batch."""
    directory = tmp_path_factory.mktemp("batches")
    clean, drifted = directory / "clean.csv", directory / "drifted.csv"
    generate_applications(BATCH_ROWS, CLEAN_SEED).to_csv(clean, index=False)
    make_production_batch(generate_applications(BATCH_ROWS, DRIFTED_SEED)).to_csv(drifted, index=False)
    return Batches(clean, drifted)


def write_params(params: Params, path: Path, **drift: object) -> Path:
    data = params.model_dump()
    data["drift"].update(drift)
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="session")
def params_file(params: Params, tmp_path_factory) -> Path:
    return write_params(params, tmp_path_factory.mktemp("params") / "params.yaml")


def drift_settings(tracking_uri: str, model_name: str) -> Settings:
    return Settings(
        mlflow_tracking_uri=tracking_uri,
        model_name=model_name,
        experiment_name="tests",
        monitoring_experiment_name=MONITORING_EXPERIMENT,
    )


@pytest.fixture(scope="session")
def cli_base(champion, params_file: Path) -> list[str]:
    """Global CLI options for the session's champion (tests add the command and its options)."""
    return [
        "--params",
        str(params_file),
        "--tracking-uri",
        champion.tracking_uri,
        "--model-name",
        champion.name,
    ]


@pytest.fixture(autouse=True)
def _monitoring_experiment(monkeypatch) -> Iterator[None]:
    """The CLI reads the monitoring experiment from the environment: keep test runs in their own."""
    from ml.config import get_settings

    monkeypatch.setenv("MONITORING_EXPERIMENT_NAME", MONITORING_EXPERIMENT)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
