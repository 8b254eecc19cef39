"""Promotion, rollback and the quality gate through the API, on a registered model of the test's own.

Also: an alias moved behind the API's back reaches it by polling, without a reload or a restart.
"""

from __future__ import annotations

import time

import pytest

from ml.registry import Registry
from tests.api.conftest import ADMIN_KEY, Api

pytestmark = pytest.mark.slow


def _served_version(api: Api, record: dict) -> str:
    with api.client() as client:
        response = client.post("/predict", json={"features": record})
    assert response.status_code == 200, response.text
    return response.json()["model_version"]


def test_promote_refuse_rollback_and_poll(
    own_registry: Registry, trained_run, weak_run, mlflow_server, start_api, example_record
) -> None:
    second = own_registry.register(trained_run.model_uri, trained_run.run_id)
    weak = own_registry.register(weak_run.model_uri, weak_run.run_id)
    api = start_api(mlflow_server.url, model_name=own_registry.name, model_poll_interval_s=1)
    assert _served_version(api, example_record) == "1"

    with api.client(ADMIN_KEY) as admin:
        promoted = admin.post(f"/models/{second}/promote", json={"reason": "same data, retrained"})
        assert promoted.status_code == 200, promoted.text
        body = promoted.json()
        assert body["served_version"] == second and body["verdict"]["passed"]
        assert body["event"]["who"].startswith("admin-key-") and ADMIN_KEY not in promoted.text
        assert _served_version(api, example_record) == second

        refused = admin.post(f"/models/{weak}/promote", json={"reason": "try the shuffled one"})
        assert refused.status_code == 409, refused.text
        verdict = refused.json()["verdict"]
        assert not verdict["passed"] and verdict["reasons"] and verdict["candidate_auc"] < 0.7
        assert own_registry.version_for("champion") == second  # registry unchanged
        assert _served_version(api, example_record) == second

        missing = admin.post("/models/99/promote", json={"reason": "no such version"})
        assert missing.status_code == 404, missing.text
        no_reason = admin.post(f"/models/{weak}/promote", json={"reason": ""})
        assert no_reason.status_code == 422

        rolled = admin.post("/models/rollback", json={"reason": "back to v1"})
        assert rolled.status_code == 200, rolled.text
        assert rolled.json()["served_version"] == "1" and rolled.json()["event"]["action"] == "rollback"
        assert _served_version(api, example_record) == "1"

        history = admin.get("/models").json()["history"]
        assert [event["action"] for event in history][-2:] == ["promote", "rollback"]
        assert all(ADMIN_KEY not in event["who"] for event in history)

    # Another replica (or the CLI) moves the alias: the API follows by polling, no reload.
    own_registry.promote(second, "champion", "moved by the CLI", who="pytest")
    deadline = time.monotonic() + 15
    while _served_version(api, example_record) != second:
        assert time.monotonic() < deadline, "the alias move did not reach the API by polling"
        time.sleep(0.3)
    assert ADMIN_KEY not in api.log()


def test_registry_actions_are_refused_when_no_admin_key_is_set(
    own_registry: Registry, mlflow_server, start_api
) -> None:
    api = start_api(mlflow_server.url, model_name=own_registry.name, admin_api_keys="")
    with api.client() as client:
        response = client.post("/models/rollback", json={"reason": "x"})
    assert response.status_code == 403 and "ADMIN_API_KEYS" in response.text


def test_open_mode_when_no_key_is_set(
    own_registry: Registry, mlflow_server, start_api, example_record
) -> None:
    api = start_api(mlflow_server.url, model_name=own_registry.name, api_keys="", admin_api_keys="")
    with api.client(key=None) as client:
        assert client.post("/predict", json={"features": example_record}).status_code == 200
        assert client.post("/model/reload").status_code == 200
    assert "open access" in api.log()
