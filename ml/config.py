"""Configuration in one place: environment settings (pydantic-settings) and `params.yaml`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ServiceSettings(BaseSettings):
    """The environment every part reads (CLI, API, console): MLflow, the served model, the experiments
    and the inference log, with safe local defaults. Each part's settings add their own on top."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", protected_namespaces=())

    mlflow_tracking_uri: str = "http://127.0.0.1:5000"
    model_name: str = "credit-scoring"
    model_alias: str = "champion"
    experiment_name: str = "credit-scoring"
    monitoring_experiment_name: str = "credit-scoring-monitoring"
    database_url: str | None = None  # the inference log; None = the default SQLite file where one is needed

    @field_validator("database_url")
    @classmethod
    def _sqlalchemy_url(cls, url: str | None) -> str | None:
        """A DATABASE_URL as platforms give it (`postgres://...`) becomes SQLAlchemy's, once, here."""
        from ml.inference_log import normalize_database_url

        return normalize_database_url(url) if url else None


class Settings(ServiceSettings):
    """The CLI's environment (training, registry, drift)."""

    params_path: Path = PROJECT_ROOT / "params.yaml"


class DataParams(BaseModel):
    source: str = ""  # CSV the DVC data stage imports; "" = generate `rows` rows
    rows: int = 50_000
    seed: int = 42
    target: str = "TARGET"
    id_column: str | None = "SK_ID_CURR"


class SplitParams(BaseModel):
    valid_size: float = Field(0.15, gt=0, lt=0.5)
    test_size: float = Field(0.15, gt=0, lt=0.5)
    seed: int = 42


class TrainParams(BaseModel):
    num_boost_round: int = 2000
    early_stopping_rounds: int = 50
    lightgbm: dict[str, Any] = Field(default_factory=lambda: {"objective": "binary", "verbose": -1})
    # Business sense the model must keep, by feature name (raw or engineered): -1 = the risk never rises
    # as the feature rises, +1 = it never falls (LightGBM's monotone constraints).
    monotone: dict[str, Literal[-1, 1]] = Field(default_factory=dict)


class CostParams(BaseModel):
    false_negative: float = 10.0
    false_positive: float = 1.0


class ValidationParams(BaseModel):
    max_null_rate: float = 0.99
    min_rows: int = 100


class ReferenceParams(BaseModel):
    rows: int = 50_000


class FairnessGateParams(BaseModel):
    """Fairness criteria of the quality gate; a criterion set to null is not checked."""

    enabled: bool = True
    min_approval_ratio: float | None = Field(0.7, ge=0, le=1)  # four-fifths rule: 0.8 (see params.yaml)
    max_equal_opportunity_diff: float | None = Field(0.2, ge=0, le=1)
    attributes: list[str] | None = None  # the protected attributes judged; the others are reported only


class LiveGateParams(BaseModel):
    """Live criteria of the gate, judged on the candidate's shadow record against the current champion
    (ml/live_gate.py); off unless enabled, and a criterion set to null is not checked."""

    enabled: bool = False
    window_hours: float = Field(24 * 30, gt=0)  # the shadow record read: decisions of the last N hours
    min_rows: int | None = Field(1000, ge=1)  # shadowed decisions needed before a verdict
    max_swap_share: float | None = Field(0.2, ge=0, le=1)  # share of clients whose decision would change
    max_refusal_rate_increase: float | None = Field(0.05, ge=0, le=1)
    max_realized_auc_drop: float | None = Field(0.0, ge=0, le=1)  # with outcomes: AUC vs the champion's


class GateParams(BaseModel):
    min_auc: float = 0.70
    max_auc_drop: float = 0.01
    fairness: FairnessGateParams = FairnessGateParams()
    live: LiveGateParams = LiveGateParams()


class ReasonParams(BaseModel):
    """Reason codes: attributes never cited to an applicant, and how many reasons are given."""

    excluded: list[str] = Field(default_factory=lambda: ["CODE_GENDER", "DAYS_BIRTH"])
    max_reasons: int = Field(4, ge=1, le=10)
    # How the API attributes a score to features for reasons: "path" (decision-path attributions, about
    # one more predict) or "shap" (TreeSHAP as /explain, ~8 predicts: over the 0.3 ms budget).
    method: Literal["path", "shap"] = "path"


class FairnessParams(BaseModel):
    """Protected attributes; the age column is cut into bands of years (any other column is used as is)."""

    protected: list[str] = Field(default_factory=lambda: ["CODE_GENDER", "DAYS_BIRTH"])
    age_column: str = "DAYS_BIRTH"
    age_bands: list[int] = Field(default_factory=lambda: [25, 35, 45, 55])
    min_group_rows: int = Field(100, ge=1)  # smaller groups are reported, never gated
    max_groups: int = Field(20, ge=2)  # a numeric column with more values is cut into quartiles
    bootstrap: int = Field(200, ge=0)  # 0 = no confidence intervals
    confidence: float = Field(0.95, gt=0, lt=1)
    seed: int = 42
    live_window: str = (
        "1D"  # the live figures (GET /fairness, gauges) per window of the log (pandas frequency)
    )
    live_rows: int = Field(20_000, ge=1)  # most recent logged decisions the live figures read
    refresh_s: float = Field(300, gt=0)  # how often the API recomputes its gauges


class StabilityParams(BaseModel):
    """Population / characteristic stability (PSI, CSI) with the scorecard industry's bands."""

    score_bands: int = Field(10, ge=2, le=50)
    feature_bins: int = Field(10, ge=2, le=50)
    watch: float = 0.10
    act: float = 0.25


class DriftParams(BaseModel):
    """Drift check settings; `threshold` is the drifted-column share that triggers retraining."""

    threshold: float = Field(0.1, ge=0, le=1)
    min_rows: int = Field(100, ge=1)
    current_rows: int = Field(10_000, ge=1)
    reference_rows: int | None = Field(None, ge=1)
    api_reference_rows: int = Field(20_000, ge=1)
    api_current_rows: int = Field(20_000, ge=1)
    num_method: str | None = None
    cat_method: str | None = None
    per_column_method: dict[str, str] = Field(default_factory=dict)
    reports_dir: str = "reports"


class PerformanceParams(BaseModel):
    """Realized and estimated performance: when outcomes count, and when to alert."""

    maturity_days: int = Field(90, ge=0)  # a decision's outcome counts once the decision is this old
    max_auc_drop: float = Field(0.05, ge=0, le=1)  # alert when AUC falls this far below training
    min_rows: int = Field(200, ge=1)  # fewer outcomes (or approvals, for the estimate): no figure
    max_ece: float = Field(0.05, ge=0, le=1)  # above this calibration error the estimate is not trusted
    max_estimate_error: float = Field(0.02, ge=0, le=1)  # the estimate's AUC error on the test set, at most
    refresh_s: float = Field(300, gt=0)  # the API recomputes its performance gauges this often


class MissingParams(BaseModel):
    """What scoring does with a record that lacks some of the model's features (reported either way)."""

    policy: Literal["refuse", "score"] = "refuse"  # score = always score, with a warning
    max_importance_share: float = Field(0.5, ge=0, le=1)  # refuse above this share of importance absent
    required: list[str] = Field(default_factory=list)  # refused whenever one of these is absent


class ScoringParams(BaseModel):
    missing: MissingParams = MissingParams()


class Params(BaseModel):
    data: DataParams = DataParams()
    split: SplitParams = SplitParams()
    train: TrainParams = TrainParams()
    cost: CostParams = CostParams()
    validation: ValidationParams = ValidationParams()
    reference: ReferenceParams = ReferenceParams()
    gate: GateParams = GateParams()
    drift: DriftParams = DriftParams()
    performance: PerformanceParams = PerformanceParams()
    reasons: ReasonParams = ReasonParams()
    fairness: FairnessParams = FairnessParams()
    stability: StabilityParams = StabilityParams()
    scoring: ScoringParams = ScoringParams()


def load_params(path: str | Path | None = None) -> Params:
    """Read `params.yaml` (missing keys take their defaults)."""
    path = Path(path) if path else get_settings().params_path
    raw = yaml.safe_load(path.read_text()) if path.exists() else {}
    return Params.model_validate(raw or {})


@lru_cache
def get_settings() -> Settings:
    return Settings()
