"""Prometheus gauges of realized and estimated performance per model version, from the last report.

A report reads the whole log, so it is never computed at scrape time: `PerformanceMonitor` keeps the
latest one, refreshed in the background every `performance.refresh_s` and by every GET /performance.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from prometheus_client.core import GaugeMetricFamily

from api.background_gauges import app_monitor, refreshing
from ml.config import load_params
from ml.performance import latest_figures, mlflow_training_lookup, performance_report


class PerformanceMonitor:
    """Computes performance reports for one app and keeps the latest for the gauges."""

    def __init__(self, database_url: str, tracking_uri: str, model_name: str, timeout_s: float) -> None:
        params = load_params()
        self.params = params.performance
        self.cost = params.cost
        self.database_url = database_url
        self.model_name = model_name
        self.training = mlflow_training_lookup(tracking_uri, model_name, timeout_s)
        self.latest: dict[str, Any] | None = None

    def report(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        maturity_days: int | None = None,
    ) -> dict[str, Any]:
        """A report (blocking: run it in a thread); one over the whole log also feeds the gauges."""
        report = performance_report(
            self.database_url,
            self.params,
            self.cost,
            self.training,
            model_name=self.model_name,
            since=since,
            until=until,
            maturity_days=maturity_days,
        )
        if since is None and until is None and maturity_days is None:
            self.latest = report
        return report

    def collect(self) -> list[GaugeMetricFamily]:
        if self.latest is None:
            return []
        auc = GaugeMetricFamily(
            "credit_performance_auc",
            "ROC AUC of the newest cohort with a figure, per version: realized (mature outcomes), "
            "estimated (CBPE, when calibration is trusted) and training (approved part of the test set).",
            labels=["model_version", "kind"],
        )
        bad_rate = GaugeMetricFamily(
            "credit_performance_bad_rate",
            "Default rate among approved clients of the newest cohort with a figure, per version.",
            labels=["model_version", "kind"],
        )
        drop = GaugeMetricFamily(
            "credit_performance_auc_drop",
            "Training AUC minus the realized or estimated AUC of the newest cohort, per version.",
            labels=["model_version", "kind"],
        )
        awaiting = GaugeMetricFamily(
            "credit_performance_awaiting_outcomes",
            "Approved decisions without an outcome yet, per version.",
            labels=["model_version"],
        )
        for version, figures in latest_figures(self.latest).items():
            training_auc = figures["training_auc"]
            for kind in ("realized", "estimated", "training"):
                kind_auc, kind_bad_rate = figures[f"{kind}_auc"], figures[f"{kind}_bad_rate"]
                if kind_auc is not None:
                    auc.add_metric([version, kind], kind_auc)
                    if kind != "training" and training_auc is not None:
                        drop.add_metric([version, kind], training_auc - kind_auc)
                if kind_bad_rate is not None:
                    bad_rate.add_metric([version, kind], kind_bad_rate)
            awaiting.add_metric([version], figures["awaiting_outcomes"] or 0)
        limit = GaugeMetricFamily(
            "credit_performance_max_auc_drop",
            "performance.max_auc_drop: the AUC drop below training that raises an alert.",
            value=self.latest["max_auc_drop"],
        )
        return [auc, bad_rate, drop, awaiting, limit]

    def describe(self) -> list[GaugeMetricFamily]:
        return []


def monitor_of(app: FastAPI) -> PerformanceMonitor:
    """The app's monitor, made on first use from its settings."""
    settings = app.state.settings
    return app_monitor(
        app,
        "performance",
        lambda: PerformanceMonitor(
            settings.database_url,
            settings.mlflow_tracking_uri,
            settings.model_name,
            settings.mlflow_timeout_s,
        ),
    )


@contextlib.asynccontextmanager
async def refresh_gauges(app: FastAPI) -> AsyncIterator[None]:
    """Router lifespan: recompute the figures every `performance.refresh_s`, off the event loop."""
    monitor = monitor_of(app)
    async with refreshing("performance", monitor, lambda: monitor.params.refresh_s):
        yield
