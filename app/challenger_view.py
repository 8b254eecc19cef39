"""Champion vs challenger for the operator: the report of GET /challenger/report as figures and
tables (no Streamlit calls here; the page lays them out)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from app.components.charts import APPROVE_COLOR, NEUTRAL_COLOR

WINDOWS = {
    "Last 24 hours": 24.0,
    "Last 7 days": 24.0 * 7,
    "Last 30 days": 24.0 * 30,
    "Everything logged": None,
}
_LAYOUT = {"margin": {"l": 20, "r": 20, "t": 50, "b": 20}, "template": "plotly_white"}


def current_pair(report: dict[str, Any]) -> dict[str, Any] | None:
    """The pair the API serves now (champion and shadowing challenger), else the most recent one."""
    pairs = report.get("pairs") or []
    now = (report.get("champion_version"), report.get("challenger_version"))
    for pair in pairs:
        if (pair["champion_version"], pair["challenger_version"]) == now:
            return pair
    return pairs[0] if pairs else None


def pair_label(pair: dict[str, Any]) -> str:
    return f"v{pair['champion_version']} (champion) vs v{pair['challenger_version']} (challenger)"


def swap_heatmap(pair: dict[str, Any]) -> go.Figure:
    """The swap-set matrix: champion's decision (rows) x challenger's (columns), counts and shares."""
    swap = pair["swap"]
    decisions = ("approve", "refuse")
    counts = [[swap[f"{a}_{b}"]["count"] for b in decisions] for a in decisions]
    text = [
        [f"{swap[f'{a}_{b}']['count']:,}<br>{swap[f'{a}_{b}']['share']:.1%}" for b in decisions]
        for a in decisions
    ]
    figure = go.Figure(
        go.Heatmap(
            z=counts,
            x=[f"challenger {d}s" for d in decisions],
            y=[f"champion {d}s" for d in decisions],
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            showscale=False,
        )
    )
    figure.update_yaxes(autorange="reversed")
    return figure.update_layout(
        title="Swap set (off-diagonal: clients whose decision would change)", **_LAYOUT
    )


def score_distributions(pair: dict[str, Any]) -> go.Figure:
    """Both models' score distributions over the same bins, overlaid."""
    histogram = pair["histogram"]
    edges = histogram["edges"]
    centers = [(lo + hi) / 2 for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    width = edges[1] - edges[0]
    figure = go.Figure()
    for name, color in (("champion", NEUTRAL_COLOR), ("challenger", APPROVE_COLOR)):
        figure.add_trace(
            go.Bar(x=centers, y=histogram[name], width=width, name=name, marker_color=color, opacity=0.55)
        )
    return figure.update_layout(
        barmode="overlay",
        title=f"Score distributions (PSI {pair['psi']:.3f}, {pair['psi_band']})",
        xaxis_title="probability of default",
        yaxis_title="clients",
        **_LAYOUT,
    )


def difference_table(pair: dict[str, Any]) -> pd.DataFrame:
    """Challenger minus champion score: mean and quantiles."""
    difference = pair["difference"]
    rows = [("mean", difference["mean"]), *difference["quantiles"].items()]
    return pd.DataFrame(rows, columns=["statistic", "challenger - champion"])


def separating_table(pair: dict[str, Any]) -> pd.DataFrame:
    """Features that most separate swap-in from swap-out clients (PSI of one group against the other)."""
    features = pair["separating_features"]
    columns = ["feature", "kind", "separation (PSI)", "swap-in", "swap-out"]
    return pd.DataFrame(
        [
            (f["feature"], f["kind"], round(f["separation"], 3), _show(f["swap_in"]), _show(f["swap_out"]))
            for f in features
        ],
        columns=columns,
    )


def _show(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:,.3g}" if isinstance(value, float) else str(value)


def outcome_table(pair: dict[str, Any]) -> pd.DataFrame | None:
    """Realized figures where outcomes are recorded: bad rate and AUC of both, swap-in/out bad rates."""
    outcomes = pair.get("outcomes")
    if not outcomes:
        return None
    rows = [
        ("decisions with an outcome", f"{outcomes['rows']:,}"),
        ("bad rate", _pct(outcomes["bad_rate"])),
        ("champion AUC", _num(outcomes["champion_auc"])),
        ("challenger AUC", _num(outcomes["challenger_auc"])),
        (
            f"swap-in bad rate ({outcomes['swap_in']['rows']} with an outcome)",
            _pct(outcomes["swap_in"]["bad_rate"]),
        ),
        (
            f"swap-out bad rate ({outcomes['swap_out']['rows']} with an outcome)",
            _pct(outcomes["swap_out"]["bad_rate"]),
        ),
    ]
    return pd.DataFrame(rows, columns=["figure", "value"])


def gate_lines(gate: dict[str, Any]) -> tuple[bool, str, list[str]]:
    """(passed, headline, failures) of the live gate on the current pair."""
    enforced = "enforced by the gate" if gate["enforced"] else "reported only (gate.live.enabled is false)"
    verdict = "pass" if gate["passed"] else "fail"
    return gate["passed"], f"Live criteria {verdict}: {enforced}", list(gate["failures"])


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
