"""How much the API scores and approves: from the inference log (totals and over time), or the API's counters.

The log is read-only here (ts and decision only, never the features) and only when the console is
given `DATABASE_URL`; it outlives API restarts, so its totals are the platform's. Without it, the
Prometheus counters give totals since the API process started.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa
import streamlit as st

from app.errors import SourceUnavailableError
from ml.inference_log import inference_log, normalize_database_url

PREDICTIONS_METRIC = "api_predictions_total"  # labels: model_version, decision
_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@st.cache_data(ttl=30, show_spinner=False)
def decisions_by_period(database_url: str, days: int = 7, freq: str = "h") -> pd.DataFrame:
    """Predictions per period and decision over the last `days` (`period`, `decision`, `count`)."""
    since = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=days)
    query = sa.select(inference_log.c.ts, inference_log.c.decision).where(inference_log.c.ts >= since)
    rows = pd.DataFrame(_read(database_url, query), columns=["ts", "decision"])
    if rows.empty:
        return pd.DataFrame(columns=["period", "decision", "count"])
    rows["period"] = pd.to_datetime(rows["ts"], utc=True).dt.floor(freq)
    return rows.groupby(["period", "decision"]).size().reset_index(name="count")


def _read(database_url: str, query: sa.Select[Any]) -> list[Any]:
    engine = sa.create_engine(normalize_database_url(database_url))
    try:
        with engine.connect() as connection:
            return list(connection.execute(query).all())
    except sa.exc.SQLAlchemyError as exc:
        raise SourceUnavailableError(f"The inference log could not be read ({type(exc).__name__}).") from exc
    finally:
        engine.dispose()


@st.cache_data(ttl=30, show_spinner=False)
def decision_totals(database_url: str) -> dict[str, float]:
    """Every logged prediction counted by decision (one grouped count: no rows leave the database)."""
    query = sa.select(inference_log.c.decision, sa.func.count()).group_by(inference_log.c.decision)
    return {str(decision): float(count) for decision, count in _read(database_url, query)}


def prediction_counts(metrics_text: str) -> dict[str, float]:
    """Predictions by decision since the API started, from its Prometheus text (counter samples)."""
    counts: dict[str, float] = {}
    for line in metrics_text.splitlines():
        match = _SAMPLE.match(line)
        if not match or match["name"] != PREDICTIONS_METRIC:
            continue
        labels = dict(_LABEL.findall(match["labels"] or ""))
        if "decision" in labels:
            counts[labels["decision"]] = counts.get(labels["decision"], 0.0) + float(match["value"])
    return counts


def approval_rate(counts: dict[str, float]) -> float | None:
    total = sum(counts.values())
    return counts.get("approve", 0.0) / total if total else None
