"""The performance report as the console shows it: cohort tables in words and percentages, and the
charts (AUC and bad rate over cohorts against training, the calibration curve)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

KINDS = (("realized", "Realized (outcomes)", "solid"), ("estimated", "Estimated (before outcomes)", "dash"))


def cohort_table(version: dict[str, Any]) -> pd.DataFrame:
    """One row per cohort: counts, then realized and estimated figures side by side."""
    rows = []
    for cohort in version["cohorts"]:
        realized, estimated = cohort["realized"] or {}, cohort["estimated"] or {}
        rows.append(
            {
                "cohort": cohort["cohort"],
                "decisions": cohort["decisions"],
                "approved": _pct(cohort["approval_rate"]),
                "with outcome": cohort["with_outcome"],
                "awaiting outcome": cohort["awaiting_outcome"],
                "bad rate (realized)": _pct(realized.get("bad_rate")),
                "bad rate (estimated)": _pct(estimated.get("bad_rate")),
                "AUC (realized)": _round(realized.get("roc_auc")),
                "AUC (estimated)": _round(estimated.get("roc_auc")),
                "KS (realized)": _round(realized.get("ks")),
                "Brier (realized)": _round(realized.get("brier")),
                "cost per client (realized)": _round(realized.get("business_cost")),
            }
        )
    return pd.DataFrame(rows)


def over_cohorts(version: dict[str, Any], figure: str, title: str, percent: bool) -> go.Figure:
    """Realized and estimated `figure` per cohort as lines, the training figure as a reference line."""
    cohorts = [c["cohort"] for c in version["cohorts"]]
    chart = go.Figure()
    for kind, label, dash in KINDS:
        values = [(c[kind] or {}).get(figure) for c in version["cohorts"]]
        chart.add_trace(
            go.Scatter(x=cohorts, y=values, name=label, mode="lines+markers", line={"dash": dash})
        )
    training = (version["training"] or {}).get(figure)
    if training is not None:
        chart.add_hline(
            y=training,
            line_dash="dot",
            line_color="gray",
            annotation_text="training (approved part of the test set)",
        )
    chart.update_layout(
        title=title,
        xaxis_title="month of the decision",
        xaxis_type="category",
        height=340,
        yaxis_tickformat=".1%" if percent else ".3f",
        margin={"t": 50, "b": 40},
    )
    return chart


def calibration_chart(calibration: dict[str, Any]) -> go.Figure:
    """Reliability curve on the version's test set: observed default rate against predicted probability."""
    predicted, observed = calibration["mean_predicted"], calibration["observed_rate"]
    top = max([*predicted, *observed, 0.01]) * 1.05
    chart = go.Figure()
    chart.add_trace(
        go.Scatter(
            x=[0, top],
            y=[0, top],
            name="perfectly calibrated",
            mode="lines",
            line={"dash": "dot", "color": "gray"},
        )
    )
    chart.add_trace(go.Scatter(x=predicted, y=observed, name="this version", mode="lines+markers"))
    chart.update_layout(
        title=f"Calibration on the test set (expected calibration error {calibration['ece']:.1%})",
        xaxis_title="predicted probability of default",
        yaxis_title="observed default rate",
        xaxis_tickformat=".0%",
        yaxis_tickformat=".0%",
        height=340,
        margin={"t": 50, "b": 40},
    )
    return chart


def upload_errors(result: dict[str, Any]) -> pd.DataFrame:
    """The refused rows of an outcomes upload: line (as in the file, header = 1), field, reason."""
    return pd.DataFrame(
        [{"line": e["row"], "field": e["field"], "reason": e["reason"]} for e in result.get("errors") or []],
        columns=["line", "field", "reason"],
    )


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
