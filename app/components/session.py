"""Per-session objects for the pages: the settings and an API client carrying the admin key.

The admin key lives only in Streamlit's session state: never in a URL, a log or the page.
"""

from __future__ import annotations

import streamlit as st

from app.api_client import ApiClient
from app.settings import ConsoleSettings, get_settings

ADMIN_KEY = "admin_key"


def settings() -> ConsoleSettings:
    return get_settings()


def admin_key() -> str | None:
    return st.session_state.get(ADMIN_KEY) or None


def api_client() -> ApiClient:
    """A client for the configured API, with the operator's admin key if one was entered."""
    config = settings()
    return ApiClient(
        config.api_url,
        timeout_s=config.api_timeout_s,
        retries=config.api_retries,
        backoff_s=config.api_backoff_s,
        api_key=config.api_key,
        admin_key=admin_key(),
    )
