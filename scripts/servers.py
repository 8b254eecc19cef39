"""Start and stop real server processes: free ports, readiness by HTTP, clean shutdown with logs kept.

One helper for `make run` (scripts/run_local.py), the benchmarks (bench/) and the tests (tests/servers.py
adds MLflow and PostgreSQL on top). `api_command` and `API_ENV` start an API replica as the image does:
`python -m api` (the import guard) with api/replica.env's process tuning.
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

import httpx

from api.runtime import replica_env

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
API_ENV = replica_env()


def api_command(port: int, *options: str, host: str = "127.0.0.1") -> list[str]:
    """An API replica on `host:port`, started through its entry point as in the image."""
    return [sys.executable, "-m", "api", "--host", host, "--port", str(port), *options]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(
    url: str,
    timeout_s: float = 60,
    accept: tuple[int, ...] = (200,),
    process: subprocess.Popen[bytes] | None = None,
    poll_s: float = 0.25,
) -> None:
    """Poll `url` until it answers one of `accept`; fail early if `process` died."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
            try:
                response = client.get(url)
                if response.status_code in accept:
                    return
                last = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(poll_s)
    raise TimeoutError(f"{url} not ready after {timeout_s:.0f} s ({last})")


@dataclass
class Server:
    """A real server process, in a process group of its own."""

    process: subprocess.Popen[bytes]
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
    poll_s: float = 0.25,
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
        wait_http(url + health_path, timeout_s, accept, process, poll_s)
    except Exception as exc:
        server.stop()
        raise RuntimeError(
            f"{command[0]} failed to start: {exc}\n--- log ---\n{server.log()[-4000:]}"
        ) from exc
    return server
