"""Drift checks as the console shows them: the verdict and next step, the history of checks, and one
check's drifted columns. Plain functions from MLflow runs and JSON summaries to words and tables."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ml.config import load_params

MAX_EMBED_BYTES = 8_000_000  # bigger reports are offered as a download: the browser would choke
# Scripts may run (Evidently draws its charts with them), but without allow-same-origin the report
# lives in an opaque origin: it cannot read or change the console's page, storage or cookies.
REPORT_SANDBOX = "allow-scripts"


def sandboxed_report(page: str, height: int) -> str:
    """A report page (untrusted HTML: it holds data values) in a sandboxed iframe of its own."""
    source = html.escape(page, quote=True)
    return (
        f'<iframe sandbox="{REPORT_SANDBOX}" srcdoc="{source}" title="Drift report" '
        f'style="border:0;width:100%;height:{height - 16}px"></iframe>'
    )


def default_threshold() -> float:
    """The drift share that triggers retraining, as configured for the drift checks."""
    return load_params().drift.threshold


def checks_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Past checks, newest first: time, drift share, and the other logged metrics."""
    if runs.empty or "metric.drift_share" not in runs:
        return pd.DataFrame(columns=["run_id", "start_time", "drift_share"])
    metrics = [c for c in runs.columns if c.startswith("metric.")]
    table = runs[["run_id", "start_time", *metrics]].dropna(subset=["metric.drift_share"])
    return table.rename(columns={c: c.removeprefix("metric.") for c in metrics}).reset_index(drop=True)


# The history table's columns as an operator reads them, in this order (others are left out).
HISTORY_HEADERS = {
    "start_time": "Checked (UTC)",
    "dataset_drift": "Drift",
    "drift_share": "Share of columns drifted",
    "threshold": "Retrain threshold",
    "drifted_columns": "Columns drifted",
    "prediction_drift_score": "Score drift (test statistic)",
    "data_quality_score": "Data quality score",
    "rows_current": "Rows checked",
    "rows_reference": "Reference rows",
}


def history_table(checks: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """The checks with human headers: drift as yes / no, shares as percentages, counts as integers."""
    table = checks.copy()
    if "threshold" not in table:
        table["threshold"] = threshold
    table["threshold"] = table["threshold"].fillna(threshold)
    drifted = table["drift_share"] > table["threshold"]  # checks logged before the verdict metric
    if "dataset_drift" in table:
        drifted = (table["dataset_drift"] > 0).where(table["dataset_drift"].notna(), drifted)
    table["dataset_drift"] = drifted.map({True: "yes", False: "no"})
    table["start_time"] = pd.to_datetime(table["start_time"], utc=True).dt.strftime("%Y-%m-%d %H:%M")
    for share in ("drift_share", "threshold"):
        table[share] = table[share].map(lambda v: f"{v:.1%}")
    for count in ("drifted_columns", "rows_current", "rows_reference"):
        if count in table:
            table[count] = table[count].astype("Int64")
    columns = [c for c in HISTORY_HEADERS if c in table]
    return table[columns].rename(columns=HISTORY_HEADERS)


@dataclass(frozen=True)
class Verdict:
    """One check's answer: did the data drift, by how much against the threshold, and where."""

    drifted: bool
    share: float
    threshold: float
    n_drifted: int | None = None
    n_columns: int | None = None
    columns: list[str] = field(default_factory=list)  # drifted columns, by name
    prediction_drifted: bool | None = None


def verdict(share: float, summary: dict[str, Any] | None, default_threshold: float) -> Verdict:
    """The verdict of a check from its logged share and (when read) its JSON summary."""
    summary = summary or {}
    threshold = summary.get("threshold")
    threshold = default_threshold if threshold is None else float(threshold)
    drifted = summary.get("dataset_drift")
    table = columns_table(summary)
    names = list(table.loc[table["drifted"].astype(bool), "column"]) if "drifted" in table else []
    prediction = summary.get("prediction_drift") or {}
    return Verdict(
        drifted=bool(drifted) if drifted is not None else share > threshold,
        share=share,
        threshold=threshold,
        n_drifted=summary.get("n_drifted", len(names) if names else None),
        n_columns=summary.get("n_columns", len(table) or None),
        columns=summary.get("drifted_columns") or names,
        prediction_drifted=prediction.get("drifted"),
    )


def logged_verdict(check: pd.Series, default_threshold: float) -> Verdict:
    """A check's verdict from its logged metrics alone (no download: what Home shows)."""

    def metric(name: str) -> float | None:
        value = check.get(name)
        return None if value is None or pd.isna(value) else float(value)

    threshold, drifted, count = metric("threshold"), metric("dataset_drift"), metric("drifted_columns")
    threshold = default_threshold if threshold is None else threshold
    share = float(check["drift_share"])
    return Verdict(
        drifted=share > threshold if drifted is None else drifted > 0,
        share=share,
        threshold=threshold,
        n_drifted=None if count is None else int(count),
    )


def headline(found: Verdict) -> str:
    """The verdict in one sentence, the share against the threshold."""
    if found.n_drifted is not None and found.n_columns:
        counted = f"{found.n_drifted} of {found.n_columns} columns drifted, a share of "
    elif found.n_drifted is not None:
        counted = f"{found.n_drifted} columns drifted, a share of "
    else:
        counted = "a drifted-column share of "
    side = "above" if found.drifted else "at or below"
    name = "Drift detected" if found.drifted else "No drift"
    return f"**{name}**: {counted}{found.share:.1%}, {side} the retrain threshold of {found.threshold:.1%}."


def drifted_sentence(found: Verdict, limit: int = 12) -> str | None:
    """The drifted columns in words (the first `limit`), or None when none drifted."""
    if not found.columns:
        return None
    shown = ", ".join(f"`{name}`" for name in found.columns[:limit])
    more = f" and {len(found.columns) - limit} more" if len(found.columns) > limit else ""
    return f"Drifted: {shown}{more}."


RETRAIN_COMMAND = "python -m ml retrain-if-drift --data <labelled training CSV>"


def next_step(found: Verdict) -> str:
    """What the operator does about the verdict."""
    if not found.drifted:
        return (
            "Nothing to do: no retrain trigger is set. Keep checking regularly (the monitor workflow does "
            "it daily); a single drifted column is worth a look in the table below."
        )
    return (
        "The check set the **retrain trigger**. Next: train a candidate on recent labelled data, which "
        "registers it as **challenger** and runs the quality gate; then review it on the Model registry "
        "page before promoting it."
    )


def columns_table(summary: dict[str, Any]) -> pd.DataFrame:
    """Per-column drift (column, method, score, threshold, drifted), drifted first."""
    rows = [{"column": name, **details} for name, details in (summary.get("columns") or {}).items()]
    if not rows:
        return pd.DataFrame(columns=["column", "method", "score", "threshold", "drifted"])
    table = pd.DataFrame(rows)
    if "drifted" in table:
        table = table.sort_values(["drifted", "column"], ascending=[False, True])
    return table.reset_index(drop=True)


COLUMN_HEADERS = {
    "column": "Column",
    "drifted": "Drifted",
    "type": "Type",
    "method": "Test",
    "score": "Test statistic",
    "threshold": "Test threshold",
    "note": "Note",
}


def columns_display(summary: dict[str, Any]) -> pd.DataFrame:
    """The per-column table with human headers, drifted first, drifted as yes / no."""
    table = columns_table(summary)
    if "drifted" in table:
        table["drifted"] = table["drifted"].map({True: "yes", False: "no"}).fillna("-")
    columns = [c for c in COLUMN_HEADERS if c in table]
    return table[columns].rename(columns=COLUMN_HEADERS)


BAND_COLOURS = {"stable": "#d9f2d9", "watch": "#fff2bf", "act": "#f8d0d0"}  # as ml.stability's HTML


def stability_table(summary: dict[str, Any]) -> pd.DataFrame:
    """CSI per feature (least stable first) with the band, missing shares and out-of-range counts."""
    features = (summary.get("stability") or {}).get("features") or []
    columns = [
        "feature",
        "kind",
        "CSI",
        "band",
        "missing (reference)",
        "missing (current)",
        "outside training range",
    ]
    if not features:
        return pd.DataFrame(columns=columns)
    table = pd.DataFrame(features).rename(
        columns={
            "csi": "CSI",
            "missing_reference": "missing (reference)",
            "missing_current": "missing (current)",
            "out_of_range": "outside training range",
        }
    )
    return table[columns]


def styled_stability(table: pd.DataFrame) -> Any:
    """The table coloured by band (stable green, watch amber, act red), shares as percentages."""
    return table.style.apply(
        lambda row: [f"background-color: {BAND_COLOURS.get(row['band'], '')}"] * len(row), axis=1
    ).format({"CSI": "{:.3f}", "missing (reference)": "{:.1%}", "missing (current)": "{:.1%}"})


def score_bands(summary: dict[str, Any]) -> pd.DataFrame | None:
    """Share of the reference and the current rows per score band, or None without scores."""
    score = (summary.get("stability") or {}).get("score")
    if not score:
        return None
    return pd.DataFrame(score["bins"]).rename(columns={"label": "band"})
