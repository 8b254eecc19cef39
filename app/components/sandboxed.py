"""Untrusted HTML (validation and drift reports) shown in a sandboxed frame, never in the console's origin.

Streamlit's own frame (`st.iframe` with an HTML string) runs with allow-same-origin, so the document
goes one level further down: an iframe with `sandbox` (no allow-same-origin; scripts only when the report needs them) whose
`srcdoc` is the escaped document. It gets an opaque origin: no cookies, no storage, no access to the page.
"""

from __future__ import annotations

import html

import streamlit as st


def sandboxed_frame(document: str, height: int = 900, allow_scripts: bool = False) -> str:
    """The iframe tag for `document` (exposed for tests)."""
    sandbox = "allow-scripts" if allow_scripts else ""
    return (
        f'<iframe sandbox="{sandbox}" referrerpolicy="no-referrer" title="report" '
        f'style="width:100%;height:{height}px;border:1px solid #ddd" '
        f'srcdoc="{html.escape(document, quote=True)}"></iframe>'
    )


def show(document: str, height: int = 900, allow_scripts: bool = False) -> None:
    st.iframe(sandboxed_frame(document, height, allow_scripts), height=height + 16)
