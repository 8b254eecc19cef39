"""Training against a real MLflow server: metrics, artifacts, tags and a servable model."""

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient

from ml.scoring import ScoringModel


def artifact_paths(client: MlflowClient, run_id: str, path: str = "") -> set[str]:
    found = set()
    for item in client.list_artifacts(run_id, path):
        found |= artifact_paths(client, run_id, item.path) if item.is_dir else {item.path}
    return found


def test_run_has_metrics_params_and_tags(mlflow_server, trained_run):
    run = MlflowClient(mlflow_server.url).get_run(trained_run.run_id)
    metrics = run.data.metrics
    for name in ["roc_auc", "pr_auc", "ks", "brier", "f1", "precision", "recall", "business_cost"]:
        assert f"test_{name}" in metrics and f"valid_{name}" in metrics, name
    assert 0.70 <= metrics["test_roc_auc"] <= 0.85
    assert 0 < metrics["threshold"] < 1 and metrics["threshold"] == trained_run.threshold
    assert run.data.params["lgb_learning_rate"] == "0.05" and run.data.params["cost_false_negative"] == "10.0"
    assert len(run.data.tags["git_commit"]) >= 7 and len(run.data.tags["data_hash"]) == 64


def test_run_has_plots_schema_reference_and_model(mlflow_server, trained_run):
    client = MlflowClient(mlflow_server.url)
    paths = artifact_paths(client, trained_run.run_id)
    for plot in ["roc_curve", "pr_curve", "confusion_matrix", "feature_importance", "score_distribution"]:
        assert f"plots/{plot}.png" in paths
    assert {
        "schema/schema.json",
        "reference/reference.parquet",
        "curves/roc_test.json",
        "validation_report.txt",
    } <= paths
    local = client.download_artifacts(trained_run.run_id, "reference/reference.parquet")
    reference = pd.read_parquet(local)
    assert len(reference) == 2_000 and {"TARGET", "prediction", "EXT_SOURCE_2"} <= set(reference.columns)
    assert reference["prediction"].between(0, 1).all()
    roc_path = client.download_artifacts(trained_run.run_id, "curves/roc_test.json")
    roc = json.loads(Path(roc_path).read_text())
    assert roc["fpr"][0] == 0 and roc["tpr"][-1] == 1


def test_logged_model_serves_the_same_scores_as_pyfunc_and_scoring_model(
    mlflow_server, trained_run, small_dataset, tmp_path
):
    mlflow.set_tracking_uri(mlflow_server.url)
    local = mlflow.artifacts.download_artifacts(trained_run.model_uri, dst_path=str(tmp_path))
    scoring = ScoringModel.load(local)
    assert scoring.meta.threshold == trained_run.threshold and scoring.meta.run_id == trained_run.run_id
    rows = small_dataset.frame.drop(columns=["TARGET", "SK_ID_CURR"]).head(200)
    pyfunc = mlflow.pyfunc.load_model(local)
    served = pyfunc.predict(rows.astype({c: "float64" for c in rows.columns if rows[c].dtype != object}))
    np.testing.assert_allclose(served["probability"].to_numpy(), scoring.predict_frame(rows), rtol=1e-9)
    assert set(served["decision"]) <= {"approve", "refuse"}
