"""The steps `dvc.yaml` needs on top of the plain CLI: a data file, a model on disk, evaluation files.

DVC tracks files, not MLflow runs, so training also leaves the scoring model and its held-out test
split in a directory, and evaluation turns them into `metrics.json` and plot data in DVC's formats.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import metrics

from ml.config import CostParams, Params, Settings
from ml.data import Dataset
from ml.evaluate import evaluate, roc_points
from ml.generate import generate_applications
from ml.scoring import ScoringModel
from ml.train import TrainResult, split_frame

TEST_SPLIT_FILE = "test.parquet"
ROC_FILE, PR_FILE, CONFUSION_FILE = "roc.json", "prc.json", "confusion.csv"
CLASS_LABELS = ("repaid", "default")  # predicted "default" = refused
MAX_CURVE_POINTS = 200


def prepare_data(output: Path, source: str | None, rows: int, seed: int) -> int:
    """Write the pipeline's training CSV: a copy of `source` (e.g. application_train.csv) or generated rows.

    Returns the number of bytes written; checking the content is the validate stage's job.
    """
    output.parent.mkdir(parents=True, exist_ok=True)
    if source:
        shutil.copyfile(source, output)
    else:
        generate_applications(rows, seed).to_csv(output, index=False)
    return output.stat().st_size


def held_out_test(dataset: Dataset, params: Params) -> pd.DataFrame:
    """The test rows `train_model` held out: the same seeded, stratified split of the same frame."""
    frame = dataset.frame.copy()
    frame[dataset.target] = frame[dataset.target].astype(int)
    return split_frame(frame, dataset.target, params)[2]


def save_model_dir(
    result: TrainResult, dataset: Dataset, params: Params, settings: Settings, out: Path
) -> None:
    """Save the run's scoring model (as logged in MLflow) and its test split under `out`."""
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=result.model_uri, dst_path=tmp, tracking_uri=settings.mlflow_tracking_uri
        )
        model = ScoringModel.load(local)
    model.save(out)
    test = held_out_test(dataset, params)
    test[[*model.schema.names(), model.schema.target]].to_parquet(out / TEST_SPLIT_FILE, index=False)


def _thinned(*columns: np.ndarray) -> list[np.ndarray]:
    keep = np.unique(np.linspace(0, len(columns[0]) - 1, min(MAX_CURVE_POINTS, len(columns[0]))).astype(int))
    return [column[keep].round(5) for column in columns]


def _write_plots(y_true: np.ndarray, scores: np.ndarray, threshold: float, plots_dir: Path) -> None:
    """ROC and PR points as DVC JSON plots; one actual/predicted row per client for the confusion plot."""
    plots_dir.mkdir(parents=True, exist_ok=True)
    roc = roc_points(y_true, scores, MAX_CURVE_POINTS)
    roc_rows = [{"fpr": f, "tpr": t} for f, t in zip(roc["fpr"], roc["tpr"], strict=True)]
    (plots_dir / ROC_FILE).write_text(json.dumps({"roc": roc_rows}) + "\n")
    precision, recall, _ = metrics.precision_recall_curve(y_true, scores)
    precision, recall = _thinned(precision, recall)
    pr_rows = [
        {"recall": r, "precision": p} for r, p in zip(recall.tolist(), precision.tolist(), strict=True)
    ]
    (plots_dir / PR_FILE).write_text(json.dumps({"prc": pr_rows}) + "\n")
    labels = np.array(CLASS_LABELS)
    confusion = pd.DataFrame(
        {"actual": labels[y_true.astype(int)], "predicted": labels[(scores >= threshold).astype(int)]}
    )
    confusion.to_csv(plots_dir / CONFUSION_FILE, index=False)


def evaluate_model_dir(
    model_dir: Path, cost: CostParams, metrics_out: Path, plots_dir: Path
) -> dict[str, float]:
    """Score the saved test split; write `metrics_out` (JSON) and the plot files into `plots_dir`."""
    model = ScoringModel.load(model_dir)
    test = pd.read_parquet(model_dir / TEST_SPLIT_FILE)
    y_true = test[model.schema.target].to_numpy()
    scores = model.predict_frame(test)
    threshold = model.meta.threshold
    results = {
        **{name: round(value, 6) for name, value in evaluate(y_true, scores, threshold, cost).items()},
        "threshold": round(threshold, 6),
        "best_iteration": int(model.meta.metrics["best_iteration"]),
        "test_rows": len(test),
    }
    metrics_out.parent.mkdir(parents=True, exist_ok=True)
    metrics_out.write_text(json.dumps(results, indent=2) + "\n")
    _write_plots(y_true, scores, threshold, plots_dir)
    return results
