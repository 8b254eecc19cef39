"""The error paths no real input reaches any more, in process: an unexpected exception is a JSON 500
with the request id and the security headers, and the app keeps answering."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.core.config import ApiSettings
from api.main import create_app


def test_an_unexpected_error_is_a_json_500_inside_the_middlewares() -> None:
    app = create_app(ApiSettings())

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    client = TestClient(app, raise_server_exceptions=False)  # no lifespan: no model, no log, no MLflow
    response = client.get("/boom", headers={"X-Request-ID": "req-boom-1"})
    again = client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {
        "detail": "internal error; the request id identifies it in the logs",
        "errors": [],
        "request_id": "req-boom-1",
    }
    assert response.headers["x-request-id"] == "req-boom-1"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" in response.headers
    assert again.status_code == 500 and again.json()["request_id"] == again.headers["x-request-id"]


def test_out_of_memory_is_a_503_with_retry_after() -> None:
    """A request that runs out of memory is the client's cue to retry later or send less, not a bug."""
    app = create_app(ApiSettings())

    @app.get("/hungry")
    async def hungry() -> None:
        raise MemoryError

    client = TestClient(app, raise_server_exceptions=False)
    response = client.get("/hungry", headers={"X-Request-ID": "req-oom-1"})
    assert response.status_code == 503 and response.headers["retry-after"] == "10"
    assert response.json()["request_id"] == response.headers["x-request-id"] == "req-oom-1"
    assert "out of memory" in response.json()["detail"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_an_unreachable_decision_store_is_a_503_with_retry_after_on_every_route_that_reads_it() -> None:
    """Fairness, performance and outcomes read the store off the event loop; a lost database is the
    client's cue to retry (503, Retry-After), in the JSON error shape, never a 500."""
    settings = ApiSettings(database_url="postgresql://postgres@127.0.0.1:9/nowhere?connect_timeout=2")
    client = TestClient(create_app(settings), raise_server_exceptions=False)
    answers = {
        "fairness": client.get("/fairness"),
        "performance": client.get("/performance"),
        "outcomes": client.post("/outcomes", json=[{"request_id": "r", "row": 1, "defaulted": 1}]),
    }
    for route, answer in answers.items():
        assert answer.status_code == 503, (route, answer.text)
        assert answer.headers["retry-after"] == "5", route
        assert answer.json()["detail"].endswith(
            "unreachable" if route != "outcomes" else "nothing was stored"
        )
        assert set(answer.json()) == {"detail", "errors", "request_id"}, route
