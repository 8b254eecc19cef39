"""The model registry: versions with aliases, metrics and who / why; promote and roll back through
the API with a confirmation step; the alias history as a timeline."""

from __future__ import annotations

import streamlit as st

from app import registry_view
from app.components import charts, feedback, registry_actions, session, sidebar

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
