"""What the API scores lands in the inference log (SQLite and PostgreSQL), hashed ids, nothing lost on SIGTERM."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from ml.inference_log import hash_client_id, read_inference_log
from tests.api.conftest import Api


def _wait_rows(url: str, at_least: int, timeout_s: float = 20) -> pd.DataFrame:
    deadline = time.monotonic() + timeout_s
    while True:
        frame = read_inference_log(url)
        if len(frame) >= at_least or time.monotonic() > deadline:
            return frame
        time.sleep(0.2)


def test_scored_rows_are_logged_on_sqlite(api: Api, example_record, champion) -> None:
    with api.client() as client:
        response = client.post(
            "/predict", json={"features": example_record}, headers={"X-Request-ID": "log-check-1"}
        )
    assert response.status_code == 200
    frame = _wait_rows(api.database_url, 1)
    row = frame[frame["request_id"] == "log-check-1"]
    deadline = time.monotonic() + 20
    while row.empty and time.monotonic() < deadline:
        time.sleep(0.2)
        frame = read_inference_log(api.database_url)
        row = frame[frame["request_id"] == "log-check-1"]
    assert len(row) == 1
    logged = row.iloc[0]
    assert logged["model_version"] == champion.version and logged["model_name"] == champion.name
    assert logged["probability"] == pytest.approx(response.json()["probability"])
    assert logged["decision"] == response.json()["decision"]
    assert logged["AMT_CREDIT"] == pytest.approx(example_record["AMT_CREDIT"])
    assert logged["CODE_GENDER"] == example_record["CODE_GENDER"]
    assert "SK_ID_CURR" not in frame.columns  # the id is only stored hashed


def _score_and_stop(api: Api, frame: pd.DataFrame) -> dict:
    with api.client() as client:
        response = client.post(
            "/predict/batch", files={"file": ("b.csv", frame.to_csv(index=False), "text/csv")}
        )
    assert response.status_code == 200, response.text
    api.server.stop()  # SIGTERM right away: the lifespan drains the writer
    assert "inference log drained" in api.log()
    return response.json()


def test_a_clean_shutdown_loses_no_row(champion, small_dataset, start_api) -> None:
    api = start_api(champion.tracking_uri)
    frame = small_dataset.frame.drop(columns=["TARGET"]).head(5000)
    body = _score_and_stop(api, frame)
    logged = read_inference_log(api.database_url)
    assert len(logged) == body["scored"]
    assert logged["request_id"].nunique() == 1 and logged["request_id"].iloc[0] == body["request_id"]


@pytest.mark.postgres
def test_inference_log_on_postgres(champion, small_dataset, start_api, fresh_postgres_database: str) -> None:
    postgres_url = fresh_postgres_database.replace("postgresql://", "postgres://", 1)
    api = start_api(champion.tracking_uri, database_url=postgres_url)
    frame = small_dataset.frame.drop(columns=["TARGET"]).head(2000)
    body = _score_and_stop(api, frame)
    logged = read_inference_log(fresh_postgres_database)
    assert len(logged) == body["scored"] == 2000
    assert logged["probability"].tolist() == pytest.approx([row["probability"] for row in body["results"]])
    import sqlalchemy as sa

    from ml.inference_log import normalize_database_url

    engine = sa.create_engine(normalize_database_url(fresh_postgres_database))
    with engine.connect() as connection:
        stored = connection.execute(sa.text('select client_hash, "row" from inference_log order by id')).all()
    engine.dispose()
    hashes = [r[0] for r in stored]
    assert [r[1] for r in stored] == [row["row"] for row in body["results"]]  # outcomes join on it
    assert hashes[0] == hash_client_id(frame["SK_ID_CURR"].iloc[0])
    assert str(frame["SK_ID_CURR"].iloc[0]) not in hashes[0]
