"""Gauges fed by a report too heavy for scrape time: exposed once per process, refreshed in the background.

The fairness and performance monitors each keep their latest report; this module registers a monitor
with Prometheus (an app created again in the same process replaces its former monitor) and runs its
refresh loop off the event loop for the lifetime of a router.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol, TypeVar

from fastapi import FastAPI
from prometheus_client import REGISTRY
from prometheus_client.registry import Collector

logger = logging.getLogger("api.gauges")

_registered: dict[str, Collector] = {}
MonitorT = TypeVar("MonitorT", bound=Collector)


class RefreshingMonitor(Protocol):
    def report(self) -> Any: ...


def register_gauges(name: str, monitor: Collector) -> None:
    """Expose `monitor` under `name`, replacing the monitor an earlier app of this process registered."""
    former = _registered.pop(name, None)
    if former is not None:
        REGISTRY.unregister(former)
    _registered[name] = monitor
    REGISTRY.register(monitor)


def app_monitor(app: FastAPI, name: str, make: Callable[[], MonitorT]) -> MonitorT:
    """The app's monitor called `name`, made and exposed on first use (routes and lifespans share it)."""
    monitor: MonitorT | None = getattr(app.state, name, None)
    if monitor is None:
        monitor = make()
        setattr(app.state, name, monitor)
        register_gauges(name, monitor)
    return monitor


@contextlib.asynccontextmanager
async def refreshing(
    name: str, monitor: RefreshingMonitor, every_s: Callable[[], float]
) -> AsyncIterator[None]:
    """Recompute `monitor.report()` in a thread every `every_s()` seconds until the context ends."""

    async def loop() -> None:
        while True:
            try:
                await asyncio.to_thread(monitor.report)
            except Exception:
                logger.exception("%s report failed; the gauges keep the previous one", name)
            await asyncio.sleep(every_s())

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
