"""The console's API client against real endpoints: friendly errors, retries only where safe."""

from __future__ import annotations

import pytest

from app.api_client import ApiClient, ApiError, ApiUnavailableError, describe_error
from tests.servers import free_port


def _dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


def test_an_unreachable_api_is_retried_with_backoff_then_explained():
    waits: list[float] = []
    client = ApiClient(_dead_url(), retries=2, backoff_s=0.1, sleep=waits.append)
    with pytest.raises(ApiUnavailableError, match="cannot be reached"):
        client.model()
    assert waits == [0.1, 0.2]


def test_quick_health_checks_do_not_retry():
    waits: list[float] = []
    with pytest.raises(ApiUnavailableError):
        ApiClient(_dead_url(), sleep=waits.append).health(quick=True)
    assert waits == []


def test_api_errors_carry_the_detail(console_env):
    client = ApiClient(console_env.url)
    with pytest.raises(ApiError) as caught:
        client.predict({"NOT_A_FEATURE": 1})
    assert caught.value.status == 422
    assert "NOT_A_FEATURE" in caught.value.message


def test_field_errors_read_as_one_line():
    body = {
        "detail": "invalid batch",
        "errors": [{"row": 4, "field": "AMT_CREDIT", "reason": "expected a number"}],
    }
    assert describe_error(body) == "invalid batch: line 4, AMT_CREDIT: expected a number"
