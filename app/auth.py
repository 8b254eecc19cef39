"""Who is using the console: sign-in (built-in users or the organisation's OIDC provider through
Streamlit's `st.login`), the session's identity and role, sign-out, and the API token minted for them.

Sign-in is required unless the console is local (CONSOLE_LOGIN=auto and Streamlit bound to a
loopback address), where it runs open as the lead with a visible warning. Until a person signs in,
pages draw only the sign-in form: nothing is read from the API or MLflow.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import streamlit as st

from api.identity_roles import Permission, Role, allows, least_role_for, parse_role
from api.identity_tokens import mint
from app.auth_limits import LoginLimiter
from app.auth_users import ConsoleUser, load_users, verify
from app.settings import ConsoleSettings

IDENTITY = "identity"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class ConsoleIdentity:
    name: str
    role: Role
    via: str  # password | oidc | local
    signed_in_at: float

    def may(self, permission: Permission) -> bool:
        return allows(self.role, permission)


def login_required(config: ConsoleSettings) -> bool:
    if config.console_login != "auto":
        return config.console_login == "required"
    address = st.get_option("server.address")
    return bool(address) and address not in LOOPBACK


@st.cache_resource(show_spinner=False)
def _limiter(max_failures: int, lockout_s: float) -> LoginLimiter:
    return LoginLimiter(max_failures, lockout_s)


def limiter(config: ConsoleSettings) -> LoginLimiter:
    return _limiter(config.login_max_failures, config.login_lockout_s)


def _users(config: ConsoleSettings) -> dict[str, ConsoleUser]:
    return load_users(config.console_users, config.console_users_file)


def current(config: ConsoleSettings) -> ConsoleIdentity | None:
    """The signed-in person (or the local operator of an open console), else None."""
    if not login_required(config):
        return ConsoleIdentity("local", Role.LEAD, "local", 0.0)
    identity: ConsoleIdentity | None = st.session_state.get(IDENTITY)
    if identity and time.time() - identity.signed_in_at > config.console_session_ttl_s:
        sign_out()
        return None
    if identity is None and config.oidc_enabled and st.user.is_logged_in:
        identity = _from_oidc(config)
        if identity is not None:
            st.session_state[IDENTITY] = identity
    return identity


def _from_oidc(config: ConsoleSettings) -> ConsoleIdentity | None:
    claims = st.user.to_dict()
    name = claims.get("email") or claims.get("preferred_username") or claims.get("sub")
    role = parse_role(claims.get(config.oidc_role_claim)) or config.oidc_default_role
    if not name or role is None:
        return None
    return ConsoleIdentity(str(name), role, "oidc", time.time())


def sign_in(config: ConsoleSettings, name: str, password: str) -> str | None:
    """Check a built-in user's password; None on success, else the message to show."""
    limits = limiter(config)
    wait = limits.wait_s(name)
    if wait > 0:
        return f"Too many failed sign-ins for {name!r}: try again in {wait:.0f} s."
    user = verify(_users(config), name, password) if name and password else None
    if user is None:
        limits.failed(name)
        return "Wrong user name or password."
    limits.succeeded(name)
    st.session_state[IDENTITY] = ConsoleIdentity(user.name, user.role, "password", time.time())
    return None


def sign_out() -> None:
    """Forget the person and everything of theirs in this browser session (results, uploads, pending
    actions): all of it is personal, and a list of keys to drop would miss the next page's."""
    identity: ConsoleIdentity | None = st.session_state.get(IDENTITY)
    st.session_state.clear()
    if identity and identity.via == "oidc":
        st.logout()


def api_token(config: ConsoleSettings, identity: ConsoleIdentity | None) -> str | None:
    """A short-lived token for the API acting as `identity` (None without a shared JWT secret)."""
    if identity is None or not config.jwt_secret:
        return None
    return mint(
        config.jwt_secret, identity.name, identity.role, config.console_token_ttl_s, config.jwt_audience
    )


def refusal(identity: ConsoleIdentity, permission: Permission) -> str | None:
    """Why `identity` may not do `permission` (None when it may): shown next to what is disabled."""
    if identity.may(permission):
        return None
    needed = least_role_for(permission).value.replace("_", " ")
    return (
        f"Needs the {needed} role (or above); you are signed in as {identity.role.value.replace('_', ' ')}."
    )


def _submit(config: ConsoleSettings) -> None:
    message = sign_in(
        config, st.session_state.get("login_name", ""), st.session_state.get("login_password", "")
    )
    st.session_state.pop("login_password", None)  # never kept once checked
    st.session_state["login_error"] = message


def login_page(config: ConsoleSettings) -> None:
    """The only thing a visitor sees until signed in."""
    st.title("Sign in")
    st.caption("The credit scoring console is for the organisation's staff.")
    if config.oidc_enabled:
        st.button(
            f"Sign in with {config.oidc_provider_label}", type="primary", on_click=st.login, key="login_oidc"
        )
        if st.user.is_logged_in:
            st.error("Your identity provider named no role for you: ask an administrator.")
    try:
        has_users = bool(_users(config))
    except ValueError as exc:
        st.error(f"The user list cannot be read: {exc}")
        return
    if has_users:
        with st.form("login"):
            st.text_input("User name", key="login_name")
            st.text_input("Password", type="password", key="login_password")
            st.form_submit_button("Sign in", on_click=_submit, args=(config,))
        if st.session_state.get("login_error"):
            st.error(st.session_state["login_error"], icon=":material/lock:")
    elif not config.oidc_enabled:
        st.error(
            "No way to sign in is configured: set CONSOLE_USERS or the OIDC_* settings (docs/access.md)."
        )


def gate(config: ConsoleSettings) -> ConsoleIdentity:
    """The page's identity; draws the sign-in page and stops the script when nobody is signed in."""
    identity = current(config)
    if identity is None:
        login_page(config)
        st.stop()
    return identity
