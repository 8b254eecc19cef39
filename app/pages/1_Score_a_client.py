"""Score one client: a form pre-filled from the example client (or a client from a CSV), then, headed
by whose it is, the decision in a sentence, the probability against the threshold, the reasons and the
explanation. Picking another client clears the previous result."""

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
picked = client_picker.pick_client(schema["features"], schema.get("id_column"))
previous = st.session_state.get("scored")
if previous is not None and previous.source != picked.key:
    del st.session_state["scored"]  # another client: the last result is not theirs
features = client_form.client_form(schema["features"], picked.values, form_key=f"client-form-{picked.key}")
if features is not None:
    st.session_state["scored"] = score_result.score(client, picked.key, picked.label, features)
if "scored" in st.session_state:
    score_result.render(st.session_state["scored"])
