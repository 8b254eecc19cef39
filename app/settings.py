"""The console's configuration, from the environment (one settings object, safe local defaults)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from api.identity_roles import Role
from ml.config import ServiceSettings


class ConsoleSettings(ServiceSettings):
    """Where the console finds the API and MLflow, how patient it is with them, and who may use it."""

    api_url: str = "http://127.0.0.1:8000"
    api_key: str | None = None  # a scoring key for the open (local) console, when the API sets API_KEYS
    metrics_token: str | None = None  # the API's METRICS_TOKEN, for the activity counters on Home
    # database_url: the API's inference log, read for activity charts when given
    api_timeout_s: float = 30.0
    api_retries: int = 2
    api_backoff_s: float = 0.5

    # Sign-in (docs/access.md). auto: required unless Streamlit listens on a loopback address only.
    console_login: Literal["auto", "required", "off"] = "auto"
    console_users: str = ""  # "name:role:$argon2id$..." a line (or ;-separated): the built-in user list
    console_users_file: Path | None = None
    console_session_ttl_s: int = Field(8 * 3600, ge=60)
    login_max_failures: int = Field(5, ge=1)
    login_lockout_s: float = Field(30.0, ge=0)
    jwt_secret: str = ""  # shared with the API: the console signs a short-lived token per person
    jwt_audience: str = "credit-scoring-api"
    console_token_ttl_s: int = Field(300, ge=30, le=3600)
    # The organisation's identity provider through Streamlit's st.login (app/server.py reads these).
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_server_metadata_url: str = ""  # https://<issuer>/.well-known/openid-configuration
    oidc_redirect_uri: str = ""  # https://<console>/oauth2callback
    oidc_cookie_secret: str = ""
    oidc_provider_label: str = "your organisation"
    oidc_role_claim: str = "role"  # in the ID token; a list gives its highest known role
    oidc_default_role: Role | None = Role.VIEWER  # for a signed-in person whose token names no role

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_client_id and self.oidc_server_metadata_url)


def get_settings() -> ConsoleSettings:
    """Read the environment on every call: cheap, and tests can point the console elsewhere."""
    return ConsoleSettings()
