"""API fixtures: real API processes (`python -m api`, as in the image) against the session's real MLflow server.

One shared API (keys on, the session champion) serves most tests; `start_api` starts more, each with
its own environment, inference log and model cache, and stops them when the test ends.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ml.registry import Registry
from tests.servers import API_ENV, Server, api_command, free_port, start_process
from tests.utils import Champion

SCORING_KEY = "scoring-key-3f9a1c77d2"
ADMIN_KEY = "admin-key-b81e44c0a9"


@dataclass
class Api:
    """A running API process and what a test needs to talk to it and inspect it."""

    server: Server
    url: str
    database_url: str
    cache_dir: Path
    env: dict[str, str]

    def client(self, key: str | None = SCORING_KEY, timeout: float = 60) -> httpx.Client:
        headers = {"X-API-Key": key} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def log(self) -> str:
        return self.server.log()


def api_env(tracking_uri: str, workdir: Path, **overrides: Any) -> dict[str, str]:
    env = {
        **API_ENV,
        "MLFLOW_TRACKING_URI": tracking_uri,
        "MODEL_NAME": "credit-scoring",
        "MODEL_ALIAS": "champion",
        "DATABASE_URL": f"sqlite:///{workdir / 'inference_log.db'}",
        "MODEL_CACHE_DIR": str(workdir / "model-cache"),
        "API_KEYS": SCORING_KEY,
        "ADMIN_API_KEYS": ADMIN_KEY,
        "MODEL_POLL_INTERVAL_S": "30",
        "LOG_LEVEL": "INFO",
    }
    env.update({key.upper(): str(value) for key, value in overrides.items()})
    return env


def launch_api(workdir: Path, env: dict[str, str], accept: tuple[int, ...] = (200,)) -> Api:
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{port}"
    server = start_process(api_command(port), url, workdir / "api.log", env=env, accept=accept, timeout_s=60)
    return Api(server, url, env["DATABASE_URL"], Path(env["MODEL_CACHE_DIR"]), env)


@pytest.fixture(scope="session")
def api(champion: Champion, tmp_path_factory) -> Iterator[Api]:
    """The shared API: keys on, serving the session champion."""
    workdir = tmp_path_factory.mktemp("api")
    # Every import the process makes goes to its log (tests/api/test_entry_point.py reads them).
    running = launch_api(workdir, api_env(champion.tracking_uri, workdir, pythonprofileimporttime=1))
    yield running
    running.server.stop()


@pytest.fixture
def start_api(tmp_path) -> Iterator[Callable[..., Api]]:
    """Start more API processes (`start_api(tracking_uri, accept=(200,), **env)`); stopped after the test."""
    started: list[Api] = []

    def start(
        tracking_uri: str, accept: tuple[int, ...] = (200,), workdir: Path | None = None, **env: Any
    ) -> Api:
        directory = workdir or tmp_path / f"api-{len(started)}"
        running = launch_api(directory, api_env(tracking_uri, directory, **env), accept)
        started.append(running)
        return running

    yield start
    for running in started:
        running.server.stop()


@pytest.fixture(scope="session")
def example_record(champion: Champion, api: Api) -> dict[str, Any]:
    """A plausible client: the schema's example value of every feature, plus an id."""
    with api.client() as client:
        schema = client.get("/model").json()["feature_schema"]
    record = {spec["name"]: spec["example"] for spec in schema["features"] if spec["example"] is not None}
    record[schema["id_column"]] = 100002
    return record


@pytest.fixture
def own_registry(model_name: str, trained_run, mlflow_server: Server, params) -> Registry:
    """A registered model of the test's own (version 1 = the trained run, champion), safe to change."""
    registry = Registry(model_name, mlflow_server.url, params.gate)
    version = registry.register(trained_run.model_uri, trained_run.run_id)
    registry.promote(version, "champion", "test setup", who="pytest")
    return registry


def read_json_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return lines
