"""Shadow scoring: the challenger scores the rows the champion accepted, off the request path.

A request hands its scored rows to `ShadowScorer.submit`, which only samples them (SHADOW_SHARE)
and queues references to the champion's already encoded matrix; one background thread scores them
with the challenger (batched, one LightGBM thread so it never takes the cores the requests use)
and stores the scores in the log's `shadow_scores` table (ml/shadow_log.py). Nothing here can
fail or change a client's answer: every failure is counted by version and logged, and when the
queue is over SHADOW_MAX_PENDING_ROWS the rows are skipped and counted, never waited for.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.engine import Engine

from api import metrics
from api.model_holder import LoadedModel, ModelHolder
from api.scoring import LoggedFeatures, Scored
from ml.config import ReasonParams
from ml.shadow_log import shadow_engine, write_shadow_rows

logger = logging.getLogger("api.shadow")
MAX_ROWS_PER_ROUND = 20_000  # rows scored in one predict call (single-row requests are batched)
WRITE_CHUNK_ROWS = 5_000
PARALLEL_ROWS = 5_000  # rounds at least this large are predicted on every core (a batch upload)


@dataclass(frozen=True)
class _Job:
    """One request's rows to shadow: the champion's decision keys and its encoded rows."""

    champion: LoadedModel
    request_id: str
    rows: list[int]
    blocks: list[Iterable[dict[str, Any]]]  # Scored.features: LoggedFeatures blocks, in row order
    selected: np.ndarray | None  # the sampled rows' positions; None = every row


class ShadowScorer:
    """Scores accepted rows with the challenger held by `holder` (a shadow ModelHolder)."""

    def __init__(
        self,
        holder: ModelHolder,
        database_url: str | None,
        share: float = 1.0,
        max_pending_rows: int = 200_000,
        linger_s: float = 0.2,
    ) -> None:
        self.holder = holder
        self.database_url = database_url
        self.share = share
        self.max_pending_rows = max_pending_rows
        self.linger_s = linger_s
        self.scored = 0
        self.errors = 0
        self._pending = 0
        self._lock = threading.Lock()
        self._rng = np.random.default_rng()
        self._engine: Engine | None = None
        self._queue: queue.SimpleQueue[_Job | threading.Event | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="shadow-scorer", daemon=True)
        self._thread.start()

    # the request side ------------------------------------------------------------------------------

    def submit(self, champion: LoadedModel, scored: Scored, request_id: str) -> None:
        """Queue a request's accepted rows for the challenger; returns at once, never raises."""
        try:
            self._submit(champion, scored, request_id)
        except Exception:
            logger.exception("shadow: a request's rows could not be queued", extra={"request_id": request_id})

    def _submit(self, champion: LoadedModel, scored: Scored, request_id: str) -> None:
        total = len(scored.rows)
        challenger = self.holder.current
        if not total:
            return
        if challenger is None or _same(challenger, champion):
            metrics.SHADOW_SKIPPED.labels("no_challenger").inc(total)
            return
        selected = None
        if self.share < 1.0:
            selected = np.flatnonzero(self._rng.random(total) < self.share)
            metrics.SHADOW_SKIPPED.labels("sampled_out").inc(total - len(selected))
        count = total if selected is None else len(selected)
        if not count:
            return
        with self._lock:
            if self._pending + count > self.max_pending_rows:
                metrics.SHADOW_SKIPPED.labels("queue_full").inc(count)
                return
            self._pending += count
        self._queue.put(_Job(champion, request_id, list(scored.rows), list(scored.features), selected))

    def pending(self) -> int:
        return self._pending

    def flush(self, timeout_s: float | None = 30) -> bool:
        """Wait until every row submitted before this call is scored and stored; False on timeout."""
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout_s)

    def close(self, timeout_s: float = 30) -> None:
        """Finish what is queued, then stop the thread."""
        self._queue.put(None)
        self._thread.join(timeout_s)

    def status(self) -> dict[str, Any]:
        """What /health and /model say about shadowing."""
        challenger = self.holder.current
        return {
            "alias": self.holder.alias,
            "version": challenger.version if challenger else None,
            "loaded_at": challenger.loaded_at if challenger else None,
            "share": self.share,
            "scored_rows": self.scored,
            "errors": self.errors,
            "pending_rows": self._pending,
        }

    # the worker side -------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if isinstance(item, threading.Event):
                item.set()
                continue
            if item is None:
                return
            if self.linger_s:
                time.sleep(self.linger_s)  # let single-row requests gather into one predict call
            jobs, waiters, stop = [item], [], False
            rows = _count(item)
            while rows < MAX_ROWS_PER_ROUND and not stop:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(more, threading.Event):
                    waiters.append(more)
                elif more is None:
                    stop = True
                else:
                    jobs.append(more)
                    rows += _count(more)
            self._round(jobs)
            for waiter in waiters:
                waiter.set()
            if stop:
                return

    def _round(self, jobs: list[_Job]) -> None:
        challenger = self.holder.current
        count = sum(_count(job) for job in jobs)
        try:
            # Removed, or promoted to champion, since the request: those rows have nothing to compare.
            comparable = [
                job for job in jobs if challenger is not None and not _same(challenger, job.champion)
            ]
            skipped = count - sum(_count(job) for job in comparable)
            if skipped:
                metrics.SHADOW_SKIPPED.labels("no_challenger").inc(skipped)
            if challenger is not None and comparable:
                self._score_and_store(challenger, comparable)
        except Exception:
            version = challenger.version if challenger else "none"
            self.errors += count
            metrics.SHADOW_ERRORS.labels(version).inc(count)
            logger.exception(
                "shadow: scoring or storing failed; rows counted", extra={"model_version": version}
            )
        finally:
            with self._lock:
                self._pending -= count

    def _score_and_store(self, challenger: LoadedModel, jobs: list[_Job]) -> None:
        matrices: list[np.ndarray] = []
        keys: list[tuple[str, int, str]] = []
        failed = 0
        for job in jobs:
            raw, ok = _challenger_matrix(challenger, job)
            matrices.append(raw)
            keys.extend(key for key, good in zip(_keys(job), ok, strict=True) if good)
            failed += int(np.sum(~ok))
        if failed:
            self.errors += failed
            metrics.SHADOW_ERRORS.labels(challenger.version).inc(failed)
        raw = np.vstack(matrices) if matrices else np.empty((0, challenger.model.encoder.width))
        if not len(raw):
            return
        model = challenger.model
        # A large batch on every core, as the champion scored it; request-sized rounds on one thread.
        threads = 0 if len(raw) >= PARALLEL_ROWS else 1
        probabilities = np.asarray(model.booster.predict(model.builder.build(raw), num_threads=threads))
        decisions = model.decisions(probabilities).tolist()
        name, version = challenger.name, challenger.version
        rows = [
            (request_id, row, champion_version, name, version, probability, decision)
            for (request_id, row, champion_version), probability, decision in zip(
                keys, probabilities.tolist(), decisions, strict=True
            )
        ]
        engine = self._engine = self._engine or shadow_engine(self.database_url)
        for start in range(0, len(rows), WRITE_CHUNK_ROWS):
            write_shadow_rows(engine, rows[start : start + WRITE_CHUNK_ROWS])
        self.scored += len(rows)
        metrics.SHADOW_SCORES.labels(challenger.version).inc(len(rows))


def _same(challenger: LoadedModel, champion: LoadedModel) -> bool:
    return challenger.name == champion.name and challenger.version == champion.version


def _count(job: _Job) -> int:
    return len(job.rows) if job.selected is None else len(job.selected)


def _keys(job: _Job) -> Iterator[tuple[str, int, str]]:
    rows = job.rows if job.selected is None else [job.rows[i] for i in job.selected.tolist()]
    return ((job.request_id, row, job.champion.version) for row in rows)


def _compatible(challenger: LoadedModel, champion: LoadedModel) -> bool:
    """Same raw columns, same category codes: the champion's encoded matrix is the challenger's."""
    mine, theirs = challenger.model.schema.features, champion.model.schema.features
    return len(mine) == len(theirs) and all(
        a.name == b.name and a.kind == b.kind and a.categories == b.categories
        for a, b in zip(mine, theirs, strict=True)
    )


def _challenger_matrix(challenger: LoadedModel, job: _Job) -> tuple[np.ndarray, np.ndarray]:
    """The job's sampled rows encoded for the challenger, and which of them it could encode."""
    if _compatible(challenger, job.champion) and all(isinstance(b, LoggedFeatures) for b in job.blocks):
        raw = np.vstack([block.raw for block in job.blocks if isinstance(block, LoggedFeatures)])
        raw = raw if job.selected is None else raw[job.selected]
        return raw, np.ones(len(raw), dtype=bool)
    # Another feature schema: re-encode the logged values with the challenger's own rules.
    known = set(challenger.model.schema.names())
    records = [
        {name: value for name, value in features.items() if name in known}
        for block in job.blocks
        for features in block
    ]
    if job.selected is not None:
        records = [records[i] for i in job.selected.tolist()]
    encoded = challenger.model.encoder.encode_records(records)
    return encoded.matrix[~encoded.bad], ~encoded.bad


def shadow_holder(champion: ModelHolder, alias: str) -> ModelHolder:
    """The challenger's holder: the champion's source and disk cache, the same polling and swap.

    Reasons are never given for shadow scores, so no decision-path index is built for it.
    """
    return ModelHolder(
        champion.source, champion.cache, champion.name, alias, ReasonParams(method="shap"), shadow=True
    )
