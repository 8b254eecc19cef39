"""Drift checks over HTTP: POST /drift/run (admin) starts a check of the inference log and returns its
id; GET /drift/latest gives the latest JSON summary; GET /drift/reports/{id} the HTML report (202
while that check runs). Prometheus gauges expose the latest result, whoever ran the check.

A check runs in a child `python -m ml drift` process with bounded samples (drift.api_reference_rows,
drift.api_current_rows): Evidently, pandas frames and the samples never enter the API process, which
must fit in 512 MB, and nothing heavy stays imported once the check is over. One check at a time.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from pydantic import BaseModel, Field

from api.auth import AdminCaller, require_scoring
from ml.config import PROJECT_ROOT, DriftParams, load_params
from ml.drift_report import LATEST_JSON, REPORT_ID, new_report_id, report_paths

CHECK_TIMEOUT_S = 1800
KEPT_JOBS = 50
ERROR_TAIL = 2000

router = APIRouter(prefix="/drift", tags=["drift"])


class DriftRunRequest(BaseModel):
    """Which part of the inference log to check (default: the most recent drift.api_current_rows rows)."""

    last_n: int | None = Field(None, ge=1, description="Most recent rows (capped by drift.api_current_rows).")
    since: datetime | None = Field(None, description="Window start (ISO 8601; naive means UTC).")
    until: datetime | None = Field(None, description="Window end, excluded.")


@dataclass
class DriftJob:
    id: str
    status: str  # running | done | failed
    started_at: str
    finished_at: str | None = None
    exit_code: int | None = None
    dataset_drift: bool | None = None
    error: str | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class DriftRunner:
    """Starts checks as child processes, one at a time, and remembers the last few jobs."""

    def __init__(self, params: DriftParams, reports_dir: Path, env: dict[str, str]) -> None:
        self.params = params
        self.reports_dir = reports_dir
        self.env = env
        self.jobs: dict[str, DriftJob] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def running(self) -> DriftJob | None:
        return next((job for job in self.jobs.values() if job.status == "running"), None)

    def command(self, report_id: str, window: DriftRunRequest) -> list[str]:
        last_n = min(window.last_n or self.params.api_current_rows, self.params.api_current_rows)
        command = [sys.executable, "-m", "ml", "drift", "--report-id", report_id]
        command += ["--reports-dir", str(self.reports_dir), "--last-n", str(last_n)]
        command += ["--reference-rows", str(self.params.api_reference_rows)]
        for flag, moment in (("--since", window.since), ("--until", window.until)):
            if moment is not None:
                command += [flag, moment.isoformat()]
        return command

    def start(self, window: DriftRunRequest) -> DriftJob:
        job = DriftJob(new_report_id(), "running", _now())
        self.jobs[job.id] = job
        for old in list(self.jobs)[:-KEPT_JOBS]:
            del self.jobs[old]
        task = asyncio.create_task(self._run(job, self.command(job.id, window)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    async def _run(self, job: DriftJob, command: list[str]) -> None:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env=self.env,
            cwd=PROJECT_ROOT,
        )
        try:
            _, stderr = await asyncio.wait_for(process.communicate(), CHECK_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await process.wait()
            stderr = f"the check did not finish within {CHECK_TIMEOUT_S} s".encode()
        job.exit_code, job.finished_at = process.returncode, _now()
        if process.returncode in (0, 3):
            job.status, job.dataset_drift = "done", process.returncode == 3
        else:
            job.status = "failed"
            job.error = stderr.decode(errors="replace").strip()[-ERROR_TAIL:] or "the check failed"


def _reports_dir() -> Path:
    return Path(load_params().drift.reports_dir).resolve()


def _runner(request: Request) -> DriftRunner:
    """The app's runner, made on first use with the app's own model, registry and log settings."""
    runner = getattr(request.app.state, "drift_runner", None)
    if runner is None:
        settings = request.app.state.settings
        env = {
            **os.environ,
            "DATABASE_URL": settings.database_url,
            "MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri,
            "MODEL_NAME": settings.model_name,
            "MODEL_ALIAS": settings.model_alias,
        }
        runner = DriftRunner(load_params().drift, _reports_dir(), env)
        request.app.state.drift_runner = runner
    return runner


Runner = Annotated[DriftRunner, Depends(_runner)]


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None


@router.post("/run", status_code=status.HTTP_202_ACCEPTED)
async def run_drift_check(
    runner: Runner, _caller: AdminCaller, window: DriftRunRequest | None = None
) -> dict[str, Any]:
    """Start a drift check of the inference log in the background; poll `report` for the result."""
    busy = runner.running()
    if busy:
        raise HTTPException(status.HTTP_409_CONFLICT, {"detail": "a drift check is running", "id": busy.id})
    job = runner.start(window or DriftRunRequest())
    return {**asdict(job), "report": f"/drift/reports/{job.id}", "summary": "/drift/latest"}


@router.get("/latest", dependencies=[Depends(require_scoring)])
async def latest_drift_summary(runner: Runner) -> dict[str, Any]:
    """The JSON summary of the latest check (drift share, per-column results, data quality, ...)."""
    summary = _read_json(runner.reports_dir / LATEST_JSON)
    if summary is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            "no drift check on this replica yet: POST /drift/run, or see the MLflow monitoring experiment",
        )
    return summary


@router.get("/reports/{report_id}", dependencies=[Depends(require_scoring)], response_model=None)
async def drift_report(
    runner: Runner, report_id: Annotated[str, PathParam(pattern=REPORT_ID.pattern)]
) -> FileResponse | JSONResponse:
    """The self-contained HTML report; 202 while its check runs, 422 with the reason when it failed."""
    html_path, _ = report_paths(runner.reports_dir, report_id)
    job = runner.jobs.get(report_id)
    if job and job.status == "running":  # the file may exist already, while the run is logged to MLflow
        return JSONResponse(asdict(job), status_code=status.HTTP_202_ACCEPTED)
    if html_path.exists():
        return FileResponse(html_path, media_type="text/html")
    if job and job.status == "failed":
        raise HTTPException(422, f"drift check {report_id} failed: {job.error}")
    raise HTTPException(status.HTTP_404_NOT_FOUND, f"no drift report {report_id} on this replica")


class LatestDriftCollector:
    """Gauges read from `latest.json` at scrape time, so a check run by the CLI or a cron job counts too."""

    def __init__(self, reports_dir: Path) -> None:
        self.path = reports_dir / LATEST_JSON
        self._cache: tuple[float, dict[str, Any]] | None = None

    def _latest(self) -> dict[str, Any] | None:
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            return None
        if self._cache is None or self._cache[0] != mtime:
            summary = _read_json(self.path)
            if summary is None:
                return None
            self._cache = (mtime, summary)
        return self._cache[1]

    def describe(self) -> list[GaugeMetricFamily]:
        return []

    def collect(self) -> list[GaugeMetricFamily]:
        summary = self._latest()
        if summary is None:
            return []
        created = datetime.fromisoformat(summary["created_at"]).timestamp()
        values = {
            "drift_share": ("Share of drifted columns in the latest drift check.", summary["drift_share"]),
            "drift_dataset_drift": (
                "1 when the latest check's drift share is above drift.threshold (retrain trigger set).",
                float(summary["dataset_drift"]),
            ),
            "drift_threshold": ("The drift share above which retraining is triggered.", summary["threshold"]),
            "drift_drifted_columns": ("Columns drifted in the latest drift check.", summary["n_drifted"]),
            "drift_data_quality_score": (
                "Share of current cells without a quality problem in the latest check.",
                summary["data_quality"]["score"],
            ),
            "drift_last_check_timestamp_seconds": ("When the latest drift check ran (Unix time).", created),
        }
        prediction = summary.get("prediction_drift") or {}
        if prediction.get("score") is not None:
            values["drift_prediction_score"] = ("Drift score of the model's output.", prediction["score"])
        return [GaugeMetricFamily(name, text, value=value) for name, (text, value) in values.items()]


REGISTRY.register(LatestDriftCollector(_reports_dir()))
