"""Each image, run as a container with PORT set and the blueprint's environment (the session's
containers of tests/images/fixtures.py), answers 200 on the health path render.yaml gives Render;
MLflow's auth and allowed hosts are the blueprint's."""

from __future__ import annotations

import httpx
import pytest

from tests.deploy.deploy_helpers import blueprint_service
from tests.images.containers import Container
from tests.images.fixtures import Versions

# The first test to ask for a container builds the images: the image tests' marks and time limit.
pytestmark = [pytest.mark.images, pytest.mark.slow, pytest.mark.timeout(1800)]

SEARCH = "/api/2.0/mlflow/experiments/search?max_results=1"


def health(service: str, container: Container) -> httpx.Response:
    return httpx.get(container.url + blueprint_service(service)["healthCheckPath"], timeout=30)


def test_mlflow_cmd_answers_its_health_path(mlflow_container: Container) -> None:
    response = health("mlflow", mlflow_container)
    assert response.status_code == 200, response.text


def test_mlflow_cmd_accepts_render_host_names_only(mlflow_container: Container) -> None:
    auth = ("admin", mlflow_container.env["MLFLOW_AUTH_ADMIN_PASSWORD"])
    onrender = httpx.get(
        mlflow_container.url + SEARCH, headers={"Host": "credit-scoring-mlflow.onrender.com"}, auth=auth
    )
    assert onrender.status_code == 200, onrender.text
    foreign = httpx.get(mlflow_container.url + SEARCH, headers={"Host": "attacker.example"}, auth=auth)
    assert foreign.status_code == 403


def test_mlflow_cmd_enforces_basic_auth_from_the_blueprint(mlflow_container: Container) -> None:
    assert httpx.get(mlflow_container.url + SEARCH).status_code == 401
    wrong = httpx.get(mlflow_container.url + SEARCH, auth=("admin", "not-the-password"))
    assert wrong.status_code == 401
    password = mlflow_container.env["MLFLOW_AUTH_ADMIN_PASSWORD"]
    right = httpx.get(mlflow_container.url + SEARCH, auth=("admin", password))
    assert right.status_code == 200, right.text


def test_api_answers_its_health_path_with_the_champion_the_blueprints_admin_reads(
    mlflow_container: Container, api_container: Container, versions: Versions
) -> None:
    """The champion (registered as the blueprint's admin) is what the API serves with the password it
    gets through fromService. Compared with the alias, not a version: tests/images moves it."""
    password = mlflow_container.env["MLFLOW_AUTH_ADMIN_PASSWORD"]
    alias = httpx.get(
        mlflow_container.url + "/api/2.0/mlflow/registered-models/alias",
        params={"name": "credit-scoring", "alias": "champion"},
        auth=("admin", password),
    )
    assert alias.status_code == 200, alias.text
    champion = alias.json()["model_version"]["version"]
    assert champion in (versions.champion, versions.challenger)
    response = health("api", api_container)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_loaded"] is True and str(body["model_version"]) == champion, body


def test_app_cmd_answers_its_health_path(app_container: Container) -> None:
    response = health("app", app_container)
    assert response.status_code == 200, response.text
