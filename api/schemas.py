"""Request and response bodies (pydantic v2); they are the OpenAPI contract at /docs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from ml.model_versions import VersionInfo

EXAMPLE_FEATURES: dict[str, JsonValue] = {
    "SK_ID_CURR": 100002,
    "NAME_CONTRACT_TYPE": "Cash loans",
    "AMT_INCOME_TOTAL": 202500.0,
    "AMT_CREDIT": 406597.5,
    "AMT_ANNUITY": 24700.5,
    "DAYS_BIRTH": -9461,
    "EXT_SOURCE_2": 0.2629,
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PredictRequest(_Strict):
    features: dict[str, Any] = Field(
        description=(
            "Raw features of one client, by name (see GET /model for the schema). Missing optional "
            "features are scored as missing; the id column is accepted and only stored hashed."
        ),
        json_schema_extra={"example": EXAMPLE_FEATURES},
    )


class Reason(BaseModel):
    """One reason the score was pushed towards refusal (the reason catalogue, ml/reason_codes.yaml)."""

    code: str = Field(examples=["R03"])
    text: str = Field(examples=["Low external credit score"])
    features: list[str] = Field(description="The input columns behind this reason.")
    contribution: float = Field(description="How far it pushed towards refusal (log-odds).")


REASONS_FIELD = Field(
    None,
    description="Up to 4 reasons that pushed the score towards refusal, the strongest first; given for "
    "refusals by default, for every row with ?reasons=true, never with ?reasons=false. Gender and age "
    "(params.yaml reasons.excluded) are never cited.",
)


MISSING_IMPORTANCE_FIELD = Field(
    0.0,
    description="Their share of the model's importance (gain), 0 to 1. params.yaml scoring.missing refuses "
    "(422 naming them) above its max_importance_share, or when a required feature is absent.",
)
WARNING_FIELD = Field(None, description="What the answer lacked, in one sentence; null when nothing.")


class PredictResponse(BaseModel):
    request_id: str
    model_name: str
    model_version: str
    probability: float = Field(description="Probability of default.")
    decision: Literal["approve", "refuse"]
    risk_band: str
    threshold: float = Field(description="Cost-optimal decision threshold of this model version.")
    reasons: list[Reason] | None = REASONS_FIELD
    missing_features: list[str] = Field(
        default_factory=list,
        description="The model's features this client did not give (absent or null), most important "
        "first; the model scored them as unknown.",
    )
    missing_importance: float = MISSING_IMPORTANCE_FIELD
    warning: str | None = WARNING_FIELD


class RowError(BaseModel):
    row: int | None = Field(None, description="JSON: 1-based record index; CSV: line number (header = 1).")
    field: str
    reason: str


class ErrorResponse(BaseModel):
    detail: str
    errors: list[RowError] = []
    request_id: str | None = None


class BatchRow(BaseModel):
    row: int
    probability: float
    decision: Literal["approve", "refuse"]
    risk_band: str
    reasons: list[Reason] | None = REASONS_FIELD
    missing_features: list[str] | None = Field(
        None, description="JSON batches: the model's features this row did not give (absent or null)."
    )
    missing_importance: float | None = Field(None, description="JSON batches: their share of the importance.")


class BatchResponse(BaseModel):
    request_id: str
    model_name: str
    model_version: str
    threshold: float
    rows: int = Field(description="Rows received.")
    scored: int
    rejected: int
    results: list[BatchRow]
    errors: list[RowError] = Field(description="Problems of rejected rows (the first 1,000).")
    missing_features: list[str] = Field(
        default_factory=list,
        description="The model's features the request lacked: a CSV's header (its rows are not checked one "
        "by one), or absent from every row of a JSON batch (each row also reports its own).",
    )
    missing_importance: float = MISSING_IMPORTANCE_FIELD
    warning: str | None = WARNING_FIELD


class ExplainRequest(PredictRequest):
    top: int = Field(10, ge=1, le=500, description="How many contributions to return, largest first.")


class Contribution(BaseModel):
    feature: str
    value: float | str | None = Field(description="The model's input value (engineered features included).")
    contribution: float = Field(description="Signed contribution to the log-odds of default.")


class ExplainResponse(BaseModel):
    request_id: str
    model_name: str
    model_version: str
    probability: float
    decision: Literal["approve", "refuse"]
    risk_band: str
    base_value: float = Field(description="Log-odds before any feature (LightGBM's expected value).")
    contributions: list[Contribution]


class HealthResponse(BaseModel):
    status: Literal["healthy", "degraded", "unavailable"]
    model_loaded: bool
    model_name: str
    model_version: str | None
    model_alias: str
    mlflow_reachable: bool
    service_version: str
    uptime_s: float
    challenger_version: str | None = Field(None, description="The challenger scoring in shadow, if any.")


class ChallengerInfo(BaseModel):
    """The challenger this replica shadows the champion with (api/shadow.py)."""

    alias: str
    version: str | None
    loaded_at: datetime | None
    share: float = Field(description="Share of accepted rows it scores (SHADOW_SHARE).")
    scored_rows: int
    errors: int
    pending_rows: int


class ModelInfo(BaseModel):
    name: str
    version: str
    alias: str
    run_id: str | None
    source: Literal["mlflow", "cache"]
    loaded_at: datetime
    threshold: float
    metrics: dict[str, float]
    feature_names: list[str]
    feature_schema: dict[str, Any] = Field(description="Names, kinds, categories and plausible ranges.")
    challenger: ChallengerInfo | None = Field(None, description="Shadowing; null when SHADOW_ENABLED is off.")


class ModelsResponse(BaseModel):
    name: str
    aliases: dict[str, str]
    served_version: str | None
    versions: list[VersionInfo]
    history: list[dict[str, Any]] = Field(description="Alias moves, oldest first (who / when / why).")
    rollback_to: str | None = Field(None, description="The version a rollback would make champion again.")


class PromoteRequest(_Strict):
    alias: Literal["champion", "challenger"] = "champion"
    reason: str = Field(min_length=1, max_length=4000)
    force: bool = Field(False, description="Override a refusing quality gate (needs a reason; recorded).")


class RollbackRequest(_Strict):
    reason: str = Field(min_length=1, max_length=4000)


class ArchiveRequest(_Strict):
    reason: str = Field(min_length=1, max_length=4000)


class RegistryActionResponse(BaseModel):
    event: dict[str, Any]
    verdict: dict[str, Any] | None = None
    served_version: str | None = Field(description="Version this replica serves after reloading.")


class ReloadResponse(BaseModel):
    changed: bool
    served_version: str | None


class DriftRunRequest(BaseModel):
    """Which part of the inference log to check (default: the most recent drift.api_current_rows rows)."""

    last_n: int | None = Field(None, ge=1, description="Most recent rows (capped by drift.api_current_rows).")
    since: datetime | None = Field(None, description="Window start (ISO 8601; naive means UTC).")
    until: datetime | None = Field(None, description="Window end, excluded.")
