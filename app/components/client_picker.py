"""Where the form's values come from: the schema's example client, or a client picked in a CSV."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from app.batch import unreadable
from app.components.client_form import client_from_row, example_client
from app.components.formatting import plain

_MAX_IDS = 5_000


@dataclass(frozen=True)
class PickedClient:
    """The pre-fill values, a key naming their source (the form and the result follow it), and a label."""

    values: dict[str, Any]
    key: str
    label: str  # "client 100002 of clients.csv", for the result's heading


def _example(specs: list[dict[str, Any]]) -> PickedClient:
    return PickedClient(example_client(specs), "example", "the example client")


def pick_client(specs: list[dict[str, Any]], id_column: str | None) -> PickedClient:
    """Draw the file picker (and the client selector once a file is given); the client to pre-fill."""
    upload = st.file_uploader("Or pick an existing client from a CSV file", type="csv", key="client_file")
    if upload is None:
        return _example(specs)
    try:
        frame = pd.read_csv(upload, nrows=_MAX_IDS)
    except ValueError as exc:  # pandas parse errors and bad encodings (UnicodeDecodeError)
        st.error(plain(f"{unreadable(upload.name, exc)} Showing the example client."))
        return _example(specs)
    if frame.empty:
        st.warning(plain(f"{upload.name} has no rows; showing the example client."))
        return _example(specs)
    if id_column and id_column in frame.columns:
        client_id = st.selectbox(f"Client ({id_column})", frame[id_column].tolist(), key="client_id")
        row = frame[frame[id_column] == client_id].iloc[0]
        label = f"client {client_id} ({id_column}) of {upload.name}"
    else:
        position = st.number_input("Row of the file (1 = first)", 1, len(frame), 1, key="client_row")
        client_id, row = position, frame.iloc[int(position) - 1]
        label = f"row {position} of {upload.name}"
    values = client_from_row(row.drop(labels=[id_column] if id_column in row else []))
    return PickedClient(values, f"{upload.file_id}-{client_id}", label)
