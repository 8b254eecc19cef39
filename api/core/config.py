"""The API's settings, all from the environment (pydantic-settings), in one place."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field

from api.identity_keys import KeyRing, load_keys, parse_keys
from api.identity_roles import Role
from ml.config import ServiceSettings

SERVICE_VERSION = "0.1.0"
CsvReader = Literal["pandas", "pyarrow"]


def _split_keys(raw: str) -> frozenset[str]:
    return frozenset(key.strip() for key in raw.split(",") if key.strip())


class ApiSettings(ServiceSettings):
    """Environment of one API replica; the defaults suit a local run next to `mlflow server`."""

    database_url: str = "sqlite:///inference_log.db"
    # Identities (docs/access.md). Nothing set = open access for local use, with a warning.
    api_keys: str = ""  # "label:role:key,..."; a bare key is a scorer (the pre-roles form)
    admin_api_keys: str = ""  # bare keys with the lead role (the pre-roles form)
    outcomes_api_keys: str = ""  # bare keys with the outcomes role: may read and post outcomes only
    api_keys_file: Path | None = None  # one "label:role:key" a line, e.g. a mounted secret
    jwt_secret: str = ""  # HS256 shared with the console, which signs its users' calls
    jwt_jwks_url: str = ""  # an OIDC provider's JWKS: RS256 tokens of its users
    jwt_audience: str = "credit-scoring-api"
    jwt_issuer: str = ""  # checked on RS256 tokens when set
    jwt_role_claim: str = "role"  # dotted path, e.g. realm_access.roles; a list gives its highest role
    jwt_name_claim: str = "sub"
    jwt_leeway_s: float = Field(10.0, ge=0, le=300)  # clock skew tolerated on exp / nbf
    metrics_token: str = ""  # when set, GET /metrics needs "Authorization: Bearer <token>"
    port: int = 8000
    model_poll_interval_s: float = 30.0
    model_cache_dir: Path = Path(".cache/model")
    max_batch_rows: int = 10_000
    max_json_bytes: int = 32 * 1024 * 1024  # a JSON batch of MAX_BATCH_ROWS wide records fits
    json_parse_budget_bytes: int = (
        128 * 1024 * 1024
    )  # estimated parser memory above which a JSON batch is a 413
    max_csv_rows: int = 100_000  # rows per CSV upload (413 beyond): bounds the memory of one upload
    max_concurrent_batches: int = Field(1, ge=1)  # batches in progress per replica; more wait, then 503
    max_log_backlog_rows: int = 100_000  # scored rows held for the log above which batches get a 503
    batch_wait_s: float = 10.0  # how long a batch waits for a free slot before its 503
    inference_log_sync: bool = False  # True: a scored row is committed to the log before the answer
    max_upload_bytes: int = 1024 * 1024 * 1024  # CSV uploads are spooled to disk, so this can be large
    csv_chunk_rows: int = 10_000  # smaller chunks keep peak memory low; scoring cost is per row anyway
    # "pyarrow" parses CSV uploads on every core where pyarrow is installed (about a sixth faster end
    # to end here), but its parser aborts the process where an allocation can fail (bench/README.md).
    csv_reader: CsvReader = "pandas"
    mlflow_timeout_s: float = 5.0
    health_cache_s: float = 5.0
    log_level: str = "INFO"
    opentelemetry: bool = False  # FastAPI's native spans/metrics to the global OpenTelemetry providers
    cors_origins: str = ""  # comma-separated browser origins allowed to call the API; empty = none
    rate_limit_per_minute: int = Field(0, ge=0)  # per API key (or client address), per replica; 0 = off
    # Shadow scoring (api/shadow.py): the challenger alias scores a share of the accepted rows.
    shadow_enabled: bool = True
    shadow_alias: str = "challenger"
    shadow_share: float = Field(1.0, ge=0, le=1)  # share of accepted rows shadowed (sampled per row)
    shadow_max_pending_rows: int = Field(200_000, ge=0)  # rows queued for the challenger; beyond: skipped
    challenger_report_max_rows: int = Field(50_000, ge=1)  # most recent pairs GET /challenger/report reads

    def key_ring(self) -> KeyRing:
        """The configured API keys with their labels and roles (KeyConfigError names a bad entry)."""
        outcomes = parse_keys(self.outcomes_api_keys, Role.OUTCOMES, "OUTCOMES_API_KEYS")
        return KeyRing(load_keys(self.api_keys, self.admin_api_keys, self.api_keys_file) + outcomes)

    def cors_origin_list(self) -> frozenset[str]:
        return _split_keys(self.cors_origins)


@lru_cache
def get_settings() -> ApiSettings:
    return ApiSettings()
