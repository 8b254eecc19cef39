"""Score a whole CSV through the API, with progress; then, headed by the file it belongs to, what the
file lacked, the summary next to the rows that could not be scored (with client ids, downloadable),
the scored table, the score distribution and the download. A new file clears the previous result."""

from __future__ import annotations

import streamlit as st

from api.identity_roles import Permission
from app import batch
from app.api_client import ApiError, ApiUnavailableError
from app.components import batch_result, feedback, session, sidebar
from app.components.formatting import plain

st.set_page_config(page_title="Batch scoring", page_icon=":material/table_view:", layout="wide")
identity = sidebar.render()
st.title("Batch scoring")
sidebar.require(identity, Permission.SCORE, "Scoring applications")
client = session.api_client()
model = feedback.load(client.model)
id_column = model["feature_schema"].get("id_column")
st.caption(
    f"Files are scored by {model['name']} v{model['version']} (threshold {model['threshold']:.1%}). "
    "Columns are the model's features by name; the id and target columns are accepted and ignored."
)

upload = st.file_uploader("CSV of client applications (one row per client, a header row)", type="csv")
file_key = upload.file_id if upload is not None else None
previous = st.session_state.get("batch")
if previous is not None and previous.file_key != file_key:
    del st.session_state["batch"]  # another file (or none): the last result is not its
if upload is not None:
    try:
        frame = batch.read_upload(upload.getvalue())
    except ValueError as exc:  # pandas parse errors and bad encodings are ValueErrors
        st.error(plain(batch.unreadable(upload.name, exc)), icon=":material/description:")
        st.stop()
    st.caption(f"{upload.name}: {len(frame):,} rows, {len(frame.columns)} columns")
    if st.button("Score the file", type="primary", disabled=frame.empty):
        progress = st.progress(0.0, text="Scoring...")
        try:
            outcome = batch.score_in_chunks(
                frame,
                lambda chunk: client.predict_batch_csv(upload.name, chunk),
                lambda done, total: progress.progress(
                    done / total, text=f"Scored {done:,} of {total:,} rows"
                ),
                id_column=id_column,
            )
        except ApiError as exc:
            progress.empty()
            if isinstance(exc, ApiUnavailableError) or exc.status is None or exc.status >= 500:
                feedback.stop_with_error(exc)  # worth a retry
            st.error(plain(batch.refusal_text(upload.name, exc.detail)), icon=":material/block:")
            st.stop()  # the file itself is refused: no retry can help
        progress.empty()
        st.session_state["batch"] = batch_result.BatchRun(file_key, upload.name, len(frame), outcome)
if "batch" in st.session_state:
    batch_result.render(st.session_state["batch"], id_column)
