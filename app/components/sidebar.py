"""The sidebar every page shows: which API is in use, its health, and the admin key field."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app.api_client import ApiError
from app.components import session

_KEY_WIDGET = "_admin_key_field"


@st.cache_data(ttl=5, show_spinner=False)
def _health(api_url: str) -> dict[str, Any] | str:
    """The API's health, or the reason it could not be read (cached briefly: every page asks)."""
    try:
        return session.api_client().health(quick=True)
    except ApiError as exc:
        return exc.message


def _keep_admin_key() -> None:
    st.session_state[session.ADMIN_KEY] = st.session_state[_KEY_WIDGET]


def render() -> None:
    """Draw the sidebar; the admin key survives page changes through its own session-state entry."""
    config = session.settings()
    with st.sidebar:
        st.caption("Scoring API")
        st.code(config.api_url, language=None)
        health = _health(config.api_url)
        if isinstance(health, str):
            st.error("API unreachable", icon=":material/cloud_off:")
        else:
            status = health.get("status", "unknown")
            version = health.get("model_version") or "none"
            show = st.success if status == "healthy" else st.warning
            show(f"API {status} - model v{version}", icon=":material/monitor_heart:")
            if health.get("mlflow_reachable") is False:
                st.caption("MLflow is not reachable from the API; it keeps serving its loaded model.")
        st.caption(f"MLflow: {config.mlflow_tracking_uri}")
        st.session_state[_KEY_WIDGET] = st.session_state.get(session.ADMIN_KEY, "")
        st.text_input(
            "Admin API key",
            key=_KEY_WIDGET,
            type="password",
            on_change=_keep_admin_key,
            help="Needed to promote, roll back or run a drift check. Kept in this browser session only.",
        )
