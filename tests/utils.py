"""Helpers shared by the tests (tests/conftest.py holds only fixtures): the session's parameters and
settings, the shared champion's description, and the champion loaded in-process."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from ml.config import Params, Settings, load_params
from ml.scoring import MODEL_SCORING_SUBDIR, ScoringModel
from ml.train import TrainResult
from tests.servers import Server

TEST_ROWS = 20_000
CHAMPION_MODEL_NAME = "credit-scoring"


@dataclass(frozen=True)
class Champion:
    """The session's shared model: registered as version `version` of `name`, alias champion."""

    name: str
    version: str
    tracking_uri: str
    run: TrainResult
    server: Server


def session_params() -> Params:
    """params.yaml with a small reference sample and fewer boosting rounds: a session trains in seconds."""
    params = load_params()
    params.reference.rows = 2_000
    params.train.num_boost_round = 300
    return params


def make_settings(tracking_uri: str, model_name: str = CHAMPION_MODEL_NAME) -> Settings:
    return Settings(mlflow_tracking_uri=tracking_uri, model_name=model_name, experiment_name="tests")


def load_registered_model(tracking_uri: str, name: str, version: str) -> ScoringModel:
    """A registered version's scoring model, downloaded from MLflow and loaded in this process."""
    import mlflow.artifacts
    from mlflow.tracking import MlflowClient

    with tempfile.TemporaryDirectory() as tmp:
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        root = client.get_model_version_download_uri(name, version)
        path = mlflow.artifacts.download_artifacts(
            artifact_uri=f"{root}/{MODEL_SCORING_SUBDIR.as_posix()}", dst_path=tmp, tracking_uri=tracking_uri
        )
        return ScoringModel.load(Path(path))
