"""Per-session objects for the pages: the settings, the signed-in identity, and an API client acting as them.

The client carries a token minted for the person signed in (never a key typed into the page). Only
an open local console uses its own scoring key, if any: sent for a signed-in person, that key would
make them whoever it belongs to.
"""

from __future__ import annotations

from app import auth
from app.api_client import ApiClient
from app.auth import ConsoleIdentity
from app.settings import ConsoleSettings, get_settings


def settings() -> ConsoleSettings:
    return get_settings()


def identity() -> ConsoleIdentity | None:
    return auth.current(settings())


def api_client() -> ApiClient:
    """A client for the configured API, acting as the person signed in."""
    config = settings()
    who = identity()
    return ApiClient(
        config.api_url,
        timeout_s=config.api_timeout_s,
        retries=config.api_retries,
        backoff_s=config.api_backoff_s,
        api_key=config.api_key if who is not None and who.via == "local" else None,
        token=auth.api_token(config, who),
        metrics_token=config.metrics_token,
    )
