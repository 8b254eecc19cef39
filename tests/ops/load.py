"""A bounded load generator for tests: N concurrent clients in a background thread, every answer kept.

Locust cannot run inside pytest (gevent patches the process), and these tests need each response
(its time, status, model version and request id) to check what was served when; `make load` and
tests/ops/test_load.py run the real Locust file in its own process.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass(frozen=True)
class Answer:
    """One request: when it was sent and answered (monotonic s), its status (None: no answer)."""

    started: float
    ended: float
    status: int | None
    model_version: str | None = None
    request_id: str | None = None
    error: str | None = None


@dataclass
class LoadRun:
    """POST /predict from `concurrency` clients until `stop()`, `duration_s` or `max_requests`."""

    url: str
    records: list[dict[str, Any]]
    concurrency: int = 16
    duration_s: float = 30.0
    max_requests: int = 50_000
    timeout_s: float = 30.0
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> LoadRun:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> list[Answer]:
        self._stop.set()
        return self.wait()

    def wait(self) -> list[Answer]:
        assert self._thread is not None
        self._thread.join(self.duration_s + self.timeout_s + 10)
        assert not self._thread.is_alive(), "the load generator did not stop"
        return self.answers

    async def _main(self) -> None:
        deadline = time.monotonic() + self.duration_s
        sent = itertools.count()
        rows = itertools.cycle(self.records)
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        async with httpx.AsyncClient(base_url=self.url, timeout=self.timeout_s, limits=limits) as client:

            async def worker() -> None:
                while not self._stop.is_set() and time.monotonic() < deadline:
                    if next(sent) >= self.max_requests:
                        return
                    self.answers.append(await _predict(client, next(rows)))

            await asyncio.gather(*(worker() for _ in range(self.concurrency)))


async def _predict(client: httpx.AsyncClient, features: dict[str, Any]) -> Answer:
    started = time.monotonic()
    try:
        response = await client.post("/predict", json={"features": features})
    except httpx.HTTPError as exc:
        return Answer(started, time.monotonic(), None, error=repr(exc))
    ended = time.monotonic()
    if response.status_code != 200:
        return Answer(started, ended, response.status_code, error=response.text[:300])
    body = response.json()
    return Answer(started, ended, 200, body["model_version"], body["request_id"])


def summary(answers: list[Answer]) -> str:
    """Count, rate and latency percentiles, for the test's output."""
    if not answers:
        return "no request"
    latencies = sorted(a.ended - a.started for a in answers)
    span = max(a.ended for a in answers) - min(a.started for a in answers)
    ok = sum(a.status == 200 for a in answers)

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return (
        f"{len(answers)} requests, {ok} ok, {len(answers) / span:.0f} req/s, "
        f"p50 {pct(0.5):.1f} ms, p95 {pct(0.95):.1f} ms, p99 {pct(0.99):.1f} ms"
    )
