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
