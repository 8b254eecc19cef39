"""Issue 13 against the real API process: inputs that used to answer 500, be silently misread, cost
quadratic CPU or go missing from the inference log now get a JSON 4xx naming field and line, and
every row answered 200 is in the log."""

from __future__ import annotations

import sqlite3
import time

import httpx
import pandas as pd
import pytest

from ml.inference_log import read_inference_log
from tests.api.conftest import Api

SECURITY_HEADERS = ("x-content-type-options", "content-security-policy", "x-frame-options")


def _assert_json_refusal(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) >= {"detail", "errors", "request_id"}
    assert body["request_id"] and body["request_id"] == response.headers["x-request-id"]
    for header in SECURITY_HEADERS:
        assert header in response.headers, header
    return body


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1" + "0" * 400, "finite"),  # a 400-digit integer: OverflowError, 500
        ("true", "expected a number, got true"),
        ('"1_000"', "expected a number, got '1_000'"),
    ],
)
def test_predict_refuses_what_is_not_a_number(api: Api, value: str, reason: str) -> None:
    body = '{"features": {"AMT_CREDIT": ' + value + "}}"
    with api.client() as client:
        response = client.post("/predict", content=body, headers={"Content-Type": "application/json"})
    errors = _assert_json_refusal(response, 422)["errors"]
    assert errors[0]["field"] == "AMT_CREDIT" and reason in errors[0]["reason"], errors


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ('[{"AMT_CREDIT": ' + "9" * 5000 + "}]", "AMT_CREDIT", "finite"),  # ValueError over 4,300 digits
        ("[" * 5000 + "]" * 5000, "", "nested too deeply"),  # RecursionError
    ],
)
def test_batch_refuses_huge_numbers_and_deep_nesting(api: Api, body: str, field: str, reason: str) -> None:
    with api.client() as client:
        response = client.post(
            "/predict/batch?strict=true", content=body, headers={"Content-Type": "application/json"}
        )
        after = client.get("/health")  # the same connection still answers
    result = _assert_json_refusal(response, 422)
    text = str(result)
    assert reason in text and field in text
    assert after.status_code == 200


def test_starlettes_body_limit_answers_in_the_json_shape(api: Api) -> None:
    huge = b'{"features": {"pad": "' + b"x" * (2 * 1024 * 1024) + b'"}}'
    with api.client() as client:
        response = client.post("/predict", content=huge, headers={"Content-Type": "application/json"})
    assert "too large" in _assert_json_refusal(response, 413)["detail"].lower()


@pytest.mark.parametrize(
    ("content", "line", "reason"),
    [
        (b"AMT_CREDIT,NAME_CONTRACT_TYPE\n2025,Cash loans\n2025\x0000,Cash loans\n", 3, "NUL"),
        (b"AMT_CREDIT,NAME_CONTRACT_TYPE\n1000,Cash\x00loans\n", 2, "NUL"),
        (b"AMT_CREDIT,NAME_CONTRACT_TYPE\n1000,Cash loans\n2000\n", 3, "1 fields where the header has 2"),
        (b"AMT_CREDIT,NAME_CONTRACT_TYPE\n1000,Cash loans\n\n2000,Cash loans\n", 3, "empty line"),
    ],
)
def test_csv_lines_pandas_would_misread_are_refused_with_their_line(
    api: Api, content: bytes, line: int, reason: str
) -> None:
    with api.client() as client:
        response = client.post("/predict/batch", content=content, headers={"Content-Type": "text/csv"})
    errors = _assert_json_refusal(response, 422)["errors"]
    assert errors[0]["row"] == line and reason in errors[0]["reason"], errors


def test_a_wide_csv_header_is_refused_at_once(api: Api) -> None:
    header = ",".join(f"C{i}" for i in range(40_000)).encode() + b"\n1\n"
    started = time.perf_counter()
    with api.client() as client:
        response = client.post("/predict/batch", content=header, headers={"Content-Type": "text/csv"})
    _assert_json_refusal(response, 413)
    assert time.perf_counter() - started < 5  # was 31 s of CPU (quadratic duplicate check)


def test_csv_true_is_not_a_number(api: Api, example_record) -> None:
    rows = pd.DataFrame([{**example_record, "AMT_CREDIT": "True"}, example_record])
    content = rows.to_csv(index=False).encode()
    with api.client() as client:
        response = client.post("/predict/batch", content=content, headers={"Content-Type": "text/csv"})
    body = response.json()
    assert response.status_code == 200 and body["scored"] == 1
    assert body["errors"][0]["row"] == 2 and "expected a number" in body["errors"][0]["reason"]


def _logged(api: Api, request_id: str, expected: int, timeout_s: float = 15) -> int:
    deadline = time.monotonic() + timeout_s
    count = 0
    while time.monotonic() < deadline:
        frame = read_inference_log(api.database_url)
        count = int((frame["request_id"] == request_id).sum()) if len(frame) else 0
        if count >= expected:
            return count
        time.sleep(0.2)
    return count


def test_every_row_answered_200_is_logged_even_with_blank_numbers(api: Api, example_record) -> None:
    blank = {**example_record, "AMT_CREDIT": "   "}
    batch = [example_record] * 49 + [blank] + [example_record] * 50
    with api.client() as client:
        single = client.post("/predict", json={"features": blank})
        many = client.post("/predict/batch", json=batch)
    assert single.status_code == 200 and many.status_code == 200, many.text
    assert many.json()["scored"] == 100
    assert _logged(api, single.json()["request_id"], 1) == 1
    assert _logged(api, many.json()["request_id"], 100) == 100


def test_with_sync_logging_a_200_is_in_the_log_before_the_answer(champion, start_api, example_record) -> None:
    """INFERENCE_LOG_SYNC=true: the rows are read back right after the answer (the default writer
    lingers 0.2 s first), and when the log cannot take them the answer is a 503, not a score."""
    api = start_api(champion.tracking_uri, inference_log_sync="true")
    with api.client() as client:
        single = client.post("/predict", json={"features": example_record})
        many = client.post("/predict/batch", json=[example_record] * 50)
        logged = read_inference_log(api.database_url)["request_id"].value_counts()  # no wait, no flush
        assert single.status_code == 200 and many.status_code == 200, many.text
        assert logged.get(single.json()["request_id"]) == 1
        assert logged.get(many.json()["request_id"]) == 50
        _drop_log_table(api)  # every insert fails from now on
        refused = client.post("/predict", json={"features": example_record})
    body = _assert_json_refusal(refused, 503)
    assert refused.headers["retry-after"] and "probability" not in body


def test_batches_wait_while_the_log_is_behind(champion, start_api, example_record) -> None:
    """Scored rows the log cannot write yet are held in memory: past MAX_LOG_BACKLOG_ROWS a batch is
    a 503 with Retry-After (single rows still score), and batches are taken again once it caught up."""
    api = start_api(champion.tracking_uri, max_log_backlog_rows="10")
    ddl = _drop_log_table(api)
    with api.client() as client:
        first = client.post("/predict/batch", json=[example_record] * 50)  # its 50 rows cannot be written
        refused = client.post("/predict/batch", json=[example_record] * 2)
        single = client.post("/predict", json={"features": example_record})
        with sqlite3.connect(api.database_url.removeprefix("sqlite:///")) as db:
            db.execute(ddl)
        deadline = time.monotonic() + 30
        while (again := client.post("/predict/batch", json=[example_record] * 2)).status_code == 503:
            assert time.monotonic() < deadline, again.text
            time.sleep(0.5)
    assert first.status_code == 200 and single.status_code == 200, first.text
    assert "catching up" in _assert_json_refusal(refused, 503)["detail"] and refused.headers["retry-after"]
    assert again.status_code == 200
    assert _logged(api, first.json()["request_id"], 50) == 50


def _drop_log_table(api: Api) -> str:
    """Drop the API's inference_log table (its inserts fail until it is back); returns its DDL."""
    with sqlite3.connect(api.database_url.removeprefix("sqlite:///")) as db:
        ddl: str = db.execute("SELECT sql FROM sqlite_master WHERE name = 'inference_log'").fetchone()[0]
        db.execute("DROP TABLE inference_log")
    return ddl
