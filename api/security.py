"""HTTP hardening of the API: security headers, CORS for configured origins only, per-key rate limits.

Body sizes are already bounded where bodies are read (FastAPI's `max_body_size`: 1 MiB for
/predict and /explain, MAX_UPLOAD_BYTES elsewhere; MAX_JSON_BYTES for JSON batches); Starlette
answers those 413s itself, outside these middlewares. Both middlewares here are plain ASGI, like
api.middleware, to stay cheap on the scoring path.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import API_KEY_HEADER
from api.core.config import ApiSettings
from api.logging import request_id_var

# Every response; HTML pages (/docs, drift reports) load scripts and styles, so only JSON and
# text answers get the "load nothing" policy, while framing is refused for all.
COMMON_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
)
API_CSP = b"default-src 'none'; frame-ancestors 'none'"
HTML_CSP = b"frame-ancestors 'none'"
# A drift report's page is data made HTML: its scripts run in an opaque origin of their own.
REPORT_CSP = "sandbox allow-scripts; frame-ancestors 'none'"
# Probes and scrapes are never limited: a throttled /health would take a replica out of service.
UNLIMITED_PATHS = frozenset({"/health", "/metrics"})
MAX_BUCKETS = 10_000


class SecurityHeadersMiddleware:
    """Adds the security headers to every response, and `Cache-Control: no-store` (scores are
    personal data) unless the route set its own caching."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                content_type = next(
                    (value for name, value in headers if name.lower() == b"content-type"), b""
                )
                csp = HTML_CSP if content_type.startswith(b"text/html") else API_CSP
                extra = (*COMMON_HEADERS, (b"content-security-policy", csp), (b"cache-control", b"no-store"))
                message["headers"] = [
                    *headers,
                    *((name, value) for name, value in extra if name not in present),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimitMiddleware:
    """A token bucket per caller: `per_minute` requests a minute, bursts up to the same number.

    The caller is its API key when it presents a configured one, else its client address, so that
    random keys cannot each open a fresh bucket. Buckets live in this process: behind a load
    balancer each replica allows `per_minute`. Over the limit: 429 with Retry-After.
    """

    def __init__(self, app: ASGIApp, per_minute: int, known_keys: frozenset[str]) -> None:
        self.app = app
        self.capacity = float(per_minute)
        self.refill_per_s = per_minute / 60.0
        self.known = frozenset(_digest(key) for key in known_keys)
        self.buckets: dict[str, _Bucket] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS or scope["method"] == "OPTIONS":
            await self.app(scope, receive, send)
            return
        wait_s = self._take(self._caller(scope), time.monotonic())
        if wait_s is None:
            await self.app(scope, receive, send)
            return
        body: dict[str, Any] = {
            "detail": f"rate limit exceeded: {self.capacity:.0f} requests per minute",
            "errors": [],
            "request_id": request_id_var.get(),
        }
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"retry-after", str(math.ceil(wait_s)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": json.dumps(body).encode()})

    def _caller(self, scope: Scope) -> str:
        header = API_KEY_HEADER.lower().encode()
        for name, value in scope["headers"]:
            if name == header:
                digest = _digest(value.decode(errors="replace"))
                if digest in self.known:
                    return f"key:{digest}"
        client = scope.get("client")
        return f"ip:{client[0] if client else 'unknown'}"

    def _take(self, caller: str, now: float) -> float | None:
        """Spend one token; None when allowed, else the seconds until a token is back."""
        bucket = self.buckets.get(caller)
        if bucket is None:
            if len(self.buckets) >= MAX_BUCKETS:
                self._forget_idle(now)
            bucket = self.buckets[caller] = _Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.refill_per_s)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return (1 - bucket.tokens) / self.refill_per_s

    def _forget_idle(self, now: float) -> None:
        """Drop buckets unused for a minute: they are full again, so forgetting them changes nothing."""
        self.buckets = {
            caller: bucket for caller, bucket in self.buckets.items() if now - bucket.updated < 60
        }


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def install_security(app: FastAPI, settings: ApiSettings) -> None:
    """Add the middlewares, innermost first: rate limit, then CORS (preflights are never limited),
    then the headers, which so reach every answer, 429 and preflight included."""
    if settings.rate_limit_per_minute > 0:
        app.add_middleware(
            RateLimitMiddleware,
            per_minute=settings.rate_limit_per_minute,
            known_keys=settings.key_ring().secrets(),
        )
    origins = sorted(settings.cors_origin_list())
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=[API_KEY_HEADER, "Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
            allow_credentials=False,
            max_age=600,
        )
    app.add_middleware(SecurityHeadersMiddleware)
