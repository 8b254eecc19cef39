"""`mlflow server`, with the server replacing this process instead of running as its child.

`mlflow server` stays alive only to forward signals to the uvicorn process it starts, holding about
180 MB of imports; on a 512 MB instance that is a third of the budget. Here MLflow's own CLI
prepares everything (stores, auth bootstrap, environment) and the final command is exec'd in place.
Job execution must be off (MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false): its runner is started by the
launcher after the server, so it would never start here.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import mlflow.server
from mlflow.cli import cli


def _exec_in_place(cmd: list[str], *, extra_env: dict[str, str] | None = None, **_: Any) -> None:
    # MLflow's own server command (argv list, no shell), exec'd in place of this launcher.
    os.execvpe(cmd[0], cmd, {**os.environ, **(extra_env or {})})  # noqa: S606  # nosec B606


if __name__ == "__main__":
    os.environ.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    mlflow.server._exec_cmd = _exec_in_place
    sys.exit(cli(["server", *sys.argv[1:]]))
