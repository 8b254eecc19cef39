"""`make run`: the whole stack on local defaults, in the foreground, until Ctrl-C or SIGTERM.

Starts MLflow (SQLite `mlflow.db`, artifacts under `mlruns/`), trains and promotes a demo champion
when the registry has none, then the scoring API and the console; prints the URLs. A service that
dies is restarted (scripts/supervisor.py); a signal at any moment stops everything started. Logs go
to .run/. The API and the console share one inference log (DATABASE_URL).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: `scripts` is a package of the repository

from scripts.servers import API_ENV, BIN, api_command  # noqa: E402
from scripts.supervisor import Service, Stopped, Supervisor  # noqa: E402

LOG_DIR = ROOT / ".run"
HOST = os.environ.get("RUN_HOST", "127.0.0.1")


def _port(variable: str, default: int) -> int:
    return int(os.environ.get(variable, default))


MLFLOW = Service(
    "mlflow",
    _port("MLFLOW_PORT", 5000),
    "/health",
    [
        str(BIN / "mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{ROOT / 'mlflow.db'}",
        "--artifacts-destination",
        str(ROOT / "mlruns"),
        "--host",
        HOST,
        "--port",
        str(_port("MLFLOW_PORT", 5000)),
        "--workers",
        "1",
    ],
    HOST,
)
API = Service(
    "api", _port("API_PORT", 8000), "/health", api_command(_port("API_PORT", 8000), host=HOST), HOST
)
CONSOLE = Service(
    "console",
    _port("CONSOLE_PORT", 8501),
    "/_stcore/health",
    [
        str(BIN / "streamlit"),
        "run",
        "app/Home.py",
        "--server.port",
        str(_port("CONSOLE_PORT", 8501)),
        "--server.address",
        HOST,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ],
    HOST,
)


def stack_env() -> dict[str, str]:
    """What every service gets: where MLflow and the API are, and the one inference log."""
    return {
        **os.environ,
        "MLFLOW_TRACKING_URI": MLFLOW.url,
        "API_URL": os.environ.get("API_URL", API.url),
        # The API writes the log and the console charts it: one absolute path, whatever the cwd.
        "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{ROOT / 'inference_log.db'}",
        "PYTHONUNBUFFERED": "1",
        # MLflow's job runner (GenAI scorers) forks a consumer per core; the platform does not use it.
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }


def main() -> int:
    env = stack_env()
    supervisor = Supervisor(LOG_DIR)
    try:
        with supervisor.signals():
            supervisor.start(MLFLOW, env)
            supervisor.run_once("bootstrap", [sys.executable, "-m", "ml", "bootstrap"], env)
            supervisor.start(API, {**env, **API_ENV})
            supervisor.start(CONSOLE, env)
            print(
                "\nThe stack is up:\n"
                f"  MLflow UI     {MLFLOW.url}\n"
                f"  Scoring API   {API.url}  (docs: {API.url}/docs)\n"
                f"  Console       {CONSOLE.url}\n"
                f"Logs in {LOG_DIR}/. A service that stops is restarted; Ctrl-C stops everything.",
                flush=True,
            )
            supervisor.watch()
    except Stopped:
        print("stopped: every service started is down", flush=True)
        return 0
    except RuntimeError as exc:
        print(f"make run failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
