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
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
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
API = Service(
    "api",
    _port("API_PORT", 8000),
    "/health",
    [str(BIN / "uvicorn"), "api.main:app", "--host", HOST, "--port", str(_port("API_PORT", 8000))],
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
)


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((HOST, port)) == 0


def wait_healthy(service: Service, process: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{service.name} exited with {process.returncode}; see {LOG_DIR / service.name}.log"
            )
        try:
            # Our own http:// URL, built from HOST and a port: no file:// or custom scheme can get in.
            with urllib.request.urlopen(service.url + service.health_path, timeout=2) as response:  # noqa: S310  # nosec B310
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise RuntimeError(
        f"{service.name} not healthy after {timeout_s:.0f} s; see {LOG_DIR / service.name}.log"
    )


def start(service: Service, env: dict[str, str]) -> subprocess.Popen:
    if port_in_use(service.port):
        raise RuntimeError(f"port {service.port} is taken: is the stack already running? ({service.name})")
    log = open(LOG_DIR / f"{service.name}.log", "ab")  # noqa: SIM115 - open for the process's lifetime
    print(f"starting {service.name} on {service.url} ...", flush=True)
    process = subprocess.Popen(
        service.command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    wait_healthy(service, process)
    return process


def stop_all(processes: list[subprocess.Popen]) -> None:
    for process in reversed(processes):
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


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
    processes: list[subprocess.Popen] = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        processes.append(start(MLFLOW, env))
        subprocess.run([sys.executable, "-m", "ml", "bootstrap"], cwd=ROOT, env=env, check=True)
        processes.append(start(API, env))
        processes.append(start(CONSOLE, env))
        print(
            "\nThe stack is up:\n"
            f"  MLflow UI     {MLFLOW.url}\n"
            f"  Scoring API   {API.url}  (docs: {API.url}/docs)\n"
            f"  Console       {CONSOLE.url}\n"
            f"Logs in {LOG_DIR}/. Ctrl-C stops everything.",
            flush=True,
        )
        while all(process.poll() is None for process in processes):
            time.sleep(1)
        print("a service stopped; shutting down (see .run/*.log)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"make run failed: {exc}", file=sys.stderr)
        return 1
    finally:
        stop_all(processes)


if __name__ == "__main__":
    sys.exit(main())
