"""The client form, built from the served model's feature schema (so a new model needs no code change).

The features an analyst looks at first come first; the rest sit in an expander. Every field is
pre-filled, from the schema's example client or from a client picked in an uploaded file, and says
what it means and its unit (app/feature_help.py).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

from app.feature_help import field_help

# What an analyst checks first on a Home Credit application, in reading order (absent ones are skipped).
FIRST_FEATURES = (
    "EXT_SOURCE_1",
    "EXT_SOURCE_2",
    "EXT_SOURCE_3",
    "AMT_INCOME_TOTAL",
    "AMT_CREDIT",
    "AMT_ANNUITY",
    "AMT_GOODS_PRICE",
    "DAYS_BIRTH",
    "DAYS_EMPLOYED",
    "NAME_INCOME_TYPE",
    "NAME_EDUCATION_TYPE",
    "CODE_GENDER",
    "NAME_CONTRACT_TYPE",
    "CNT_CHILDREN",
)
MISSING = "(missing)"


def split_features(specs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the important features in reading order, all the others in schema order)."""
    by_name = {spec["name"]: spec for spec in specs}
    first = [by_name[name] for name in FIRST_FEATURES if name in by_name]
    return first, [spec for spec in specs if spec["name"] not in FIRST_FEATURES]


def example_client(specs: list[dict[str, Any]]) -> dict[str, Any]:
    return {spec["name"]: spec.get("example") for spec in specs if spec.get("example") is not None}


def client_from_row(row: pd.Series) -> dict[str, Any]:
    """A client's values from an uploaded CSV row; an empty cell is sent as null (a value the file
    does not know, which the model scores as it learned to), not left out (an absent feature)."""
    return {
        name: (value.item() if hasattr(value, "item") else value) if pd.notna(value) else None
        for name, value in row.items()
    }


def _number_field(spec: dict[str, Any], value: Any, key: str) -> float | int | None:
    low, high = spec.get("allowed_min"), spec.get("allowed_max")
    if spec.get("integer"):
        low = math.ceil(low) if low is not None else None
        high = math.floor(high) if high is not None else None
        value = round(value) if isinstance(value, int | float) else None
        step: float = 1
    else:
        low = float(low) if low is not None else None
        high = float(high) if high is not None else None
        value = float(value) if isinstance(value, int | float) else None
        step = 0.01 if (high is not None and low is not None and high - low <= 10) else 1.0
    if value is not None and low is not None and high is not None:
        value = min(max(value, low), high)
    return st.number_input(
        spec["name"], min_value=low, max_value=high, value=value, step=step, key=key, help=field_help(spec)
    )


def _category_field(spec: dict[str, Any], value: Any, key: str) -> str | None:
    options = [MISSING, *spec.get("categories", [])]
    index = options.index(str(value)) if value is not None and str(value) in options else 0
    choice = st.selectbox(spec["name"], options, index=index, key=key, help=field_help(spec))
    return None if choice == MISSING else choice


def _fields(
    specs: list[dict[str, Any]], values: dict[str, Any], prefix: str, columns: int = 3
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    cells = st.columns(columns)
    for i, spec in enumerate(specs):
        with cells[i % columns]:
            key = f"{prefix}{spec['name']}"
            value = values.get(spec["name"])
            if spec.get("kind") == "categorical":
                out[spec["name"]] = _category_field(spec, value, key)
            else:
                out[spec["name"]] = _number_field(spec, value, key)
    return out


def client_form(specs: list[dict[str, Any]], values: dict[str, Any], form_key: str) -> dict[str, Any] | None:
    """Draw the form pre-filled with `values`; return the entered features when submitted, else None.

    `form_key` changes with the pre-fill source, so picking another client refreshes every field.
    """
    first, rest = split_features(specs)
    with st.form(form_key):
        entered = _fields(first, values, f"{form_key}:")
        with st.expander(f"All other features ({len(rest)})"):
            entered |= _fields(rest, values, f"{form_key}:")
        submitted = st.form_submit_button("Score this client", type="primary")
    if not submitted:
        return None
    # A field the pre-fill had (an uploaded row's cell, even empty) is sent, null when empty: a value
    # not known. One it never had and left empty is left out: an absent feature, which the API names.
    return {name: value for name, value in entered.items() if value is not None or name in values}
