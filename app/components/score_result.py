"""One client's result: the gauge against the threshold, the decision, the risk band, and why."""

from __future__ import annotations

from typing import Any

import pandas as pd
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
    waterfall, reasons = st.columns([3, 2])
    if explanation:
        pairs = [(item["feature"], item["contribution"]) for item in explanation["contributions"]]
        waterfall.plotly_chart(
            charts.contributions_waterfall(explanation["base_value"], pairs), width="stretch"
        )
    with reasons:
        render_reasons(prediction)


def render_reasons(prediction: dict[str, Any]) -> None:
    """The reason codes the API gave (refusals get them by default), as an applicant would read them."""
    given = prediction.get("reasons")
    if prediction["decision"] == "approve" and not given:
        st.caption("Approved: no adverse reasons to give.")
        return
    st.markdown(
        "**Main reasons for refusal**" if prediction["decision"] == "refuse" else "**What weighed against**"
    )
    if not given:
        st.caption("No reason was returned.")
        return
    table = pd.DataFrame(given)[["code", "text"]].rename(columns={"text": "reason"})
    st.dataframe(table, hide_index=True, width="stretch")  # plain cells: a CSV's column names stay text
    st.caption("Gender and age are never given as reasons.")
