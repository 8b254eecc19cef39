"""Promote and roll back through the API, each with a reason and an explicit review step.

A form stages the action in session state; the review step shows what will happen (for a promotion,
the quality gate's verdict and the candidate's metrics next to the champion's; for a rollback, the
version it returns to; and who it is recorded as) and only Confirm sends it. Each action ends in one
message, in words; a success clears the form.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from api.identity_roles import Permission
from app import mlflow_reader, registry_view
from app.api_client import ApiClient, ApiError, ApiUnavailableError, describe_error
from app.auth import ConsoleIdentity, refusal
from app.registry_view import ALIASES

PENDING = "registry_pending"
OUTCOME = "registry_outcome"
FORM_KEYS = (
    "promote_reason",
    "promote_force",
    "rollback_reason",
    "challenger_promote_reason",
    "challenger_promote_force",
)


def _stage(action: dict[str, Any]) -> None:
    """Keep the action for the review step (a form callback: it runs before the page redraws)."""
    if not action["reason"].strip():
        st.session_state[OUTCOME] = ("error", "Give a reason: it is recorded in the registry.")
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


def rollback_form(champion: str | None, target: str | None, identity: ConsoleIdentity) -> None:
    not_allowed = refusal(identity, Permission.MANAGE_CHAMPION)
    if not_allowed:
        st.info(f"Rolling back the champion: {not_allowed}", icon=":material/lock:")
        return
    with st.form("rollback"):
        back = f" to v{target}" if target else " (no earlier champion to return to)"
        st.markdown(f"**Roll back the champion** from v{champion or '-'}{back}")
        st.text_input("Reason (recorded with the move)", key="rollback_reason")
        st.form_submit_button("Review rollback", disabled=target is None, on_click=_stage_rollback)


def _review_promotion(client: ApiClient, action: dict[str, Any], listing: dict[str, Any] | None) -> None:
    """What the move would do: the gate's verdict (for champion) and the metrics against the champion."""
    if listing is None:
        try:
            listing = client.models()
        except ApiError:
            listing = {"aliases": {}, "versions": []}
    champion = listing["aliases"].get("champion")
    table = registry_view.comparison(listing["versions"], action["version"], champion)
    if action["alias"] == "champion":
        try:
            verdict: dict[str, Any] | None = client.gate(action["version"])
        except ApiError as exc:
            verdict = None
            st.warning(f"The quality gate's verdict cannot be read now: {_reason(exc)}")
        if verdict is not None:
            passed = verdict.get("passed")
            (st.success if passed else st.error)(_verdict_line(verdict), icon=":material/rule:")
            if not passed and not action["force"]:
                st.caption("Confirming will be refused unless a lead forces it (with a reason).")
    if not table.empty:
        st.dataframe(table, hide_index=True, width="content")


def _describe(action: dict[str, Any], listing: dict[str, Any] | None, who: str) -> str:
    if action["action"] == "promote":
        forced = " **forcing past the gate**" if action["force"] else ""
        what = f"Promote **v{action['version']}** to **{action['alias']}**{forced}"
    elif listing is not None:
        champion, target = listing["aliases"].get("champion"), listing.get("rollback_to")
        what = f"Roll back the champion from **v{champion}** to **v{target}**"
    else:
        what = "Roll back the champion to the previous one"
    return f"{what}, because: {action['reason']}. Recorded as done by **{who}**."


def _send(client: ApiClient, action: dict[str, Any]) -> dict[str, Any]:
    if action["action"] == "promote":
        return client.promote(action["version"], action["alias"], action["reason"], action["force"])
    return client.rollback(action["reason"])


def confirm_step(client: ApiClient, who: str, listing: dict[str, Any] | None = None) -> None:
    """Review the staged action; send it on Confirm and keep one outcome message. `listing` is the
    registry as `GET /models` gives it (read here when the page has none)."""
    action = st.session_state.get(PENDING)
    if not action:
        return
    with st.container(border=True):
        st.markdown("**Review** " + _describe(action, listing, who))
        if action["action"] == "promote":
            _review_promotion(client, action, listing)
        confirm, cancel = st.columns([1, 6])
        if cancel.button("Cancel"):
            st.session_state.pop(PENDING)
            st.rerun()
        if confirm.button("Confirm", type="primary"):
            st.session_state.pop(PENDING)
            try:
                st.session_state[OUTCOME] = _succeeded(action, _send(client, action))
                for key in FORM_KEYS:  # the forms are drawn below: they come back empty
                    st.session_state.pop(key, None)
            except ApiError as exc:
                st.session_state[OUTCOME] = ("error", _refused(action, exc))
            st.cache_data.clear()
            mlflow_reader.clear_cache()
            st.rerun()


def _succeeded(action: dict[str, Any], answer: dict[str, Any]) -> tuple[str, str]:
    event, verdict = answer.get("event") or {}, answer.get("verdict")
    served = f" The API now serves v{answer.get('served_version')}."
    if action["action"] == "rollback":
        return (
            "ok",
            f"Rolled back: v{event.get('version')} is champion again (v{event.get('previous')} left).{served}",
        )
    moved = f"v{event.get('version')} is now {event.get('alias')}"
    if verdict and not verdict.get("passed"):
        reasons = "; ".join(verdict.get("reasons") or [])
        return "forced", f"{moved}, forced past the quality gate, which refused it: {reasons}.{served}"
    return "ok", f"{moved}.{served}"


def _refused(action: dict[str, Any], exc: ApiError) -> str:
    what = (
        f"v{action['version']} was not made {action['alias']}"
        if action["action"] == "promote"
        else "The champion was not rolled back"
    )
    return f"{what}: {_reason(exc)}"


def _reason(exc: ApiError) -> str:
    """The API's reason once, in words: its `detail`, without the HTTP line or the raw body."""
    if isinstance(exc, ApiUnavailableError) or exc.status in (401, 403) or exc.detail is None:
        return exc.message
    return describe_error(exc.detail)


def show_outcome() -> None:
    """The last action's one message: success, forced (a warning), or why it was refused."""
    outcome = st.session_state.get(OUTCOME)
    if not outcome:
        return
    kind, message = outcome
    show = {"ok": st.success, "forced": st.warning}.get(kind, st.error)
    icons = {"ok": ":material/check:", "forced": ":material/warning:"}
    show(message, icon=icons.get(kind, ":material/block:"))


def _verdict_line(verdict: dict[str, Any]) -> str:
    candidate, champion = verdict.get("candidate_auc"), verdict.get("champion_auc")
    line = f"Quality gate {'would pass' if verdict.get('passed') else 'refuses'}: candidate AUC "
    line += f"{candidate:.4f}" if candidate is not None else "unknown"
    if champion is not None:
        line += f" vs champion v{verdict.get('champion_version')} {champion:.4f}"
    reasons = verdict.get("reasons") or []
    return line + (" - " + "; ".join(reasons) if reasons else "")
