"""scripts/smoke_test.py against real local servers: a server that has been stopped (unreachable), and
an API started from its image's CMD whose model alias points at nothing (up, but no model: not
healthy). The healthy stack: tests/images/test_images_run.py runs it against the three containers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.deploy_helpers import (
    REPO,
    LocalBlueprint,
    free_port,
    start_image_cmd,
    stop,
    wait_for_http,
)
from tests.images.containers import Container

SCRIPT = REPO / "scripts" / "smoke_test.py"

pytestmark = pytest.mark.timeout(600)


def smoke(*args: str) -> subprocess.CompletedProcess:
    argv = [sys.executable, str(SCRIPT), "--interval", "0.2", "--request-timeout", "10", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def test_stopped_service_fails_with_exit_1_after_retrying(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd=tmp_path
    )
    server.terminate()
    server.wait(timeout=10)
    result = smoke("--app-url", f"http://127.0.0.1:{port}", "--timeout", "1.5")
    assert result.returncode == 1
    assert f"app     FAIL http://127.0.0.1:{port}/_stcore/health unreachable: ConnectError" in result.stdout


def test_no_url_is_a_usage_error() -> None:
    result = smoke()
    assert result.returncode == 2
    assert "give at least one of --mlflow-url, --api-url, --app-url" in result.stderr


@pytest.mark.images  # the session's MLflow container (tests/images/fixtures.py)
@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_api_without_a_model_is_not_healthy(
    mlflow_container: Container, blueprint: LocalBlueprint, tmp_path: Path
) -> None:
    env = blueprint.env("api", {"MLFLOW_TRACKING_URI": mlflow_container.url}) | {
        "MODEL_NAME": "no-such-model"
    }
    api = start_image_cmd("api", env, tmp_path / "api.log")
    try:
        wait_for_http(api, "/health", timeout=120)
        result = smoke("--api-url", api.url, "--timeout", "2")
        assert result.returncode == 1
        assert "no model loaded" in result.stdout
    finally:
        stop(api)
