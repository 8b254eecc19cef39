"""JSON bodies parsed strictly, and never with an unbounded cost.

Python's json module accepts NaN and Infinity (not JSON), turns a 5,000-digit integer into a
ValueError and deep nesting into a RecursionError: all of these become a JSONDecodeError, which
FastAPI and the batch route answer with a 422. Integers longer than MAX_INT_DIGITS are read as
floats (so they are refused as out of range with their field name, not as unparsable).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute

MAX_INT_DIGITS = 100
_HUGE = 2.0**63  # from here on a float may be an integer orjson could not keep exact


def _reject_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not valid JSON (send null or omit the field)", name, 0)


def _parse_int(text: str) -> int | float:
    return int(text) if len(text) <= MAX_INT_DIGITS else float(text)


def loads_strict(data: bytes | bytearray | str) -> Any:
    """json.loads without NaN/Infinity; every failure is a JSONDecodeError.

    orjson parses first (~7x faster; NaN, Infinity, lone surrogates and deep nesting are errors
    there): what it accepts, json.loads reads to the same values, except integers beyond 64 bits,
    which orjson turns into floats; a result holding a float that large is read again. Whatever
    orjson refuses is parsed again by json.loads, so the answer and its message stay the strict
    parser's.
    """
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError:
        pass
    else:
        if not _holds_huge_float(parsed):
            return parsed
    try:
        return json.loads(data, parse_constant=_reject_constant, parse_int=_parse_int)
    except json.JSONDecodeError:
        raise
    except RecursionError as exc:
        raise json.JSONDecodeError("nested too deeply", "", 0) from exc
    except UnicodeDecodeError as exc:
        raise json.JSONDecodeError(f"not UTF-8 text ({exc.reason})", "", exc.start) from exc
    except ValueError as exc:
        raise json.JSONDecodeError(str(exc), "", 0) from exc


def _holds_huge_float(value: Any) -> bool:
    """Whether a parsed document holds a float of magnitude 2**63 or more (walked without recursion)."""
    stack: list[Any] = [[value]]
    while stack:
        container = stack.pop()
        for item in container.values() if type(container) is dict else container:
            kind = type(item)
            if kind is float:
                if item >= _HUGE or item <= -_HUGE:
                    return True
            elif kind is dict or kind is list:
                stack.append(item)
    return False


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads_strict(await self.body())
        return self._json


class StrictJsonRoute(APIRoute):
    """A route whose body parsing refuses NaN/Infinity with a 422 instead of letting them through."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict_handler
