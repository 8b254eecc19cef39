"""A drift check end to end: fetch the reference and the current data, compare them, leave the outputs
(the retrain-and-gate loop a retrain trigger starts lives next to training, in `ml.retrain`).

The reference is the champion's training sample (kept with its MLflow run) or any CSV / Parquet
file; the current data is the API's inference log (last N rows or a time window) or any file. Scores
missing on either side are computed with the champion, so prediction drift is always measured
when a champion can be loaded.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml.artifacts import REFERENCE_ARTIFACT, SCHEMA_ARTIFACT
from ml.config import Params, Settings
from ml.data import DataError, read_csv
from ml.drift.compare import PREDICTION, DriftInputError, compare
from ml.drift.report import (
    build_summary,
    finish_mlflow_run,
    new_report_id,
    render_html,
    start_mlflow_run,
    update_trigger,
    write_report,
)
from ml.schema import FeatureSchema, infer_schema
from ml.stability import assess as assess_stability
from ml.stability import to_html as stability_html

EXIT_NO_DRIFT, EXIT_DRIFT = 0, 3
LOG_COLUMNS = ("ts", "request_id", "model_name", "model_version", "decision")
SAMPLE_SEED = 42


@dataclass
class Side:
    """One side of a comparison: the rows and a JSON-ready description of where they came from."""

    frame: pd.DataFrame
    info: dict[str, Any]
    csv_offset: int | None = None  # a CSV's frame: the data row its first row was (for line numbers)


@dataclass
class Reference(Side):
    schema: FeatureSchema | None = None


@dataclass
class CheckOutcome:
    summary: dict[str, Any]
    paths: dict[str, Path]
    trigger: bool
    mlflow_logged: bool

    @property
    def exit_code(self) -> int:
        return EXIT_DRIFT if self.summary["dataset_drift"] else EXIT_NO_DRIFT


@dataclass
class Champion:
    """The served model version, fetched lazily: most checks never need to score."""

    settings: Settings
    _version: Any = field(default=None, init=False)

    @property
    def version(self) -> Any:
        if self._version is None:
            from mlflow.tracking import MlflowClient

            client = MlflowClient(self.settings.mlflow_tracking_uri, self.settings.mlflow_tracking_uri)
            self._version = client.get_model_version_by_alias(
                self.settings.model_name, self.settings.model_alias
            )
        return self._version

    def describe(self) -> dict[str, Any]:
        return {
            "model_name": self.settings.model_name,
            "model_version": str(self.version.version),
            "run_id": self.version.run_id,
        }

    def download(self, artifact: str, directory: str) -> Path:
        from mlflow.tracking import MlflowClient

        client = MlflowClient(self.settings.mlflow_tracking_uri)
        return Path(client.download_artifacts(self.version.run_id, artifact, directory))

    def scorer(self) -> Callable[[pd.DataFrame], Any]:
        import mlflow
        from mlflow.tracking import MlflowClient

        from ml.scoring import ScoringModel

        # Resolve the version's storage location with an explicit client: a `models:/` URI would be
        # resolved against the process-wide registry URI, which training may have pointed elsewhere.
        client = MlflowClient(self.settings.mlflow_tracking_uri, self.settings.mlflow_tracking_uri)
        uri = client.get_model_version_download_uri(self.settings.model_name, str(self.version.version))
        with tempfile.TemporaryDirectory() as tmp:
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=uri, dst_path=tmp, tracking_uri=self.settings.mlflow_tracking_uri
            )
            return ScoringModel.load(local).predict_frame


def _warn(message: str) -> None:
    print(f"[drift] warning: {message}", file=sys.stderr, flush=True)


def read_table(path: str | Path) -> pd.DataFrame:
    """A CSV (malformed lines name their line) or a Parquet file, text columns read as categoricals."""
    path = Path(path)
    if path.suffix.lower() != ".parquet":
        return read_csv(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pandas(strings_to_categorical=True)


def load_reference(path: str | None, champion: Champion, params: Params, rows: int | None) -> Reference:
    """The champion's reference sample and schema, or a file (its schema inferred from it)."""
    if path:
        frame = read_table(path)
        features = frame.drop(columns=[c for c in (PREDICTION,) if c in frame.columns])
        id_column = params.data.id_column if params.data.id_column in frame.columns else None
        schema = infer_schema(features, params.data.target, id_column)
        info: dict[str, Any] = {"source": "file", "path": str(path), "description": f"file {path}"}
    else:
        with tempfile.TemporaryDirectory() as tmp:
            frame = read_table(champion.download(REFERENCE_ARTIFACT, tmp))
            schema = FeatureSchema.load(champion.download(SCHEMA_ARTIFACT, tmp))
        info = {"source": "champion", **champion.describe()}
        info["description"] = f"{info['model_name']} v{info['model_version']} training sample"
    info["rows_available"] = len(frame)
    if rows and len(frame) > rows:
        frame = frame.sample(n=rows, random_state=SAMPLE_SEED).reset_index(drop=True)
    return Reference(frame, info, schema=schema)


def _log_window(frame: pd.DataFrame, since: datetime | None, until: datetime | None) -> dict[str, Any]:
    iso = [None if t is None else t.isoformat() for t in (since, until)]
    return {
        "since": iso[0],
        "until": iso[1],
        "first": frame["ts"].min().isoformat(),
        "last": frame["ts"].max().isoformat(),
    }


def load_current(
    path: str | None,
    database_url: str | None,
    last_n: int | None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Side:
    """A file (its last `last_n` rows), or the inference log (its last `last_n` rows in the window)."""
    if path:
        frame = read_table(path)
        skipped = max(len(frame) - last_n, 0) if last_n else 0
        frame = frame.iloc[skipped:].reset_index(drop=True)
        if PREDICTION not in frame.columns and "probability" in frame.columns:
            frame = frame.rename(columns={"probability": PREDICTION})
        info = {"source": "file", "path": str(path), "description": f"file {path}"}
        return Side(frame, info, skipped if Path(path).suffix.lower() != ".parquet" else None)
    from sqlalchemy.engine import make_url

    from ml.inference_log import normalize_database_url, read_inference_log

    url = normalize_database_url(database_url or os.environ.get("DATABASE_URL"))
    shown = make_url(url).render_as_string(hide_password=True)
    frame = read_inference_log(url, last_n=last_n, since=since, until=until)
    if frame.empty:
        window = f" between {since or 'the start'} and {until or 'now'}" if since or until else ""
        raise DriftInputError(f"the inference log at {shown} has no rows{window}: nothing to compare")
    versions = frame["model_version"].astype(str).value_counts().to_dict()
    info = {
        "source": "inference_log",
        "database": shown,
        "last_n": last_n,
        "window": _log_window(frame, since, until),
        "model_versions": versions,
        "description": f"inference log ({shown})",
    }
    frame = frame.drop(columns=list(LOG_COLUMNS)).rename(columns={"probability": PREDICTION})
    return Side(frame, info)


def _fill_omitted(current: Side, schema: FeatureSchema) -> None:
    """The API logs only the features a client sent: a feature absent from the whole window was missing
    in every row. A log sharing no feature with the model is another model's log, not missing data."""
    absent = [name for name in schema.names() if name not in current.frame.columns]
    if len(absent) == len(schema.features):
        raise DriftInputError(
            "mismatched columns: the inference log holds none of the model's features "
            f"({', '.join(absent[:5])}, ...); was it written by another model?"
        )
    for name in absent:
        current.frame[name] = np.nan


def _add_scores(sides: list[Side], champion: Champion) -> None:
    """Score the sides that have no score column with the champion; skip (with a warning) if impossible."""
    missing = [side for side in sides if PREDICTION not in side.frame.columns]
    if not missing:
        return
    try:
        score = champion.scorer()
        version = champion.describe()["model_version"]
    except Exception as exc:  # no champion to score with: no prediction drift
        _warn(f"no scores and no champion to compute them ({exc}): prediction drift is not measured")
        return
    for side in missing:
        side.frame[PREDICTION] = score(side.frame)
        side.info["scored_by"] = f"champion v{version}"


def run_check(
    params: Params,
    settings: Settings,
    reports_dir: Path,
    reference_path: str | None = None,
    current_path: str | None = None,
    database_url: str | None = None,
    last_n: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    reference_rows: int | None = None,
    report_id: str | None = None,
) -> CheckOutcome:
    """Compare, then write the report, the trigger and the MLflow run; raise before writing anything."""
    if current_path is None and last_n is None and since is None and until is None:
        last_n = params.drift.current_rows
    champion = Champion(settings)
    reference = load_reference(
        reference_path, champion, params, reference_rows or params.drift.reference_rows
    )
    current = load_current(current_path, database_url, last_n, since, until)
    if current.info["source"] == "inference_log":
        _fill_omitted(current, reference.schema)
    _add_scores([reference, current], champion)
    result = compare(reference.frame, current.frame, reference.schema, params.drift, current.csv_offset)
    report_id = report_id or new_report_id()
    run_id = start_mlflow_run(settings.mlflow_tracking_uri, settings.monitoring_experiment_name, report_id)
    summary = build_summary(result, report_id, reference.info, current.info, run_id)
    stability = assess_stability(
        reference.frame,
        current.frame,
        reference.schema,
        params.stability,
        reference.frame.get(PREDICTION),
        current.frame.get(PREDICTION),
    )
    summary["stability"] = stability.as_dict()
    paths = write_report(reports_dir, summary, render_html(result, summary, stability_html(stability)))
    trigger = update_trigger(reports_dir, summary)
    logged = bool(run_id) and finish_mlflow_run(settings.mlflow_tracking_uri, run_id, summary, paths)
    return CheckOutcome(summary, paths, trigger, logged)
