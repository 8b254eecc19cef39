"""Prometheus gauges of the latest drift check, read from `latest.json` at scrape time, so a check run
by the CLI or a cron job counts too."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily

from ml.drift.report import LATEST_JSON, read_latest


class LatestDriftCollector:
    """The latest summary's figures as gauges (none before the first check); re-read only when it changed."""

    def __init__(self, reports_dir: Path) -> None:
        self.reports_dir = reports_dir
        self._cache: tuple[float, dict[str, Any]] | None = None

    def _latest(self) -> dict[str, Any] | None:
        try:
            mtime = (self.reports_dir / LATEST_JSON).stat().st_mtime
        except FileNotFoundError:
            return None
        if self._cache is None or self._cache[0] != mtime:
            summary = read_latest(self.reports_dir)
            if summary is None:
                return None
            self._cache = (mtime, summary)
        return self._cache[1]

    def describe(self) -> list[GaugeMetricFamily]:
        return []

    def collect(self) -> list[GaugeMetricFamily]:
        summary = self._latest()
        if summary is None:
            return []
        created = datetime.fromisoformat(summary["created_at"]).timestamp()
        values = {
            "drift_share": ("Share of drifted columns in the latest drift check.", summary["drift_share"]),
            "drift_dataset_drift": (
                "1 when the latest check's drift share is above drift.threshold (retrain trigger set).",
                float(summary["dataset_drift"]),
            ),
            "drift_threshold": ("The drift share above which retraining is triggered.", summary["threshold"]),
            "drift_drifted_columns": ("Columns drifted in the latest drift check.", summary["n_drifted"]),
            "drift_data_quality_score": (
                "Share of current cells without a quality problem in the latest check.",
                summary["data_quality"]["score"],
            ),
            "drift_last_check_timestamp_seconds": ("When the latest drift check ran (Unix time).", created),
        }
        prediction = summary.get("prediction_drift") or {}
        if prediction.get("score") is not None:
            values["drift_prediction_score"] = ("Drift score of the model's output.", prediction["score"])
        return [GaugeMetricFamily(name, text, value=value) for name, (text, value) in values.items()]


_collector: LatestDriftCollector | None = None


def register_drift_gauges(reports_dir: Path) -> None:
    """Expose the gauges of `reports_dir`; an app created again in the same process replaces the former
    collector instead of exposing the same gauges twice."""
    global _collector
    if _collector is not None:
        REGISTRY.unregister(_collector)
    _collector = LatestDriftCollector(reports_dir)
    REGISTRY.register(_collector)
