"""Drift checks as child processes: one at a time, the last few remembered.

A check runs in a child `python -m ml drift` process with bounded samples (drift.api_reference_rows,
drift.api_current_rows): Evidently, pandas frames and the samples never enter the API process, which
must fit in 512 MB, and nothing heavy stays imported once the check is over.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from api.core.config import ApiSettings
from api.schemas import DriftRunRequest
from ml.config import PROJECT_ROOT, DriftParams
from ml.drift.report import new_report_id

CHECK_TIMEOUT_S = 1800
KEPT_JOBS = 50
ERROR_TAIL = 2000
# The CLI's own messages for a person start so; anything else (a traceback) stays in the API's log.
CLI_MESSAGE_PREFIXES = ("error: ", "drift check failed: ", "invalid data", "promotion refused")

logger = logging.getLogger("api.drift")
EXIT_NO_DRIFT, EXIT_DRIFT = 0, 3  # `python -m ml drift`'s answers when the check ran


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

    @classmethod
    def for_api(cls, params: DriftParams, settings: ApiSettings) -> DriftRunner:
        """A runner whose checks read the API's own inference log, registry and model."""
        env = {
            **os.environ,
            "DATABASE_URL": settings.database_url,
            "MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri,
            "MODEL_NAME": settings.model_name,
            "MODEL_ALIAS": settings.model_alias,
        }
        return cls(params, Path(params.reports_dir).resolve(), env)

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
        if process.returncode in (EXIT_NO_DRIFT, EXIT_DRIFT):
            job.status, job.dataset_drift = "done", process.returncode == EXIT_DRIFT
        else:
            job.status = "failed"
            details = stderr.decode(errors="replace").strip()[-ERROR_TAIL:]
            logger.error(
                "drift check failed", extra={"job": job.id, "exit_code": job.exit_code, "stderr": details}
            )
            job.error = failure_message(details, job.id)


def failure_message(stderr: str, job_id: str) -> str:
    """A short reason for the client: the CLI's own last message, never a traceback (that is logged)."""
    for line in reversed(stderr.splitlines()):
        if line.startswith(CLI_MESSAGE_PREFIXES):
            return line.removeprefix("error: ")
    return f"the check stopped on an internal error; the API's log has the details under job {job_id}"
