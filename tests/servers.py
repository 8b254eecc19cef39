"""Start and stop real servers for tests: free ports, readiness by HTTP, clean shutdown with logs kept."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg2

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout_s: float = 60, accept: tuple[int, ...] = (200,), process=None) -> None:
    """Poll `url` until it answers one of `accept`; fail early if `process` died."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code in accept:
                return
            last = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.25)
    raise TimeoutError(f"{url} not ready after {timeout_s:.0f} s ({last})")


@dataclass
class Server:
    """A real server process started by a test."""

    process: subprocess.Popen
    url: str
    log_path: Path
    command: list[str]
    env: dict[str, str]

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 20) -> int:
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        return self.process.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def start_process(
    command: list[str],
    url: str,
    log_path: Path,
    env: dict[str, str] | None = None,
    health_path: str = "/health",
    timeout_s: float = 90,
    accept: tuple[int, ...] = (200,),
    cwd: Path = ROOT,
) -> Server:
    """Start `command` in its own process group and wait until `url + health_path` answers."""
    full_env = {**os.environ, **(env or {})}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "ab")  # noqa: SIM115 - kept open for the process's lifetime
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=full_env, cwd=cwd, start_new_session=True
    )
    server = Server(process, url, log_path, command, full_env)
    try:
        wait_http(url + health_path, timeout_s, accept, process)
    except Exception as exc:
        server.stop()
        raise RuntimeError(
            f"{command[0]} failed to start: {exc}\n--- log ---\n{server.log()[-4000:]}"
        ) from exc
    return server


def mlflow_command(backend_uri: str, artifacts_dir: Path, port: int) -> list[str]:
    return [
        str(BIN / "mlflow"),
        "server",
        "--backend-store-uri",
        backend_uri,
        "--artifacts-destination",
        str(artifacts_dir),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]


def start_mlflow(workdir: Path, backend_uri: str | None = None, port: int | None = None) -> Server:
    """A real `mlflow server` with its own store (SQLite in `workdir` unless `backend_uri` is given)."""
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    backend_uri = backend_uri or f"sqlite:///{workdir / 'mlflow.db'}"
    return start_mlflow_command(mlflow_command(backend_uri, workdir / "mlruns", port), port, workdir)


# MLflow's job runner (GenAI scorers) forks a consumer per core: nothing here uses it.
MLFLOW_ENV = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def start_mlflow_command(command: list[str], port: int, workdir: Path) -> Server:
    return start_process(
        command, f"http://127.0.0.1:{port}", workdir / "mlflow.log", env=MLFLOW_ENV, cwd=workdir
    )


def create_postgres_database(admin_url: str) -> tuple[str, str]:
    """Create a fresh database on the server of `admin_url`; return (its URL, its name)."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    connection = psycopg2.connect(admin_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}", name


def drop_postgres_database(admin_url: str, name: str) -> None:
    connection = psycopg2.connect(admin_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    connection.close()
