"""Data drift: the latest check's verdict and what to do about it first, then the history of checks,
one check's columns and stability, and its full HTML report only when asked for (reports weigh
megabytes; summaries kilobytes). Data scientists and leads can run a check, and the page refreshes
itself when it finishes."""

from __future__ import annotations

from typing import Any

import streamlit as st
import streamlit.components.v1 as components

from api.identity_roles import Permission
from app import auth, drift_view, mlflow_reader
from app.api_client import ApiClient, ApiError
from app.auth import ConsoleIdentity
from app.components import charts, feedback, session, sidebar

JOB, FINISHED = "drift_job", "drift_job_finished"
POLL_S = 3

st.set_page_config(page_title="Data drift", page_icon=":material/query_stats:", layout="wide")
identity = sidebar.render()
st.title("Data drift")
config = session.settings()
uri = config.mlflow_tracking_uri
client = session.api_client()


@st.fragment(run_every=POLL_S)
def _watch(api: ApiClient, job_id: str) -> None:
    """While the check this page started runs, say so; when it ends, reload the whole page."""
    try:
        job = api.drift_job(job_id)
    except ApiError as exc:
        st.warning(f"Drift check {job_id}: its progress cannot be read ({exc.message})")
        return
    if job.get("status") == "running":
        st.info(
            f"Drift check {job_id} is running (started {job.get('started_at')} UTC). "
            "This page refreshes by itself when it finishes.",
            icon=":material/hourglass_top:",
        )
        return
    st.session_state.pop(JOB, None)
    st.session_state[FINISHED] = job
    mlflow_reader.clear_cache()
    st.rerun(scope="app")


def _finished(job: dict[str, Any]) -> None:
    if job.get("status") == "failed":
        st.error(f"Drift check {job['id']} failed: {job.get('error')}", icon=":material/error:")
    else:
        found = "found drift" if job.get("dataset_drift") else "found no drift"
        st.success(f"Drift check {job['id']} finished and {found}: its verdict is below.")


def _run_check(api: ApiClient, who: ConsoleIdentity) -> None:
    cannot_run = auth.refusal(who, Permission.MANAGE_CANDIDATES)
    running = st.session_state.get(JOB)
    if st.button(
        "Run a drift check now",
        help=cannot_run or "Compares the inference log with the training reference.",
        disabled=bool(cannot_run or running),
    ):
        try:
            st.session_state[JOB] = api.run_drift()["id"]
            st.session_state.pop(FINISHED, None)
        except ApiError as exc:
            running_id = exc.detail.get("id") if isinstance(exc.detail, dict) else None
            if exc.status == 409 and running_id:
                st.session_state[JOB] = running_id  # one is running already: follow that one
            else:
                st.error(exc.message)
    if st.session_state.get(JOB):
        _watch(api, st.session_state[JOB])
    elif st.session_state.get(FINISHED):
        _finished(st.session_state[FINISHED])


_run_check(client, identity)

runs = feedback.load(mlflow_reader.runs, uri, config.monitoring_experiment_name)
checks = drift_view.checks_table(runs)
if checks.empty:
    st.info("No drift check has been logged to MLflow yet.")
    st.stop()

default_threshold = drift_view.default_threshold()
latest = checks.iloc[0]
latest_summary = feedback.try_load(
    "The latest check's summary", mlflow_reader.drift_summary, uri, latest.run_id
)
found = drift_view.verdict(float(latest.drift_share), latest_summary, default_threshold)

st.subheader(f"Latest check: {latest.start_time:%Y-%m-%d %H:%M} UTC")
(st.error if found.drifted else st.success)(
    drift_view.headline(found), icon=":material/warning:" if found.drifted else ":material/check_circle:"
)
drifted = drift_view.drifted_sentence(found)
if drifted:
    st.markdown(drifted)
st.markdown("**What to do.** " + drift_view.next_step(found))
if found.drifted:
    st.code(drift_view.RETRAIN_COMMAND, language="bash")
    st.caption("Add `--promote` to make the candidate champion at once when the gate passes.")
    st.markdown("Then review the challenger on the [Model registry](Model_registry) page.")

st.subheader("History")
st.plotly_chart(charts.drift_share_over_time(checks, found.threshold), width="stretch")
st.dataframe(drift_view.history_table(checks, default_threshold), hide_index=True, width="stretch")

st.subheader("One check in detail")
labels = {
    f"{row.start_time:%Y-%m-%d %H:%M:%S} UTC - drift share {row.drift_share:.1%}": row.run_id
    for row in checks.itertuples()
}
run_id = labels[st.selectbox("Check", list(labels))]
summary = (
    latest_summary
    if run_id == latest.run_id
    else feedback.try_load("The check's summary", mlflow_reader.drift_summary, uri, run_id)
)
if summary:
    st.markdown("**Columns** (drifted first)")
    st.dataframe(drift_view.columns_display(summary), hide_index=True, width="stretch")
    stability = drift_view.stability_table(summary)
    if not stability.empty:
        st.markdown("**Stability (PSI / CSI)**")
        st.caption(" · ".join(summary["stability"]["bands"].values()))
        bands = drift_view.score_bands(summary)
        if bands is not None:
            score = summary["stability"]["score"]
            st.plotly_chart(charts.score_band_bars(bands, score["psi"], score["band"]), width="stretch")
        st.dataframe(drift_view.styled_stability(stability), hide_index=True, width="stretch")
elif summary is None:
    st.info("This check logged no JSON summary.")

if st.toggle("Open the full HTML report", key=f"open_report_{run_id}", help="Evidently's report: megabytes."):
    html_path = feedback.load(mlflow_reader.report_artifacts, uri, run_id).get("html")
    if html_path is None:
        st.info("This check logged no HTML report.")
    else:
        html = feedback.load(mlflow_reader.artifact_text, uri, run_id, html_path)
        st.download_button(
            "Download the HTML report", html, file_name=f"drift_{run_id[:8]}.html", mime="text/html"
        )
        if len(html.encode()) <= drift_view.MAX_EMBED_BYTES:
            components.html(drift_view.sandboxed_report(html, 900), height=900)
        else:
            st.info("The report is too large to show here; download it to open it in a browser.")
