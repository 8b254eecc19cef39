"""Data drift: past checks from MLflow, the drift share over time, the selected report embedded,
its drifted columns, and a button to run a check now (data scientists and leads)."""

from __future__ import annotations

import json

import streamlit as st
import streamlit.components.v1 as components

from api.identity_roles import Permission
from app import auth, drift_view, mlflow_reader
from app.api_client import ApiError
from app.components import charts, feedback, session, sidebar

st.set_page_config(page_title="Data drift", page_icon=":material/query_stats:", layout="wide")
identity = sidebar.render()
st.title("Data drift")
config = session.settings()
uri = config.mlflow_tracking_uri

cannot_run = auth.refusal(identity, Permission.MANAGE_CANDIDATES)
if st.button(
    "Run a drift check now",
    help=cannot_run or "Compares the inference log with the training reference.",
    disabled=bool(cannot_run),
):
    try:
        started = session.api_client().run_drift()
        st.success(
            f"Drift check {started.get('id')} started. It appears below when done: reload the page in a minute."
        )
    except ApiError as exc:
        st.error(exc.message)

runs = feedback.load(mlflow_reader.runs, uri, config.monitoring_experiment_name)
checks = drift_view.checks_table(runs)
if checks.empty:
    st.info("No drift check has been logged to MLflow yet.")
    st.stop()

threshold = drift_view.default_threshold()
st.plotly_chart(charts.drift_share_over_time(checks, threshold), width="stretch")
st.dataframe(checks.drop(columns=["run_id"]), hide_index=True, width="stretch")

labels = {
    f"{row.start_time:%Y-%m-%d %H:%M:%S} UTC - drift share {row.drift_share:.1%}": row.run_id
    for row in checks.itertuples()
}
run_id = labels[st.selectbox("Report", list(labels))]
artifacts = feedback.load(mlflow_reader.report_artifacts, uri, run_id)

if "json" in artifacts:
    summary = json.loads(feedback.load(mlflow_reader.artifact_text, uri, run_id, artifacts["json"]))
    st.subheader("Columns")
    st.dataframe(drift_view.columns_table(summary), hide_index=True, width="stretch")
    stability = drift_view.stability_table(summary)
    if not stability.empty:
        st.subheader("Stability (PSI / CSI)")
        st.caption(" · ".join(summary["stability"]["bands"].values()))
        bands = drift_view.score_bands(summary)
        if bands is not None:
            score = summary["stability"]["score"]
            st.plotly_chart(charts.score_band_bars(bands, score["psi"], score["band"]), width="stretch")
        st.dataframe(drift_view.styled_stability(stability), hide_index=True, width="stretch")
if "html" in artifacts:
    html = feedback.load(mlflow_reader.artifact_text, uri, run_id, artifacts["html"])
    st.download_button(
        "Download the HTML report", html, file_name=f"drift_{run_id[:8]}.html", mime="text/html"
    )
    if len(html.encode()) <= drift_view.MAX_EMBED_BYTES:
        components.html(drift_view.sandboxed_report(html, 900), height=900)
    else:
        st.info("The report is too large to show here; download it to open it in a browser.")
