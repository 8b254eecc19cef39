"""Schemathesis against the running API's own OpenAPI schema: bounded, seeded, no 5xx, and every answer
as documented (its status, content type and body schema: issue 13 item 7)."""

from __future__ import annotations

import subprocess

import pytest

from ml.registry import Registry
from tests.api.conftest import ADMIN_KEY
from tests.servers import BIN

pytestmark = pytest.mark.slow


def test_no_server_error_on_generated_requests(
    own_registry: Registry, mlflow_server, start_api, tmp_path
) -> None:
    # Its own registered model: generated promote / rollback calls cannot touch the shared champion.
    api = start_api(mlflow_server.url, model_name=own_registry.name)
    result = subprocess.run(
        [
            str(BIN / "schemathesis"),
            "run",
            f"{api.url}/openapi.json",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--max-examples",
            "25",
            "--seed",
            "20251125",
            "--generation-database",
            "none",
            "--workers",
            "1",
            "--request-timeout",
            "60",
            "--phases",
            "examples,coverage,fuzzing",
            "--header",
            f"X-API-Key: {ADMIN_KEY}",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " 500 " not in api.log()
