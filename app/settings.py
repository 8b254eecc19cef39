"""The console's configuration, from the environment (one settings object, safe local defaults)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    """Where the console finds the API and MLflow, and how patient it is with them."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", protected_namespaces=())

    api_url: str = "http://127.0.0.1:8000"
    api_key: str | None = None  # the console's scoring key, when the API sets API_KEYS
    mlflow_tracking_uri: str = "http://127.0.0.1:5000"
    database_url: str | None = None  # the API's inference log, read for activity charts when given
    experiment_name: str = "credit-scoring"
    monitoring_experiment_name: str = "credit-scoring-monitoring"
    api_timeout_s: float = 30.0
    api_retries: int = 2
    api_backoff_s: float = 0.5
    cache_ttl_s: int = 30


def get_settings() -> ConsoleSettings:
    """Read the environment on every call: cheap, and tests can point the console elsewhere."""
    return ConsoleSettings()
