"""As the blueprint wires it: the MLflow image creates the console's and the API's users on start
(scripts/mlflow_users.py from its entrypoint), the API serves with its own user, and the console's
user, read-only, is refused a write; neither service holds the admin password."""

from __future__ import annotations

import re
import time

import httpx
import pytest
import streamlit as st
import yaml

from app.auth import login_required
from app.settings import get_settings
from tests.deploy.deploy_helpers import REPO, LocalBlueprint, blueprint_service
from tests.images.containers import Container


def _as(service_env: dict[str, str], url: str) -> httpx.Client:
    auth = (service_env["MLFLOW_TRACKING_USERNAME"], service_env["MLFLOW_TRACKING_PASSWORD"])
    return httpx.Client(base_url=url, auth=auth, timeout=30)


def test_only_mlflow_holds_the_admin_password() -> None:
    for service in ("api", "app"):
        env = {var["key"]: var for var in blueprint_service(service)["envVars"]}
        assert env["MLFLOW_TRACKING_USERNAME"]["value"] != "admin"
        assert env["MLFLOW_TRACKING_PASSWORD"]["fromService"]["envVarKey"] != "MLFLOW_AUTH_ADMIN_PASSWORD"


def test_the_blueprint_turns_access_on() -> None:
    """On a public URL: /metrics behind a generated token, the console behind sign-in and acting for
    each person with the API's JWT secret, never with a key of its own (it would act as that key)."""
    api = {var["key"]: var for var in blueprint_service("api")["envVars"]}
    app = {var["key"]: var for var in blueprint_service("app")["envVars"]}
    assert api["METRICS_TOKEN"].get("generateValue") is True
    assert api["JWT_SECRET"].get("generateValue") is True
    assert app["CONSOLE_LOGIN"]["value"] == "required"
    assert app["CONSOLE_USERS"] == {"key": "CONSOLE_USERS", "sync": False}
    for shared in ("JWT_SECRET", "METRICS_TOKEN"):
        assert app[shared]["fromService"] == {
            "type": "web",
            "name": "credit-scoring-api",
            "envVarKey": shared,
        }
    assert not {"API_KEY", "API_KEYS", "ADMIN_API_KEYS"} & set(app)


def _unset(value: object) -> str:
    """What compose makes of a value when no variable is set: `${X:-default}` -> `default`."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(value))


def test_docker_compose_gives_a_console_for_this_machine_only(monkeypatch) -> None:
    """`docker compose up` with nothing set: the console listens on 0.0.0.0 in its container, where
    sign-in `auto` is required, with no user configured: nobody could use it. It is open instead,
    as the lead with a warning, so it is published on the loopback address only."""
    app = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["app"]
    for key, value in app["environment"].items():
        monkeypatch.setenv(key, _unset(value))
    address = re.search(r"--server.address (\S+)", (REPO / "Dockerfile.app").read_text())
    assert address is not None
    previous = st.get_option("server.address")
    st.config.set_option("server.address", address.group(1))
    try:
        assert not login_required(get_settings())
    finally:
        st.config.set_option("server.address", previous)
    assert [str(port).split(":")[0] for port in app["ports"]] == ["127.0.0.1"]


@pytest.mark.images
@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_the_images_create_least_privilege_users(
    mlflow_container: Container, api_container: Container, blueprint: LocalBlueprint
) -> None:
    console_env = blueprint.env("app", {})
    with _as(console_env, mlflow_container.url) as console:
        deadline = time.monotonic() + 60
        while (
            found := console.get("/api/2.0/mlflow/registered-models/get", params={"name": "credit-scoring"})
        ).status_code == 401:
            assert time.monotonic() < deadline, "the console's MLflow user was not created"
            time.sleep(1)
        assert found.status_code == 200
        body = {"name": "credit-scoring", "alias": "champion", "version": "1"}
        assert console.post("/api/2.0/mlflow/registered-models/alias", json=body).status_code == 403
    health = httpx.get(api_container.url + "/health", timeout=10).json()
    assert health["model_loaded"] and health["mlflow_reachable"], health
