"""The three Dockerfiles pass hadolint and keep the image rules: slim multi-stage build on a base
image given as a build argument, venv copied from the builder, only the service's extra pinned by
the lock, non-root user, PORT honoured, a python HEALTHCHECK, nothing secret or generated inside.
(tests/images builds and runs them.)"""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from tests.deploy.deploy_helpers import REPO, SERVICES, final_stage, tool

EXTRAS = {"api": "api", "app": "app", "mlflow": "tracking-server"}
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|API_KEY|ACCESS_KEY)", re.IGNORECASE)


@pytest.mark.parametrize("service", SERVICES)
def test_hadolint_passes(service: str) -> None:
    result = subprocess.run(
        [tool("hadolint"), "--no-color", "--failure-threshold", "style", f"Dockerfile.{service}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_image_follows_the_rules(service: str) -> None:
    image = final_stage(REPO / f"Dockerfile.{service}")
    steps = image.instructions
    assert steps[0] == ("ARG", "BASE_IMAGE=python:3.11-slim-bookworm"), steps[0]
    froms = [rest for keyword, rest in steps if keyword == "FROM"]
    assert len(froms) >= 2, "multi-stage: a builder and a runtime stage"
    assert all(f.startswith("${BASE_IMAGE} AS ") for f in froms), froms
    resolves = [rest for keyword, rest in steps if keyword == "RUN" and "--dry-run" in rest]
    assert len(resolves) == 1, resolves
    assert f"python3 scripts/extra_requirements.py {EXTRAS[service]} > wanted.txt" in resolves[0]
    assert "-c requirements/lock.txt -r wanted.txt" in resolves[0], "resolved against the lock"
    installs = [rest for keyword, rest in steps if keyword == "RUN" and "pip install --no-cache-dir" in rest]
    assert len(installs) == 1 and "--no-deps -r requirements.txt" in installs[0], installs
    assert any(k == "COPY" and "--from=builder /opt/venv /opt/venv" in r for k, r in steps)

    users = [rest for keyword, rest in steps if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root"), users

    healthchecks = [rest for keyword, rest in steps if keyword == "HEALTHCHECK"]
    assert len(healthchecks) == 1 and '["python", "-c"' in healthchecks[0], healthchecks
    assert "PORT" in healthchecks[0]

    command = " ".join(image.cmd)
    assert "PORT" in command or service == "mlflow", command
    assert image.env.get("PORT", "").isdigit(), "a default PORT for docker run without -e PORT"


@pytest.mark.parametrize("service", ["api", "app"])
def test_image_ships_params_yaml_and_the_openmp_runtime(service: str) -> None:
    """What the ml package reads at run time: params.yaml at PARAMS_PATH, libgomp for LightGBM."""
    image = final_stage(REPO / f"Dockerfile.{service}")
    assert image.env["PARAMS_PATH"] == "/app/params.yaml" and image.env["PYTHONPATH"] == "/app"
    assert ("COPY", "params.yaml params.yaml") in image.instructions
    runs = " ".join(rest for keyword, rest in image.instructions if keyword == "RUN")
    assert "libgomp1" in runs


@pytest.mark.parametrize("service", SERVICES)
def test_image_bakes_in_no_secret_and_no_generated_data(service: str) -> None:
    for keyword, rest in final_stage(REPO / f"Dockerfile.{service}").instructions:
        if keyword in ("ENV", "ARG"):
            assert not SECRET_NAME.search(rest), f"{keyword} {rest}"
        if keyword in ("COPY", "ADD"):
            sources = rest.split()[:-1]
            assert not any(
                s.strip("./").split("/")[0] in ("data", "mlruns", "reports", ".env") for s in sources
            ), rest


def test_mlflow_entrypoint_passes_shellcheck_and_runs_the_documented_server() -> None:
    script = REPO / "scripts" / "mlflow_entrypoint.sh"
    result = subprocess.run([tool("shellcheck"), str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout
    text = script.read_text()
    for flag in (
        "--host 0.0.0.0",
        '--port "$PORT"',
        "--backend-store-uri",
        "--artifacts-destination",
        "--serve-artifacts",
        "--allowed-hosts",
        "--app-name basic-auth",
    ):
        assert flag in text, flag
    assert "*.onrender.com" in text


def test_dockerignore_keeps_generated_data_and_secrets_out_of_the_context() -> None:
    ignored = set((REPO / ".dockerignore").read_text().split())
    for entry in (".git", ".venv", "mlruns", "data", "reports", "tests", ".env", ".env.*", "*.db"):
        assert entry in ignored, entry
    for needed in ("pyproject.toml", "README.md", "requirements", "ml", "api", "app", "scripts"):
        assert needed not in ignored, needed


def test_compose_file_is_valid_and_builds_the_three_images() -> None:
    result = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", "docker-compose.yml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    assert {"postgres", "mlflow", "api", "app"} <= set(services)
    for name in SERVICES:
        dockerfile = services[name]["build"]["dockerfile"]
        assert (REPO / dockerfile).is_file() and dockerfile == f"Dockerfile.{name}"
    assert services["app"]["environment"]["API_URL"] == "http://api:8000"
    assert services["api"]["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert services["mlflow"]["environment"]["MLFLOW_BACKEND_STORE_URI"].startswith("postgresql://")
