"""Score one client: a form pre-filled from the example client (or a client from a CSV), then the
probability against the threshold, the decision, the risk band and the explanation."""

from __future__ import annotations

import streamlit as st

from api.identity_roles import Permission
from app.components import client_form, client_picker, feedback, score_result, session, sidebar

st.set_page_config(page_title="Score a client", page_icon=":material/person_search:", layout="wide")
identity = sidebar.render()
st.title("Score a client")
sidebar.require(identity, Permission.SCORE, "Scoring applications")
client = session.api_client()

model = feedback.load(client.model)
schema = model["feature_schema"]
values, source = client_picker.pick_client(schema["features"], schema.get("id_column"))
features = client_form.client_form(schema["features"], values, form_key=f"client-form-{source}")
if features is not None:
    st.session_state["scored"] = (
        feedback.load(client.predict, features),
        feedback.try_load("The explanation", client.explain, features),
    )
if "scored" in st.session_state:
    score_result.render(*st.session_state["scored"])
