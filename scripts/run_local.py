"""`make run`: the whole stack on local defaults, in the foreground, until Ctrl-C.

Starts MLflow (SQLite `mlflow.db`, artifacts under `mlruns/`), trains and promotes a demo champion
when the registry has none, then the scoring API and the console; prints the URLs. Logs go to .run/.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: `scripts` is a package of the repository

from scripts.servers import API_ENV, BIN, Server, api_command, start_process  # noqa: E402

LOG_DIR = ROOT / ".run"
HOST = os.environ.get("RUN_HOST", "127.0.0.1")


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    health_path: str
    command: list[str]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


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
)
API = Service("api", _port("API_PORT", 8000), "/health", api_command(_port("API_PORT", 8000), host=HOST))
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
)


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((HOST, port)) == 0


def start(service: Service, env: dict[str, str]) -> Server:
    if port_in_use(service.port):
        raise RuntimeError(f"port {service.port} is taken: is the stack already running? ({service.name})")
    print(f"starting {service.name} on {service.url} ...", flush=True)
    log = LOG_DIR / f"{service.name}.log"
    try:
        return start_process(service.command, service.url, log, env, service.health_path, timeout_s=120)
    except RuntimeError as exc:
        raise RuntimeError(f"{service.name} did not become healthy; see {log}") from exc


def main() -> int:
    LOG_DIR.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": MLFLOW.url,
        "API_URL": os.environ.get("API_URL", API.url),
        "PYTHONUNBUFFERED": "1",
        # MLflow's job runner (GenAI scorers) forks a consumer per core; the platform does not use it.
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }
    servers: list[Server] = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        servers.append(start(MLFLOW, env))
        subprocess.run([sys.executable, "-m", "ml", "bootstrap"], cwd=ROOT, env=env, check=True)
        servers.append(start(API, {**env, **API_ENV}))
        servers.append(start(CONSOLE, env))
        print(
            "\nThe stack is up:\n"
            f"  MLflow UI     {MLFLOW.url}\n"
            f"  Scoring API   {API.url}  (docs: {API.url}/docs)\n"
            f"  Console       {CONSOLE.url}\n"
            f"Logs in {LOG_DIR}/. Ctrl-C stops everything.",
            flush=True,
        )
        while all(server.process.poll() is None for server in servers):
            time.sleep(1)
        print("a service stopped; shutting down (see .run/*.log)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"make run failed: {exc}", file=sys.stderr)
        return 1
    finally:
        for server in reversed(servers):
            server.stop(timeout_s=15)


if __name__ == "__main__":
    sys.exit(main())
