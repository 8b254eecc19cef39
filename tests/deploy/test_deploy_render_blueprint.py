"""render.yaml is a blueprint Render can apply and that matches this repository: files exist,
references resolve, health paths are real routes, secrets are never written in it, and the
URLs that only exist after creation are left for scripts/render_deploy.py to set."""

from __future__ import annotations

import re

import pytest

from tests.deploy.deploy_helpers import BLUEPRINT_NAMES, REPO, blueprint, blueprint_service

HEALTH_PATHS = {"api": "/health", "mlflow": "/health", "app": "/_stcore/health"}
SECRET_KEY = re.compile(r"(PASSWORD|SECRET|TOKEN|API_KEYS|ACCESS_KEY)")
# Set by scripts/render_deploy.py from each service's public URL (free plan: no private network).
WIRED_BY_DEPLOY_SCRIPT = {"api": {"MLFLOW_TRACKING_URI"}, "app": {"MLFLOW_TRACKING_URI", "API_URL"}}


def test_three_free_docker_web_services_and_one_database() -> None:
    spec = blueprint()
    assert set(spec) <= {"services", "databases", "envVarGroups", "previews", "projects", "version"}
    assert {s["name"] for s in spec["services"]} == set(BLUEPRINT_NAMES.values())
    for service in spec["services"]:
        assert (service["type"], service["runtime"], service["plan"]) == ("web", "docker", "free"), service[
            "name"
        ]
        assert service["autoDeployTrigger"] in ("commit", "checksPass"), service["name"]
    assert [db["plan"] for db in spec["databases"]] == ["free"]


@pytest.mark.parametrize("service", sorted(BLUEPRINT_NAMES))
def test_dockerfile_and_context_exist(service: str) -> None:
    spec = blueprint_service(service)
    assert spec["dockerfilePath"] == f"./Dockerfile.{service}"
    assert (REPO / spec["dockerfilePath"]).is_file()
    assert (REPO / spec["dockerContext"]).is_dir()


@pytest.mark.parametrize("service", sorted(BLUEPRINT_NAMES))
def test_health_check_path_is_the_services_health_route(service: str) -> None:
    assert blueprint_service(service)["healthCheckPath"] == HEALTH_PATHS[service]


def test_mlflow_health_path_is_a_route_of_the_tracking_server() -> None:
    from mlflow.server import app

    assert "/health" in {rule.rule for rule in app.url_map.iter_rules()}


@pytest.mark.skipif(
    not (REPO / "api" / "main.py").exists(), reason="api/main.py does not exist yet (issue 4)"
)
def test_api_health_path_is_a_route_of_the_api() -> None:
    from api.main import app

    assert "get" in app.openapi()["paths"]["/health"]


def test_every_reference_names_something_defined() -> None:
    spec = blueprint()
    databases = {db["name"] for db in spec.get("databases", [])}
    services = {s["name"]: {v["key"] for v in s.get("envVars", [])} for s in spec["services"]}
    for service in spec["services"]:
        for var in service.get("envVars", []):
            if "fromDatabase" in var:
                assert var["fromDatabase"]["name"] in databases, var
                assert var["fromDatabase"]["property"] == "connectionString", var
            if "fromService" in var:
                ref = var["fromService"]
                assert ref["name"] in services and ref["name"] != service["name"], var
                assert ref.get("envVarKey", "") in services[ref["name"]] or "property" in ref, var


def test_secrets_are_generated_or_entered_never_written() -> None:
    for service in blueprint()["services"]:
        for var in service.get("envVars", []):
            if SECRET_KEY.search(var["key"]):
                assert "value" not in var, f"{service['name']}: {var['key']} is written in the blueprint"
                assert var.get("generateValue") or var.get("sync") is False or "fromService" in var, var


@pytest.mark.parametrize("service", sorted(WIRED_BY_DEPLOY_SCRIPT))
def test_public_urls_are_left_to_the_deploy_script(service: str) -> None:
    env = {v["key"]: v for v in blueprint_service(service)["envVars"]}
    for key in WIRED_BY_DEPLOY_SCRIPT[service]:
        assert env[key] == {"key": key, "sync": False}, env[key]
    script = (REPO / "scripts" / "render_deploy.py").read_text()
    for key in WIRED_BY_DEPLOY_SCRIPT[service]:
        assert f'"{key}"' in script


def test_services_get_the_shared_contract_variables() -> None:
    api = {v["key"] for v in blueprint_service("api")["envVars"]}
    assert {
        "MLFLOW_TRACKING_URI",
        "MODEL_NAME",
        "MODEL_ALIAS",
        "DATABASE_URL",
        "API_KEYS",
        "ADMIN_API_KEYS",
    } <= api
    app = {v["key"] for v in blueprint_service("app")["envVars"]}
    assert {"API_URL", "MLFLOW_TRACKING_URI"} <= app
    mlflow = {v["key"] for v in blueprint_service("mlflow")["envVars"]}
    assert {"MLFLOW_BACKEND_STORE_URI", "MLFLOW_ARTIFACTS_DESTINATION"} <= mlflow
