"""Training: validate, split, fit LightGBM with early stopping, evaluate, log everything to MLflow."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import lightgbm as lgb
import matplotlib.pyplot as plt
import mlflow
import numpy as np
import pandas as pd
from mlflow.models import infer_signature
from sklearn.model_selection import train_test_split
from tqdm.auto import tqdm

from ml import fairness, plots
from ml.artifacts import (
    CALIBRATION_ARTIFACT,
    DATA_SUMMARY_ARTIFACT,
    DATA_VALIDATION_ARTIFACT,
    FAIRNESS_ARTIFACT,
    FAIRNESS_TABLE_ARTIFACT,
    IMPORTANCE_ARTIFACT,
    MODEL_META_ARTIFACT,
    PARAMS_ARTIFACT,
    PR_ARTIFACT,
    REFERENCE_ARTIFACT_DIR,
    REFERENCE_FILE,
    ROC_ARTIFACT,
    SCHEMA_ARTIFACT,
    SCORE_COLUMN,
    SCORING_ARTIFACT,
    TEST_SCORES_ARTIFACT,
)
from ml.config import PROJECT_ROOT, Params, Settings
from ml.data import Dataset
from ml.evaluate import approved_metrics, best_threshold, calibration, evaluate, pr_points, roc_points
from ml.features import FeatureBuilder
from ml.performance import CALIBRATION_TAG
from ml.pyfunc_model import CreditScoringPyfunc
from ml.schema import FeatureSchema, encode_frame, infer_schema
from ml.scoring import ModelMeta, ScoringModel
from ml.validate import ValidationReport, validate_frame

_SERVING_PACKAGES = ("lightgbm", "numpy", "pandas", "scipy", "pydantic", "pyyaml", "pydantic-settings")


class InvalidDataError(ValueError):
    """Training refused: the data failed validation. `report` says why, with line numbers."""

    def __init__(self, report: ValidationReport) -> None:
        super().__init__(report.describe())
        self.report = report


@dataclass(frozen=True)
class TrainResult:
    run_id: str
    model_uri: str
    metrics: dict[str, float]
    threshold: float
    best_iteration: int


def _log(message: str, quiet: bool) -> None:
    if not quiet:
        print(f"[train] {message}", file=sys.stderr, flush=True)


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _progress_callback(bar: tqdm) -> lgb.callback:
    def callback(env: lgb.callback.CallbackEnv) -> None:
        bar.update(1)
        if env.evaluation_result_list and env.iteration % 10 == 0:
            bar.set_postfix(valid_auc=f"{env.evaluation_result_list[0][2]:.4f}")

    return callback


def split_frame(frame: pd.DataFrame, target: str, params: Params) -> tuple[pd.DataFrame, ...]:
    """Stratified train / validation / test split."""
    holdout = params.split.valid_size + params.split.test_size
    train, rest = train_test_split(
        frame, test_size=holdout, stratify=frame[target], random_state=params.split.seed
    )
    valid, test = train_test_split(
        rest,
        test_size=params.split.test_size / holdout,
        stratify=rest[target],
        random_state=params.split.seed,
    )
    return train, valid, test


def _fit(
    schema: FeatureSchema, train: pd.DataFrame, valid: pd.DataFrame, params: Params, quiet: bool
) -> lgb.Booster:
    target = schema.target
    builder = FeatureBuilder(schema)
    train_set = lgb.Dataset(
        builder.build(encode_frame(train, schema)),
        label=train[target].to_numpy(),
        feature_name=builder.feature_names,
        categorical_feature=builder.categorical_indices,
        free_raw_data=True,
    )
    valid_set = train_set.create_valid(
        builder.build(encode_frame(valid, schema)), label=valid[target].to_numpy()
    )
    lgb_params = {"metric": "auc", **params.train.lightgbm}
    if params.train.monotone:
        lgb_params["monotone_constraints"] = [params.train.monotone.get(n, 0) for n in builder.feature_names]
    with tqdm(
        total=params.train.num_boost_round, desc="boosting", unit="tree", disable=quiet, file=sys.stderr
    ) as bar:
        return lgb.train(
            lgb_params,
            train_set,
            num_boost_round=params.train.num_boost_round,
            valid_sets=[valid_set],
            valid_names=["valid"],
            callbacks=[
                lgb.early_stopping(params.train.early_stopping_rounds, verbose=False),
                _progress_callback(bar),
            ],
        )


def _reference_sample(train: pd.DataFrame, model: ScoringModel, rows: int, seed: int) -> pd.DataFrame:
    """Training rows (raw features + target + the model's score) kept for drift checks."""
    sample = train.sample(n=min(rows, len(train)), random_state=seed)
    columns = [*model.schema.names(), model.schema.target]
    reference = sample[columns].reset_index(drop=True)
    reference[SCORE_COLUMN] = model.predict_frame(reference)
    return reference


def _log_figures(y_test: np.ndarray, test_scores: np.ndarray, threshold: float, booster: lgb.Booster) -> None:
    figures = {
        "plots/roc_curve.png": plots.roc_figure(y_test, test_scores),
        "plots/pr_curve.png": plots.pr_figure(y_test, test_scores),
        "plots/confusion_matrix.png": plots.confusion_figure(y_test, test_scores, threshold),
        "plots/feature_importance.png": plots.importance_figure(
            booster.feature_name(), booster.feature_importance(importance_type="gain")
        ),
        "plots/score_distribution.png": plots.score_distribution_figure(y_test, test_scores, threshold),
    }
    for path, figure in figures.items():
        mlflow.log_figure(figure, path)
        plt.close(figure)


def _date_range(frame: pd.DataFrame) -> list[str] | None:
    """First and last date of the data's first date column, if it has one (Home Credit has none)."""
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            dates = frame[column].dropna()
            if len(dates):
                return [str(dates.min()), str(dates.max())]
    return None


def _log_evaluation(
    test: pd.DataFrame,
    target: np.ndarray,
    test_scores: np.ndarray,
    threshold: float,
    booster: lgb.Booster,
    params: Params,
    tmp: Path,
) -> list[fairness.AttributeFairness]:
    """What the validation report and the fairness gate read back: fairness figures and table, the
    test scores (with the protected columns), feature importance and the full parameters."""
    results = fairness.assess(test, target, test_scores, threshold, params.fairness)
    mlflow.log_metrics(fairness.as_metrics(results))
    mlflow.log_dict([result.as_dict() for result in results], FAIRNESS_ARTIFACT)
    mlflow.log_text(fairness.as_table(results).to_csv(index=False), FAIRNESS_TABLE_ARTIFACT)
    protected = [c for c in params.fairness.protected if c in test.columns]
    scores = test[protected].reset_index(drop=True).assign(target=target, prediction=test_scores)
    path = tmp / Path(TEST_SCORES_ARTIFACT).name
    scores.to_parquet(path)
    mlflow.log_artifact(str(path), str(Path(TEST_SCORES_ARTIFACT).parent))
    gains = booster.feature_importance(importance_type="gain")
    mlflow.log_dict(dict(zip(booster.feature_name(), map(float, gains), strict=True)), IMPORTANCE_ARTIFACT)
    mlflow.log_dict(params.model_dump(mode="json"), PARAMS_ARTIFACT)
    return results


def _as_float(frame: pd.DataFrame, schema: FeatureSchema) -> pd.DataFrame:
    """Numeric inputs as doubles in the signature, so a missing value is never a schema error."""
    numeric = [spec.name for spec in schema.features if spec.kind == "numeric"]
    return frame.astype(dict.fromkeys(numeric, "float64"))


def _log_model(model: ScoringModel, example: pd.DataFrame, workdir: Path) -> str:
    scoring_dir = workdir / SCORING_ARTIFACT
    model.save(scoring_dir)
    output = CreditScoringPyfunc()
    output.model = model
    signature = infer_signature(example, output.predict(None, example))
    requirements = [f"{name}=={metadata.version(name)}" for name in _SERVING_PACKAGES]
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=str(PROJECT_ROOT / "ml" / "pyfunc_model.py"),
        artifacts={SCORING_ARTIFACT: str(scoring_dir)},
        code_paths=[str(PROJECT_ROOT / "ml")],
        signature=signature,
        input_example=example,
        pip_requirements=requirements,
    )
    return info.model_uri


def train_model(dataset: Dataset, params: Params, settings: Settings, quiet: bool = False) -> TrainResult:
    """Train and evaluate on `dataset`, log the run to MLflow; refuse invalid data."""
    frame, target = dataset.frame, dataset.target
    report = validate_frame(frame, target, dataset.id_column, params.validation)
    if not report.ok:
        raise InvalidDataError(report)
    frame = frame.drop(columns=report.dropped_columns)
    frame[target] = frame[target].astype(int)
    _log(f"{len(frame)} rows validated; splitting", quiet)
    train, valid, test = split_frame(frame, target, params)
    schema = infer_schema(train, target, dataset.id_column)
    commit = _git_commit()

    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    mlflow.set_experiment(settings.experiment_name)
    with mlflow.start_run() as run, tempfile.TemporaryDirectory() as tmp:
        mlflow.set_tags(
            {
                "git_commit": commit,
                "mlflow.source.git.commit": commit,
                "data_source": dataset.source,
                "data_hash": dataset.data_hash,
            }
        )
        mlflow.log_params(
            {
                **{f"lgb_{k}": v for k, v in params.train.lightgbm.items()},
                "num_boost_round": params.train.num_boost_round,
                "early_stopping_rounds": params.train.early_stopping_rounds,
                "cost_false_negative": params.cost.false_negative,
                "cost_false_positive": params.cost.false_positive,
                "rows": len(frame),
                "features": len(schema.features),
                "data_hash": dataset.data_hash[:16],
            }
        )
        mlflow.log_text(report.describe(), DATA_VALIDATION_ARTIFACT)
        _log(f"training on {len(train)} rows, {len(schema.features)} features", quiet)
        booster = _fit(schema, train, valid, params, quiet)
        scorer = ScoringModel(booster, schema, ModelMeta(threshold=0.5))

        valid_scores = scorer.predict_frame(valid)
        threshold = best_threshold(valid[target].to_numpy(), valid_scores, params.cost)
        test_scores = scorer.predict_frame(test)
        y_test = test[target].to_numpy()
        test_metrics = evaluate(y_test, test_scores, threshold, params.cost)
        valid_metrics = evaluate(valid[target].to_numpy(), valid_scores, threshold, params.cost)
        test_calibration = calibration(y_test, test_scores)
        metrics = {
            **{f"test_{k}": v for k, v in test_metrics.items()},
            **{
                f"test_approved_{k}": v
                for k, v in approved_metrics(y_test, test_scores, threshold, params.cost).items()
            },
            "test_ece": test_calibration["ece"],
            **{f"valid_{k}": v for k, v in valid_metrics.items()},
            "threshold": threshold,
            "best_iteration": float(booster.best_iteration),
        }
        mlflow.log_metrics(metrics)
        _log(f"test AUC {test_metrics['roc_auc']:.4f}, threshold {threshold:.4f}; logging artifacts", quiet)

        meta = ModelMeta(
            threshold=threshold,
            metrics=metrics,
            run_id=run.info.run_id,
            trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
            data_hash=dataset.data_hash,
        )
        model = ScoringModel(booster, schema, meta)
        _log_figures(y_test, test_scores, threshold, booster)
        mlflow.log_dict(roc_points(y_test, test_scores), ROC_ARTIFACT)
        mlflow.log_dict(pr_points(y_test, test_scores), PR_ARTIFACT)
        mlflow.log_dict(test_calibration, CALIBRATION_ARTIFACT)
        mlflow.set_tag(CALIBRATION_TAG, json.dumps(test_calibration, separators=(",", ":")))
        _log_evaluation(test, y_test, test_scores, threshold, booster, params, Path(tmp))
        mlflow.log_dict(
            {
                "source": dataset.source,
                "data_hash": dataset.data_hash,
                "rows": {"train": len(train), "valid": len(valid), "test": len(test)},
                "target_rate": {
                    "train": float(train[target].mean()),
                    "valid": float(valid[target].mean()),
                    "test": float(test[target].mean()),
                },
                "date_range": _date_range(frame),
            },
            DATA_SUMMARY_ARTIFACT,
        )
        mlflow.log_dict(schema.model_dump(), SCHEMA_ARTIFACT)
        reference_path = Path(tmp) / REFERENCE_FILE
        _reference_sample(train, model, params.reference.rows, params.split.seed).to_parquet(reference_path)
        mlflow.log_artifact(str(reference_path), REFERENCE_ARTIFACT_DIR)
        example = _as_float(test[schema.names()].head(5), schema)
        model_uri = _log_model(model, example, Path(tmp))
        mlflow.log_text(json.dumps(model.meta.__dict__, indent=2), MODEL_META_ARTIFACT)
    _log(
        f"run {run.info.run_id} logged to {settings.mlflow_tracking_uri} (experiment {settings.experiment_name})",
        quiet,
    )
    return TrainResult(run.info.run_id, model_uri, metrics, threshold, booster.best_iteration)
