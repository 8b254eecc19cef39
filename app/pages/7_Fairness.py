"""Fairness: the approval rate of each protected group (gender, age bands) in the decision log, per
window, against the gate's minimum ratio; the same figures on test data are in each version's
validation report (Model registry page)."""

from __future__ import annotations

import streamlit as st

from app import fairness_view
from app.components import feedback, session, sidebar

st.set_page_config(page_title="Fairness", page_icon=":material/balance:", layout="wide")
identity = sidebar.render()
st.title("Fairness")
client = session.api_client()
window = st.selectbox("Window", ["1D", "1h", "7D"], help="Length of each window of the decision log.")
report = feedback.load(client.fairness, window)

st.caption(
    f"{report['rows']:,} most recent decisions; groups with fewer than {report['min_group_rows']} decisions "
    "are shown but not in the ratio. The four-fifths rule reads a ratio of 0.80; the gate's minimum is "
    f"{report['min_approval_ratio'] if report['min_approval_ratio'] is not None else 'off'}."
)
if not report["summary"]:
    st.info("No logged decision has a protected attribute yet: score some clients first.")
    st.stop()
for attribute in fairness_view.below_minimum(report):
    st.warning(
        f"{attribute}: the lowest approval-rate ratio is below the gate's minimum.", icon=":material/warning:"
    )
st.dataframe(fairness_view.summary_table(report), hide_index=True, width="stretch")
attribute = st.selectbox("Attribute", [item["attribute"] for item in report["summary"]])
st.plotly_chart(fairness_view.approval_chart(report, attribute), width="stretch")
st.dataframe(fairness_view.groups_table(report, attribute), hide_index=True, width="stretch")
