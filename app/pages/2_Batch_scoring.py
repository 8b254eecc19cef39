"""Score a whole CSV through the API, with progress, the scored table, the score distribution,
the rows that could not be scored, and a download of the result."""

from __future__ import annotations

import streamlit as st

from api.identity_roles import Permission
from app import batch
from app.components import batch_result, feedback, session, sidebar

st.set_page_config(page_title="Batch scoring", page_icon=":material/table_view:", layout="wide")
identity = sidebar.render()
st.title("Batch scoring")
sidebar.require(identity, Permission.SCORE, "Scoring applications")
client = session.api_client()
model = feedback.load(client.model)
st.caption(
    f"Files are scored by {model['name']} v{model['version']} (threshold {model['threshold']:.3f}). "
    "Columns are the model's features by name; the id and target columns are accepted and ignored."
)

upload = st.file_uploader("CSV of client applications (one row per client, a header row)", type="csv")
if upload is not None:
    try:
        frame = batch.read_upload(upload.getvalue())
    except ValueError as exc:  # pandas parse errors and bad encodings are ValueErrors
        st.error(f"{upload.name} could not be read as CSV: {exc}")
        st.stop()
    st.caption(f"{upload.name}: {len(frame):,} rows, {len(frame.columns)} columns")
    if st.button("Score the file", type="primary", disabled=frame.empty):
        progress = st.progress(0.0, text="Scoring...")
        outcome = feedback.load(
            batch.score_in_chunks,
            frame,
            lambda chunk: client.predict_batch_csv(upload.name, chunk),
            lambda done, total: progress.progress(done / total, text=f"Scored {done:,} of {total:,} rows"),
        )
        st.session_state["batch"] = (upload.name, outcome)
if "batch" in st.session_state:
    batch_result.render(*st.session_state["batch"])
