"""Drift on the real inference log of the real API (uvicorn, SQLite and PostgreSQL): the CLI reads
the log the API wrote; POST /drift/run checks it in the background; GET /drift/latest, GET
/drift/reports/{id} and the Prometheus gauges show the result."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
import pytest

from api.drift_jobs import failure_message
from ml.cli import main
from ml.inference_log import read_inference_log
from tests.drift.conftest import MONITORING_EXPERIMENT, SHIFTED, write_params
from tests.servers import (
    API_ENV,
    Server,
    api_command,
    create_postgres_database,
    drop_postgres_database,
    free_port,
    start_process,
)

pytestmark = pytest.mark.slow

SCORING_KEY, ADMIN_KEY = "drift-scoring-key-5e1d", "drift-admin-key-93ab"
LOGGED_ROWS = 1_200
API_REFERENCE_ROWS, API_CURRENT_ROWS = 1_500, 1_000


@dataclass
class DriftApi:
    server: Server
    database_url: str
    reports: Path
    params_file: Path

    def client(self, key: str | None = SCORING_KEY) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, headers={"X-API-Key": key} if key else {}, timeout=120)


def _wait_for_log(database_url: str, rows: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while len(read_inference_log(database_url)) < rows:
        assert time.monotonic() < deadline, "the API did not write its inference log in time"
        time.sleep(0.5)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def drift_api(request, champion, params, batches, tmp_path_factory) -> Iterator[DriftApi]:
    """An API serving the champion, whose inference log holds the drifted batch it has just scored."""
    workdir = tmp_path_factory.mktemp(f"drift-api-{request.param}")
    database_url, database = f"sqlite:///{workdir / 'inference_log.db'}", None
    if request.param == "postgresql":
        admin_url = request.getfixturevalue("postgres_url")
        database_url, database = create_postgres_database(admin_url)
    reports = workdir / "reports"
    params_file = write_params(
        params,
        workdir / "params.yaml",
        reports_dir=str(reports),
        api_reference_rows=API_REFERENCE_ROWS,
        api_current_rows=API_CURRENT_ROWS,
    )
    env = {
        **API_ENV,
        "MLFLOW_TRACKING_URI": champion.tracking_uri,
        "MODEL_NAME": champion.name,
        "MODEL_ALIAS": "champion",
        "DATABASE_URL": database_url,
        "MODEL_CACHE_DIR": str(workdir / "model-cache"),
        "API_KEYS": SCORING_KEY,
        "ADMIN_API_KEYS": ADMIN_KEY,
        "PARAMS_PATH": str(params_file),
        "MONITORING_EXPERIMENT_NAME": MONITORING_EXPERIMENT,
    }
    port = free_port()
    server = start_process(api_command(port), f"http://127.0.0.1:{port}", workdir / "api.log", env=env)
    running = DriftApi(server, database_url, reports, params_file)
    try:
        records = json.loads(
            pd.read_csv(batches.drifted).drop(columns=["TARGET"]).head(LOGGED_ROWS).to_json(orient="records")
        )
        with running.client() as client:
            response = client.post("/predict/batch", json=records)
        assert response.status_code == 200, response.text
        assert response.json()["scored"] == LOGGED_ROWS
        _wait_for_log(database_url, LOGGED_ROWS)
        yield running
    finally:
        server.stop()
        if database:
            drop_postgres_database(request.getfixturevalue("postgres_url"), database)


def test_the_cli_checks_the_log_the_api_wrote(drift_api, champion, tmp_path) -> None:
    options = ["--params", str(drift_api.params_file), "--tracking-uri", champion.tracking_uri]
    reports = tmp_path / "reports"
    code = main(
        [
            *options,
            "--model-name",
            champion.name,
            "drift",
            "--database-url",
            drift_api.database_url,
            "--reports-dir",
            str(reports),
        ]
    )
    summary = json.loads((reports / "latest.json").read_text())
    assert code == 3 and summary["dataset_drift"]
    assert set(summary["drifted_columns"]) >= SHIFTED | {"prediction"}
    current = summary["current"]
    assert current["source"] == "inference_log" and "scored_by" not in current  # the API's own scores
    assert current["model_versions"] == {champion.version: LOGGED_ROWS}
    assert summary["rows"]["current"] == LOGGED_ROWS
    assert summary["time_window"]["first"] <= summary["time_window"]["last"]
    assert "password" not in json.dumps(summary)


def _poll_report(client: httpx.Client, report_id: str, timeout_s: float = 300) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    while True:
        response = client.get(f"/drift/reports/{report_id}")
        if response.status_code != 202 or time.monotonic() > deadline:
            return response
        assert response.json()["status"] == "running"
        time.sleep(1)


def test_post_drift_run_checks_the_log_in_the_background(drift_api) -> None:
    with drift_api.client(None) as anonymous, drift_api.client() as scoring:
        assert anonymous.post("/drift/run").status_code == 401
        assert scoring.post("/drift/run").status_code == 403
    with drift_api.client(ADMIN_KEY) as admin:
        started = admin.post("/drift/run")
        assert started.status_code == 202, started.text
        report_id = started.json()["id"]
        busy = admin.post("/drift/run")
        assert busy.status_code == 409 and busy.json()["id"] == report_id
        report = _poll_report(admin, report_id)
        assert report.status_code == 200, report.text
        assert report.headers["content-type"].startswith("text/html") and "drift-summary" in report.text
        # Opened straight from the API, a report still runs in a sandbox of its own origin (issue 13).
        policy = report.headers["content-security-policy"]
        assert "sandbox allow-scripts" in policy and "allow-same-origin" not in policy, policy
        summary = admin.get("/drift/latest").json()
        metrics = admin.get("/metrics").text
    assert summary["report_id"] == report_id and summary["dataset_drift"]
    assert summary["rows"] == {"reference": API_REFERENCE_ROWS, "current": API_CURRENT_ROWS}  # bounded
    assert f"drift_share {summary['drift_share']}" in metrics
    assert "drift_dataset_drift 1.0" in metrics
    assert (drift_api.reports / "retrain.trigger").exists()


def test_a_failed_background_check_says_why(drift_api) -> None:
    with drift_api.client(ADMIN_KEY) as admin:
        started = admin.post(
            "/drift/run", json={"since": "2001-01-01T00:00:00", "until": "2001-01-02T00:00:00"}
        )
        assert started.status_code == 202, started.text
        report = _poll_report(admin, started.json()["id"])
        assert report.status_code == 422
        assert "no rows between 2001-01-01" in report.json()["detail"]
        assert admin.get("/drift/reports/not-a-report-id").status_code == 422
        assert admin.get("/drift/reports/20010101T000000Z-000000").status_code == 404


def test_a_crashed_check_reports_a_short_message_and_no_traceback() -> None:
    traceback = (
        'Traceback (most recent call last):\n  File "x.py", line 1\nModuleNotFoundError: No module named "x"'
    )
    message = failure_message(traceback, "job-1")
    assert "Traceback" not in message and "ModuleNotFoundError" not in message and "job-1" in message
    assert (
        failure_message("warning: slow\nerror: no rows between a and b", "job-2") == "no rows between a and b"
    )
    # what `python -m ml drift` itself prints when the check cannot run
    assert failure_message("drift check failed: no rows between a and b", "job-3").endswith(
        "no rows between a and b"
    )
