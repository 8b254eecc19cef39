"""The API keeps serving without MLflow, starts without a model, and recovers by itself."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import httpx
import pytest

from ml.registry import Registry
from tests.api.conftest import Api
from tests.servers import BIN, ROOT, free_port, start_mlflow

pytestmark = pytest.mark.slow


def _wait_for(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


def _health(api: Api) -> httpx.Response:
    with api.client(key=None) as client:
        return client.get("/health")


def _predict(api: Api, record: dict) -> httpx.Response:
    with api.client() as client:
        return client.post("/predict", json={"features": record})


def _train_into(tracking_uri: str, model_name: str) -> None:
    """Train and register version 1 in another process: training sets MLflow's process-wide tracking
    URI, which must not point the rest of the session at a server this test stops."""
    subprocess.run(
        [
            str(BIN / "python"),
            "-m",
            "ml",
            "--tracking-uri",
            tracking_uri,
            "--model-name",
            model_name,
            "train",
            "--rows",
            "5000",
            "--seed",
            "5",
            "--register",
            "--quiet",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=600,
    )
    Registry(model_name, tracking_uri).client.set_registered_model_alias(model_name, "champion", "1")


def test_mlflow_down_keeps_serving_and_recovers(tmp_path, start_api, example_record) -> None:
    port = free_port()
    store = tmp_path / "private-mlflow"
    mlflow = start_mlflow(store, port=port)
    try:
        _train_into(mlflow.url, "private-model")

        api = start_api(
            mlflow.url,
            model_name="private-model",
            model_poll_interval_s=1,
            health_cache_s=0.5,
            mlflow_timeout_s=1,
        )
        assert _health(api).json()["status"] == "healthy"
        assert _predict(api, example_record).status_code == 200

        mlflow.stop()
        _wait_for(lambda: _health(api).json()["status"] == "degraded", 15, "/health degraded")
        down = _health(api)
        assert down.status_code == 200 and not down.json()["mlflow_reachable"] and down.json()["model_loaded"]
        for _ in range(20):
            assert _predict(api, example_record).status_code == 200

        # A restart while MLflow is down serves the copy cached on disk.
        api.server.stop()
        restarted = start_api(
            mlflow.url,
            workdir=api.cache_dir.parent,
            model_name="private-model",
            model_poll_interval_s=1,
            health_cache_s=0.5,
            mlflow_timeout_s=1,
        )
        health = _health(restarted).json()
        assert health["status"] == "degraded" and health["model_version"] == "1"
        assert _predict(restarted, example_record).json()["model_version"] == "1"
        with restarted.client() as client:
            assert client.get("/model").json()["source"] == "cache"

        mlflow = start_mlflow(store, port=port)  # same port, same store
        _wait_for(lambda: _health(restarted).json()["status"] == "healthy", 15, "/health healthy again")
        assert _predict(restarted, example_record).status_code == 200
    finally:
        mlflow.stop()


def test_start_without_a_model_then_one_appears(
    model_name: str, mlflow_server, trained_run, params, start_api, example_record
) -> None:
    api = start_api(mlflow_server.url, accept=(503,), model_name=model_name, model_poll_interval_s=1)
    health = _health(api)
    assert health.status_code == 503
    assert health.json()["status"] == "unavailable" and not health.json()["model_loaded"]
    refused = _predict(api, example_record)
    assert refused.status_code == 503 and "no model loaded" in refused.json()["detail"]
    assert refused.headers["retry-after"]

    registry = Registry(model_name, mlflow_server.url, params.gate)
    version = registry.register(trained_run.model_uri, trained_run.run_id)
    registry.promote(version, "champion", "first model", who="pytest")
    _wait_for(lambda: _health(api).status_code == 200, 10, "the model to be picked up")
    assert _predict(api, example_record).json()["model_version"] == version
