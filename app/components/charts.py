"""Plotly figures used by the pages: plain functions from data to a figure, no Streamlit calls."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

APPROVE_COLOR = "#2e7d32"
REFUSE_COLOR = "#c62828"
NEUTRAL_COLOR = "#1565c0"
_LAYOUT = {"margin": {"l": 20, "r": 20, "t": 50, "b": 20}, "template": "plotly_white"}


def probability_gauge(probability: float, threshold: float) -> go.Figure:
    """Probability of default against the decision threshold (the red zone refuses).

    The scale stops a little past the threshold or the score: thresholds sit near 10 %, and on a
    0-100 % dial the part that matters would be a sliver.
    """
    top = min(100.0, max(3 * threshold, 1.25 * probability, 0.05) * 100)
    figure = go.Figure(
        go.Indicator(
            mode="gauge+number",
            value=probability * 100,
            number={"suffix": " %", "valueformat": ".1f"},
            title={"text": "Probability of default"},
            gauge={
                "axis": {"range": [0, top]},
                "bar": {"color": REFUSE_COLOR if probability >= threshold else APPROVE_COLOR},
                "steps": [
                    {"range": [0, threshold * 100], "color": "#e8f5e9"},
                    {"range": [threshold * 100, top], "color": "#ffebee"},
                ],
                "threshold": {"line": {"color": "black", "width": 3}, "value": threshold * 100},
            },
        )
    )
    return figure.update_layout(height=260, **_LAYOUT)


def contributions_waterfall(base_probability: float, steps: Sequence[tuple[str, float]]) -> go.Figure:
    """From the model's average probability of default to this client's, one step per feature, in
    percentage points (score_view.probability_steps). The axis is zoomed on the steps."""
    names = [name for name, _ in steps]
    values = [points for _, points in steps]
    start = base_probability * 100
    path = [start + sum(values[:i]) for i in range(len(values) + 1)]
    margin = max((max(path) - min(path)) * 0.15, 0.5)
    figure = go.Figure(
        go.Waterfall(
            orientation="h",
            measure=["absolute", *["relative"] * len(values), "total"],
            y=["model average", *names, "this client"],
            x=[start, *values, 0],
            text=[f"{start:.1f}%", *(f"{v:+.1f} pp" for v in values), f"{path[-1]:.1f}%"],
            textposition="outside",
            increasing={"marker": {"color": REFUSE_COLOR}},
            decreasing={"marker": {"color": APPROVE_COLOR}},
            totals={"marker": {"color": NEUTRAL_COLOR}},
        )
    )
    return figure.update_layout(
        title="Probability of default, step by step (pp = percentage points; red raises the risk)",
        height=140 + 28 * len(values),
        yaxis={"autorange": "reversed"},
        xaxis={
            "range": [max(min(path) - margin, 0), min(max(path) + margin, 100)],
            "title": "probability of default (%)",
        },
        showlegend=False,
        **_LAYOUT,
    )


def score_histogram(probabilities: Sequence[float], threshold: float) -> go.Figure:
    """Distribution of a batch's scores with the decision threshold marked."""
    figure = go.Figure(go.Histogram(x=list(probabilities), nbinsx=40, marker_color=NEUTRAL_COLOR))
    figure.add_vline(x=threshold, line_dash="dash", line_color=REFUSE_COLOR, annotation_text="threshold")
    return figure.update_layout(
        title="Score distribution", xaxis_title="probability of default", yaxis_title="clients", **_LAYOUT
    )


def drift_share_over_time(checks: pd.DataFrame, threshold: float | None) -> go.Figure:
    """Drift share of each past check (`start_time`, `drift_share`), with the retrain threshold.

    The axis stops a little above the highest share or the threshold (shares sit near 10 %: on a
    0-100 % axis every check would lie on the floor); checks above the threshold are drawn red.
    """
    shares = checks["drift_share"].astype(float)
    top = min(1.0, max(float(shares.max()) if len(shares) else 0.0, threshold or 0.0, 0.02) * 1.25)
    over = shares > (threshold if threshold is not None else 1.0)
    figure = go.Figure(
        go.Scatter(
            x=checks["start_time"],
            y=shares,
            mode="lines+markers",
            name="drift share",
            line={"color": NEUTRAL_COLOR},
            marker={"size": 9, "color": [REFUSE_COLOR if o else NEUTRAL_COLOR for o in over]},
            hovertemplate="%{x|%d %b %Y %H:%M} UTC<br>%{y:.1%} of columns drifted<extra></extra>",
        )
    )
    if threshold is not None:
        figure.add_hline(
            y=threshold,
            line_dash="dash",
            line_color=REFUSE_COLOR,
            annotation_text=f"retrain threshold {threshold:.0%}",
        )
    if len(checks) == 1:  # one point: a day around it, rather than ticks a millisecond apart
        moment = pd.Timestamp(checks["start_time"].iloc[0])
        figure.update_xaxes(range=[moment - pd.Timedelta(hours=12), moment + pd.Timedelta(hours=12)])
    return figure.update_layout(
        title="Share of drifted columns per check",
        yaxis={"range": [0, top], "tickformat": ".0%", "title": "columns drifted"},
        xaxis={"tickformat": "%H:%M\n%d %b %Y", "title": "check time (UTC)"},
        height=320,
        **_LAYOUT,
    )


def metric_bars(table: pd.DataFrame, metrics: Sequence[str]) -> go.Figure:
    """One panel per metric, one bar per run (`run` names it), each panel on its own scale.

    A panel's axis starts at 0 only when the runs differ by a large share of their values: AUCs of
    0.781 and 0.784 on a 0-1 axis would look the same.
    """
    figure = make_subplots(rows=1, cols=len(metrics), subplot_titles=list(metrics), horizontal_spacing=0.09)
    colours = [NEUTRAL_COLOR, "#ef6c00", "#6a1b9a", "#00838f", "#558b2f", "#ad1457"]
    for column, metric in enumerate(metrics, start=1):
        values = table[metric].astype(float)
        for index, (run, value) in enumerate(zip(table["run"], values, strict=True)):
            figure.add_bar(
                x=[str(run)],
                y=[value],
                name=str(run),
                legendgroup=str(run),
                showlegend=column == 1,
                marker_color=colours[index % len(colours)],
                text=[f"{value:.4g}"],
                textposition="outside",
                row=1,
                col=column,
            )
        figure.update_yaxes(range=bar_range(values.tolist()), nticks=4, row=1, col=column)
    figure.update_xaxes(showticklabels=False)
    return figure.update_layout(
        title="Key metrics by run",
        height=420,
        legend={"orientation": "h", "yanchor": "top", "y": -0.05, "x": 0},
        margin={"l": 20, "r": 20, "t": 80, "b": 20},
        template="plotly_white",
    )


def bar_range(values: Sequence[float]) -> list[float]:
    """A y range that shows the differences: from 0 when they are large, else zoomed around them."""
    low, high = min(values), max(values)
    spread = high - low
    if low >= 0 and (high == 0 or spread > 0.25 * high):
        return [0.0, high * 1.15 if high else 1.0]
    pad = max(spread * 0.6, abs(high) * 0.002, 1e-9)
    return [low - pad, high + pad]


def param_scatter(table: pd.DataFrame, param: str, metric: str) -> go.Figure:
    """A parameter against a metric across runs, to see what helped."""
    figure = go.Figure(
        go.Scatter(
            x=table[param],
            y=table[metric],
            text=table["run"],
            mode="markers+text",
            textposition="top center",
            marker={"size": 12, "color": NEUTRAL_COLOR},
        )
    )
    return figure.update_layout(
        title=f"{param} vs {metric}", xaxis_title=param, yaxis_title=metric, **_LAYOUT
    )


def roc_overlay(curves: dict[str, dict[str, list[float]]]) -> go.Figure:
    """Test ROC curves of several runs on one chart, with the chance diagonal."""
    figure = go.Figure(
        [
            go.Scatter(x=curve["fpr"], y=curve["tpr"], mode="lines", name=name)
            for name, curve in curves.items()
        ]
    )
    figure.add_shape(type="line", x0=0, y0=0, x1=1, y1=1, line={"dash": "dot", "color": "grey"})
    return figure.update_layout(
        title="ROC curves (test set)",
        xaxis_title="false positive rate",
        yaxis_title="true positive rate",
        **_LAYOUT,
    )


def pr_overlay(curves: dict[str, dict[str, list[float]]]) -> go.Figure:
    """Test precision-recall curves of several runs on one chart (defaulters as positives)."""
    figure = go.Figure(
        [
            go.Scatter(x=curve["recall"], y=curve["precision"], mode="lines", name=name)
            for name, curve in curves.items()
        ]
    )
    return figure.update_layout(
        title="Precision-recall curves (test set)",
        xaxis_title="recall (defaulters caught)",
        yaxis_title="precision",
        **_LAYOUT,
    )


def decisions_over_time(volume: pd.DataFrame) -> go.Figure:
    """Predictions per period stacked by decision (`period`, `decision`, `count`)."""
    figure = go.Figure()
    for decision, color in (("approve", APPROVE_COLOR), ("refuse", REFUSE_COLOR)):
        part = volume[volume["decision"] == decision]
        figure.add_bar(x=part["period"], y=part["count"], name=decision, marker_color=color)
    return figure.update_layout(barmode="stack", title="Predictions over time", **_LAYOUT)


def alias_timeline(history: pd.DataFrame, lanes: pd.Series) -> go.Figure:
    """Alias moves over time (`when`, `alias`, `action`, `to`, `who`, `why`): one marker per move, at
    the height `lanes` gives it (its alias's row, lifted when moves of that row crowd together)."""
    rows = sorted(history["alias"].replace("", "(archived)").unique())
    figure = go.Figure()
    symbols = {"promote": "triangle-up", "rollback": "triangle-down", "clear": "circle-open", "archive": "x"}
    for action, symbol in symbols.items():
        part = history[history["action"] == action]
        if part.empty:
            continue
        figure.add_scatter(
            x=part["when"],
            y=lanes[part.index],
            mode="markers+text",
            text="v" + part["to"].astype(str),
            textposition="middle right",
            marker={"symbol": symbol, "size": 13},
            name=action,
            hovertext=part["who"] + ": " + part["why"].astype(str),
        )
    top = float(lanes.max()) if len(lanes) else 0.0
    return figure.update_layout(
        height=160 + 60 * len(rows),
        yaxis={"tickvals": list(range(len(rows))), "ticktext": rows, "range": [-0.5, top + 0.5]},
        xaxis={"tickformat": "%H:%M\n%d %b %Y"},
        **_LAYOUT,
    )


def score_band_bars(bands: pd.DataFrame, psi: float, band: str) -> go.Figure:
    """Share of clients per score band, reference next to current (what the PSI sums up)."""
    figure = go.Figure(
        [
            go.Bar(
                name="reference (training)", x=bands["band"], y=bands["reference"], marker_color=NEUTRAL_COLOR
            ),
            go.Bar(name="current", x=bands["band"], y=bands["current"], marker_color="#ef6c00"),
        ]
    )
    figure.update_layout(
        barmode="group",
        title=f"Score bands: PSI {psi:.3f} ({band})",
        yaxis={"tickformat": ".0%", "title": "share of clients"},
        xaxis={"title": "probability of default"},
        height=340,
        **_LAYOUT,
    )
    return figure
