"""`make run`'s supervisor (scripts/supervisor.py) with a real process tree and real signals.

A driver process supervises small HTTP services (each writes its pid, may wait before listening);
the tests signal the driver while a service is still starting, and kill a service under it.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import ROOT, free_port

SERVICE = """
import http.server, os, sys, time
pid_file, port, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
with open(pid_file, "a") as handle:
    handle.write(f"{os.getpid()}\\n")
time.sleep(delay)
http.server.HTTPServer(("127.0.0.1", port), http.server.SimpleHTTPRequestHandler).serve_forever()
"""

DRIVER = """
import sys
from pathlib import Path
sys.path.insert(0, {root!r})
from scripts.supervisor import Service, Stopped, Supervisor

def service(name, port, delay):
    command = [sys.executable, {service!r}, {tmp!r} + "/" + name + ".pid", str(port), str(delay)]
    return Service(name, port, "/", command)

supervisor = Supervisor(Path({tmp!r}) / "logs", first_backoff_s=0.5, start_timeout_s=60)
try:
    with supervisor.signals():
        for name, port, delay in {services!r}:
            supervisor.start(service(name, port, delay), dict(__import__("os").environ))
        print("all up", flush=True)
        supervisor.watch(poll_s=0.1)
except Stopped as stop:
    print(f"stopped by {{stop}}", flush=True)
"""


class Driver:
    """The supervisor in a process of its own, its output read line by line."""

    def __init__(self, tmp: Path, services: list[tuple[str, int, float]]) -> None:
        (tmp / "service.py").write_text(SERVICE)
        script = DRIVER.format(
            root=str(ROOT), service=str(tmp / "service.py"), tmp=str(tmp), services=services
        )
        (tmp / "driver.py").write_text(script)
        self.tmp = tmp
        self.process = subprocess.Popen(
            [sys.executable, str(tmp / "driver.py")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip())

    def wait_for(self, text: str, timeout_s: float = 30) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r} in {timeout_s} s: {self.seen}")

    def pids(self, name: str) -> list[int]:
        path = self.tmp / f"{name}.pid"
        return [int(p) for p in path.read_text().split()] if path.exists() else []

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


def _wait_gone(pids: list[int], timeout_s: float = 20) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.1)
    return [pid for pid in pids if _alive(pid)]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_a_service_starts_stops_everything_started(tmp_path, sig):
    fast, slow = free_port(), free_port()
    driver = Driver(tmp_path, [("fast", fast, 0.0), ("slow", slow, 60.0)])
    try:
        driver.wait_for("starting slow")
        deadline = time.monotonic() + 10
        while not driver.pids("slow") and time.monotonic() < deadline:  # spawned, not listening yet
            time.sleep(0.05)
        started = driver.pids("fast") + driver.pids("slow")
        assert len(started) == 2 and all(_alive(pid) for pid in started)
        driver.process.send_signal(sig)
        driver.wait_for(f"stopped by {signal.Signals(sig).name}")
        assert driver.process.wait(20) == 0
        assert _wait_gone(started) == [], "left running after the signal"
    finally:
        driver.stop()


def test_a_service_that_dies_is_restarted_with_a_line_in_the_output(tmp_path):
    port = free_port()
    driver = Driver(tmp_path, [("web", port, 0.0)])
    try:
        driver.wait_for("all up")
        [first] = driver.pids("web")
        os.kill(first, signal.SIGKILL)
        line = driver.wait_for("web exited with code -9")
        assert "restarting it in" in line
        driver.wait_for("web is back")
        assert (
            len(driver.pids("web")) == 2
            and httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
        )
        os.kill(driver.pids("web")[1], signal.SIGKILL)  # again, soon after: a longer wait
        assert "restarting it in 1 s" in driver.wait_for("web exited with code -9")
        driver.wait_for("web is back")
        driver.process.send_signal(signal.SIGTERM)
        assert driver.process.wait(20) == 0
        assert _wait_gone(driver.pids("web")) == []
    finally:
        driver.stop()
