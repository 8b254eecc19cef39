"""The API starts without a model and picks one up by itself once it is promoted. (MLflow going down
under load, a restart from the disk cache and the recovery: tests/ops/test_faults.py.)"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from ml.registry import Registry
from tests.api.conftest import Api

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
