"""Blocking database work from a route: off the event loop, and an unreachable store as a 503."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import sqlalchemy as sa
from fastapi import HTTPException, status

P = ParamSpec("P")
T = TypeVar("T")
RETRY_AFTER_S = "5"
LOG_UNREACHABLE = "the decision log is unreachable"


async def store_call(unreachable: str, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run `call` in a worker thread; a lost connection tells the client to retry, never a 500."""
    try:
        return await asyncio.to_thread(call, *args, **kwargs)
    except sa.exc.OperationalError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, unreachable, headers={"Retry-After": RETRY_AFTER_S}
        ) from exc
