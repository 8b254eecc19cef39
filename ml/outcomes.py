"""The outcomes store: what became of each approved loan (`defaulted` 0/1, and when it was observed).

Outcomes join the inference log (the single record of what was decided) by its row id: a client
gives the request id and row the API answered, or the client id, matched through the same salted
hash the log keeps (then the client's latest decision). The `outcomes` table holds the current
outcome per decision; a changed outcome overwrites it and its previous value goes to
`outcome_corrections` with the time of the change, so sending the same file twice changes nothing.

An import is one transaction, set-based: every chunk of valid rows goes to a temporary staging
table, and the lookup of decisions, duplicates, corrections and the upsert are a few SQL statements,
so memory stays flat in the number of rows and 100,000 rows take seconds on PostgreSQL.
"""

from __future__ import annotations

import csv
import functools
import io
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, BinaryIO

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ml.data import csv_line
from ml.inference_log import (
    REQUEST_ROW_INDEX,
    create_log_engine,
    create_tables,
    hash_client_id,
    inference_log,
)
from ml.schema import FieldError

COLUMNS = ("request_id", "row", "client_id", "defaulted", "observed_at")
MAX_REPORTED_ERRORS = 1000
CHUNK_ROWS = 20_000
_TRUE = {"1", "1.0", "true", "yes"}
_FALSE = {"0", "0.0", "false", "no"}

metadata = sa.MetaData()
_id_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
outcomes = sa.Table(
    "outcomes",
    metadata,
    sa.Column("decision_id", _id_type, primary_key=True, autoincrement=False),  # inference_log.id
    sa.Column("defaulted", sa.SmallInteger(), nullable=False),
    sa.Column("observed_on", sa.Date(), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=False), nullable=False),  # naive UTC
)
corrections = sa.Table(
    "outcome_corrections",
    metadata,
    sa.Column("id", _id_type, primary_key=True, autoincrement=True),
    sa.Column("decision_id", _id_type, nullable=False, index=True),
    sa.Column("previous_defaulted", sa.SmallInteger(), nullable=False),
    sa.Column("previous_observed_on", sa.Date(), nullable=False),
    sa.Column("defaulted", sa.SmallInteger(), nullable=False),
    sa.Column("observed_on", sa.Date(), nullable=False),
    sa.Column("corrected_at", sa.DateTime(timezone=False), nullable=False),
)
# Lookups from the outcomes side into the log (the log itself only needs its time index).
_LOG_INDEXES = (
    REQUEST_ROW_INDEX,
    "CREATE INDEX IF NOT EXISTS ix_inference_log_client_hash ON inference_log (client_hash)",
)


@dataclass
class ImportResult:
    """What an import did: `stored` new outcomes, `corrected` changed ones, `unchanged` repeats."""

    rows: int = 0
    stored: int = 0
    corrected: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[FieldError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "accepted": self.rows - self.rejected,
            "stored": self.stored,
            "corrected": self.corrected,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "errors": [error.as_dict() for error in self.errors],
        }


class OutcomesInputError(ValueError):
    """Nothing was stored: the file is unusable, or (strict) some rows are invalid."""

    def __init__(self, message: str, errors: list[FieldError], result: ImportResult | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors
        self.result = result


@functools.lru_cache(maxsize=8)
def outcomes_engine(url: str | None) -> Engine:
    """Engine on the inference log's database with the outcomes tables and lookup indexes created."""
    engine = create_log_engine(url)
    create_tables(engine, metadata, outcomes.name, _LOG_INDEXES)
    return engine


# reading input ------------------------------------------------------------------------------------


def json_chunks(
    records: list[Any], chunk_rows: int = CHUNK_ROWS
) -> Iterator[tuple[pd.DataFrame, list[FieldError]]]:
    """A JSON list of outcome objects as frames with a `line` column (1-based index)."""
    for start in range(0, len(records), chunk_rows):
        part = records[start : start + chunk_rows]
        errors: list[FieldError] = []
        good: list[dict[str, Any]] = []
        for offset, record in enumerate(part):
            line = start + offset + 1
            if not isinstance(record, dict):
                errors.append(FieldError("", f"expected an object, got {type(record).__name__}", line))
                continue
            unknown = [name for name in record if name not in COLUMNS]
            if unknown:
                errors += [
                    FieldError(name, f"unknown field; expected {', '.join(COLUMNS)}", line)
                    for name in unknown
                ]
                continue
            good.append({**record, "line": line})
        # object columns: a frame would make ids with gaps floats (100002 -> "100002.0", another hash)
        columns = {name: pd.Series([r.get(name) for r in good], dtype=object) for name in (*COLUMNS, "line")}
        yield pd.DataFrame(columns), errors


def csv_chunks(
    stream: BinaryIO, chunk_rows: int = CHUNK_ROWS
) -> Iterator[tuple[pd.DataFrame, list[FieldError]]]:
    """An outcomes CSV read in chunks (never whole), with a `line` column (header = line 1)."""
    header = _csv_header(stream)
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        raise OutcomesInputError(
            "unknown columns",
            [FieldError(name, f"unknown column; expected {', '.join(COLUMNS)}", 1) for name in unknown],
        )
    offset = 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            for chunk in pd.read_csv(
                stream, chunksize=chunk_rows, dtype=str, encoding="utf-8-sig", index_col=False
            ):
                chunk["line"] = csv_line(offset) + np.arange(len(chunk))
                offset += len(chunk)
                yield chunk.reindex(columns=[*COLUMNS, "line"]), []
    except (pd.errors.ParserError, pd.errors.ParserWarning, UnicodeDecodeError) as exc:
        raise OutcomesInputError("malformed CSV", [FieldError("", f"malformed CSV: {exc}")]) from exc


def _csv_header(stream: BinaryIO) -> list[str]:
    first = stream.readline()
    stream.seek(0)
    if not first.strip():
        raise OutcomesInputError("empty CSV", [FieldError("", "the CSV is empty (no header line)", 1)])
    try:
        names = next(csv.reader(io.StringIO(first.decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise OutcomesInputError("malformed CSV", [FieldError("", f"unreadable header: {exc}", 1)]) from exc
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise OutcomesInputError("malformed CSV", [FieldError(n, "duplicated column", 1) for n in duplicated])
    return names


# validating ----------------------------------------------------------------------------------------


def _text(series: pd.Series) -> pd.Series:
    """Values as stripped strings, missing (None, NaN, blank) as NA."""
    text = series.astype("string").str.strip()
    return text.mask(text == "")


def validate_chunk(chunk: pd.DataFrame, latest: date) -> tuple[pd.DataFrame, list[FieldError]]:
    """The chunk's valid rows as staging rows, and an error per bad field (with its line);
    `latest` is the last acceptable observation date (today, with a day's slack for time zones)."""
    lines = chunk["line"].to_numpy()
    bad = np.zeros(len(chunk), dtype=bool)
    errors: list[FieldError] = []

    def refuse(mask: np.ndarray, name: str, reason: str) -> None:
        nonlocal bad
        errors.extend(FieldError(name, reason, int(line)) for line in lines[mask])
        bad |= mask

    request_id = _text(chunk["request_id"])
    client_id = _text(chunk["client_id"])
    row_text = _text(chunk["row"])
    row = pd.to_numeric(row_text, errors="coerce")
    has_request = request_id.notna().to_numpy()
    has_client = client_id.notna().to_numpy()
    refuse(~has_request & ~has_client, "request_id", "give request_id (and row) or client_id")
    refuse(has_request & has_client, "client_id", "give request_id or client_id, not both")
    row_given = row_text.notna().to_numpy()
    whole = row.notna().to_numpy() & (row.fillna(0) % 1 == 0).to_numpy() & (row.fillna(0) >= 1).to_numpy()
    refuse(row_given & ~whole, "row", "must be a whole number from 1 (the row the API answered)")
    refuse(row_given & ~has_request, "row", "a row needs its request_id")

    flag = _text(chunk["defaulted"]).str.lower()
    defaulted = np.where(flag.isin(_TRUE).to_numpy(), 1, 0)
    known_flag = (flag.isin(_TRUE) | flag.isin(_FALSE)).to_numpy()
    refuse(flag.isna().to_numpy(), "defaulted", "missing: 1 if the loan defaulted, else 0")
    refuse(flag.notna().to_numpy() & ~known_flag, "defaulted", "must be 0 or 1 (or true/false)")

    observed_text = _text(chunk["observed_at"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        observed = pd.to_datetime(observed_text, errors="coerce", utc=True, format="ISO8601")
    refuse(observed_text.isna().to_numpy(), "observed_at", "missing: the date the outcome was observed")
    unreadable = observed_text.notna().to_numpy() & observed.isna().to_numpy()
    refuse(unreadable, "observed_at", "not a date; use ISO 8601, e.g. 2026-03-31")
    observed_on = observed.dt.date
    future = (observed.dt.normalize() > pd.Timestamp(latest, tz="UTC")).fillna(False).to_numpy()
    refuse(future, "observed_at", f"after {latest.isoformat()}: an outcome cannot be observed in the future")

    keep = ~bad
    staged = pd.DataFrame(
        {
            "line": lines[keep].astype(int),
            "request_id": request_id[keep].astype(object).where(has_request[keep], None),
            "row": np.where(has_request[keep], row[keep].fillna(1).to_numpy(), np.nan),
            "client_hash": [
                hash_client_id(v) if v is not None else None
                for v in client_id[keep].astype(object).where(has_client[keep], None)
            ],
            "defaulted": defaulted[keep],
            "observed_on": observed_on[keep].to_numpy(),
        }
    )
    errors.sort(key=lambda error: error.row or 0)
    return staged, errors


# storing ------------------------------------------------------------------------------------------


def _staging_table() -> sa.Table:
    return sa.Table(
        "outcome_staging",
        sa.MetaData(),
        sa.Column("line", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("request_id", sa.Text()),
        sa.Column("row", sa.Integer()),
        sa.Column("client_hash", sa.Text()),
        sa.Column("defaulted", sa.SmallInteger(), nullable=False),
        sa.Column("observed_on", sa.Date(), nullable=False),
        prefixes=["TEMPORARY"],
    )


_STAGED = ("line", "request_id", "row", "client_hash", "defaulted", "observed_on")


def _stage(connection: Connection, frame: pd.DataFrame) -> None:
    """Bulk-load valid rows into the staging table: COPY on PostgreSQL, executemany on SQLite
    (SQLAlchemy's per-row parameter handling would cost more than the database)."""
    if frame.empty:
        return
    frame = frame.astype({"row": "Int64"})
    cursor = connection.connection.driver_connection.cursor()
    try:
        if connection.dialect.name == "postgresql":
            buffer = io.StringIO()
            frame.to_csv(buffer, columns=list(_STAGED), header=False, index=False)
            buffer.seek(0)
            columns = ", ".join(f'"{name}"' for name in _STAGED)
            cursor.copy_expert(f"COPY outcome_staging ({columns}) FROM STDIN WITH (FORMAT csv)", buffer)
        else:
            rows = frame[list(_STAGED)].astype(object).where(frame[list(_STAGED)].notna(), None)
            cursor.executemany(
                'INSERT INTO outcome_staging (line, request_id, "row", client_hash, defaulted, observed_on)'
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(*values[:5], values[5].isoformat()) for values in rows.itertuples(index=False, name=None)],
            )
    finally:
        cursor.close()


# Each staged row with its decision and, for a second outcome of one decision in the same request,
# the line of the first (which wins). Keyed by request id + row, the logged decision; keyed by
# client, that client's latest decision (max id; also should a client have reused a request id).
_RESOLVE = """CREATE TEMPORARY TABLE outcome_resolved AS
  SELECT r.*, CASE WHEN r.decision_id IS NOT NULL
                   AND r.line > min(r.line) OVER (PARTITION BY r.decision_id)
              THEN min(r.line) OVER (PARTITION BY r.decision_id) END AS duplicate_of
  FROM (
    SELECT s.line, s.request_id, s."row", s.defaulted, s.observed_on, max(l.id) AS decision_id
    FROM outcome_staging s LEFT JOIN inference_log l ON l.request_id = s.request_id AND l."row" = s."row"
    WHERE s.request_id IS NOT NULL
    GROUP BY s.line, s.request_id, s."row", s.defaulted, s.observed_on
    UNION ALL
    SELECT s.line, s.request_id, s."row", s.defaulted, s.observed_on, max(l.id) AS decision_id
    FROM outcome_staging s LEFT JOIN inference_log l ON l.client_hash = s.client_hash
    WHERE s.request_id IS NULL
    GROUP BY s.line, s.request_id, s."row", s.defaulted, s.observed_on
  ) r"""
_CORRECT = """INSERT INTO outcome_corrections
    (decision_id, previous_defaulted, previous_observed_on, defaulted, observed_on, corrected_at)
  SELECT o.decision_id, o.defaulted, o.observed_on, s.defaulted, s.observed_on, :now
  FROM outcome_resolved s JOIN outcomes o ON o.decision_id = s.decision_id
  WHERE s.duplicate_of IS NULL AND (o.defaulted <> s.defaulted OR o.observed_on <> s.observed_on)"""
_NEW = """SELECT count(*) FROM outcome_resolved s LEFT JOIN outcomes o ON o.decision_id = s.decision_id
  WHERE s.decision_id IS NOT NULL AND s.duplicate_of IS NULL AND o.decision_id IS NULL"""
_UPSERT = """INSERT INTO outcomes (decision_id, defaulted, observed_on, recorded_at)
  SELECT decision_id, defaulted, observed_on, :now FROM outcome_resolved
  WHERE decision_id IS NOT NULL AND duplicate_of IS NULL
  ON CONFLICT (decision_id) DO UPDATE SET
    defaulted = excluded.defaulted, observed_on = excluded.observed_on, recorded_at = excluded.recorded_at
  WHERE outcomes.defaulted <> excluded.defaulted OR outcomes.observed_on <> excluded.observed_on"""
_REFUSED = """SELECT line, request_id, "row", duplicate_of FROM outcome_resolved
  WHERE decision_id IS NULL OR duplicate_of IS NOT NULL ORDER BY line"""


def _refusals(connection: Connection, limit: int) -> tuple[int, list[FieldError]]:
    count = connection.execute(
        sa.text("SELECT count(*) FROM outcome_resolved WHERE decision_id IS NULL OR duplicate_of IS NOT NULL")
    ).scalar_one()
    errors = []
    for line, request_id, row, duplicate_of in connection.execute(sa.text(_REFUSED + f" LIMIT {int(limit)}")):
        if duplicate_of is not None:
            name = "request_id" if request_id is not None else "client_id"
            errors.append(FieldError(name, f"a second outcome for the decision of line {duplicate_of}", line))
        elif request_id is not None:
            errors.append(
                FieldError("request_id", f"no logged decision for request {request_id} row {row}", line)
            )
        else:
            errors.append(FieldError("client_id", "no logged decision for this client", line))
    return count, errors


def import_outcomes(
    url: str | None,
    chunks: Iterable[tuple[pd.DataFrame, list[FieldError]]],
    strict: bool = False,
    now: datetime | None = None,
) -> ImportResult:
    """Store the valid outcomes of `chunks` (one transaction); refused rows are reported, not stored.

    Raises OutcomesInputError, storing nothing, when no row can be stored, or in strict mode when any
    row is refused.
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    engine = outcomes_engine(url)
    result = ImportResult()
    staging = _staging_table()
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            # SQLite's driver commits DDL at once, so a refused import's temporary tables survive
            # its rollback on the pooled connection: clear them first.
            for name in ("outcome_staging", "outcome_resolved"):
                connection.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
            staging.create(connection)
            for chunk, chunk_errors in chunks:
                staged, errors = validate_chunk(chunk, moment.date() + timedelta(days=1))
                result.rows += len(chunk) + len({e.row for e in chunk_errors})
                result.rejected += len(chunk) - len(staged) + len({e.row for e in chunk_errors})
                room = MAX_REPORTED_ERRORS - len(result.errors)
                result.errors += sorted(chunk_errors + errors, key=lambda e: e.row or 0)[: max(room, 0)]
                _stage(connection, staged)
            connection.execute(sa.text("ANALYZE outcome_staging"))  # a fresh table has no statistics
            connection.execute(sa.text(_RESOLVE))
            connection.execute(sa.text("ANALYZE outcome_resolved"))
            refused, errors = _refusals(connection, MAX_REPORTED_ERRORS)
            result.rejected += refused
            result.errors = sorted(result.errors + errors, key=lambda e: e.row or 0)[:MAX_REPORTED_ERRORS]
            accepted = result.rows - result.rejected
            if result.rows == 0:
                raise OutcomesInputError(
                    "no outcomes in the input", [FieldError("", "the input has no rows")]
                )
            if accepted == 0 or (strict and result.rejected):
                why = "strict mode" if accepted else "no row can be stored"
                raise OutcomesInputError(
                    f"{result.rejected} of {result.rows} rows refused ({why}); nothing stored",
                    result.errors,
                    result,
                )
            result.stored = connection.execute(sa.text(_NEW)).scalar_one()
            result.corrected = connection.execute(sa.text(_CORRECT), {"now": moment}).rowcount
            connection.execute(sa.text(_UPSERT), {"now": moment})
            result.unchanged = accepted - result.stored - result.corrected
            staging.drop(connection)
            connection.execute(sa.text("DROP TABLE outcome_resolved"))
            transaction.commit()
        except BaseException:
            transaction.rollback()
            raise
    return result


def read_outcomes(url: str | None) -> pd.DataFrame:
    """Every current outcome with its decision: decision_id, request_id, row, model_version, ts,
    probability, decision, defaulted, observed_on, recorded_at (for checks and exports)."""
    engine = outcomes_engine(url)
    log = inference_log
    query = (
        sa.select(
            outcomes.c.decision_id,
            log.c.request_id,
            log.c.row,
            log.c.model_version,
            log.c.ts,
            log.c.probability,
            log.c.decision,
            outcomes.c.defaulted,
            outcomes.c.observed_on,
            outcomes.c.recorded_at,
        )
        .join(log, log.c.id == outcomes.c.decision_id)
        .order_by(outcomes.c.decision_id)
    )
    with engine.connect() as connection:
        return pd.DataFrame(connection.execute(query).all(), columns=[c.name for c in query.selected_columns])


def read_corrections(url: str | None) -> pd.DataFrame:
    """Every correction, oldest first."""
    engine = outcomes_engine(url)
    query = sa.select(corrections).order_by(corrections.c.id)
    with engine.connect() as connection:
        return pd.DataFrame(connection.execute(query).all(), columns=[c.name for c in corrections.columns])


def outcomes_for_batch(
    url: str | None, batch: pd.DataFrame, target: str, id_column: str, observed_on: date
) -> pd.DataFrame:
    """Outcomes of the approved decisions the log holds for `batch`'s clients, from its target column.

    For a generated batch the target is the generator's draw from its true default model (and, for a
    production batch, raised by the batch's drift), so the outcomes show what drift did to the model.
    Matched through the salted client hash, so the log needs no raw id; a client scored several times
    gets the outcome on each of their approved decisions.
    """
    truth = pd.DataFrame(
        {"client_hash": [hash_client_id(v) for v in batch[id_column].tolist()], "defaulted": batch[target]}
    ).drop_duplicates("client_hash")
    engine = outcomes_engine(url)
    log = inference_log
    query = sa.select(log.c.request_id, log.c.row, log.c.client_hash).where(
        log.c.decision == "approve", log.c.client_hash.is_not(None), log.c.request_id.is_not(None)
    )
    with engine.connect() as connection:
        decisions = pd.DataFrame(
            connection.execute(query).all(), columns=["request_id", "row", "client_hash"]
        )
    joined = decisions.merge(truth, on="client_hash")
    joined["observed_at"] = observed_on.isoformat()
    joined["defaulted"] = joined["defaulted"].astype(int)
    joined["row"] = joined["row"].fillna(1).astype(int)
    return joined[["request_id", "row", "defaulted", "observed_at"]]
