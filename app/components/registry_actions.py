"""Promote and roll back through the API, each with a reason and an explicit confirmation step.

An action is first staged in session state; only the Confirm button sends it. The gate's verdict
(on a refused promotion) and the API's answer are shown as they came back.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from app import mlflow_reader
from app.api_client import ApiClient, ApiError
from app.registry_view import ALIASES

PENDING = "registry_pending"
OUTCOME = "registry_outcome"


def _stage(action: dict[str, Any]) -> None:
    st.session_state[PENDING] = action
    st.session_state.pop(OUTCOME, None)


def promote_form(versions: list[str]) -> None:
    with st.form("promote"):
        st.markdown("**Promote a version**")
        version = st.selectbox("Version", versions, key="promote_version")
        alias = st.radio("To", ALIASES, horizontal=True, key="promote_alias")
        reason = st.text_input("Reason (recorded with the move)", key="promote_reason")
        force = st.checkbox("Force past a refusing quality gate (needs a reason)", key="promote_force")
        if st.form_submit_button("Review promotion"):
            if not reason.strip():
                st.error("Give a reason: it is recorded in the registry history.")
            else:
                _stage(
                    {
                        "action": "promote",
                        "version": version,
                        "alias": alias,
                        "reason": reason,
                        "force": force,
                    }
                )


def rollback_form(champion: str | None) -> None:
    with st.form("rollback"):
        st.markdown(f"**Roll back the champion** (now v{champion or '-'})")
        reason = st.text_input("Reason (recorded with the move)", key="rollback_reason")
        if st.form_submit_button("Review rollback", disabled=champion is None):
            if not reason.strip():
                st.error("Give a reason: it is recorded in the registry history.")
            else:
                _stage({"action": "rollback", "reason": reason})


def _describe(action: dict[str, Any]) -> str:
    if action["action"] == "promote":
        forced = " **forcing past the gate**" if action["force"] else ""
        return (
            f"Promote **v{action['version']}** to **{action['alias']}**{forced}, because: {action['reason']}"
        )
    return f"Roll back the champion to the previous one, because: {action['reason']}"


def _send(client: ApiClient, action: dict[str, Any]) -> dict[str, Any]:
    if action["action"] == "promote":
        return client.promote(action["version"], action["alias"], action["reason"], action["force"])
    return client.rollback(action["reason"])


def confirm_step(client: ApiClient) -> None:
    """Ask for confirmation of the staged action; send it on Confirm and keep the API's answer."""
    action = st.session_state.get(PENDING)
    if not action:
        return
    st.warning(_describe(action), icon=":material/help:")
    confirm, cancel = st.columns([1, 6])
    if cancel.button("Cancel"):
        st.session_state.pop(PENDING)
        st.rerun()
    if confirm.button("Confirm", type="primary"):
        st.session_state.pop(PENDING)
        try:
            st.session_state[OUTCOME] = ("ok", _send(client, action))
        except ApiError as exc:
            st.session_state[OUTCOME] = ("refused", {"message": exc.message, "detail": exc.detail})
        st.cache_data.clear()
        mlflow_reader.clear_cache()
        st.rerun()


def show_outcome() -> None:
    """The API's answer to the last action: success, or the refusal with the gate's verdict."""
    outcome = st.session_state.get(OUTCOME)
    if not outcome:
        return
    kind, body = outcome
    if kind == "ok":
        st.success("Done. The API now serves the model behind the champion alias.", icon=":material/check:")
    else:
        st.error(body["message"], icon=":material/block:")
    with st.expander("The API's answer", expanded=kind != "ok"):
        st.json(body if kind == "ok" else body["detail"])
