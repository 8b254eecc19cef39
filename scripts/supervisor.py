"""Keep a set of local services running until Ctrl-C or SIGTERM, then stop every one of them.

`make run` (scripts/run_local.py) starts MLflow, a one-off bootstrap, the API and the console through
one `Supervisor`. Each process is recorded the moment it is spawned (in a process group of its own),
so a signal that arrives while a service is still starting stops that one too. A service that dies
is started again after a back-off that doubles up to a ceiling (and resets once it has stayed up), with
a line in the output, instead of taking the whole stack down.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from scripts.servers import ROOT, wait_http


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    health_path: str
    command: list[str]
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


class Stopped(Exception):  # noqa: N818 - a request to stop, not a failure
    """SIGINT or SIGTERM arrived: unwind and stop everything."""


@dataclass
class Running:
    service: Service
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    started_at: float
    restarts: int = 0
    due_at: float | None = None  # when it died: when it may be started again


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) == 0


@dataclass
class Supervisor:
    log_dir: Path
    first_backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    stable_after_s: float = 60.0  # up this long: the next failure starts the back-off over
    start_timeout_s: float = 120.0
    say: Callable[[str], None] = field(default=lambda line: print(line, flush=True))
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)
    running: dict[str, Running] = field(default_factory=dict)
    _spawning: bool = False
    _pending: str | None = None  # a signal that arrived while a child was being recorded

    @contextmanager
    def signals(self) -> Iterator[None]:
        """SIGINT and SIGTERM raise `Stopped` wherever the supervisor is (held back only while a new
        child is being recorded); every child is stopped on the way out, whatever happened."""

        def stop(signum: int, _frame: FrameType | None) -> None:
            if self._spawning:
                self._pending = signal.Signals(signum).name
                return
            raise Stopped(signal.Signals(signum).name)

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig in previous:  # a second Ctrl-C must not interrupt the shutdown itself
                signal.signal(sig, signal.SIG_IGN)
            self.stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def spawn(self, command: list[str], env: dict[str, str], log_name: str) -> subprocess.Popen[bytes]:
        """Start a process in its own group, recorded before anything can interrupt its start."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._spawning = True
        try:
            with open(self.log_dir / f"{log_name}.log", "ab") as log:
                process = subprocess.Popen(
                    command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=True
                )
            self.children.append(process)
        finally:
            self._spawning = False
        if self._pending:
            raise Stopped(self._pending)
        return process

    def run_once(self, name: str, command: list[str], env: dict[str, str]) -> None:
        """A one-off step (the demo bootstrap), stopped like the services on a signal."""
        process = self.spawn(command, env, name)
        if process.wait() != 0:
            raise RuntimeError(
                f"{name} failed with exit code {process.returncode}; see {self.log_dir}/{name}.log"
            )

    def start(self, service: Service, env: dict[str, str]) -> None:
        """Start a service and wait until it answers its health check."""
        if port_in_use(service.host, service.port):
            raise RuntimeError(
                f"port {service.port} is taken: is the stack already running? ({service.name})"
            )
        self.say(f"starting {service.name} on {service.url} ...")
        self._launch(service, env, restarts=0)

    def _launch(self, service: Service, env: dict[str, str], restarts: int) -> None:
        process = self.spawn(service.command, env, service.name)
        self.running[service.name] = Running(service, process, env, time.monotonic(), restarts)
        try:
            wait_http(service.url + service.health_path, self.start_timeout_s, process=process)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(
                f"{service.name} did not become healthy ({exc}); see {self.log_dir}/{service.name}.log"
            ) from exc

    def watch(self, poll_s: float = 0.5) -> None:
        """Until a signal: restart whichever service died, after its back-off."""
        while True:
            now = time.monotonic()
            for entry in list(self.running.values()):
                self._check(entry, now)
            time.sleep(poll_s)

    def _check(self, entry: Running, now: float) -> None:
        if entry.due_at is None:
            code = entry.process.poll()
            if code is None:
                return
            if now - entry.started_at >= self.stable_after_s:
                entry.restarts = 0
            wait = min(self.first_backoff_s * 2**entry.restarts, self.max_backoff_s)
            entry.due_at = now + wait
            self.say(
                f"{entry.service.name} exited with code {code}; restarting it in {wait:.0f} s "
                f"(see {self.log_dir}/{entry.service.name}.log)"
            )
            return
        if now < entry.due_at:
            return
        try:
            self._launch(entry.service, entry.env, entry.restarts + 1)
            self.say(f"{entry.service.name} is back on {entry.service.url}")
        except RuntimeError as exc:
            self.say(f"{entry.service.name} did not come back: {exc}")
            failed = self.running[entry.service.name]
            failed.due_at = None  # its process is dead or stopped below; the next check backs off more
            _stop(failed.process)

    def stop_all(self, timeout_s: float = 15) -> None:
        """Stop every process started, newest first: SIGTERM to its group, SIGKILL after `timeout_s`."""
        for process in reversed(self.children):
            _stop(process, timeout_s)


def _stop(process: subprocess.Popen[bytes], timeout_s: float = 15) -> None:
    """SIGTERM to the whole group (workers outlive a dead leader), SIGKILL if it does not go."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return  # nothing left in the group
        try:
            process.wait(timeout_s)
            return
        except subprocess.TimeoutExpired:
            continue
