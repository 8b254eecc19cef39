"""Where the form's values come from: the schema's example client, or a client picked in a CSV."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app.components.client_form import client_from_row, example_client

_MAX_IDS = 5_000


def pick_client(specs: list[dict[str, Any]], id_column: str | None) -> tuple[dict[str, Any], str]:
    """(the pre-fill values, a key naming their source so the form refreshes when it changes)."""
    upload = st.file_uploader("Or pick an existing client from a CSV file", type="csv", key="client_file")
    if upload is None:
        return example_client(specs), "example"
    try:
        frame = pd.read_csv(upload, nrows=_MAX_IDS)
    except ValueError as exc:  # pandas parse errors and bad encodings are ValueErrors
        st.error(f"{upload.name} could not be read as CSV: {exc}")
        return example_client(specs), "example"
    if frame.empty:
        st.warning(f"{upload.name} has no rows; showing the example client.")
        return example_client(specs), "example"
    if id_column and id_column in frame.columns:
        client_id = st.selectbox(f"Client ({id_column})", frame[id_column].tolist(), key="client_id")
        row = frame[frame[id_column] == client_id].iloc[0]
    else:
        position = st.number_input("Row of the file (1 = first)", 1, len(frame), 1, key="client_row")
        client_id, row = position, frame.iloc[int(position) - 1]
    return client_from_row(
        row.drop(labels=[id_column] if id_column in row else [])
    ), f"{upload.name}-{client_id}"
