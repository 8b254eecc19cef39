"""Each image's CMD, run as a local process with PORT set and the blueprint's environment,
answers 200 on the health path render.yaml gives Render."""

from __future__ import annotations

import httpx
import pytest

from tests.deploy.deploy_helpers import Started, blueprint_service

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

SEARCH = "/api/2.0/mlflow/experiments/search?max_results=1"


def health(service: str, started: Started) -> httpx.Response:
    return httpx.get(started.url + blueprint_service(service)["healthCheckPath"], timeout=30)


def test_mlflow_cmd_answers_its_health_path(mlflow_from_image: Started) -> None:
    response = health("mlflow", mlflow_from_image)
    assert response.status_code == 200, response.text


def test_mlflow_cmd_accepts_render_host_names_only(mlflow_from_image: Started) -> None:
    auth = ("admin", mlflow_from_image.env["MLFLOW_AUTH_ADMIN_PASSWORD"])
    onrender = httpx.get(
        mlflow_from_image.url + SEARCH, headers={"Host": "credit-scoring-mlflow.onrender.com"}, auth=auth
    )
    assert onrender.status_code == 200, onrender.text
    foreign = httpx.get(mlflow_from_image.url + SEARCH, headers={"Host": "attacker.example"}, auth=auth)
    assert foreign.status_code == 403


def test_mlflow_cmd_enforces_basic_auth_from_the_blueprint(mlflow_from_image: Started) -> None:
    assert httpx.get(mlflow_from_image.url + SEARCH).status_code == 401
    wrong = httpx.get(mlflow_from_image.url + SEARCH, auth=("admin", "not-the-password"))
    assert wrong.status_code == 401
    password = mlflow_from_image.env["MLFLOW_AUTH_ADMIN_PASSWORD"]
    right = httpx.get(mlflow_from_image.url + SEARCH, auth=("admin", password))
    assert right.status_code == 200, right.text


def test_mlflow_cmd_registers_a_champion_for_the_blueprints_admin(
    mlflow_from_image: Started, image_champion: str
) -> None:
    """What the API does with the password it gets through fromService: read the champion."""
    password = mlflow_from_image.env["MLFLOW_AUTH_ADMIN_PASSWORD"]
    alias = httpx.get(
        mlflow_from_image.url + "/api/2.0/mlflow/registered-models/alias",
        params={"name": "credit-scoring", "alias": "champion"},
        auth=("admin", password),
    )
    assert alias.status_code == 200, alias.text
    assert alias.json()["model_version"]["version"] == image_champion


def test_api_cmd_answers_its_health_path_with_the_champion(
    api_from_image: Started, image_champion: str
) -> None:
    response = health("api", api_from_image)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_loaded"] is True and str(body["model_version"]) == image_champion, body


def test_app_cmd_answers_its_health_path(app_from_image: Started) -> None:
    response = health("app", app_from_image)
    assert response.status_code == 200, response.text
