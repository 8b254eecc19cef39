"""One client's result: the gauge against the threshold, the decision, the risk band, and why."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app.components import charts


def render(prediction: dict[str, Any], explanation: dict[str, Any] | None) -> None:
    probability, threshold = prediction["probability"], prediction["threshold"]
    decision = prediction["decision"]
    left, right = st.columns([2, 3])
    with left:
        st.plotly_chart(charts.probability_gauge(probability, threshold), width="stretch")
    with right:
        show = st.success if decision == "approve" else st.error
        show(f"Decision: **{decision.upper()}**", icon=":material/gavel:")
        cols = st.columns(3)
        cols[0].metric("Probability of default", f"{probability:.1%}")
        cols[1].metric("Risk band", str(prediction.get("risk_band", "-")))
        cols[2].metric("Threshold", f"{threshold:.3f}")
        st.caption(f"Model v{prediction.get('model_version')} - request {prediction.get('request_id')}")
    if explanation:
        pairs = [(item["feature"], item["contribution"]) for item in explanation["contributions"]]
        st.plotly_chart(charts.contributions_waterfall(explanation["base_value"], pairs), width="stretch")
