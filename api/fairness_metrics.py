"""Live fairness: approval rate per protected group and window of the inference log, as gauges.

Like the performance gauges, never computed at scrape time: `FairnessMonitor` keeps the latest
figures, refreshed in the background every `fairness.refresh_s` and by every GET /fairness. Only the
protected keys of each logged row are kept while reading (`ml.fairness.read_decisions`), so a refresh
holds `fairness.live_rows` small tuples, not the log's features.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from prometheus_client.core import GaugeMetricFamily

from api.background_gauges import app_monitor, refreshing
from ml.config import FairnessGateParams, FairnessParams, load_params


class FairnessMonitor:
    """Computes live approval-rate figures for one app and keeps the latest for the gauges."""

    def __init__(self, database_url: str, params: FairnessParams, gate: FairnessGateParams) -> None:
        self.database_url = database_url
        self.params = params
        self.gate = gate
        self.latest: dict[str, Any] | None = None

    def report(
        self, window: str | None = None, last_n: int | None = None, since: datetime | None = None
    ) -> dict[str, Any]:
        """Figures per window, attribute and group (blocking: run it in a thread); the default
        report (no argument) also feeds the gauges."""
        from ml.fairness import live_approval_rates, live_summary, read_decisions

        window = window or self.params.live_window
        log = read_decisions(self.database_url, self.params.protected, last_n or self.params.live_rows, since)
        rates = live_approval_rates(log, self.params, window)
        report = {
            "rows": len(log),
            "window": window,
            "protected": self.params.protected,
            "min_group_rows": self.params.min_group_rows,
            "min_approval_ratio": self.gate.min_approval_ratio,
            "summary": live_summary(rates),
            "groups": rates.astype(object).where(rates.notna(), None).to_dict(orient="records"),
        }
        if window == self.params.live_window and last_n is None and since is None:
            self.latest = report
        return report

    def collect(self) -> list[GaugeMetricFamily]:
        if self.latest is None:
            return []
        rate = GaugeMetricFamily(
            "credit_fairness_approval_rate",
            "Approval rate per protected group in the newest window of the inference log.",
            labels=["attribute", "group"],
        )
        ratio = GaugeMetricFamily(
            "credit_fairness_approval_ratio",
            "Lowest group's approval rate / highest group's in the newest window (groups of at least "
            "fairness.min_group_rows decisions); the four-fifths rule reads 0.8.",
            labels=["attribute"],
        )
        for item in self.latest["summary"]:
            for group, value in item["approval_rates"].items():
                rate.add_metric([item["attribute"], group], value)
            if item["min_approval_ratio"] is not None:
                ratio.add_metric([item["attribute"]], item["min_approval_ratio"])
        families = [rate, ratio]
        if self.gate.min_approval_ratio is not None:
            families.append(
                GaugeMetricFamily(
                    "credit_fairness_min_approval_ratio",
                    "gate.fairness.min_approval_ratio: the ratio below which an alert is raised.",
                    value=self.gate.min_approval_ratio,
                )
            )
        return families

    def describe(self) -> list[GaugeMetricFamily]:
        return []


def fairness_monitor_of(app: FastAPI) -> FairnessMonitor:
    """The app's monitor, made on first use from its settings and params.yaml."""

    def make() -> FairnessMonitor:
        params = load_params()
        return FairnessMonitor(app.state.settings.database_url, params.fairness, params.gate.fairness)

    return app_monitor(app, "fairness", make)


@contextlib.asynccontextmanager
async def refresh_fairness_gauges(app: FastAPI) -> AsyncIterator[None]:
    """Router lifespan: recompute the figures every `fairness.refresh_s`, off the event loop."""
    monitor = fairness_monitor_of(app)
    async with refreshing("fairness", monitor, lambda: monitor.params.refresh_s):
        yield
