"""The inference log: every scored row, append-only, on SQLite (default) or PostgreSQL.

It is the production data that drift monitoring compares with the training reference. The API
appends through `InferenceLogWriter`, whose background thread batches inserts so scoring never
waits on the database; `read_inference_log` gives the rows back as a DataFrame with one column per
feature. No direct identifier is stored: the client id only as a salted SHA-256 (`client_hash`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import os
import queue
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

DEFAULT_DATABASE_URL = "sqlite:///inference_log.db"
SALT_ENV = "INFERENCE_LOG_SALT"
DEFAULT_SALT = "credit-scoring-platform/inference-log/v1"
BASE_COLUMNS = ("ts", "request_id", "model_name", "model_version", "probability", "decision")

logger = logging.getLogger(__name__)

metadata = sa.MetaData()
inference_log = sa.Table(
    "inference_log",
    metadata,
    sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    sa.Column("ts", sa.DateTime(timezone=False), nullable=False, index=True),  # naive UTC everywhere
    sa.Column("request_id", sa.Text()),
    sa.Column("row", sa.Integer(), nullable=True),  # the row the API answered (JSON index, CSV line)
    sa.Column("model_name", sa.Text()),
    sa.Column("model_version", sa.Text()),
    sa.Column("client_hash", sa.Text(), nullable=True),
    sa.Column("features", sa.Text(), nullable=False),
    sa.Column("probability", sa.Float()),
    sa.Column("decision", sa.Text()),
    sa.Column("reasons", sa.Text(), nullable=True),  # JSON list of reason codes (ml.reasons), if given
)


def normalize_database_url(url: str | None) -> str:
    """SQLAlchemy URL for a DATABASE_URL as platforms give it (Render/Heroku say `postgres://`)."""
    if not url:
        return DEFAULT_DATABASE_URL
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


def hash_client_id(value: Any) -> str | None:
    """Salted SHA-256 of a client id, so rows can be joined per client without storing the id."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    salt = os.environ.get(SALT_ENV, DEFAULT_SALT)
    return hashlib.sha256(f"{salt}:{text}".encode()).hexdigest()


def _utc_naive(moment: datetime) -> datetime:
    """Stored timestamps are naive UTC; a naive argument is taken as UTC already."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def create_log_engine(url: str | None) -> Engine:
    """Engine for the log, with the table created if missing (safe when several processes race)."""
    url = normalize_database_url(url)
    is_sqlite = url.startswith("sqlite")
    engine = sa.create_engine(
        url,
        pool_pre_ping=not is_sqlite,
        connect_args={"timeout": 30} if is_sqlite else {},
    )
    if is_sqlite:
        sa.event.listen(engine, "connect", _sqlite_wal)
    create_tables(engine, metadata, inference_log.name)
    _add_missing_columns(engine)
    return engine


# The joins from shadow scores and outcomes into the log go by the row the API answered.
REQUEST_ROW_INDEX = (
    'CREATE INDEX IF NOT EXISTS ix_inference_log_request_row ON inference_log (request_id, "row")'
)


def create_tables(engine: Engine, tables: sa.MetaData, created: str, statements: Sequence[str] = ()) -> None:
    """Create the tables of `tables` where missing, safe when several processes race (the table named
    `created` existing after a failed CREATE means another process made them), then run `statements`
    (idempotent DDL on the log, such as CREATE INDEX IF NOT EXISTS)."""
    try:
        tables.create_all(engine, checkfirst=True)
    except sa.exc.DBAPIError:
        # Another process created it between our check and our CREATE; anything else re-raises here.
        if not sa.inspect(engine).has_table(created):
            raise
    if statements:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(sa.text(statement))


def _add_missing_columns(engine: Engine) -> None:
    """Migrate a log created by an older version: add the columns it lacks (all nullable)."""
    present = {column["name"] for column in sa.inspect(engine).get_columns(inference_log.name)}
    for column in inference_log.columns:
        if column.name in present:
            continue
        kind = column.type.compile(dialect=engine.dialect)
        try:
            with engine.begin() as connection:
                connection.execute(
                    sa.text(f'ALTER TABLE {inference_log.name} ADD COLUMN "{column.name}" {kind}')
                )
        except sa.exc.DBAPIError:
            # Another process added it first; anything else re-raises here.
            if column.name not in {c["name"] for c in sa.inspect(engine).get_columns(inference_log.name)}:
                raise


def _sqlite_wal(connection: Any, _record: Any) -> None:
    """WAL lets readers (drift, the console) read while the API writes."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _to_db_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """One appended mapping as a table row; `client_id` (raw) becomes `client_hash` here."""
    features = row.get("features") or {}
    client_hash = row.get("client_hash")
    if client_hash is None and row.get("client_id") is not None:
        client_hash = hash_client_id(row["client_id"])
    ts = row.get("ts")
    return {
        "ts": _utc_naive(ts) if isinstance(ts, datetime) else datetime.now(UTC).replace(tzinfo=None),
        "request_id": row.get("request_id"),
        "row": None if row.get("row") is None else int(row["row"]),
        "model_name": row.get("model_name"),
        "model_version": None if row.get("model_version") is None else str(row["model_version"]),
        "client_hash": client_hash,
        "features": features if isinstance(features, str) else _json_text(features),
        "probability": None if row.get("probability") is None else float(row["probability"]),
        "decision": row.get("decision"),
        "reasons": _reasons_text(row.get("reasons")),
    }


def _json_text(value: Any) -> str:
    """Compact JSON as stored: orjson (the features of one row: ~3 µs against json's ~37, in the writer
    thread that shares the GIL with scoring), json for what orjson cannot encode."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"))


def _reasons_text(reasons: Any) -> str | None:
    """Reason codes as stored: compact JSON, or None when the row got none."""
    if reasons is None or isinstance(reasons, str):
        return reasons
    return _json_text(reasons)


class _Lazy:
    """Marks an iterable queued by `append_lazy`: how many rows it promises, and whose they are."""

    __slots__ = ("count", "request_id", "rows")

    def __init__(self, rows: Iterable[Mapping[str, Any]], count: int | None, request_id: str | None) -> None:
        self.rows = rows
        self.count = count
        self.request_id = request_id


class InferenceLogWriter:
    """Appends rows from a background thread, in batches, so callers never wait on the database.

    `append` only enqueues. Rows are mappings with keys request_id, row, model_name, model_version,
    features (dict of raw feature values), probability, decision, and optionally ts (datetime,
    default now) and client_id (hashed before storage, never stored). While the database is
    unreachable, rows wait in memory (up to `max_pending`, oldest dropped beyond) and are retried.
    `close()` drains everything, so a clean shutdown loses nothing. Rows are written at most
    `linger_s` after they are appended (batched meanwhile); `flush()` waits for that.
    """

    _STOP = object()

    def __init__(
        self,
        url: str | None = None,
        batch_size: int = 1000,
        max_pending: int = 200_000,
        retry_s: float = 1.0,
        linger_s: float = 0.05,
    ) -> None:
        self.url = normalize_database_url(url)
        self.batch_size = batch_size
        self.max_pending = max_pending
        self.retry_s = retry_s
        self.linger_s = linger_s
        self.written = 0
        self.dropped = 0
        self.failures = 0
        self._held = 0  # rows taken off the queue but not yet written (e.g. while the database is down)
        self._engine = create_log_engine(self.url)
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False
        self._lazy: Iterator[Mapping[str, Any]] | None = None
        self._lazy_source: _Lazy | None = None
        self._lazy_taken = 0
        self._lazy_waiting = 0  # rows promised by queued lazy iterables, not yet built
        self._lazy_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="inference-log-writer", daemon=True)
        self._thread.start()

    def append(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Queue rows for writing; returns at once."""
        if self._closed:
            raise RuntimeError("the inference log writer is closed")
        for row in rows:
            self._queue.put(row)

    def append_lazy(
        self, rows: Iterable[Mapping[str, Any]], count: int | None = None, request_id: str | None = None
    ) -> None:
        """Queue an iterable that is consumed in the writer thread (e.g. a generator building rows
        from a big scored batch), so even building the rows stays off the caller's path.

        `count` (the rows it will yield) lets a failure while building them count the rows lost.
        """
        if self._closed:
            raise RuntimeError("the inference log writer is closed")
        self._lazy_rows(count or 0)
        self._queue.put(_Lazy(rows, count, request_id))

    def _lazy_rows(self, change: int) -> None:
        with self._lazy_lock:
            self._lazy_waiting += change

    def write_now(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Insert `rows` in one transaction before returning (synchronous logging); raises if the
        database refuses them, so the caller can refuse its answer too."""
        batch = [_to_db_row(row) for row in rows]
        if not batch:
            return
        with self._engine.begin() as connection:
            connection.execute(inference_log.insert(), batch)
        self.written += len(batch)

    def flush(self, timeout_s: float | None = 30) -> bool:
        """Wait until every row appended before this call is written; False on timeout."""
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout_s)

    def close(self, timeout_s: float | None = 60) -> None:
        """Write everything still queued, then stop the thread and release the database."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(self._STOP)
        self._thread.join(timeout_s)
        self._engine.dispose()

    def __enter__(self) -> InferenceLogWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def pending(self) -> int:
        """Rows not yet written: still queued, plus those held for a retry."""
        return self._queue.qsize() + self._held

    def backlog_rows(self) -> int:
        """Rows accepted but not yet written, lazily appended ones included: what the writer holds
        in memory, so a caller can stop adding work while the database catches up."""
        return self.pending() + self._lazy_waiting

    def _run(self) -> None:
        backlog: list[dict[str, Any]] = []
        waiters: list[threading.Event] = []
        stopping = False
        failed_attempts = 0
        while True:
            stopping = self._collect(backlog, waiters, wait=not backlog and not stopping) or stopping
            self._held = len(backlog)
            if backlog and self._write(backlog):
                failed_attempts = 0
            elif backlog:
                failed_attempts += 1
                if len(backlog) > self.max_pending:
                    self.dropped += len(backlog) - self.max_pending
                    del backlog[: len(backlog) - self.max_pending]
                if stopping and failed_attempts >= 3:
                    self.dropped += len(backlog)
                    logger.error(
                        "inference log: %d rows lost at shutdown (database unreachable)", len(backlog)
                    )
                    backlog.clear()
                else:
                    time.sleep(self.retry_s)
            self._held = len(backlog)
            if not backlog and self._lazy is None:
                for waiter in waiters:
                    waiter.set()
                waiters.clear()
                if stopping and self._queue.empty():
                    return

    def _collect(self, backlog: list[dict[str, Any]], waiters: list[threading.Event], wait: bool) -> bool:
        """Move up to one batch to `backlog`, in queue order; True when the stop marker was seen.

        A lazily appended iterable is consumed one batch at a time (never materialised whole), and
        nothing queued after it is taken before it is exhausted, so `flush` keeps its meaning.
        """
        stopping = False
        taken = 0
        block = wait and self._lazy is None
        while taken < self.batch_size:
            if self._lazy is not None:
                taken += self._take_lazy(backlog, self.batch_size - taken)
                continue
            try:
                item = self._queue.get() if block else self._queue.get_nowait()
            except queue.Empty:
                break
            if block and isinstance(item, Mapping | _Lazy) and self.linger_s:
                # Let rows accumulate: one transaction per batch, not one per request, and the thread
                # wakes (and takes the GIL) 20 times a second instead of on every append. Not longer:
                # the batch's Python work is a burst that requests in flight share the GIL with (0.2 s
                # of rows made the single-row p99 2.4-2.9 ms against 1.9-2.2, bench/README.md).
                time.sleep(self.linger_s)
            block = False
            if item is self._STOP:
                stopping = True
            elif isinstance(item, threading.Event):
                waiters.append(item)
            elif isinstance(item, _Lazy):
                self._lazy, self._lazy_source, self._lazy_taken = iter(item.rows), item, 0
            else:
                taken += self._add(backlog, item)
        return stopping

    def _add(self, backlog: list[dict[str, Any]], row: Mapping[str, Any]) -> int:
        """Append one row to the backlog; a row that cannot be stored is counted and logged, alone."""
        try:
            backlog.append(_to_db_row(row))
        except Exception:
            self.dropped += 1
            logger.exception(
                "inference log: a row cannot be stored; dropped and counted",
                extra={"request_id": row.get("request_id") if isinstance(row, Mapping) else None},
            )
            return 0
        return 1

    def _take_lazy(self, backlog: list[dict[str, Any]], limit: int) -> int:
        taken = consumed = 0
        lazy, source = self._lazy, self._lazy_source
        if lazy is None or source is None:
            return 0
        try:
            for row in itertools.islice(lazy, limit):
                consumed += 1
                self._lazy_taken += 1
                taken += self._add(backlog, row)
        except Exception:
            lost = max((source.count or 0) - self._lazy_taken, 0)
            if source.count is not None:
                self._lazy_rows(-consumed - lost)
            self.dropped += lost
            logger.exception(
                "inference log: building the rows of a request failed; %d rows lost and counted",
                lost,
                extra={"request_id": source.request_id},
            )
            self._lazy = None
            return taken
        if source.count is not None:
            self._lazy_rows(-consumed)
            if consumed < limit:  # exhausted: forget any rows it promised but did not give
                self._lazy_rows(-max(source.count - self._lazy_taken, 0))
        if consumed < limit:
            self._lazy = None
        return taken

    def _write(self, backlog: list[dict[str, Any]]) -> bool:
        """Insert the backlog in batches, removing what was written; False if the database failed."""
        while backlog:
            batch = backlog[: self.batch_size]
            try:
                with self._engine.begin() as connection:
                    connection.execute(inference_log.insert(), batch)
            except Exception:
                self.failures += 1
                logger.exception("inference log: writing %d rows failed; will retry", len(batch))
                return False
            self.written += len(batch)
            del backlog[: len(batch)]
        return True


def read_inference_log(
    url: str | None,
    last_n: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> pd.DataFrame:
    """Logged rows, oldest first: ts (UTC), request_id, model_name, model_version, probability,
    decision, then one column per feature key (numeric where the values are numbers).

    `last_n` keeps the most recent n rows (after the since/until window, until excluded).
    """
    engine = create_log_engine(url)
    table = inference_log
    query = sa.select(table.c.id, *(table.c[name] for name in BASE_COLUMNS), table.c.features).order_by(
        table.c.id.desc()
    )
    if since is not None:
        query = query.where(table.c.ts >= _utc_naive(since))
    if until is not None:
        query = query.where(table.c.ts < _utc_naive(until))
    if last_n is not None:
        query = query.limit(max(int(last_n), 0))
    try:
        with engine.connect() as connection:
            records = list(connection.execute(query).all())
    finally:
        engine.dispose()
    records.reverse()
    base = pd.DataFrame([record[1:-1] for record in records], columns=list(BASE_COLUMNS))
    base["ts"] = pd.to_datetime(base["ts"], utc=True)
    base["probability"] = base["probability"].astype(float)
    if not records:
        return base
    features = pd.DataFrame.from_records([json.loads(record[-1]) for record in records], index=base.index)
    features = features.drop(columns=[c for c in features.columns if c in BASE_COLUMNS])
    return pd.concat([base, features.infer_objects()], axis=1)
