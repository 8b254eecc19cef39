"""The live fairness figures as the console shows them: a summary per attribute in words and
percentages, the approval rate per group and window as a chart, the table behind it."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go


def summary_table(report: dict[str, Any]) -> pd.DataFrame:
    """One row per protected attribute: newest window, lowest ratio, least and most approved groups."""
    rows = [
        {
            "attribute": item["attribute"],
            "window": item["window"],
            "decisions": item["rows"],
            "lowest approval-rate ratio": "-"
            if item["min_approval_ratio"] is None
            else f"{item['min_approval_ratio']:.2f}",
            "least approved": item["least_approved"] or "-",
            "most approved": item["most_approved"] or "-",
        }
        for item in report.get("summary", [])
    ]
    return pd.DataFrame(rows)


def below_minimum(report: dict[str, Any]) -> list[str]:
    """Attributes whose newest ratio is under the gate's minimum (the alert's condition)."""
    minimum = report.get("min_approval_ratio")
    if minimum is None:
        return []
    return [
        item["attribute"]
        for item in report.get("summary", [])
        if item["min_approval_ratio"] is not None and item["min_approval_ratio"] < minimum
    ]


def groups_table(report: dict[str, Any], attribute: str) -> pd.DataFrame:
    """Window, group, decisions, approval rate and ratio (percentages as text) of one attribute."""
    frame = pd.DataFrame(report.get("groups", []))
    if frame.empty:
        return pd.DataFrame(
            columns=["window", "group", "decisions", "approved", "ratio to most approved", "in the ratio"]
        )
    frame = frame[frame["attribute"] == attribute]
    return pd.DataFrame(
        {
            "window": frame["window"],
            "group": frame["group"],
            "decisions": frame["rows"],
            "approved": frame["approval_rate"].map(lambda v: f"{v:.1%}"),
            "ratio to most approved": frame["approval_ratio"].map(
                lambda v: "-" if v is None or v != v else f"{v:.2f}"
            ),
            "in the ratio": frame["gated"].map({True: "yes", False: "no (too few decisions)"}),
        }
    ).reset_index(drop=True)


def approval_chart(report: dict[str, Any], attribute: str) -> go.Figure:
    """Approval rate per group over the windows (one line per group)."""
    frame = pd.DataFrame(report.get("groups", []))
    figure = go.Figure()
    if not frame.empty:
        frame = frame[frame["attribute"] == attribute]
        for group, rows in frame.groupby("group"):
            figure.add_trace(go.Bar(name=str(group), x=rows["window"], y=rows["approval_rate"]))
    figure.update_layout(
        barmode="group",
        title=f"Approval rate per group: {attribute}",
        yaxis={"tickformat": ".0%", "title": "approved", "range": [0, 1]},
        height=360,
        margin={"l": 20, "r": 20, "t": 50, "b": 20},
        template="plotly_white",
    )
    return figure
