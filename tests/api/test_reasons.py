"""Reason codes from the API: on refusals by default, behind the `reasons` flag, in the batch answers and
in the inference log (SQLite and PostgreSQL, an older log migrated)."""

from __future__ import annotations

import json
import time
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from ml.inference_log import InferenceLogWriter, create_log_engine
from tests.servers import create_postgres_database, drop_postgres_database

LOW_EXTERNAL = {"EXT_SOURCE_1": 0.02, "EXT_SOURCE_2": 0.02, "EXT_SOURCE_3": 0.02}
HIGH_EXTERNAL = {"EXT_SOURCE_1": 0.8, "EXT_SOURCE_2": 0.8, "EXT_SOURCE_3": 0.8}
EXCLUDED_CODES = {"R90", "R91"}  # gender, age


def logged_reasons(
    database_url: str, request_id: str, rows: int, timeout_s: float = 20
) -> list[tuple[Any, ...]]:
    """The (row, decision, reasons) the API logged for a request, once its writer has caught up."""
    engine = sa.create_engine(database_url)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            with engine.connect() as connection:
                found = connection.execute(
                    sa.text(
                        "SELECT row, decision, reasons FROM inference_log WHERE request_id = :r ORDER BY row"
                    ),
                    {"r": request_id},
                ).all()
            if len(found) >= rows or time.monotonic() > deadline:
                return [tuple(item) for item in found]
            time.sleep(0.2)
    finally:
        engine.dispose()


def test_a_refusal_driven_by_low_external_scores_gets_that_reason_first_and_it_is_logged(api, example_record):
    with api.client() as client:
        refused = client.post("/predict", json={"features": {**example_record, **LOW_EXTERNAL}}).json()
        approved = client.post("/predict", json={"features": {**example_record, **HIGH_EXTERNAL}}).json()
        silent = client.post(
            "/predict?reasons=false", json={"features": {**example_record, **LOW_EXTERNAL}}
        ).json()
        asked = client.post(
            "/predict?reasons=true", json={"features": {**example_record, **HIGH_EXTERNAL}}
        ).json()
    assert refused["decision"] == "refuse" and approved["decision"] == "approve"
    assert (
        refused["reasons"][0]["code"] == "R03"
        and refused["reasons"][0]["text"] == "Low external credit score"
    )
    assert 1 <= len(refused["reasons"]) <= 4
    assert not EXCLUDED_CODES & {r["code"] for r in refused["reasons"]}
    assert approved["reasons"] is None and silent["reasons"] is None
    assert isinstance(asked["reasons"], list)
    [(row, decision, reasons)] = logged_reasons(api.database_url, refused["request_id"], 1)
    assert (row, decision) == (1, "refuse") and json.loads(reasons) == refused["reasons"]
    [(_, _, nothing)] = logged_reasons(api.database_url, approved["request_id"], 1)
    assert nothing is None


def test_batch_json_and_csv_carry_reasons_for_refused_rows(api, example_record):
    records = [{**example_record, **LOW_EXTERNAL}, {**example_record, **HIGH_EXTERNAL}]
    frame = pd.DataFrame(records)
    with api.client() as client:
        as_json = client.post("/predict/batch", json=records).json()
        as_csv = client.post(
            "/predict/batch", files={"file": ("clients.csv", frame.to_csv(index=False).encode(), "text/csv")}
        ).json()
        every_row = client.post("/predict/batch?reasons=true", json=records).json()
    for answer in (as_json, as_csv):
        first, second = answer["results"]
        assert first["decision"] == "refuse" and first["reasons"][0]["code"] == "R03"
        assert second["decision"] == "approve" and "reasons" not in second
    assert all(isinstance(row["reasons"], list) for row in every_row["results"])
    logged = logged_reasons(api.database_url, as_csv["request_id"], 2)
    assert [json.loads(r)[0]["code"] if r else None for _, _, r in logged] == ["R03", None]


def _old_log(url: str) -> None:
    """An inference log as the previous version created it: no reasons column."""
    engine = sa.create_engine(url)
    key = "INTEGER PRIMARY KEY" if url.startswith("sqlite") else "BIGSERIAL PRIMARY KEY"
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                f"CREATE TABLE inference_log (id {key}, ts TIMESTAMP NOT NULL, request_id TEXT, "
                "model_name TEXT, model_version TEXT, client_hash TEXT, features TEXT NOT NULL, "
                "probability FLOAT, decision TEXT)"
            )
        )
    engine.dispose()


def _migrates_and_stores_reasons(url: str) -> None:
    _old_log(url)
    engine = create_log_engine(url)
    assert "reasons" in {c["name"] for c in sa.inspect(engine).get_columns("inference_log")}
    engine.dispose()
    reasons = [
        {
            "code": "R03",
            "text": "Low external credit score",
            "features": ["EXT_SOURCE_2"],
            "contribution": 0.9,
        }
    ]
    writer = InferenceLogWriter(url)
    writer.write_now(
        [
            {
                "request_id": "r1",
                "row": 1,
                "features": {"A": 1.0},
                "probability": 0.4,
                "decision": "refuse",
                "reasons": reasons,
            }
        ]
    )
    writer.close()
    assert logged_reasons(url, "r1", 1) == [(1, "refuse", json.dumps(reasons, separators=(",", ":")))]


def test_an_older_sqlite_log_gains_the_reasons_column(tmp_path):
    _migrates_and_stores_reasons(f"sqlite:///{tmp_path / 'old.db'}")


@pytest.mark.postgres
def test_an_older_postgres_log_gains_the_reasons_column(postgres_url):
    url, name = create_postgres_database(postgres_url)
    try:
        _migrates_and_stores_reasons(url)
    finally:
        drop_postgres_database(postgres_url, name)
