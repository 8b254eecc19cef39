"""The inference log store on SQLite and PostgreSQL: batching writer, drain on close, reading back."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from ml.inference_log import (
    DEFAULT_DATABASE_URL,
    InferenceLogWriter,
    hash_client_id,
    normalize_database_url,
    read_inference_log,
)
from tests.servers import create_postgres_database, drop_postgres_database


def _rows(n: int, start: int = 0, ts: datetime | None = None) -> list[dict]:
    return [
        {
            "request_id": f"req-{i}",
            "model_name": "credit-scoring",
            "model_version": "3",
            "client_id": 100000 + i,
            "features": {"AMT_CREDIT": 1000.0 + i, "NAME_CONTRACT_TYPE": "Cash loans", "CNT_CHILDREN": i % 3},
            "probability": 0.01 * (i % 100),
            "decision": "refuse" if i % 2 else "approve",
            **({"ts": ts} if ts else {}),
        }
        for i in range(start, start + n)
    ]


def test_normalize_database_url() -> None:
    assert normalize_database_url(None) == DEFAULT_DATABASE_URL
    assert normalize_database_url("") == DEFAULT_DATABASE_URL
    assert normalize_database_url("postgres://u@h:5432/db") == "postgresql+psycopg2://u@h:5432/db"
    assert normalize_database_url("postgresql://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert normalize_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_client_hash_is_salted_and_stable(monkeypatch) -> None:
    first = hash_client_id(100002)
    assert first == hash_client_id("100002") == hash_client_id(100002.0)
    assert "100002" not in first and len(first) == 64
    assert hash_client_id(None) is None and hash_client_id(float("nan")) is None
    monkeypatch.setenv("INFERENCE_LOG_SALT", "other")
    assert hash_client_id(100002) != first


def _roundtrip(url: str) -> None:
    old = datetime.now(UTC) - timedelta(days=2)
    with InferenceLogWriter(url, batch_size=64) as writer:
        writer.append(_rows(10, ts=old))
        rows = _rows(
            990, start=10
        )  # built outside the timing: a GC pass over the session's objects is not the writer's
        started = time.perf_counter()
        writer.append(rows)
        assert time.perf_counter() - started < 0.5  # append never waits on the database
        assert writer.flush()
        assert writer.written == 1000
        writer.append(_rows(500, start=1000))
    # close() drained the last 500 without a flush
    frame = read_inference_log(url)
    assert len(frame) == 1500
    assert list(frame.columns[:6]) == [
        "ts",
        "request_id",
        "model_name",
        "model_version",
        "probability",
        "decision",
    ]
    assert {"AMT_CREDIT", "NAME_CONTRACT_TYPE", "CNT_CHILDREN"} <= set(frame.columns)
    assert "client_id" not in frame.columns and "client_hash" not in frame.columns
    assert frame["AMT_CREDIT"].dtype.kind == "f" and frame["CNT_CHILDREN"].dtype.kind in "if"
    assert frame["NAME_CONTRACT_TYPE"].iloc[0] == "Cash loans"
    assert str(frame["ts"].dt.tz) == "UTC"
    assert frame["request_id"].iloc[-1] == "req-1499"
    last = read_inference_log(url, last_n=5)
    assert last["request_id"].tolist() == [f"req-{i}" for i in range(1495, 1500)]
    recent = read_inference_log(url, since=datetime.now(UTC) - timedelta(hours=1))
    assert len(recent) == 1490
    older = read_inference_log(url, until=datetime.now(UTC) - timedelta(days=1))
    assert older["request_id"].tolist() == [f"req-{i}" for i in range(10)]


def test_sqlite_roundtrip(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    _roundtrip(url)
    with sqlite3.connect(tmp_path / "log.db") as connection:
        stored = connection.execute("select client_hash, features from inference_log limit 1").fetchone()
    assert stored[0] == hash_client_id(100000)
    assert "100000" not in stored[1]


def test_a_log_from_before_the_row_column_is_migrated(tmp_path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        connection.execute(
            "create table inference_log (id integer primary key, ts datetime not null, request_id text,"
            " model_name text, model_version text, client_hash text, features text not null,"
            " probability float, decision text)"
        )
        connection.execute("insert into inference_log (ts, features) values ('2026-01-01 00:00:00', '{}')")
    rows = _rows(2)
    rows[1]["row"] = 7
    with InferenceLogWriter(f"sqlite:///{path}") as writer:
        writer.append(rows)
    with sqlite3.connect(path) as connection:
        stored = connection.execute('select "row" from inference_log order by id').fetchall()
    assert stored == [(None,), (None,), (7,)]


def test_empty_log_reads_as_empty_frame(tmp_path) -> None:
    frame = read_inference_log(f"sqlite:///{tmp_path / 'empty.db'}")
    assert frame.empty and "probability" in frame.columns


@pytest.fixture
def empty_postgres_database(postgres_url: str) -> Iterator[str]:
    """A database of this test's own (the session's fresh one is shared with the API tests)."""
    url, name = create_postgres_database(postgres_url)
    yield url
    drop_postgres_database(postgres_url, name)


@pytest.mark.postgres
def test_postgres_roundtrip(empty_postgres_database: str) -> None:
    _roundtrip(empty_postgres_database.replace("postgresql://", "postgres://", 1))


def test_lazy_rows_are_built_in_the_writer_thread(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'lazy.db'}"
    built_in: set[str] = set()

    def rows():
        import threading

        for row in _rows(2500):
            built_in.add(threading.current_thread().name)
            yield row

    with InferenceLogWriter(url, batch_size=100) as writer:
        writer.append_lazy(rows())
        writer.append(_rows(1, start=2500))
        assert writer.flush()
        assert writer.written == 2501
    assert built_in == {"inference-log-writer"}
    frame = read_inference_log(url)
    assert frame["request_id"].tolist() == [f"req-{i}" for i in range(2501)]


def test_pending_counts_rows_held_while_the_table_is_gone(tmp_path) -> None:
    """Inserts fail while the table is dropped: the rows wait in the writer, counted as pending,
    and are all written once the table is back."""
    path = tmp_path / "log.db"
    writer = InferenceLogWriter(f"sqlite:///{path}", retry_s=0.2, linger_s=0)
    with sqlite3.connect(path) as db:
        ddl = db.execute("SELECT sql FROM sqlite_master WHERE name = 'inference_log'").fetchone()[0]
        db.execute("DROP TABLE inference_log")
    try:
        writer.append(_rows(25))
        deadline = time.monotonic() + 10
        while writer.failures == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert writer.failures >= 1 and writer.written == 0
        assert writer.pending() == 25
        with sqlite3.connect(path) as db:
            db.execute(ddl)
        assert writer.flush(timeout_s=10)
        assert writer.pending() == 0 and writer.written == 25
    finally:
        writer.close()


def test_a_row_that_cannot_be_stored_is_counted_and_takes_no_other_row(tmp_path, caplog) -> None:
    url = f"sqlite:///{tmp_path / 'bad-row.db'}"
    rows = _rows(5)
    rows[2]["features"] = {"AMT_CREDIT": object()}  # not storable as JSON
    with InferenceLogWriter(url, batch_size=100) as writer:
        writer.append_lazy(iter(rows), count=5, request_id="req-bad")
        assert writer.flush()
        assert (writer.written, writer.dropped) == (4, 1)
    assert read_inference_log(url)["request_id"].tolist() == ["req-0", "req-1", "req-3", "req-4"]
    assert any(getattr(record, "request_id", None) == "req-2" for record in caplog.records)


def test_rows_lost_while_building_a_request_are_counted(tmp_path, caplog) -> None:
    url = f"sqlite:///{tmp_path / 'bad-build.db'}"

    def rows():
        yield from _rows(3)
        raise ValueError("cannot build row 4")

    with InferenceLogWriter(url, batch_size=100) as writer:
        writer.append_lazy(rows(), count=10, request_id="req-batch")
        writer.append(_rows(1, start=10))
        assert writer.flush()
        assert (writer.written, writer.dropped) == (4, 7)
    assert any(getattr(record, "request_id", None) == "req-batch" for record in caplog.records)


def test_write_now_commits_before_returning(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'sync.db'}"
    with InferenceLogWriter(url) as writer:
        writer.write_now(_rows(3))
        assert len(read_inference_log(url)) == 3  # no flush: already committed


def test_backlog_rows_counts_lazily_appended_rows_until_written(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'backlog.db'}"
    with InferenceLogWriter(url, batch_size=100, linger_s=0.5) as writer:
        writer.append_lazy(iter(_rows(250)), count=250)
        assert writer.backlog_rows() >= 250
        assert writer.flush()
        assert writer.backlog_rows() == 0 and writer.written == 250


def test_stored_json_reads_back_to_the_same_values(tmp_path) -> None:
    """Features and reasons are written with orjson (json where it cannot): numpy scalars, non-ASCII
    categories and huge floats read back unchanged."""
    import json

    import numpy as np

    from ml.inference_log import _to_db_row

    features = {
        "AMT_CREDIT": np.float64(406597.5),
        "CNT_CHILDREN": np.int64(2),
        "NAME": "Célibataire",
        "X": 1e16,
    }
    reasons = [
        {"code": "R01", "text": "Low external score", "features": ["EXT_SOURCE_2"], "contribution": 0.5}
    ]
    row = _to_db_row({"features": features, "reasons": reasons, "probability": 0.2})
    assert json.loads(row["features"]) == {
        "AMT_CREDIT": 406597.5,
        "CNT_CHILDREN": 2,
        "NAME": "Célibataire",
        "X": 1e16,
    }
    assert json.loads(row["reasons"]) == reasons
