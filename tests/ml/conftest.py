"""Fixtures of the ml tests: the session model as the services load it."""

from __future__ import annotations

import mlflow
import pytest

from ml.scoring import ScoringModel


@pytest.fixture(scope="session")
def scoring_model(mlflow_server, trained_run, tmp_path_factory) -> ScoringModel:
    """The session's trained model, downloaded from MLflow (booster + schema + threshold)."""
    mlflow.set_tracking_uri(mlflow_server.url)
    local = mlflow.artifacts.download_artifacts(
        trained_run.model_uri, dst_path=str(tmp_path_factory.mktemp("m"))
    )
    return ScoringModel.load(local)
