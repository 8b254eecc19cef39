"""The model registry: versions with aliases, metrics and who / why; promote and roll back through
the API with a confirmation step; the alias history as a timeline; each version's validation report."""

from __future__ import annotations

import streamlit as st

from app import mlflow_reader, registry_view
from app.components import charts, feedback, registry_actions, sandboxed, session, sidebar

st.set_page_config(page_title="Model registry", page_icon=":material/inventory_2:", layout="wide")
identity = sidebar.render()
st.title("Model registry")
client = session.api_client()

listing = feedback.load(client.models)
versions = listing["versions"]
table = registry_view.versions_table(versions)
champion = listing["aliases"].get("champion")
st.caption(f"Registered model {listing['name']!r}: the API serves v{listing.get('served_version') or '-'}.")
st.dataframe(table, hide_index=True, width="stretch")

registry_actions.show_outcome()
registry_actions.confirm_step(client)
left, right = st.columns(2)
with left:
    registry_actions.promote_form([v for v in table.loc[~table["archived"], "version"]], identity)
with right:
    registry_actions.rollback_form(champion, identity)

st.subheader("Alias history")
history = listing.get("history") or []
if history:
    timeline = registry_view.history_table(history)
    st.plotly_chart(charts.alias_timeline(timeline), width="stretch")
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
        session.settings().mlflow_tracking_uri,
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
