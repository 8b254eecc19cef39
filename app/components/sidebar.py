"""The sidebar every page shows: who is signed in (and sign-out), which API is in use and its health.

`render` is the first call of every page: it stops the page at the sign-in form until someone is
signed in, and returns who it is, so pages can hide or disable what their role may not do.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from api.identity_roles import Permission
from app import auth
from app.api_client import ApiError
from app.auth import ConsoleIdentity
from app.components import session


@st.cache_data(ttl=5, show_spinner=False)
def _health(api_url: str) -> dict[str, Any] | str:
    """The API's health, or the reason it could not be read (cached briefly: every page asks)."""
    try:
        return session.api_client().health(quick=True)
    except ApiError as exc:
        return exc.message


def _who(identity: ConsoleIdentity) -> None:
    if identity.via == "local":
        st.warning(
            "Open console: no sign-in, everyone here acts as the lead. For local use only; "
            "set CONSOLE_LOGIN=required when others can reach it.",
            icon=":material/lock_open:",
        )
        return
    st.markdown(f"Signed in as **{identity.name}**  \nRole: **{identity.role.value.replace('_', ' ')}**")
    if not session.settings().jwt_secret:
        st.error(
            "JWT_SECRET is not set on the console: it cannot tell the API who you are, so a protected "
            "API refuses what you ask of it. Ask an administrator (docs/access.md).",
            icon=":material/key_off:",
        )
    if st.button("Sign out", icon=":material/logout:", key="sign_out"):
        auth.sign_out()
        st.rerun()


def render() -> ConsoleIdentity:
    """Draw the sidebar and return the identity (the sign-in page stops the script without one)."""
    config = session.settings()
    identity = auth.gate(config)
    with st.sidebar:
        _who(identity)
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
    return identity


def require(identity: ConsoleIdentity, permission: Permission, what: str) -> None:
    """Stop a page its viewer's role may not use, saying why (the API would refuse it anyway)."""
    reason = auth.refusal(identity, permission)
    if reason:
        st.info(f"{what}: {reason}", icon=":material/lock:")
        st.stop()
