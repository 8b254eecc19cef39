"""A trained model as the services use it: booster + feature schema + decision metadata.

Loaded from a plain directory (the `artifacts/` folder of the logged MLflow model), so the API
needs neither pandas nor MLflow's pyfunc machinery on its hot path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from ml.artifacts import SCORING_ARTIFACT
from ml.config import MissingParams
from ml.features import FeatureBuilder
from ml.missing import MissingCheck, importance_shares
from ml.schema import ColumnEncoder, FeatureSchema, encode_frame
from ml.single_row import SingleRowPredictor

BOOSTER_FILE = "booster.txt"
SCHEMA_FILE = "schema.json"
META_FILE = "model_meta.json"
RISK_BANDS = ("low", "medium", "high", "very_high")
# Where the scoring files sit inside a logged MLflow model (pyfunc artifact "scoring").
MODEL_SCORING_SUBDIR = Path("artifacts") / SCORING_ARTIFACT  # inside a registered version's files


@dataclass
class ModelMeta:
    """What a decision needs besides the booster; stored as model_meta.json."""

    threshold: float
    metrics: dict[str, float] = field(default_factory=dict)
    run_id: str | None = None
    trained_at: str | None = None
    data_hash: str | None = None
    base_value: float | None = None

    def band_edges(self) -> tuple[float, float, float]:
        """Bands relative to the decision threshold: half of it, it, twice it."""
        t = self.threshold
        return (t / 2, t, min(2 * t, 1.0))


class ScoringModel:
    """Scores raw client records with one code path for dicts, DataFrames and matrices."""

    def __init__(self, booster: lgb.Booster, schema: FeatureSchema, meta: ModelMeta) -> None:
        self.booster = booster
        self.schema = schema
        self.meta = meta
        self.builder = FeatureBuilder(schema)
        self.encoder = ColumnEncoder(schema)
        self._edges = np.array(meta.band_edges())
        # Each raw input's share of the booster's gain, once per model: what an absent feature costs.
        self.importance = importance_shares(
            np.asarray(booster.feature_importance("gain"), dtype=float), self.builder, schema.names()
        )
        self._missing_check: MissingCheck | None = None
        self._single: SingleRowPredictor | None = None

    @classmethod
    def load(cls, directory: str | Path) -> ScoringModel:
        """Load from a scoring directory, or from a downloaded MLflow model directory holding one."""
        directory = Path(directory)
        if (directory / MODEL_SCORING_SUBDIR).is_dir():
            directory = directory / MODEL_SCORING_SUBDIR
        booster = lgb.Booster(model_file=str(directory / BOOSTER_FILE))
        schema = FeatureSchema.load(directory / SCHEMA_FILE)
        meta = ModelMeta(**json.loads((directory / META_FILE).read_text()))
        return cls(booster, schema, meta)

    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(directory / BOOSTER_FILE))
        self.schema.save(directory / SCHEMA_FILE)
        (directory / META_FILE).write_text(json.dumps(self.meta.__dict__, indent=2))

    def predict_raw(self, raw: np.ndarray) -> np.ndarray:
        """Probabilities of default for an encoded raw matrix."""
        return np.asarray(self.booster.predict(self.builder.build(raw), num_threads=1))

    def predict_one(self, raw: np.ndarray) -> float:
        """Probability of default for one encoded record (a (1, width) raw matrix), through
        LightGBM's single-row fast path: the same number as `predict_raw`, at a fraction of its cost."""
        return self.predict_built_one(self.builder.build(raw))

    def predict_built_one(self, built: np.ndarray) -> float:
        """`predict_one` for a row already built (the API builds once for the score and its reasons)."""
        return self._single_row().predict(built)

    def _single_row(self) -> SingleRowPredictor:
        if self._single is None:
            self._single = SingleRowPredictor(self.booster, len(self.builder.feature_names))
        return self._single

    def predict_frame(self, frame: pd.DataFrame) -> np.ndarray:
        return self.predict_raw(encode_frame(frame, self.schema))

    def contributions(self, raw: np.ndarray) -> np.ndarray:
        """LightGBM's own SHAP-style contributions (log-odds); last column is the base value."""
        return np.asarray(self.booster.predict(self.builder.build(raw), pred_contrib=True, num_threads=1))

    def decisions(self, probabilities: np.ndarray) -> np.ndarray:
        """Refuse where the probability reaches the cost-optimal threshold, else approve."""
        return np.where(probabilities >= self.meta.threshold, "refuse", "approve")

    def risk_bands(self, probabilities: np.ndarray) -> list[str]:
        return [RISK_BANDS[i] for i in np.searchsorted(self._edges, probabilities, side="right")]

    def feature_names(self) -> list[str]:
        return self.builder.feature_names

    def missing_check(self, params: MissingParams) -> MissingCheck:
        """The absent-feature policy for this model's inputs and importance (kept while `params` is)."""
        check = self._missing_check
        if check is None or check.params is not params:
            check = self._missing_check = MissingCheck(self.encoder.names, self.importance, params)
        return check
