"""Every refusal as a JSON body `{detail, errors: [{row, field, reason}], request_id}`; never a bare 500.

Exception handlers cover the errors raised by routes. `JsonErrorsMiddleware`, the innermost
middleware, covers the rest: an unexpected exception becomes a JSON 500 answered *inside* the
request-id and security-header middlewares (Starlette's own handler answers outside them, without
those headers, and then drops the connection), and a plain-text refusal from Starlette (the body
limit's 413) is rewritten into the same JSON shape.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.logging import request_id_var
from api.scoring import InputError, TooLargeError

logger = logging.getLogger("api.errors")


def error_body(detail: str, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"detail": detail, "errors": errors or [], "request_id": request_id_var.get()}


async def _input_error(_request: Request, exc: InputError) -> JSONResponse:
    status = 413 if isinstance(exc, TooLargeError) else 422
    return JSONResponse(
        error_body(exc.message, [error.as_dict() for error in exc.errors]), status_code=status
    )


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
        reason = error.get("msg", "invalid")
        if error.get("type") == "json_invalid":
            location, reason = [], f"invalid JSON: {error.get('ctx', {}).get('error', reason)}"
        errors.append({"row": None, "field": ".".join(location) or "body", "reason": reason})
    return JSONResponse(error_body("invalid request", errors), status_code=422)


async def _http_error(_request: Request, exc: HTTPException) -> JSONResponse:
    raw: Any = exc.detail  # a str, or the dict some routes raise with (409 with a verdict, ...)
    detail = raw if isinstance(raw, str) else "request refused"
    extra: dict[str, Any] = raw if isinstance(raw, dict) else {}
    return JSONResponse({**error_body(detail), **extra}, status_code=exc.status_code, headers=exc.headers)


class JsonErrorsMiddleware:
    """Plain ASGI, innermost: JSON 500s with the request's headers, JSON for Starlette's text refusals."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        held: Message | None = None
        text = b""

        async def send_json_errors(message: Message) -> None:
            nonlocal started, held, text
            if message["type"] == "http.response.start":
                started = True
                if message["status"] >= 400 and _content_type(message).startswith(b"text/plain"):
                    held = message
                    return
            elif held is not None:
                text += message.get("body", b"")
                if message.get("more_body"):
                    return
                message = held
                held = None
                await _send_json(send, message["status"], error_body(text.decode(errors="replace")), message)
                return
            await send(message)

        try:
            await self.app(scope, receive, send_json_errors)
        except MemoryError as exc:
            logger.error("out of memory for a request; answered 503", exc_info=exc)
            if started:
                raise
            detail = "this replica is out of memory for this request; retry later or send a smaller batch"
            await _send_json(send, 503, error_body(detail), {"headers": [(b"retry-after", b"10")]})
        except Exception as exc:
            logger.error("unhandled error", exc_info=exc)
            if started:
                raise
            await _send_json(
                send, 500, error_body("internal error; the request id identifies it in the logs")
            )


def _content_type(message: Message) -> bytes:
    return next((value for name, value in message.get("headers", []) if name.lower() == b"content-type"), b"")


async def _send_json(send: Send, status: int, body: dict[str, Any], like: Message | None = None) -> None:
    """A complete JSON response; keeps the headers of `like` except its content type and length."""
    payload = json.dumps(body).encode()
    kept = [
        (name, value)
        for name, value in (like or {}).get("headers", [])
        if name.lower() not in (b"content-type", b"content-length")
    ]
    headers = [*kept, (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def install_error_handlers(app: FastAPI, max_body_size: int) -> None:
    """Handlers, then the body limit and the JSON-errors middleware (call before any other middleware,
    so they sit innermost). The app's own body limit must be off (`FastAPI(max_body_size=None)`):
    FastAPI places it outside every middleware, where its 413 would get no headers."""
    # Starlette types every handler as taking Exception; each of these takes the class it is registered for.
    app.add_exception_handler(InputError, _input_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_middleware(RequestBodyLimitMiddleware, max_body_size=max_body_size)
    app.add_middleware(JsonErrorsMiddleware)
