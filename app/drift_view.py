"""Drift checks as the console shows them: the history of checks and one check's drifted columns."""

from __future__ import annotations

import html
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


def columns_table(summary: dict[str, Any]) -> pd.DataFrame:
    """Per-column drift (column, method, score, threshold, drifted), drifted first."""
    rows = [{"column": name, **details} for name, details in (summary.get("columns") or {}).items()]
    if not rows:
        return pd.DataFrame(columns=["column", "method", "score", "threshold", "drifted"])
    table = pd.DataFrame(rows)
    if "drifted" in table:
        table = table.sort_values(["drifted", "column"], ascending=[False, True])
    return table.reset_index(drop=True)


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
