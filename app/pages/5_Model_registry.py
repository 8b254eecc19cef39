"""The model registry: versions with aliases, metrics and their own last move; promote and roll back
through the API with a review step (the gate's verdict and the metrics against the champion); the
alias history as a timeline; each version's validation report. With the API down, the versions and
the history are read from MLflow, read-only."""

from __future__ import annotations

import streamlit as st

from app import mlflow_reader, registry_view
from app.api_client import ApiError
from app.components import charts, feedback, registry_actions, sandboxed, session, sidebar

st.set_page_config(page_title="Model registry", page_icon=":material/inventory_2:", layout="wide")
identity = sidebar.render()
st.title("Model registry")
config = session.settings()
client = session.api_client()

try:
    listing = client.models()
    api_down = None
except ApiError as exc:
    api_down = exc
    listing = feedback.load(mlflow_reader.registry_overview, config.mlflow_tracking_uri, config.model_name)
    st.warning(
        f"{exc.message} Showing the registry read-only, from MLflow: promoting and rolling back need the API.",
        icon=":material/cloud_off:",
    )
    feedback.retry_button()
versions = listing["versions"]
history = listing.get("history") or []
table = registry_view.versions_table(versions, history)
champion = listing["aliases"].get("champion")
served = f"the API serves v{listing.get('served_version') or '-'}" if api_down is None else "the API is down"
st.caption(f"Registered model {listing['name']!r}: {served}.")
st.dataframe(table, hide_index=True, width="stretch")

if api_down is None:
    registry_actions.show_outcome()
    registry_actions.confirm_step(client, identity.name, listing)
    left, right = st.columns(2)
    with left:
        registry_actions.promote_form([v for v in table.loc[~table["archived"], "version"]], identity)
    with right:
        registry_actions.rollback_form(champion, listing.get("rollback_to"), identity)

st.subheader("Alias history")
if history:
    timeline = registry_view.history_table(history)
    st.plotly_chart(charts.alias_timeline(timeline, registry_view.timeline_lanes(timeline)), width="stretch")
    st.dataframe(timeline, hide_index=True, width="stretch")
else:
    st.info("No alias move has been recorded yet.")

st.subheader("Validation report")
choices = registry_view.report_choices(versions)
if choices:
    label = st.selectbox("Version", list(choices), key="report_version")
    run_id = choices[label]
    report = feedback.try_load(
        "The validation report",
        mlflow_reader.validation_report,
        config.mlflow_tracking_uri,
        run_id,
    )
    if report:
        st.download_button(
            "Download the validation report",
            report,
            file_name=f"validation_report_{label.split()[0]}.html",
            mime="text/html",
        )
        sandboxed.show(report, height=1000)
    elif report is None:
        st.info(
            f"{label} has no validation report (registered before reports existed): `python -m ml report`."
        )
else:
    st.info("No version is registered yet.")
