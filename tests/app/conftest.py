"""Fixtures for the console tests: a real scoring API (uvicorn) on the session's MLflow and champion,
a second API on a throw-away registered model for registry actions, and a stopped API.

Pages run in Streamlit's AppTest in this process; the console reads its settings from the
environment, so each test points it at its servers with monkeypatch.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from ml.registry import Registry
from tests.servers import API_ENV, ROOT, Server, api_command, free_port, start_process
from tests.utils import Champion, start_console

APP_DIR = ROOT / "app"
PAGES = {
    "overview": APP_DIR / "Home.py",
    "score": APP_DIR / "pages" / "1_Score_a_client.py",
    "batch": APP_DIR / "pages" / "2_Batch_scoring.py",
    "drift": APP_DIR / "pages" / "3_Data_drift.py",
    "experiments": APP_DIR / "pages" / "4_Experiments.py",
    "registry": APP_DIR / "pages" / "5_Model_registry.py",
    "performance": APP_DIR / "pages" / "6_Performance.py",
    "fairness": APP_DIR / "pages" / "7_Fairness.py",
    "challenger": APP_DIR / "pages" / "8_Champion_vs_challenger.py",
}
TRAINING_EXPERIMENT = "tests"  # where tests/conftest.py logs its training runs


def start_api(
    workdir: Path, tracking_uri: str, model_name: str, extra_env: dict[str, str] | None = None
) -> Server:
    """A real API process (`python -m api`) on a free port, serving `model_name`'s champion."""
    if not (ROOT / "api" / "main.py").exists():
        pytest.skip("the scoring API (api/main.py) is not in this tree")
    port = free_port()
    env = {
        **API_ENV,
        "MLFLOW_TRACKING_URI": tracking_uri,
        "MODEL_NAME": model_name,
        "DATABASE_URL": f"sqlite:///{workdir / 'inference_log.db'}",
        "MODEL_POLL_INTERVAL_S": "1",
        "MODEL_CACHE_DIR": str(workdir / "model-cache"),
        **(extra_env or {}),
    }
    return start_process(
        api_command(port), f"http://127.0.0.1:{port}", workdir / "api.log", env=env, timeout_s=120
    )


@pytest.fixture(scope="session")
def api_server(champion: Champion, tmp_path_factory) -> Iterator[Server]:
    server = start_api(tmp_path_factory.mktemp("console-api"), champion.tracking_uri, champion.name)
    yield server
    server.stop()


@pytest.fixture
def console_server(api_server: Server, champion: Champion, tmp_path) -> Iterator[Server]:
    """The console as a real Streamlit process (`streamlit run app/Home.py`) on the session's API and
    MLflow, for the browser tests."""
    env = {"API_URL": api_server.url, "MLFLOW_TRACKING_URI": champion.tracking_uri}
    server = start_console(env, tmp_path / "streamlit.log")
    yield server
    server.stop()


@dataclass(frozen=True)
class RegistryApi:
    """An API serving a model of its own (versions 1 and 2 of the same run, v1 champion)."""

    server: Server
    model_name: str
    jwt_secret: str  # shared with the console, which signs its operator's calls with it


@pytest.fixture
def registry_api(champion: Champion, model_name: str, tmp_path) -> Iterator[RegistryApi]:
    registry = Registry(model_name, champion.tracking_uri)
    first = registry.register(champion.run.model_uri, champion.run.run_id)
    registry.register(champion.run.model_uri, champion.run.run_id)
    registry.promote(first, "champion", "console test setup", who="pytest")
    jwt_secret = "console-test-jwt-secret-0123456789abcdef"
    server = start_api(tmp_path, champion.tracking_uri, model_name, {"JWT_SECRET": jwt_secret})
    yield RegistryApi(server, model_name, jwt_secret)
    server.stop()


@pytest.fixture(scope="session")
def stopped_api_url(champion: Champion, tmp_path_factory) -> str:
    """The URL of an API that was started and then stopped."""
    server = start_api(tmp_path_factory.mktemp("stopped-api"), champion.tracking_uri, champion.name)
    server.stop()
    return server.url


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """Pages cache reads process-wide; every test starts from the servers' present state."""
    st.cache_data.clear()
    yield
    st.cache_data.clear()


@pytest.fixture
def mlflow_env(monkeypatch, champion: Champion) -> Champion:
    """Point the console at the session's MLflow (pages that only read runs)."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", champion.tracking_uri)
    monkeypatch.setenv("EXPERIMENT_NAME", TRAINING_EXPERIMENT)
    return champion


@pytest.fixture
def console_env(monkeypatch, mlflow_env: Champion, api_server: Server) -> Server:
    """Point the console at the session's API and MLflow."""
    monkeypatch.setenv("API_URL", api_server.url)
    return api_server


def run_page(page: str, timeout_s: float = 60) -> AppTest:
    """Load and run one page of the console once."""
    app = AppTest.from_file(str(PAGES[page]), default_timeout=timeout_s)
    return app.run()


def texts(app: AppTest) -> str:
    """Every message the page shows (errors, warnings, successes, infos, markdown), as one string."""
    parts = [*app.error, *app.warning, *app.success, *app.info, *app.markdown, *app.caption]
    return "\n".join(str(part.value) for part in parts)


def button(app: AppTest, label: str):
    return next(b for b in app.button if b.label == label)


@pytest.fixture(scope="session")
def champion_report(champion: Champion, params) -> str:
    """The session champion's validation report, logged to its run as registration does."""
    from ml.validation_report import log_report

    return log_report(Registry(champion.name, champion.tracking_uri, params.gate), champion.version, params)
