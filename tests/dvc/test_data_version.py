"""Versioning a drifted production batch with DVC: add, push to the local remote, pull back intact."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from ml.data_version import DVC_HASH_TAG, DataVersioningError, version_with_dvc
from ml.drift.batches import make_production_batch
from ml.generate import generate_applications
from tests.dvc.dvc_helpers import ROOT, dvc, dvc_env, git, make_repo

pytest.importorskip("dvc", reason="dvc is not installed (`make setup-dvc`): DVC versioning tests skipped")


@pytest.fixture
def repo(tmp_path: Path, mlflow_server) -> Path:
    return make_repo(tmp_path / "project", dvc_env(mlflow_server.url))


@pytest.fixture
def batch(repo: Path) -> Path:
    path = repo / "data" / "production_batch.csv"
    make_production_batch(generate_applications(500, seed=3), intensity=1.0).to_csv(path, index=False)
    return path


def test_versioned_batch_is_pushed_and_pulled_back_byte_identical(repo: Path, batch: Path, mlflow_server):
    env = dvc_env(mlflow_server.url)
    original = batch.read_bytes()

    data_hash = version_with_dvc(batch, repo)

    assert data_hash == hashlib.md5(original).hexdigest()
    pushed = repo / ".dvc" / "storage" / "files" / "md5" / data_hash[:2] / data_hash[2:]
    assert pushed.read_bytes() == original
    status = git(["status", "--porcelain", "--untracked-files=all"], repo, env)
    assert status.split() == ["??", "data/production_batch.csv.dvc"]  # the batch itself stays ignored

    batch.unlink()
    shutil.rmtree(repo / ".dvc" / "cache")
    dvc(["pull", "data/production_batch.csv.dvc"], repo, env)

    assert batch.read_bytes() == original


def test_version_data_cli_tags_the_training_run(repo: Path, batch: Path, mlflow_server):
    client = MlflowClient(mlflow_server.url)
    experiment = client.get_experiment_by_name("dvc-versioning-tests") or client.get_experiment(
        client.create_experiment("dvc-versioning-tests")
    )
    run_id = client.create_run(experiment.experiment_id).info.run_id
    command = [sys.executable, "-m", "ml", "--tracking-uri", mlflow_server.url, "version-data", str(batch)]
    result = subprocess.run(
        [*command, "--repo", str(repo), "--run-id", run_id], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["dvc_data_hash"] == hashlib.md5(batch.read_bytes()).hexdigest()
    assert client.get_run(run_id).data.tags[DVC_HASH_TAG] == printed["dvc_data_hash"]


def test_the_run_tag_alone_gets_the_batch_back(repo: Path, batch: Path, mlflow_server):
    """The recipe in docs/dvc.md: a .dvc file written from the tag's hash, then `dvc pull`."""
    env = dvc_env(mlflow_server.url)
    original = batch.read_bytes()
    data_hash = version_with_dvc(batch, repo)
    batch.unlink()
    batch.with_name(batch.name + ".dvc").unlink()
    shutil.rmtree(repo / ".dvc" / "cache")

    restored = repo / "data" / "restored.csv"
    restored.with_name("restored.csv.dvc").write_text(
        f"outs:\n- md5: {data_hash}\n  hash: md5\n  path: restored.csv\n"
    )
    dvc(["pull", "data/restored.csv.dvc"], repo, env)

    assert restored.read_bytes() == original


def test_versioning_outside_a_dvc_repository_says_why(tmp_path: Path):
    path = tmp_path / "batch.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(DataVersioningError, match="dvc add"):
        version_with_dvc(path, tmp_path)
