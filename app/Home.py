# ruff: noqa: N999 - Streamlit names the entry page after its file: "Home"
"""Overview: is the service healthy, which model serves, how it is used, and is the data drifting."""

from __future__ import annotations

import streamlit as st

from app import activity, drift_view, mlflow_reader
from app.components import charts, feedback, session, sidebar
from app.components.formatting import metric_value

st.set_page_config(page_title="Credit scoring console", page_icon=":material/credit_score:", layout="wide")
sidebar.render()
config = session.settings()
client = session.api_client()

st.title("Overview")
health = feedback.load(client.health)
cols = st.columns(5)
cols[0].metric("API status", health.get("status", "unknown"))
cols[1].metric("Model version", health.get("model_version") or "none")
cols[2].metric("Alias", health.get("model_alias") or "-")
cols[3].metric("MLflow reachable", "yes" if health.get("mlflow_reachable") else "no")
cols[4].metric("Uptime", f"{health.get('uptime_s', 0) / 3600:.1f} h")

if not health.get("model_loaded"):
    st.warning("The API has no model loaded yet: it keeps retrying in the background.")
else:
    st.subheader("Champion")
    model = feedback.load(client.model)
    metrics = model.get("metrics", {})
    cols = st.columns(5)
    cols[0].metric("Test ROC AUC", metric_value(metrics.get("test_roc_auc")))
    cols[1].metric("Test PR AUC", metric_value(metrics.get("test_pr_auc")))
    cols[2].metric("Test KS", metric_value(metrics.get("test_ks")))
    cols[3].metric("Decision threshold", metric_value(model.get("threshold")))
    cols[4].metric("Run", (model.get("run_id") or "-")[:8])

st.subheader("Activity")
if config.database_url:  # the log outlives API restarts: its totals are the platform's
    totals = feedback.try_load("The inference log", activity.decision_totals, config.database_url)
    if totals is not None:
        rate = activity.approval_rate(totals)
        cols = st.columns(3)
        cols[0].metric("Predictions in the inference log", f"{sum(totals.values()):,.0f}")
        cols[1].metric("Approval rate", f"{rate:.1%}" if rate is not None else "-")
    volume = feedback.try_load("The inference log", activity.decisions_by_period, config.database_url)
    if volume is None:
        pass
    elif volume.empty:
        st.info("No predictions in the inference log over the last 7 days.")
    else:
        st.plotly_chart(charts.decisions_over_time(volume), width="stretch")
else:
    metrics_text = feedback.try_load("The API's counters", client.metrics_text)
    if metrics_text is not None:
        counts = activity.prediction_counts(metrics_text)
        rate = activity.approval_rate(counts)
        cols = st.columns(3)
        cols[0].metric("Predictions since API start", f"{sum(counts.values()):,.0f}")
        cols[1].metric("Approval rate", f"{rate:.1%}" if rate is not None else "-")
    st.caption("Set DATABASE_URL for the console to count and chart predictions from the inference log.")

st.subheader("Data drift")
runs = feedback.try_load(
    "The drift history", mlflow_reader.runs, config.mlflow_tracking_uri, config.monitoring_experiment_name
)
if runs is not None:
    checks = drift_view.checks_table(runs)
    if checks.empty:
        st.info("No drift check has been run yet.")
    else:
        latest = checks.iloc[0]
        found = drift_view.logged_verdict(latest, drift_view.default_threshold())
        show = st.error if found.drifted else st.success
        show(f"{drift_view.headline(found)} Check of {latest['start_time']:%Y-%m-%d %H:%M} UTC.")
        st.page_link(
            "pages/3_Data_drift.py",
            label="Open Data drift: what drifted and what to do",
            icon=":material/query_stats:",
        )
