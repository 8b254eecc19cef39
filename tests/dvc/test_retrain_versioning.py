"""`retrain-if-drift --dvc-repo`: the drifted batch is versioned with DVC before retraining, and its
hash is on the retraining run and on the registered version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow import MlflowClient

from ml.cli import main
from ml.data_version import DVC_HASH_TAG
from ml.drift.batches import make_production_batch
from ml.drift.report import TRIGGER_FILE
from ml.generate import generate_applications
from ml.registry import Registry
from tests.dvc.dvc_helpers import dvc_env, make_repo

pytest.importorskip("dvc", reason="dvc is not installed (`make setup-dvc`): DVC versioning tests skipped")


@pytest.mark.slow
def test_retrain_versions_the_batch_and_tags_run_and_version(
    tmp_path: Path, mlflow_server, trained_run, params, model_name, capsys
):
    repo = make_repo(tmp_path / "project", dvc_env(mlflow_server.url))
    batch = repo / "data" / "production_batch.csv"
    make_production_batch(generate_applications(3_000, seed=31)).to_csv(batch, index=False)
    registry = Registry(model_name, mlflow_server.url, params.gate)
    registry.promote(registry.register(trained_run.model_uri, trained_run.run_id), "champion", "baseline")
    reports = tmp_path / "reports"
    reports.mkdir()
    trigger = {"report_id": "20260101T000000Z-dvc001", "drift_share": 0.2, "current": {"path": str(batch)}}
    (reports / TRIGGER_FILE).write_text(json.dumps(trigger))

    base = ["--tracking-uri", mlflow_server.url, "--model-name", model_name]
    code = main(
        [
            *base,
            "retrain-if-drift",
            "--reports-dir",
            str(reports),
            "--current",
            str(batch),
            "--dvc-repo",
            str(repo),
        ]
    )
    outcome = json.loads(capsys.readouterr().out)
    assert code == 0 and outcome["action"] == "retrained"
    data_hash = outcome["dvc_data_hash"]
    assert data_hash and len(data_hash) == 32
    assert (repo / "data" / "production_batch.csv.dvc").read_text().count(data_hash) == 1
    client = MlflowClient(mlflow_server.url)
    assert client.get_run(outcome["run_id"]).data.tags[DVC_HASH_TAG] == data_hash
    assert client.get_model_version(model_name, outcome["version"]).tags[DVC_HASH_TAG] == data_hash


def test_versioning_needs_a_batch_file(
    tmp_path: Path, mlflow_server, trained_run, params, model_name, capsys
):
    registry = Registry(model_name, mlflow_server.url, params.gate)
    registry.promote(registry.register(trained_run.model_uri, trained_run.run_id), "champion", "baseline")
    trigger = {
        "report_id": "20260101T000000Z-dvc002",
        "drift_share": 0.2,
        "current": {"source": "inference_log"},
    }
    (tmp_path / TRIGGER_FILE).write_text(json.dumps(trigger))
    base = ["--tracking-uri", mlflow_server.url, "--model-name", model_name]
    code = main([*base, "retrain-if-drift", "--reports-dir", str(tmp_path), "--dvc-repo", str(tmp_path)])
    assert code == 1 and "needs the batch as a file" in capsys.readouterr().err
    assert registry.version_for("challenger") is None
