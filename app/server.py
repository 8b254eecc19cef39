"""The console with the organisation's identity provider: `streamlit run app/server.py`.

Streamlit's `st.login` reads its OIDC client from secrets; this entry point hands it the OIDC_*
settings from the environment as programmatic secrets (`st.App(..., secrets=...)`), so a platform
that only has environment variables (Render, Kubernetes) needs no secrets.toml. Without OIDC_*
settings it is the plain console (`app/Home.py`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from app.settings import ConsoleSettings, get_settings


def oidc_secrets(config: ConsoleSettings) -> dict[str, Any]:
    """The `[auth]` secrets section Streamlit's st.login expects (empty without an OIDC client)."""
    if not config.oidc_enabled:
        return {}
    return {
        "auth": {
            "redirect_uri": config.oidc_redirect_uri,
            "cookie_secret": config.oidc_cookie_secret,
            "client_id": config.oidc_client_id,
            "client_secret": config.oidc_client_secret,
            "server_metadata_url": config.oidc_server_metadata_url,
            "client_kwargs": {"scope": "openid profile email"},
        }
    }


app = st.App(str(Path(__file__).with_name("Home.py")), secrets=oidc_secrets(get_settings()) or None)
