"""Session fixtures shared by every test: one real MLflow server and one trained model per session
(helpers live in tests/utils.py).

Registry-changing tests register their own model names, so they never move the shared champion.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ml.config import Params
from ml.data import Dataset, generated_dataset
from ml.registry import Registry
from ml.scoring import ScoringModel
from ml.train import TrainResult, train_model
from tests.servers import Server, create_postgres_database, drop_postgres_database, start_mlflow
from tests.utils import (
    CHAMPION_MODEL_NAME,
    CHROMIUM,
    TEST_ROWS,
    Champion,
    load_registered_model,
    make_settings,
    session_params,
)

# The images and their containers, shared by tests/images and tests/deploy.
pytest_plugins = ["tests.images.fixtures"]


@pytest.fixture(scope="session")
def params() -> Params:
    return session_params()


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory) -> Iterator[Server]:
    server = start_mlflow(tmp_path_factory.mktemp("mlflow"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def small_dataset() -> Dataset:
    return generated_dataset(TEST_ROWS, seed=11)


@pytest.fixture(scope="session")
def trained_run(mlflow_server: Server, small_dataset: Dataset, params: Params) -> TrainResult:
    return train_model(small_dataset, params, make_settings(mlflow_server.url), quiet=True)


@pytest.fixture(scope="session")
def weak_run(mlflow_server: Server, small_dataset: Dataset, params: Params) -> TrainResult:
    """A model trained on a shuffled target (AUC ~0.5): the gate must refuse it."""
    frame = small_dataset.frame.copy()
    frame["TARGET"] = frame["TARGET"].sample(frac=1.0, random_state=3).to_numpy()
    shuffled = Dataset(frame, "TARGET", "SK_ID_CURR", "shuffled", "shuffled")
    return train_model(shuffled, params, make_settings(mlflow_server.url), quiet=True)


@pytest.fixture(scope="session")
def champion(mlflow_server: Server, trained_run: TrainResult, params: Params) -> Champion:
    registry = Registry(CHAMPION_MODEL_NAME, mlflow_server.url, params.gate)
    version = registry.register(trained_run.model_uri, trained_run.run_id)
    registry.promote(version, "champion", "test session champion", who="pytest")
    return Champion(CHAMPION_MODEL_NAME, version, mlflow_server.url, trained_run, mlflow_server)


@pytest.fixture(scope="session")
def champion_model(champion: Champion) -> ScoringModel:
    """The champion loaded in this process, to check the API's numbers and the model's behaviour."""
    return load_registered_model(champion.tracking_uri, champion.name, champion.version)


@pytest.fixture
def model_name() -> str:
    """A registered-model name of its own for a test that changes aliases."""
    return f"test-model-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL variant not run")
    return url


@pytest.fixture(scope="session")
def fresh_postgres_database(postgres_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for the session (dropped afterwards)."""
    url, name = create_postgres_database(postgres_url)
    yield url
    drop_postgres_database(postgres_url, name)


@pytest.fixture(scope="session")
def mlflow_server_postgres(tmp_path_factory, fresh_postgres_database: str) -> Iterator[Server]:
    """A real `mlflow server` whose backend store is PostgreSQL."""
    server = start_mlflow(tmp_path_factory.mktemp("mlflow-pg"), backend_uri=fresh_postgres_database)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium, installed by the test setup itself when missing."""
    if not CHROMIUM.exists():
        script = Path(__file__).with_name("app") / "ensure_chromium.sh"
        result = subprocess.run(["sh", str(script)], capture_output=True, text=True, timeout=900)
        if result.returncode != 0 or not CHROMIUM.exists():
            pytest.skip(f"headless Chromium could not be installed: {result.stderr.strip()[-500:]}")
    return CHROMIUM
