"""Drift checks over HTTP: POST /drift/run (data scientists, leads) starts a check of the inference log
and returns its id; GET /drift/jobs/{id} says whether it is still running; GET /drift/latest gives the
latest JSON summary; GET /drift/reports/{id} the HTML report (202
while that check runs). The checks run in child processes (api.drift_jobs); the Prometheus gauges of
the latest result are api.drift_metrics."""

from __future__ import annotations

from dataclasses import asdict
from importlib import metadata
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse

from api.auth import CandidateManager, require_read
from api.deps import DriftRunnerDep
from api.routes.predict import ERRORS
from api.schemas import DriftRunRequest
from api.security import REPORT_CSP
from api.strict_json import StrictJsonRoute
from ml.drift.report import REPORT_ID, read_latest, report_paths

# Strict JSON: an unreadable body (not UTF-8 included) is a 422 like on every route, not FastAPI's 400.
router = APIRouter(prefix="/drift", tags=["drift"], route_class=StrictJsonRoute)

# Every refusal is the project's JSON error shape; documented so clients (and schemathesis) can rely on it.
RUN_ERRORS = {**ERRORS, 409: ERRORS[422], 501: ERRORS[422]}
READ_ERRORS = {**ERRORS, 404: ERRORS[422]}
REPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {}}, "description": "The self-contained HTML report."},
    202: {"description": "The check is still running: its job, as POST /drift/run returned it."},
    **READ_ERRORS,
}

# What a check's child process imports beyond the API's own dependencies (the drift and train extras).
# The API image leaves them out to fit in 512 MB; there drift runs in the monitor workflow instead.
DRIFT_DISTRIBUTIONS = ("evidently", "scikit-learn", "matplotlib")
DRIFT_ELSEWHERE = (
    "drift checks do not run in this API deployment (its image carries no Evidently, to fit in 512 MB): "
    "they run in the monitor workflow (`python -m ml drift`), which logs each report to MLflow's "
    "monitoring experiment; the console's Data drift page shows the latest one"
)


def drift_installed() -> bool:
    """Whether this environment can run a check (package metadata, not imports: the API blocks some)."""
    try:
        for name in DRIFT_DISTRIBUTIONS:
            metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True


@router.post("/run", status_code=status.HTTP_202_ACCEPTED, responses=RUN_ERRORS)
async def run_drift_check(
    runner: DriftRunnerDep, _caller: CandidateManager, window: DriftRunRequest | None = None
) -> dict[str, Any]:
    """Start a drift check of the inference log in the background; poll `report` for the result.
    501 where the image has no drift libraries (the deployed API): the monitor workflow runs them."""
    if not drift_installed():
        raise HTTPException(status.HTTP_501_NOT_IMPLEMENTED, DRIFT_ELSEWHERE)
    busy = runner.running()
    if busy:
        raise HTTPException(status.HTTP_409_CONFLICT, {"detail": "a drift check is running", "id": busy.id})
    job = runner.start(window or DriftRunRequest())
    return {**asdict(job), "report": f"/drift/reports/{job.id}", "summary": "/drift/latest"}


@router.get("/jobs/{report_id}", dependencies=[Depends(require_read)], responses=READ_ERRORS)
async def drift_job(
    runner: DriftRunnerDep, report_id: Annotated[str, PathParam(pattern=REPORT_ID.pattern)]
) -> dict[str, Any]:
    """A check's job (running, done or failed): what a console polls, without downloading the report."""
    job = runner.jobs.get(report_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no drift check {report_id} on this replica")
    return asdict(job)


@router.get("/latest", dependencies=[Depends(require_read)], responses=READ_ERRORS)
async def latest_drift_summary(runner: DriftRunnerDep) -> dict[str, Any]:
    """The JSON summary of the latest check (drift share, per-column results, data quality, ...)."""
    summary = read_latest(runner.reports_dir)
    if summary is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            "no drift check on this replica yet: POST /drift/run, or see the MLflow monitoring experiment",
        )
    return summary


@router.get(
    "/reports/{report_id}",
    dependencies=[Depends(require_read)],
    response_model=None,
    responses=REPORT_RESPONSES,
)
async def drift_report(
    runner: DriftRunnerDep, report_id: Annotated[str, PathParam(pattern=REPORT_ID.pattern)]
) -> FileResponse | JSONResponse:
    """The self-contained HTML report; 202 while its check runs, 422 with the reason when it failed."""
    html_path, _ = report_paths(runner.reports_dir, report_id)
    job = runner.jobs.get(report_id)
    if job and job.status == "running":  # the file may exist already, while the run is logged to MLflow
        return JSONResponse(asdict(job), status_code=status.HTTP_202_ACCEPTED)
    if html_path.exists():
        return FileResponse(
            html_path, media_type="text/html", headers={"content-security-policy": REPORT_CSP}
        )
    if job and job.status == "failed":
        raise HTTPException(422, f"drift check {report_id} failed: {job.error}")
    raise HTTPException(status.HTTP_404_NOT_FOUND, f"no drift report {report_id} on this replica")
