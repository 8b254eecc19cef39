"""`dvc repro` over the project's dvc.yaml, in a throwaway repository, training into a real MLflow server.

One full run is shared by the module; the test that changes a parameter works on a copy of it.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.dvc.dvc_helpers import dvc, dvc_env, git, make_repo, set_param, stages_run

pytest.importorskip("dvc", reason="dvc is not installed (`make setup-dvc`): DVC pipeline tests skipped")

STAGES = ["data", "validate", "train", "evaluate"]


@dataclass(frozen=True)
class Reproduced:
    repo: Path
    env: dict[str, str]
    output: str
    git_status: str
    tracking_uri: str


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory: pytest.TempPathFactory, mlflow_server) -> Reproduced:
    """The pipeline run once from scratch, then committed with its dvc.lock."""
    env = dvc_env(mlflow_server.url)
    repo = make_repo(tmp_path_factory.mktemp("dvc-pipeline") / "project", env)
    output = dvc(["repro"], repo, env)
    status = git(["status", "--porcelain", "--untracked-files=all"], repo, env)
    git(["add", "dvc.lock"], repo, env)
    git(["commit", "-q", "-m", "first repro"], repo, env)
    return Reproduced(repo, env, output, status, mlflow_server.url)


def test_repro_runs_every_stage_and_writes_dvc_metrics_and_plots(reproduced: Reproduced):
    assert stages_run(reproduced.output) == STAGES
    repo = reproduced.repo
    for path in ("data/application_train.csv", "reports/validation.txt", "model/booster.txt"):
        assert (repo / path).exists(), path
    assert "valid" in (repo / "reports/validation.txt").read_text()
    shown = json.loads(dvc(["metrics", "show", "--json"], repo, reproduced.env))
    metrics = shown[""]["data"]["metrics.json"]["data"]
    assert {"roc_auc", "pr_auc", "business_cost", "threshold", "best_iteration"} <= set(metrics)
    assert metrics["roc_auc"] > 0.6
    html = repo.parent / "plots-html"
    dvc(["plots", "show", "-o", str(html)], repo, reproduced.env)
    page = (html / "index.html").read_text()
    for title in ("ROC curve", "Precision-recall curve", "Confusion matrix"):
        assert title in page


def test_repro_outputs_are_all_ignored_by_git(reproduced: Reproduced):
    """With the documented .gitignore lines, DVC adds no .gitignore of its own: only dvc.lock is new."""
    assert reproduced.git_status.split() == ["??", "dvc.lock"]


def test_training_inside_repro_logs_to_mlflow_and_evaluate_uses_its_test_split(reproduced: Reproduced):
    meta = json.loads((reproduced.repo / "model/model_meta.json").read_text())
    run = MlflowClient(reproduced.tracking_uri).get_run(meta["run_id"])
    metrics = json.loads((reproduced.repo / "metrics.json").read_text())
    assert run.data.metrics["test_roc_auc"] == pytest.approx(metrics["roc_auc"], abs=1e-6)
    assert run.data.metrics["test_business_cost"] == pytest.approx(metrics["business_cost"], abs=1e-6)
    assert run.data.params["rows"] == "3000"


def test_second_repro_does_nothing(reproduced: Reproduced):
    output = dvc(["repro"], reproduced.repo, reproduced.env)
    assert stages_run(output) == []
    assert "Data and pipelines are up to date" in output


def test_parameter_change_reruns_only_train_and_evaluate(reproduced: Reproduced, tmp_path: Path):
    repo = tmp_path / "project"
    shutil.copytree(reproduced.repo, repo, symlinks=True)
    set_param(repo, ("train", "lightgbm", "learning_rate"), 0.3)

    output = dvc(["repro"], repo, reproduced.env)

    assert stages_run(output) == ["train", "evaluate"]
    params = json.loads(dvc(["params", "diff", "--json"], repo, reproduced.env))
    changed = params["params.yaml"]["train.lightgbm.learning_rate"]
    assert (changed["old"], changed["new"]) == (0.05, 0.3)
    diff = json.loads(dvc(["metrics", "diff", "--json"], repo, reproduced.env))["metrics.json"]
    assert diff["roc_auc"]["old"] != diff["roc_auc"]["new"]
    assert diff["roc_auc"]["diff"] == pytest.approx(diff["roc_auc"]["new"] - diff["roc_auc"]["old"])
    plots = json.loads(dvc(["plots", "diff", "--json"], repo, reproduced.env))
    assert set(plots["data"]["plots/roc.json"][0]["revisions"]) == {"HEAD", "workspace"}
