"""scripts/render_deploy.py against a local FAKE of Render's REST API.

The fake is not Render: it is a small HTTP server on 127.0.0.1 that speaks the documented
shape of the four endpoints the script uses (Bearer auth, JSON bodies, Render's error body
{"id", "message"}, deploy statuses created/build_in_progress/update_in_progress/live/
build_failed/...). Each case runs the real script as a subprocess and checks its exit code
and message.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.deploy.deploy_helpers import REPO

API_KEY = "rnd_fake_test_key"
IDS = {"mlflow": "srv-mlflow0001", "api": "srv-api0000001", "app": "srv-app0000001"}
SCRIPT = REPO / "scripts" / "render_deploy.py"


@dataclass
class FakeRender:
    """State of the fake: scripted status sequences per service, and what the script did."""

    statuses: dict[str, list[str]]
    env_vars: dict[str, dict[str, str]] = field(default_factory=dict)
    deploy_order: list[str] = field(default_factory=list)
    deploy_bodies: list[dict] = field(default_factory=list)
    polls: dict[str, int] = field(default_factory=dict)
    url: str = ""

    def service_name(self, service_id: str) -> str | None:
        return next((name for name, sid in IDS.items() if sid == service_id), None)

    def status_of(self, deploy_id: str) -> str:
        name = deploy_id.removeprefix("dep-")
        sequence = self.statuses[name]
        index = self.polls.get(name, 0)
        self.polls[name] = index + 1
        return sequence[min(index, len(sequence) - 1)]


def handler_for(fake: FakeRender) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep test output quiet
            pass

        def _send(self, code: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _route(self, method: str) -> None:
            if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                return self._send(401, {"id": "unauthorized", "message": "unauthorized"})
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else {}
            parts = self.path.strip("/").split("/")  # v1 services {id} ...
            name = (
                fake.service_name(parts[2]) if len(parts) >= 3 and parts[:2] == ["v1", "services"] else None
            )
            if name is None:
                return self._send(404, {"id": "not_found", "message": "service not found"})
            rest = parts[3:]
            if method == "GET" and not rest:
                return self._send(
                    200,
                    {
                        "id": IDS[name],
                        "name": f"credit-scoring-{name}",
                        "type": "web_service",
                        "serviceDetails": {"url": f"https://credit-scoring-{name}.onrender.com"},
                    },
                )
            if method == "PUT" and len(rest) == 2 and rest[0] == "env-vars":
                fake.env_vars.setdefault(name, {})[rest[1]] = body["value"]
                return self._send(200, {"key": rest[1], "value": body["value"]})
            if method == "POST" and rest == ["deploys"]:
                fake.deploy_order.append(name)
                fake.deploy_bodies.append(body)
                return self._send(201, {"id": f"dep-{name}", "status": "created", "trigger": "api"})
            if method == "GET" and len(rest) == 2 and rest[0] == "deploys":
                return self._send(200, {"id": rest[1], "status": fake.status_of(rest[1])})
            return self._send(404, {"id": "not_found", "message": f"no route {method} {self.path}"})

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._route("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._route("POST")

        def do_PUT(self) -> None:  # noqa: N802
            self._route("PUT")

    return Handler


@pytest.fixture
def start_fake_render() -> Iterator[Callable[..., FakeRender]]:
    """Start a fake Render API whose deploys follow `statuses` (default: every deploy goes live)."""
    servers: list[ThreadingHTTPServer] = []

    def start(statuses: dict[str, list[str]] | None = None) -> FakeRender:
        live = ["created", "build_in_progress", "update_in_progress", "live"]
        fake = FakeRender(statuses={name: live for name in IDS} | (statuses or {}))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(fake))
        servers.append(server)
        fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return fake

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def run_script(
    fake: FakeRender, tmp_path: Path, *extra: str, env_overrides: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RENDER_")}
    env |= {"RENDER_API_KEY": API_KEY, "RENDER_API_BASE": fake.url}
    env |= {f"RENDER_SERVICE_ID_{name.upper()}": sid for name, sid in IDS.items()}
    env |= env_overrides or {}
    argv = [
        sys.executable,
        str(SCRIPT),
        "--poll-interval",
        "0.05",
        "--timeout",
        "5",
        "--summary",
        str(tmp_path / "summary.md"),
        "--github-output",
        str(tmp_path / "output"),
        *extra,
    ]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)


pytestmark = pytest.mark.timeout(90)


def test_success_wires_urls_deploys_in_order_and_reports(start_fake_render: Callable, tmp_path: Path) -> None:
    fake_render = start_fake_render()
    result = run_script(fake_render, tmp_path, "--commit", "abc123")
    assert result.returncode == 0, result.stderr
    assert fake_render.deploy_order == ["mlflow", "api", "app"]
    assert all(b == {"clearCache": "do_not_clear", "commitId": "abc123"} for b in fake_render.deploy_bodies)
    assert fake_render.env_vars == {
        "api": {"MLFLOW_TRACKING_URI": "https://credit-scoring-mlflow.onrender.com"},
        "app": {
            "MLFLOW_TRACKING_URI": "https://credit-scoring-mlflow.onrender.com",
            "API_URL": "https://credit-scoring-api.onrender.com",
        },
    }
    outputs = (tmp_path / "output").read_text().splitlines()
    assert outputs == [f"{n}_url=https://credit-scoring-{n}.onrender.com" for n in ("mlflow", "api", "app")]
    summary = (tmp_path / "summary.md").read_text()
    assert summary.count("| live |") == 3 and "https://credit-scoring-app.onrender.com" in summary


def test_failed_build_stops_with_exit_1_and_names_the_service(
    start_fake_render: Callable, tmp_path: Path
) -> None:
    fake_render = start_fake_render({"api": ["created", "build_in_progress", "build_failed"]})
    result = run_script(fake_render, tmp_path)
    assert result.returncode == 1, result.stderr
    assert "api: deploy dep-api ended as build_failed" in result.stderr
    assert fake_render.deploy_order == ["mlflow", "api"], "the console is not deployed after a failure"
    assert "| build_failed |" in (tmp_path / "summary.md").read_text()


def test_deploy_that_never_goes_live_times_out_with_exit_3(
    start_fake_render: Callable, tmp_path: Path
) -> None:
    fake_render = start_fake_render({"mlflow": ["created", "build_in_progress"]})
    result = run_script(fake_render, tmp_path, "--timeout", "0.5")
    assert result.returncode == 3, result.stderr
    assert "mlflow: deploy dep-mlflow still build_in_progress after 0.5s" in result.stderr
    assert fake_render.deploy_order == ["mlflow"]


def test_missing_secret_exits_2_naming_it_before_any_call(
    start_fake_render: Callable, tmp_path: Path
) -> None:
    fake_render = start_fake_render()
    result = run_script(fake_render, tmp_path, env_overrides={"RENDER_SERVICE_ID_APP": ""})
    assert result.returncode == 2
    assert "missing secret(s): RENDER_SERVICE_ID_APP" in result.stderr
    assert fake_render.deploy_order == [] and fake_render.env_vars == {}


def test_rejected_api_key_exits_4_with_renders_message(start_fake_render: Callable, tmp_path: Path) -> None:
    fake_render = start_fake_render()
    result = run_script(fake_render, tmp_path, env_overrides={"RENDER_API_KEY": "rnd_wrong"})
    assert result.returncode == 4
    assert "answered 401: unauthorized" in result.stderr


def test_help_documents_the_exit_codes() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0
    for code in (
        "0 all three live",
        "1 a deploy failed",
        "2 missing secret",
        "3 a deploy timed out",
        "4 Render API",
    ):
        assert code in " ".join(result.stdout.split()), code
