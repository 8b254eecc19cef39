"""The dashboard and the alerts use only metrics that a real API replica exports on /metrics."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.ops.promql import PROMETHEUS_SYNTHETIC, alert_expressions, dashboard_expressions, metric_names
from tests.ops.stack import start_api
from tests.utils import Champion

pytestmark = pytest.mark.slow


def _write_drift_summary(reports_dir: Path) -> None:
    """A latest drift summary with the fields the API's drift gauges read, so they are exported
    as they are after a real check (running Evidently here would only cost time)."""
    reports_dir.mkdir(parents=True)
    summary = {
        "report_id": "20260101T000000Z-ops",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "drift_share": 0.25,
        "dataset_drift": True,
        "threshold": 0.1,
        "n_drifted": 5,
        "data_quality": {"score": 0.99, "issues": []},
        "prediction_drift": {"score": 0.02},
    }
    (reports_dir / "latest.json").write_text(json.dumps(summary))


def _exported_names(url: str, records: list[dict[str, Any]]) -> set[str]:
    """Names on /metrics after some traffic: labelled series exist only once used, so a gauge family
    the API declares (its HELP and TYPE lines) counts as exported before its first sample."""
    for features in records[:5]:
        assert httpx.post(f"{url}/predict", json={"features": features}, timeout=30).status_code == 200
    assert (
        httpx.post(f"{url}/predict", json={"features": {"AMT_CREDIT": "a lot"}}, timeout=30).status_code
        == 422
    )
    text = httpx.get(f"{url}/metrics", timeout=30).text
    families = list(text_string_to_metric_families(text))
    declared_gauges = {family.name for family in families if family.type == "gauge"}
    return declared_gauges | {sample.name for family in families for sample in family.samples}


def test_dashboard_and_alerts_use_only_exported_metrics(
    tmp_path: Path, champion: Champion, records: list[dict[str, Any]]
) -> None:
    workdir = tmp_path / "api"
    _write_drift_summary(workdir / "reports")
    api = start_api(workdir, {"MLFLOW_TRACKING_URI": champion.tracking_uri, "MODEL_NAME": champion.name})
    try:
        exported = _exported_names(api.url, records)
    finally:
        api.stop()
    available = exported | PROMETHEUS_SYNTHETIC
    unknown = {
        where: sorted(metric_names(expr) - available)
        for where, expr in {**dashboard_expressions(), **alert_expressions()}.items()
        if metric_names(expr) - available
    }
    assert not unknown, f"queries on metrics the API does not export: {unknown}"
    assert {"api_requests_total", "api_predictions_total", "drift_share"} <= exported
