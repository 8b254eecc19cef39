"""Read-only views of MLflow for the console: training runs, drift-check runs and their artifacts.

The console writes nothing here (registry changes go through the API). Results are cached for a
short time so that paging around does not hammer a sleeping MLflow, and failures become
`MlflowUnavailableError` with a message fit for an operator.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import pandas as pd
import streamlit as st

# MLflow's HTTP client retries for minutes by default; a console page must fail within seconds.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")

from mlflow.tracking import MlflowClient  # noqa: E402 - after the retry settings above

from app.errors import SourceUnavailableError  # noqa: E402
from ml.artifacts import PR_ARTIFACT, ROC_ARTIFACT  # noqa: E402
from ml.artifacts import VALIDATION_REPORT_HTML as VALIDATION_REPORT  # noqa: E402

TTL_S = 30
MAX_RUNS = 200

P = ParamSpec("P")
R = TypeVar("R")


class MlflowUnavailableError(SourceUnavailableError):
    """MLflow could not be read; the message says where and what to do."""


def _friendly(func: Callable[P, R]) -> Callable[P, R]:
    """Turn any failure of the MLflow client (HTTP, parsing, missing experiment) into one clear error."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except MlflowUnavailableError:
            raise
        except Exception as exc:  # the MLflow client raises many types; the operator needs one message
            first_line = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
            raise MlflowUnavailableError(f"MLflow could not be read ({first_line}).") from exc

    return wrapper


def _client(tracking_uri: str) -> MlflowClient:
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def _runs_frame(tracking_uri: str, experiment_name: str) -> pd.DataFrame:
    """One row per finished run: id, name, start time, then `metric.*`, `param.*` columns."""
    client = _client(tracking_uri)
    experiment = client.get_experiment_by_name(experiment_name)
    if experiment is None:
        return pd.DataFrame()
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string="attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=MAX_RUNS,
    )
    rows = []
    for run in runs:
        row: dict[str, Any] = {
            "run_id": run.info.run_id,
            "experiment_id": run.info.experiment_id,
            "run_name": run.info.run_name,
            "start_time": pd.to_datetime(run.info.start_time, unit="ms", utc=True),
        }
        row.update({f"metric.{k}": v for k, v in run.data.metrics.items()})
        row.update({f"param.{k}": v for k, v in run.data.params.items()})
        row.update({f"tag.{k}": v for k, v in run.data.tags.items() if not k.startswith("mlflow.")})
        rows.append(row)
    return pd.DataFrame(rows)


@st.cache_data(ttl=TTL_S, show_spinner="Reading runs from MLflow...")
@_friendly
def runs(tracking_uri: str, experiment_name: str) -> pd.DataFrame:
    """Finished runs of an experiment, newest first (empty when the experiment does not exist)."""
    return _runs_frame(tracking_uri, experiment_name)


def _download_text(tracking_uri: str, run_id: str, path: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        local = _client(tracking_uri).download_artifacts(run_id, path, tmp)
        return Path(local).read_text(errors="replace")


@st.cache_data(ttl=600, show_spinner=False)
@_friendly
def curves(tracking_uri: str, run_id: str) -> dict[str, dict[str, list[float]]]:
    """The run's thinned test curves: "roc" ({fpr, tpr}) and "pr" ({recall, precision}), those it has."""
    names = {item.path for item in _client(tracking_uri).list_artifacts(run_id, "curves")}
    found = {"roc": ROC_ARTIFACT, "pr": PR_ARTIFACT}
    return {
        kind: json.loads(_download_text(tracking_uri, run_id, path))
        for kind, path in found.items()
        if path in names
    }


def _artifact_paths(client: MlflowClient, run_id: str, path: str | None = None) -> list[str]:
    paths: list[str] = []
    for item in client.list_artifacts(run_id, path):
        paths.extend(_artifact_paths(client, run_id, item.path) if item.is_dir else [item.path])
    return paths


@st.cache_data(ttl=600, show_spinner=False)
@_friendly
def report_artifacts(tracking_uri: str, run_id: str) -> dict[str, str]:
    """The run's HTML and JSON artifacts by extension: {"html": path, "json": path} (those present)."""
    found: dict[str, str] = {}
    for path in sorted(_artifact_paths(_client(tracking_uri), run_id)):
        suffix = Path(path).suffix.lstrip(".").lower()
        if suffix in ("html", "json"):
            found.setdefault(suffix, path)
    return found


@st.cache_data(ttl=600, show_spinner="Downloading the report...")
@_friendly
def artifact_text(tracking_uri: str, run_id: str, path: str) -> str:
    return _download_text(tracking_uri, run_id, path)


def drift_summary(tracking_uri: str, run_id: str) -> dict[str, Any] | None:
    """A drift check's JSON summary (kilobytes, unlike its HTML report), or None when it has none."""
    path = report_artifacts(tracking_uri, run_id).get("json")
    if path is None:
        return None
    summary: dict[str, Any] = json.loads(artifact_text(tracking_uri, run_id, path))
    return summary


@st.cache_data(ttl=600, show_spinner="Downloading the validation report...")
@_friendly
def validation_report(tracking_uri: str, run_id: str) -> str | None:
    """The run's validation_report.html (logged at registration), or None when it has none."""
    names = {item.path for item in _client(tracking_uri).list_artifacts(run_id)}
    if VALIDATION_REPORT not in names:
        return None
    return _download_text(tracking_uri, run_id, VALIDATION_REPORT)


@st.cache_data(ttl=TTL_S, show_spinner="Reading the registry from MLflow...")
@_friendly
def registry_overview(tracking_uri: str, model_name: str) -> dict[str, Any]:
    """Versions, aliases and alias history straight from MLflow, shaped as the API's `GET /models`:
    what the registry page shows read-only while the API is down."""
    from ml.registry import Registry, as_dict

    registry = Registry(model_name, tracking_uri)
    return {
        "name": model_name,
        "aliases": registry.aliases(),
        "served_version": None,
        "versions": [as_dict(info) for info in registry.list_versions()],
        "history": [as_dict(event) for event in registry.history()],
        "rollback_to": registry.rollback_target(),
    }


def clear_cache() -> None:
    """Forget cached reads (after a registry action, or when the operator asks to retry)."""
    for func in (runs, curves, report_artifacts, artifact_text, validation_report, registry_overview):
        func.clear()
