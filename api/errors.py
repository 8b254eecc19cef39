"""Every refusal as a 4xx JSON body `{detail, errors: [{row, field, reason}], request_id}`; never a bare 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from api.logging import request_id_var
from api.scoring import InputError

logger = logging.getLogger("api.errors")


def _body(detail: str, errors: list[dict] | None = None) -> dict:
    return {"detail": detail, "errors": errors or [], "request_id": request_id_var.get()}


async def _input_error(_request: Request, exc: InputError) -> JSONResponse:
    return JSONResponse(_body(exc.message, [error.as_dict() for error in exc.errors]), status_code=422)


async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
        reason = error.get("msg", "invalid")
        if error.get("type") == "json_invalid":
            location, reason = [], f"invalid JSON: {error.get('ctx', {}).get('error', reason)}"
        errors.append({"row": None, "field": ".".join(location) or "body", "reason": reason})
    return JSONResponse(_body("invalid request", errors), status_code=422)


async def _http_error(_request: Request, exc: HTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else "request refused"
    extra = exc.detail if isinstance(exc.detail, dict) else {}
    return JSONResponse({**_body(detail), **extra}, status_code=exc.status_code, headers=exc.headers)


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    logger.error("unhandled error", exc_info=exc)
    return JSONResponse(_body("internal error; the request id identifies it in the logs"), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(InputError, _input_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
