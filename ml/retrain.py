"""Retrain when drift says so: a candidate trained on fresh data, registered as challenger and gated;
with `promote`, made champion when the gate passes (the retrain trigger is then removed)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from ml.config import Params, Settings
from ml.data import Dataset, frame_hash
from ml.drift.check import Champion, load_reference, read_table
from ml.drift.compare import DriftInputError
from ml.drift.report import TRIGGER_FILE, read_trigger
from ml.schema import FeatureSchema


def _labelled(frame: pd.DataFrame, schema: FeatureSchema, label: str) -> pd.DataFrame:
    columns = [*schema.names(), schema.target]
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise DriftInputError(f"the {label} lacks {', '.join(absent[:10])}: it cannot be used for training")
    return frame[columns]


def retraining_data(
    trigger: dict[str, Any],
    champion: Champion,
    params: Params,
    data_path: str | None,
    current_path: str | None,
) -> Dataset:
    """`data_path` as is, or the champion's reference sample plus the labelled current batch."""
    from ml.data import load_dataset

    if data_path:
        dataset = load_dataset(data_path, params.data.target)
        if params.data.id_column in dataset.frame.columns:
            dataset = replace(dataset, id_column=params.data.id_column)
        return dataset
    current_path = current_path or trigger.get("current", {}).get("path")
    if not current_path:
        raise DriftInputError(
            "the drift was found in the inference log, which has no labels: "
            "pass --data (a labelled training CSV) or --current (the labelled batch)"
        )
    reference = load_reference(None, champion, params, None)
    schema = reference.schema
    batch = _labelled(read_table(current_path), schema, f"current batch {current_path}")
    frame = pd.concat([_labelled(reference.frame, schema, "reference sample"), batch], ignore_index=True)
    source = f"{reference.info['description']} + {current_path}"
    return Dataset(frame, schema.target, None, source=source, data_hash=frame_hash(frame))


def _version_batch(path: str | None, dvc_repo: str) -> str:
    """DVC-version the batch behind a retraining; it must be a file (not the inference log)."""
    from ml.data_version import version_with_dvc

    if not path:
        raise ValueError("versioning data with DVC needs the batch as a file: pass --current or --data")
    return version_with_dvc(path, dvc_repo)


def retrain_if_drift(
    params: Params,
    settings: Settings,
    reports_dir: Path,
    data_path: str | None = None,
    current_path: str | None = None,
    promote: bool = False,
    who: str | None = None,
    dvc_repo: str | None = None,
) -> dict[str, Any]:
    """Train a candidate when the trigger is present, register it as challenger and run the gate;
    with `promote`, make it champion when the gate passes (the trigger is then removed).

    With `dvc_repo`, the batch file is first versioned with DVC (add + push) and its hash recorded
    on the run and the version, so the model can be traced to the exact data.
    """
    from ml.registry import CHALLENGER, CHAMPION, Registry, as_dict
    from ml.train import train_model
    from ml.validation_report import register_version

    trigger = read_trigger(reports_dir)
    if trigger is None:
        return {"action": "none", "reason": f"no retrain trigger in {reports_dir}"}
    data_hash = _version_batch(current_path or data_path, dvc_repo) if dvc_repo else None
    champion = Champion(settings)
    dataset = retraining_data(trigger, champion, params, data_path, current_path)
    result = train_model(dataset, params, settings, quiet=True)
    registry = Registry(settings.model_name, settings.mlflow_tracking_uri, params.gate)
    why = f"retrained after drift report {trigger['report_id']} (drift share {trigger['drift_share']:.1%})"
    tags = {"drift_report": trigger["report_id"]}
    if data_hash:
        from ml.data_version import DVC_HASH_TAG, record_dvc_hash

        record_dvc_hash(result.run_id, data_hash, settings.mlflow_tracking_uri)
        tags[DVC_HASH_TAG] = data_hash
    version = register_version(registry, result.model_uri, result.run_id, params, tags=tags)
    registry.promote(version, CHALLENGER, why, who)
    verdict = registry.check_gate(version)
    outcome: dict[str, Any] = {
        "action": "retrained",
        "trigger": trigger["report_id"],
        "training_data": dataset.source,
        "rows": len(dataset.frame),
        "run_id": result.run_id,
        "version": version,
        "alias": CHALLENGER,
        "test_roc_auc": result.metrics.get("test_roc_auc"),
        "gate": as_dict(verdict),
        "promoted": False,
        "dvc_data_hash": data_hash,
    }
    if promote and verdict.passed:
        registry.promote(version, CHAMPION, why, who)
        (reports_dir / TRIGGER_FILE).unlink(missing_ok=True)
        outcome.update(promoted=True, alias=CHAMPION)
    return outcome
