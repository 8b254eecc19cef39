"""The MLflow pyfunc face of a ScoringModel, so `mlflow models serve` and `mlflow.pyfunc.load_model`
work on the raw feature columns exactly as the API does."""

from __future__ import annotations

from pathlib import Path

import mlflow.models
import mlflow.pyfunc
import pandas as pd

from ml.artifacts import SCORING_ARTIFACT
from ml.scoring import ScoringModel


class CreditScoringPyfunc(mlflow.pyfunc.PythonModel):
    """Raw client columns in, probability of default and decision out."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        self.model = ScoringModel.load(Path(context.artifacts[SCORING_ARTIFACT]))

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:  # noqa: ARG002
        probabilities = self.model.predict_frame(model_input)
        return pd.DataFrame({"probability": probabilities, "decision": self.model.decisions(probabilities)})


# Logged as "model from code": MLflow runs this file to get the model instead of unpickling one.
mlflow.models.set_model(CreditScoringPyfunc())
