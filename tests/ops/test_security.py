"""HTTP hardening (api/security.py) on a real replica: security headers on every answer, CORS for
the configured console origin only, a per-key rate limit (off unless RATE_LIMIT_PER_MINUTE is set),
and the body size limit the API already enforces."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from api.core.config import ApiSettings
from api.security import RateLimitMiddleware, SecurityHeadersMiddleware, install_security
from tests.ops.stack import start_api
from tests.servers import Server
from tests.utils import Champion

CONSOLE = "https://console.example.org"
KEYS = ("key-headers", "key-limited", "key-other", "key-cors", "key-size")
LIMIT = 5


@pytest.fixture(scope="module")
def hardened_api(tmp_path_factory, champion: Champion) -> Iterator[Server]:
    env = {
        "MLFLOW_TRACKING_URI": champion.tracking_uri,
        "MODEL_NAME": champion.name,
        "API_KEYS": ",".join(KEYS),
        "ADMIN_API_KEYS": "admin-key-for-ops-tests",
        "CORS_ORIGINS": f"{CONSOLE}, http://localhost:8501",
        "RATE_LIMIT_PER_MINUTE": str(LIMIT),
    }
    server = start_api(tmp_path_factory.mktemp("hardened-api"), env)
    yield server
    server.stop()


def _client(api: Server, key: str | None) -> httpx.Client:
    return httpx.Client(base_url=api.url, headers={"X-API-Key": key} if key else {}, timeout=30)


def _assert_hardened(response: httpx.Response, html: bool = False) -> None:
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["strict-transport-security"].startswith("max-age=")
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert ("default-src 'none'" in csp) is not html
    assert headers["cache-control"] == "no-store"


@pytest.mark.slow
def test_every_kind_of_answer_carries_the_security_headers(
    hardened_api: Server, records: list[dict[str, Any]]
) -> None:
    with _client(hardened_api, "key-headers") as client:
        scored = client.post("/predict", json={"features": records[0]})
        assert scored.status_code == 200
        _assert_hardened(scored)
        for response in (client.get("/health"), client.get("/metrics"), client.get("/no-such-page")):
            _assert_hardened(response)
        docs = client.get("/docs")
        assert docs.headers["content-type"].startswith("text/html")
        _assert_hardened(docs, html=True)
    with _client(hardened_api, None) as anonymous:
        refused = anonymous.post("/predict", json={"features": records[0]})
        assert refused.status_code == 401
        _assert_hardened(refused)


@pytest.mark.slow
def test_cors_answers_the_console_origin_only(hardened_api: Server) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-api-key,content-type",
    }
    with _client(hardened_api, None) as client:
        allowed = client.options("/predict", headers={"Origin": CONSOLE, **preflight})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == CONSOLE
        assert "x-api-key" in allowed.headers["access-control-allow-headers"].lower()
        _assert_hardened(allowed)

        refused = client.options("/predict", headers={"Origin": "https://evil.example", **preflight})
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers

    with _client(hardened_api, "key-cors") as client:
        simple = client.get("/model", headers={"Origin": "https://evil.example"})
        assert simple.status_code == 200
        assert "access-control-allow-origin" not in simple.headers
        from_console = client.get("/model", headers={"Origin": CONSOLE})
        assert from_console.headers["access-control-allow-origin"] == CONSOLE
        assert "x-request-id" in from_console.headers["access-control-expose-headers"].lower()


@pytest.mark.slow
def test_rate_limit_is_per_key_and_spares_the_probes(
    hardened_api: Server, records: list[dict[str, Any]]
) -> None:
    body = {"features": records[1]}
    with _client(hardened_api, "key-limited") as limited, _client(hardened_api, "key-other") as other:
        statuses = [limited.post("/predict", json=body).status_code for _ in range(LIMIT)]
        assert statuses == [200] * LIMIT
        over = limited.post("/predict", json=body)
        assert over.status_code == 429
        assert 1 <= int(over.headers["retry-after"]) <= 60 / LIMIT + 1
        assert over.json()["detail"].startswith("rate limit exceeded")
        assert over.json()["request_id"] == over.headers["x-request-id"]
        _assert_hardened(over)
        assert other.post("/predict", json=body).status_code == 200
        assert limited.get("/health").status_code == 200
        assert limited.get("/metrics").status_code == 200


@pytest.mark.slow
def test_oversized_bodies_are_refused_with_413(hardened_api: Server) -> None:
    padding = "x" * (2 * 1024 * 1024)
    with _client(hardened_api, "key-size") as client:
        response = client.post("/predict", json={"features": {"NAME_CONTRACT_TYPE": padding}})
    # Starlette's body limit answers this 413 itself, outside the middlewares (plain text, no headers).
    assert response.status_code == 413


def _middleware_classes(settings: ApiSettings) -> list[type]:
    app = FastAPI()
    install_security(app, settings)
    return [middleware.cls for middleware in app.user_middleware]


def test_cors_and_rate_limit_are_off_unless_configured() -> None:
    assert _middleware_classes(ApiSettings(_env_file=None)) == [SecurityHeadersMiddleware]
    configured = ApiSettings(cors_origins="http://localhost:8501", rate_limit_per_minute=60)
    classes = _middleware_classes(configured)
    assert classes[0] is SecurityHeadersMiddleware and classes[-1] is RateLimitMiddleware
    assert len(classes) == 3
    with pytest.raises(ValueError):
        ApiSettings(rate_limit_per_minute=-1)


def test_token_bucket_allows_bursts_then_refills() -> None:
    limiter = RateLimitMiddleware(app=None, per_minute=60, known_keys=frozenset({"k"}))
    assert [limiter._take("key:a", 100.0) for _ in range(60)] == [None] * 60
    assert limiter._take("key:a", 100.0) == pytest.approx(1.0)
    assert limiter._take("key:b", 100.0) is None  # buckets are per caller
    assert limiter._take("key:a", 101.0) is None  # one second later, one token is back
    assert limiter._take("key:a", 101.0) is not None


def test_only_configured_keys_get_a_bucket_of_their_own() -> None:
    limiter = RateLimitMiddleware(app=None, per_minute=60, known_keys=frozenset({"good-key"}))

    def caller(key: str | None) -> str:
        headers = [(b"x-api-key", key.encode())] if key else []
        return limiter._caller({"headers": headers, "client": ("10.1.2.3", 5555)})

    assert caller("good-key").startswith("key:")
    assert "good-key" not in caller("good-key")
    assert caller("random-key-1") == caller("random-key-2") == caller(None) == "ip:10.1.2.3"


def test_idle_buckets_are_forgotten_when_there_are_too_many(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("api.security.MAX_BUCKETS", 3)
    limiter = RateLimitMiddleware(app=None, per_minute=60, known_keys=frozenset())
    for index in range(3):
        limiter._take(f"ip:{index}", 0.0)
    limiter._take("ip:late", 61.0)
    assert set(limiter.buckets) == {"ip:late"}


def test_no_api_key_value_reaches_the_limiter_state() -> None:
    limiter = RateLimitMiddleware(app=None, per_minute=1, known_keys=frozenset({"secret-key-value"}))
    assert all("secret-key-value" not in digest for digest in limiter.known)
