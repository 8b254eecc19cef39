"""scripts/mlflow_users.py against a real `mlflow server --app-name basic-auth` (default permission
NO_PERMISSIONS, so only the script's grants open anything): the console's user reads but cannot
write, the API's user manages its registered model and nothing else, and a rerun is harmless."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.servers import MLFLOW_ENV, ROOT, Server, free_port, mlflow_command, start_process

ADMIN = ("admin", "admin-password-for-tests-6f1e")
CONSOLE = ("credit-scoring-console", "console-password-for-tests-2b7c")
API = ("credit-scoring-api", "api-password-for-tests-9d3a")
MODEL, OTHER_MODEL = "credit-scoring", "someone-elses-model"


@dataclass
class AuthMlflow:
    server: Server
    url: str
    run_id: str  # a training run the admin logged


@pytest.fixture(scope="module")
def auth_mlflow(tmp_path_factory) -> Iterator[AuthMlflow]:
    workdir = tmp_path_factory.mktemp("mlflow-auth")
    ini = workdir / "auth.ini"
    ini.write_text(
        "[mlflow]\ndefault_permission = NO_PERMISSIONS\n"
        f"database_uri = sqlite:///{workdir / 'auth.db'}\nadmin_username = admin\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
    port = free_port()
    command = [
        *mlflow_command(f"sqlite:///{workdir / 'mlflow.db'}", workdir / "mlruns", port),
        "--app-name",
        "basic-auth",
    ]
    env = {
        **MLFLOW_ENV,
        "MLFLOW_AUTH_CONFIG_PATH": str(ini),
        "MLFLOW_AUTH_ADMIN_PASSWORD": ADMIN[1],
        "MLFLOW_FLASK_SERVER_SECRET_KEY": "flask-secret-for-tests",
    }
    server = start_process(command, f"http://127.0.0.1:{port}", workdir / "mlflow.log", env=env, cwd=workdir)
    url = server.url
    with httpx.Client(base_url=url, auth=ADMIN, timeout=30) as admin:
        experiment = admin.post("/api/2.0/mlflow/experiments/create", json={"name": "credit-scoring"}).json()
        run = admin.post("/api/2.0/mlflow/runs/create", json={"experiment_id": experiment["experiment_id"]})
        run_id = run.json()["run"]["info"]["run_id"]
        for name in (MODEL, OTHER_MODEL):
            assert (
                admin.post("/api/2.0/mlflow/registered-models/create", json={"name": name}).status_code == 200
            )
            source = f"mlflow-artifacts:/{experiment['experiment_id']}/{run_id}/artifacts/model"
            body = {"name": name, "source": source, "run_id": run_id}
            assert admin.post("/api/2.0/mlflow/model-versions/create", json=body).status_code == 200
    yield AuthMlflow(server, url, run_id)
    server.stop()


def _run_script(url: str, admin_password: str = ADMIN[1]) -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/bin:/bin",
        "MLFLOW_TRACKING_URI": url,
        "MLFLOW_TRACKING_USERNAME": ADMIN[0],
        "MLFLOW_TRACKING_PASSWORD": admin_password,
        "MLFLOW_CONSOLE_PASSWORD": CONSOLE[1],
        "MLFLOW_API_PASSWORD": API[1],
    }
    script = str(ROOT / "scripts" / "mlflow_users.py")
    return subprocess.run(
        [sys.executable, script, "--wait", "30"], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def provisioned(auth_mlflow: AuthMlflow) -> AuthMlflow:
    first = _run_script(auth_mlflow.url)
    assert first.returncode == 0, first.stderr
    assert "user credit-scoring-console: created" in first.stdout
    again = _run_script(auth_mlflow.url)  # idempotent: a second deploy only resets the passwords
    assert again.returncode == 0, again.stderr
    assert "user credit-scoring-api: updated" in again.stdout
    for secret in (ADMIN[1], CONSOLE[1], API[1]):
        assert secret not in first.stdout + first.stderr + again.stdout + again.stderr
    return auth_mlflow


def _as(user: tuple[str, str], mlflow: AuthMlflow) -> httpx.Client:
    return httpx.Client(base_url=mlflow.url, auth=user, timeout=30)


def _log_metric(client: httpx.Client, run_id: str) -> int:
    body = {"run_id": run_id, "key": "tampered", "value": 1.0, "timestamp": 0, "step": 0}
    return client.post("/api/2.0/mlflow/runs/log-metric", json=body).status_code


def _set_alias(client: httpx.Client, model: str) -> int:
    body = {"name": model, "alias": "champion", "version": "1"}
    return client.post("/api/2.0/mlflow/registered-models/alias", json=body).status_code


def test_the_console_user_reads_but_cannot_write(provisioned: AuthMlflow) -> None:
    with _as(CONSOLE, provisioned) as console:
        assert (
            console.get("/api/2.0/mlflow/runs/get", params={"run_id": provisioned.run_id}).status_code == 200
        )
        assert console.get("/api/2.0/mlflow/registered-models/get", params={"name": MODEL}).status_code == 200
        assert _log_metric(console, provisioned.run_id) == 403
        assert _set_alias(console, MODEL) == 403
        tag = {"name": MODEL, "key": "history.x", "value": "forged"}
        assert console.post("/api/2.0/mlflow/registered-models/set-tag", json=tag).status_code == 403
        assert console.get("/api/2.0/mlflow/users/get", params={"username": ADMIN[0]}).status_code == 403


def test_the_api_user_manages_its_model_only(provisioned: AuthMlflow) -> None:
    with _as(API, provisioned) as api:
        assert _set_alias(api, MODEL) == 200
        tag = {"name": MODEL, "key": "history.0001", "value": "{}"}
        assert api.post("/api/2.0/mlflow/registered-models/set-tag", json=tag).status_code == 200
        alias = {"name": MODEL, "alias": "champion"}
        deleted = api.request("DELETE", "/api/2.0/mlflow/registered-models/alias", json=alias)
        assert deleted.status_code == 200
        assert _set_alias(api, OTHER_MODEL) == 403
        assert _log_metric(api, provisioned.run_id) == 403  # training runs are read-only to it
        monitoring = api.get(
            "/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": "credit-scoring-monitoring"}
        )
        created = api.post(
            "/api/2.0/mlflow/runs/create",
            json={"experiment_id": monitoring.json()["experiment"]["experiment_id"]},
        )
        assert created.status_code == 200  # drift checks log their runs here


def test_the_script_refuses_short_passwords_and_a_wrong_admin(auth_mlflow: AuthMlflow) -> None:
    wrong = _run_script(auth_mlflow.url, admin_password="not-the-admin-password")
    assert wrong.returncode == 3 and "HTTP 401" in wrong.stderr
    env_missing = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "mlflow_users.py")],
        env={"PATH": "/usr/bin:/bin", "MLFLOW_TRACKING_URI": auth_mlflow.url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert env_missing.returncode == 2 and "MLFLOW_TRACKING_USERNAME is not set" in env_missing.stderr
    assert "at least 12 characters" in env_missing.stderr
