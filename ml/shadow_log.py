"""Shadow scores: what the challenger would have decided for each row the champion answered.

They live next to the inference log, in the same database, keyed by the champion decision they
shadow (request id + row + champion version), so the log stays the single record of what was
decided and a comparison is one join. `shadow_engine` creates the table and its index on a log of
any age (that is the migration for logs made before shadow scoring), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ml.inference_log import REQUEST_ROW_INDEX, create_log_engine, create_tables, inference_log

metadata = sa.MetaData()
shadow_scores = sa.Table(
    "shadow_scores",
    metadata,
    sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    sa.Column("ts", sa.DateTime(timezone=False), nullable=False),  # naive UTC, when it was scored
    sa.Column("request_id", sa.Text(), nullable=False),
    sa.Column("row", sa.Integer(), nullable=False),
    sa.Column("champion_version", sa.Text(), nullable=False),  # the version whose decision it shadows
    sa.Column("model_name", sa.Text(), nullable=False),
    sa.Column("model_version", sa.Text(), nullable=False),  # the challenger's version
    sa.Column("probability", sa.Float(), nullable=False),
    sa.Column("decision", sa.Text(), nullable=False),
    sa.Index("ix_shadow_scores_request_row", "request_id", "row"),
)


@functools.lru_cache(maxsize=8)
def shadow_engine(url: str | None) -> Engine:
    """Engine on the inference log's database with the shadow table created if missing."""
    engine = create_log_engine(url)
    create_tables(engine, metadata, shadow_scores.name, [REQUEST_ROW_INDEX])
    return engine


SHADOW_COLUMNS = (
    "request_id",
    "row",
    "champion_version",
    "model_name",
    "model_version",
    "probability",
    "decision",
)
_NAMES = ", ".join(f'"{name}"' for name in ("ts", *SHADOW_COLUMNS))
# Fixed text (no value is ever formatted in): positional markers as each driver spells them.
_INSERT_QMARK = f"INSERT INTO shadow_scores ({_NAMES}) VALUES ({', '.join(['?'] * 8)})"  # noqa: S608  # nosec B608
_INSERT_FORMAT = f"INSERT INTO shadow_scores ({_NAMES}) VALUES ({', '.join(['%s'] * 8)})"  # noqa: S608  # nosec B608


def write_shadow_rows(engine: Engine, rows: Sequence[tuple[Any, ...]]) -> int:
    """Insert shadow rows (tuples in SHADOW_COLUMNS order) in one transaction; returns how many.

    Straight to the driver's executemany: the rows are plain values, so SQLAlchemy's per-row
    parameter processing (Python time under the GIL the requests need) is skipped."""
    if not rows:
        return 0
    now = datetime.now(UTC).replace(tzinfo=None)
    # SQLite keeps SQLAlchemy's own DateTime text; other drivers adapt the datetime.
    ts: datetime | str = now.strftime("%Y-%m-%d %H:%M:%S.%f") if engine.dialect.name == "sqlite" else now
    sql = _INSERT_QMARK if engine.dialect.paramstyle == "qmark" else _INSERT_FORMAT
    with engine.begin() as connection:
        connection.exec_driver_sql(sql, [(ts, *row) for row in rows])
    return len(rows)


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def read_pairs(
    url: str | None,
    model_name: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    last_n: int | None = None,
) -> pd.DataFrame:
    """Champion decisions that have a shadow score, oldest first: the log's id (`decision_id`), ts,
    request_id, row, champion and challenger version / probability / decision (features: `read_features`).

    The window applies to the champion's decision time; `last_n` keeps the most recent pairs.
    """
    log, shadow = inference_log, shadow_scores
    query = (
        sa.select(
            log.c.id.label("decision_id"),
            log.c.ts,
            log.c.request_id,
            log.c.row,
            log.c.model_version.label("champion_version"),
            log.c.probability.label("champion_probability"),
            log.c.decision.label("champion_decision"),
            shadow.c.model_version.label("challenger_version"),
            shadow.c.probability.label("challenger_probability"),
            shadow.c.decision.label("challenger_decision"),
        )
        .join(
            shadow,
            sa.and_(
                shadow.c.request_id == log.c.request_id,
                shadow.c.row == log.c.row,
                shadow.c.champion_version == log.c.model_version,
                shadow.c.model_name == log.c.model_name,
            ),
        )
        .order_by(log.c.id.desc(), shadow.c.id.desc())
    )
    if model_name:
        query = query.where(log.c.model_name == model_name)
    if since is not None:
        query = query.where(log.c.ts >= _naive(since))
    if until is not None:
        query = query.where(log.c.ts < _naive(until))
    if last_n is not None:
        query = query.limit(max(int(last_n), 0))
    with shadow_engine(url).connect() as connection:
        records = connection.execute(query).all()
    columns = [column.name for column in query.selected_columns]
    frame = pd.DataFrame(list(reversed(records)), columns=columns)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    for name in ("champion_probability", "challenger_probability"):
        frame[name] = frame[name].astype(float)
    # One shadow score per decision (a replayed request id could pair twice): keep the latest.
    return frame.drop_duplicates(["decision_id", "challenger_version"], keep="last").reset_index(drop=True)


def read_features(url: str | None, decision_ids: list[int]) -> pd.DataFrame:
    """The logged features of these decisions, one column per feature, indexed by decision id."""
    found: list[tuple[int, str]] = []
    query = sa.select(inference_log.c.id, inference_log.c.features).where(
        inference_log.c.id.in_(sa.bindparam("ids", expanding=True))
    )
    with shadow_engine(url).connect() as connection:
        for start in range(0, len(decision_ids), 5_000):
            found += connection.execute(query, {"ids": decision_ids[start : start + 5_000]}).all()
    records = [json.loads(text) for _, text in found]
    return pd.DataFrame.from_records(records, index=[decision for decision, _ in found]).infer_objects()
