"""Per-request context as plain ASGI middleware: request id, access log, latency and status metrics.

Plain ASGI rather than BaseHTTPMiddleware, which costs a task and a stream per request on the hot path.
"""

from __future__ import annotations

import itertools
import logging
import re
import time
import uuid

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import metrics
from api.logging import request_id_var

REQUEST_ID_HEADER = b"x-request-id"
_VALID_ID = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")
access_log = logging.getLogger("api.access")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _request_id(scope)
        token = request_id_var.set(request_id)
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (REQUEST_ID_HEADER, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            _count(scope["method"], path, status, elapsed)
            access_log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 3),
                    "who": scope.get("state", {}).get("who"),  # set by api.auth once the caller is known
                },
            )
            request_id_var.reset(token)


_CHILDREN_MAX = 1_000
_children: dict[tuple[str, str, int], tuple[Counter, Histogram, Counter | None]] = {}


def _count(method: str, path: str, status: int, elapsed: float) -> None:
    """Count one request; the labelled series are looked up once per (method, route, status), not per
    request (`labels()` takes a lock and builds its key each call)."""
    key = (method, path, status)
    children = _children.get(key)
    if children is None:
        children = (
            metrics.REQUESTS.labels(method, path, str(status)),
            metrics.LATENCY.labels(path),
            metrics.ERRORS.labels(path, str(status)) if status >= 400 else None,
        )
        if len(_children) < _CHILDREN_MAX:  # methods come from clients: keep the table bounded
            _children[key] = children
    requests, latency, errors = children
    requests.inc()
    latency.observe(elapsed)
    if errors is not None:
        errors.inc()


# A random prefix per process and a counter: unique like uuid4, without an os.urandom call per request
# (which costs ~100+ µs on some sandboxed kernels).
_PREFIX = uuid.uuid4().hex[:12]
_counter = itertools.count(1)


def _request_id(scope: Scope) -> str:
    """The caller's X-Request-ID when it is a sane token, else a new one."""
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER and _VALID_ID.match(value):
            return bytes(value).decode()
    return f"{_PREFIX}-{next(_counter):x}"
