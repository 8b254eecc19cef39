"""Helpers for the deployment tests: what the images and the blueprint say, and real
processes started from them.

The images themselves run as the session's containers (tests/images/fixtures.py); a one-off
variant is checked by running its Dockerfile's CMD (and the ENV of its final stage) as a local
process, with the environment render.yaml gives the service and local stand-ins (SQLite, temp
dirs) where the blueprint points at Render's database.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SERVICES = ("api", "app", "mlflow")
BLUEPRINT_NAMES = {
    "api": "credit-scoring-api",
    "app": "credit-scoring-app",
    "mlflow": "credit-scoring-mlflow",
}


def tool(name: str) -> str:
    """Path of a dev tool installed in the venv, or a failed test saying how to get it."""
    for candidate in (VENV_BIN / name, Path(os.environ.get("VIRTUAL_ENV", "/nonexistent")) / "bin" / name):
        if candidate.exists():
            return str(candidate)
    pytest.fail(f"{name} is not installed in {VENV_BIN}: install the project's dev extra")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def blueprint() -> dict:
    return yaml.safe_load((REPO / "render.yaml").read_text())


def blueprint_service(service: str) -> dict:
    name = BLUEPRINT_NAMES[service]
    return next(s for s in blueprint()["services"] if s["name"] == name)


@dataclass
class Image:
    """The parts of a Dockerfile's final stage that decide how its container starts."""

    cmd: list[str]
    env: dict[str, str]
    instructions: list[tuple[str, str]] = field(default_factory=list)


def parse_dockerfile(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with line continuations joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, rest = line.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def final_stage(path: Path) -> Image:
    """The CMD (exec form) and ENV of the last stage: what `docker run` would start."""
    instructions = parse_dockerfile(path)
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    stage = instructions[last_from:]
    cmds = [rest for keyword, rest in stage if keyword == "CMD"]
    assert cmds, f"{path.name}: no CMD in the final stage"
    env: dict[str, str] = {}
    for keyword, rest in stage:
        if keyword == "ENV":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                env[key] = value
    return Image(cmd=json.loads(cmds[-1]), env=env, instructions=instructions)


@dataclass
class LocalBlueprint:
    """Render's environment for each service, with local stand-ins for the Render-only parts.

    fromDatabase becomes one SQLite file per database (shared, as on Render), generateValue a random token (the same token wherever
    fromService reads it), and sync:false values come from `synced` (the URLs that
    scripts/render_deploy.py sets on Render).
    """

    workdir: Path
    generated: dict[tuple[str, str], str] = field(default_factory=dict)

    def env(self, service: str, synced: dict[str, str]) -> dict[str, str]:
        values: dict[str, str] = {}
        for var in blueprint_service(service).get("envVars", []):
            key = var["key"]
            if "value" in var:
                values[key] = str(var["value"])
            elif "fromDatabase" in var:
                values[key] = f"sqlite:///{self.workdir / (var['fromDatabase']['name'] + '.db')}"
            elif var.get("generateValue"):
                values[key] = self._generated(BLUEPRINT_NAMES[service], key)
            elif "fromService" in var:
                ref = var["fromService"]
                values[key] = self._generated(ref["name"], ref["envVarKey"])
            elif key in synced:
                values[key] = synced[key]
        return values

    def _generated(self, service_name: str, key: str) -> str:
        return self.generated.setdefault((service_name, key), "Gen-" + secrets.token_urlsafe(24))


@dataclass
class Started:
    """A running service started from an image's CMD."""

    url: str
    env: dict[str, str]
    process: subprocess.Popen
    log: Path


def start_image_cmd(service: str, env: dict[str, str], log: Path) -> Started:
    """Run the service's Dockerfile CMD as a local process on a free PORT, from the repo root."""
    image = final_stage(REPO / f"Dockerfile.{service}")
    port = free_port()
    full_env = {
        **os.environ,
        **{k: v for k, v in image.env.items() if k != "PATH"},
        **env,
        "PORT": str(port),
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    handle = log.open("wb")
    process = subprocess.Popen(
        image.cmd, cwd=REPO, env=full_env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )
    return Started(f"http://127.0.0.1:{port}", full_env, process, log)


def wait_for_http(started: Started, path: str, timeout: float, status: int | None = None) -> httpx.Response:
    """First answer on `path` (with `status`, when given), failing with the log if the process
    dies or no such answer comes in time."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if started.process.poll() is not None:
            pytest.fail(
                f"process exited with {started.process.returncode}:\n{started.log.read_text()[-4000:]}"
            )
        try:
            response = httpx.get(started.url + path, timeout=5)
            if status is None or response.status_code == status:
                return response
            last = f"{response.status_code} {response.text[:200]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.5)
    pytest.fail(f"{started.url}{path}: {last} after {timeout}s:\n{started.log.read_text()[-4000:]}")


def stop(started: Started) -> None:
    """Stop the whole process group (mlflow and streamlit start children)."""
    if started.process.poll() is None:
        os.killpg(started.process.pid, signal.SIGTERM)
        try:
            started.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(started.process.pid, signal.SIGKILL)
            started.process.wait(timeout=10)
