"""The API's settings, all from the environment (pydantic-settings), in one place."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICE_VERSION = "0.1.0"


def _split_keys(raw: str) -> frozenset[str]:
    return frozenset(key.strip() for key in raw.split(",") if key.strip())


class ApiSettings(BaseSettings):
    """Environment of one API replica; the defaults suit a local run next to `mlflow server`."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", protected_namespaces=())

    mlflow_tracking_uri: str = "http://127.0.0.1:5000"
    model_name: str = "credit-scoring"
    model_alias: str = "champion"
    database_url: str = "sqlite:///inference_log.db"
    api_keys: str = ""  # comma-separated; scoring and reading
    admin_api_keys: str = ""  # comma-separated; reload, promote, rollback (and everything else)
    port: int = 8000
    model_poll_interval_s: float = 30.0
    model_cache_dir: Path = Path(".cache/model")
    max_batch_rows: int = 10_000
    max_json_bytes: int = 64 * 1024 * 1024  # a JSON batch of MAX_BATCH_ROWS wide records fits
    max_upload_bytes: int = 1024 * 1024 * 1024  # CSV uploads are spooled to disk, so this can be large
    csv_chunk_rows: int = 10_000  # smaller chunks keep peak memory low; scoring cost is per row anyway
    mlflow_timeout_s: float = 5.0
    health_cache_s: float = 5.0
    log_level: str = "INFO"
    cors_origins: str = ""  # comma-separated browser origins allowed to call the API; empty = none
    rate_limit_per_minute: int = Field(0, ge=0)  # per API key (or client address), per replica; 0 = off

    def scoring_keys(self) -> frozenset[str]:
        return _split_keys(self.api_keys)

    def admin_keys(self) -> frozenset[str]:
        return _split_keys(self.admin_api_keys)

    def cors_origin_list(self) -> frozenset[str]:
        return _split_keys(self.cors_origins)


@lru_cache
def get_settings() -> ApiSettings:
    return ApiSettings()
