"""Promote and roll back through the API, each with a reason and an explicit confirmation step.

An action is first staged in session state by its form; only the Confirm button sends it. The gate's verdict
(on a refused promotion) and the API's answer are shown as they came back.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from api.identity_roles import Permission
from app import mlflow_reader
from app.api_client import ApiClient, ApiError
from app.auth import ConsoleIdentity, refusal
from app.registry_view import ALIASES

PENDING = "registry_pending"
OUTCOME = "registry_outcome"


def _stage(action: dict[str, Any]) -> None:
    """Keep the action for the confirmation step (a form callback: it runs before the page redraws)."""
    if not action["reason"].strip():
        st.session_state[OUTCOME] = ("invalid", {"message": "Give a reason: it is recorded in the registry."})
        return
    st.session_state[PENDING] = action
    st.session_state.pop(OUTCOME, None)


def _stage_promotion() -> None:
    state = st.session_state
    _stage(
        {
            "action": "promote",
            "version": state["promote_version"],
            "alias": state["promote_alias"],
            "reason": state["promote_reason"],
            "force": bool(state.get("promote_force")),
        }
    )


def _stage_rollback() -> None:
    _stage({"action": "rollback", "reason": st.session_state["rollback_reason"]})


def promote_form(versions: list[str], identity: ConsoleIdentity) -> None:
    """Offered to data scientists (challenger only) and leads (any alias, and forcing the gate)."""
    not_allowed = refusal(identity, Permission.MANAGE_CANDIDATES)
    if not_allowed:
        st.info(f"Promoting a version: {not_allowed}", icon=":material/lock:")
        return
    lead_only = refusal(identity, Permission.MANAGE_CHAMPION)
    with st.form("promote"):
        st.markdown("**Promote a version**")
        st.selectbox("Version", versions, key="promote_version")
        aliases = [alias for alias in ALIASES if alias == "challenger" or not lead_only]
        st.radio("To", aliases, horizontal=True, key="promote_alias")
        if lead_only:
            st.caption(f"Moving the champion: {lead_only}")
        st.text_input("Reason (recorded with the move)", key="promote_reason")
        st.checkbox(
            "Force past a refusing quality gate (needs a reason)",
            key="promote_force",
            disabled=bool(lead_only),
            help=lead_only,
        )
        st.form_submit_button("Review promotion", on_click=_stage_promotion)


def _stage_challenger_promotion() -> None:
    state = st.session_state
    _stage(
        {
            "action": "promote",
            "version": state["challenger_promote_version"],
            "alias": "champion",
            "reason": state["challenger_promote_reason"],
            "force": bool(state.get("challenger_promote_force")),
        }
    )


def promote_challenger_form(version: str, identity: ConsoleIdentity) -> None:
    """Make the shadowing challenger champion (Champion vs challenger page): leads only."""
    not_allowed = refusal(identity, Permission.MANAGE_CHAMPION)
    if not_allowed:
        st.info(f"Promoting the challenger: {not_allowed}", icon=":material/lock:")
        return
    with st.form("promote_challenger"):
        st.markdown(f"**Promote challenger v{version} to champion**")
        st.session_state["challenger_promote_version"] = version
        st.text_input("Reason (recorded with the move)", key="challenger_promote_reason")
        st.checkbox("Force past a refusing quality gate (needs a reason)", key="challenger_promote_force")
        st.form_submit_button("Review promotion", on_click=_stage_challenger_promotion)


def rollback_form(champion: str | None, identity: ConsoleIdentity) -> None:
    not_allowed = refusal(identity, Permission.MANAGE_CHAMPION)
    if not_allowed:
        st.info(f"Rolling back the champion: {not_allowed}", icon=":material/lock:")
        return
    with st.form("rollback"):
        st.markdown(f"**Roll back the champion** (now v{champion or '-'})")
        st.text_input("Reason (recorded with the move)", key="rollback_reason")
        st.form_submit_button("Review rollback", disabled=champion is None, on_click=_stage_rollback)


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
            st.session_state[OUTCOME] = ("refused", {"message": exc.message, "answer": exc.detail})
        st.cache_data.clear()
        mlflow_reader.clear_cache()
        st.rerun()


def show_outcome() -> None:
    """The API's answer to the last action: success, or the refusal with the gate's verdict."""
    outcome = st.session_state.get(OUTCOME)
    if not outcome:
        return
    kind, body = outcome
    if kind == "invalid":
        st.error(body["message"], icon=":material/edit_note:")
        return
    if kind == "ok":
        st.success(f"Done. The API now serves v{body.get('served_version')}.", icon=":material/check:")
        verdict, answer = body.get("verdict"), body
    else:
        st.error(body["message"], icon=":material/block:")
        answer = body["answer"]
        verdict = answer.get("verdict") if isinstance(answer, dict) else None
    if verdict:
        gate = st.success if verdict.get("passed") else st.error
        gate(_verdict_line(verdict), icon=":material/rule:")
    with st.expander("The API's answer", expanded=kind != "ok"):
        st.json(answer)


def _verdict_line(verdict: dict[str, Any]) -> str:
    candidate, champion = verdict.get("candidate_auc"), verdict.get("champion_auc")
    line = f"Quality gate {'passed' if verdict.get('passed') else 'refused'}: candidate AUC "
    line += f"{candidate:.4f}" if candidate is not None else "unknown"
    if champion is not None:
        line += f" vs champion v{verdict.get('champion_version')} {champion:.4f}"
    reasons = verdict.get("reasons") or []
    return line + (" - " + "; ".join(reasons) if reasons else "")
