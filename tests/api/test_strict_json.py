"""loads_strict: orjson's fast path never changes what the strict json parser would answer."""

from __future__ import annotations

import json

import pytest

from api.strict_json import loads_strict


@pytest.mark.parametrize(
    "body",
    [
        b'{"features": {"AMT_CREDIT": 406597.5, "NAME_CONTRACT_TYPE": "Cash loans", "FLAG": 1}}',
        b'{"a": 123456789012345678901234567890}',  # beyond 64 bits: orjson would make it a float
        b'{"a": -12345678901234567890}',
        b'{"a": 0.1, "b": -0.0, "c": 1e308, "d": 1, "d": 2}',
        b'"\\ud800"',  # a lone surrogate: orjson refuses it, json keeps it
        b'{"a": 1e400}',  # infinity written as a number: orjson refuses it, json reads inf
    ],
)
def test_same_values_as_json_loads(body: bytes) -> None:
    expected = json.loads(body)
    parsed = loads_strict(body)
    assert parsed == expected and repr(parsed) == repr(expected)


@pytest.mark.parametrize("body", [b'{"a": NaN}', b'{"a": Infinity}', b"[" * 100_000, b'{"a": 1,}', b'"\xff"'])
def test_what_json_refuses_is_still_a_decode_error(body: bytes) -> None:
    with pytest.raises(json.JSONDecodeError):
        loads_strict(body)


def test_an_integer_of_more_than_100_digits_is_read_as_a_float() -> None:
    assert loads_strict(b'{"a": ' + b"9" * 120 + b"}") == {"a": float("9" * 120)}
