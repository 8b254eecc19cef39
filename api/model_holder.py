"""The model a replica serves: loaded at startup, polled, swapped atomically, cached on disk.

Handlers read `holder.current` once per request and use that object to the end, so a swap (one
reference assignment, made only after the new model is fully built) never mixes two versions in one
answer and never fails a request. MLflow being down only means no new version can arrive.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from api import metrics
from api.mlflow_source import AliasNotFoundError, MlflowSource, ModelRef, SourceUnavailableError
from api.model_cache import ModelCache
from ml.config import ReasonParams
from ml.reasons import PathContributions, ReasonExplainer
from ml.scoring import ScoringModel

logger = logging.getLogger("api.model")
NO_MODEL_RETRY_S = 2.0


@dataclass(frozen=True)
class LoadedModel:
    """A built model and where it came from; immutable, shared by every request that got it."""

    model: ScoringModel
    name: str
    version: str
    alias: str
    run_id: str | None
    source: str  # "mlflow" or "cache"
    loaded_at: datetime
    kinds: Mapping[str, str] = field(default_factory=dict)  # feature name -> "numeric" | "categorical"
    reasons: ReasonExplainer | None = None  # built once per version: reason codes for refusals
    path_contributions: PathContributions | None = None  # reasons.method "path"; None = TreeSHAP


class ModelHolder:
    def __init__(
        self,
        source: MlflowSource,
        cache: ModelCache,
        name: str,
        alias: str,
        reason_params: ReasonParams | None = None,
        shadow: bool = False,
    ) -> None:
        self.source = source
        # A shadow holder (the challenger) follows its alias off as well as on: when the alias goes,
        # so does the model, and its gauges are the challenger's, not the served model's.
        self.shadow = shadow
        self.reason_params = reason_params or ReasonParams()
        self.cache = cache
        self.name = name
        self.alias = alias
        self.current: LoadedModel | None = None
        self.last_error: str | None = None
        self._reachable: bool | None = None
        self._checked_at = 0.0
        self._ping_lock = asyncio.Lock()
        self._load_lock = threading.Lock()

    # loading ---------------------------------------------------------------------------------------

    def refresh(self) -> bool:
        """Follow the alias once (blocking; run in a worker thread). True when the served model changed."""
        with self._load_lock:
            try:
                ref = self.source.resolve(self.name, self.alias)
            except SourceUnavailableError as exc:
                self._note_reachable(False, str(exc))
                return self.current is None and self._load_from_cache()
            except AliasNotFoundError as exc:
                self._note_reachable(True, str(exc))
                if self.shadow:
                    return self._drop()
                logger.warning("alias not found; keeping what is served", extra={"reason": str(exc)})
                return self.current is None and self._load_from_cache()
            self._note_reachable(True, None)
            if self.current is not None and self.current.version == ref.version:
                return False
            return self._load(ref)

    def _drop(self) -> bool:
        """The shadow alias is gone: stop holding its model. True when one was held."""
        dropped, self.current = self.current, None
        if dropped is not None:
            metrics.set_challenger(None)
            logger.info(
                "challenger alias removed; shadowing stopped", extra={"model_version": dropped.version}
            )
        return dropped is not None

    def _load(self, ref: ModelRef) -> bool:
        started = time.perf_counter()
        source = "cache" if self.cache.has(ref) else "mlflow"
        try:
            if source == "mlflow":
                staging = self.cache.staging_dir(ref.name)
                self.cache.store(ref, self.source.download(ref, staging))
                self.cache.discard_staging(staging)
            model = ScoringModel.load(self.cache.version_dir(ref))
        except SourceUnavailableError as exc:
            self._note_reachable(False, str(exc))
            metrics.MODEL_LOADS.labels("failed").inc()
            return self.current is None and self._load_from_cache()
        except Exception as exc:
            # A corrupt cached copy or an unusable artifact: drop the copy, keep serving, retry later.
            self.cache.discard(ref)
            self.last_error = f"loading {ref.name} v{ref.version} failed: {exc!r}"
            metrics.MODEL_LOADS.labels("failed").inc()
            logger.exception("model load failed", extra={"model_version": ref.version})
            return False
        self._swap(model, ref, source, time.perf_counter() - started)
        self.cache.remember(ref, self.alias)
        return True

    def _load_from_cache(self) -> bool:
        """Serve the last version this replica loaded (used only while nothing is loaded)."""
        found = self.cache.last(self.name, self.alias)
        if found is None:
            return False
        ref, directory = found
        started = time.perf_counter()
        try:
            model = ScoringModel.load(directory)
        except Exception:
            logger.exception("cached model unusable", extra={"model_version": ref.version})
            self.cache.discard(ref)
            return False
        self._swap(model, ref, "cache", time.perf_counter() - started)
        return True

    def _swap(self, model: ScoringModel, ref: ModelRef, source: str, seconds: float) -> None:
        previous = self.current.version if self.current else None
        kinds = {spec.name: spec.kind for spec in model.schema.features}
        reasons = ReasonExplainer(
            model.feature_names(), self.reason_params.excluded, self.reason_params.max_reasons
        )
        path = (
            PathContributions(model.booster, len(model.feature_names()))
            if self.reason_params.method == "path"
            else None
        )
        self.current = LoadedModel(
            model,
            ref.name,
            ref.version,
            self.alias,
            ref.run_id,
            source,
            datetime.now(UTC),
            kinds,
            reasons,
            path,
        )
        metrics.MODEL_LOAD_SECONDS.labels(source).observe(seconds)
        metrics.MODEL_LOADS.labels("ok").inc()
        if self.shadow:
            metrics.set_challenger(ref.version)
        else:
            metrics.set_model(ref.name, ref.version, self.alias)
        logger.info(
            "challenger loaded" if self.shadow else "model loaded",
            extra={
                "model_name": ref.name,
                "model_version": ref.version,
                "previous_version": previous,
                "source": source,
                "load_s": round(seconds, 3),
            },
        )

    async def poll_forever(self, interval_s: float) -> None:
        """Follow the alias every `interval_s` (faster while nothing is loaded) until cancelled."""
        while True:
            waiting = self.current is None and not self.shadow  # no challenger is a normal state
            await asyncio.sleep(min(interval_s, NO_MODEL_RETRY_S) if waiting else interval_s)
            try:
                await asyncio.to_thread(self.refresh)
            except Exception:
                logger.exception("model poll failed")

    # reachability ----------------------------------------------------------------------------------

    def _note_reachable(self, reachable: bool, error: str | None) -> None:
        if reachable != self._reachable:
            log = logger.info if reachable else logger.warning
            log("mlflow reachable" if reachable else "mlflow unreachable", extra={"reason": error})
        self._reachable = reachable
        self._checked_at = time.monotonic()
        self.last_error = error
        metrics.MLFLOW_UP.set(1 if reachable else 0)

    async def mlflow_reachable(self, client: httpx.AsyncClient, max_age_s: float) -> bool:
        """Reachability, checked at most every `max_age_s` whatever the request rate."""
        if self._reachable is not None and time.monotonic() - self._checked_at < max_age_s:
            return self._reachable
        async with self._ping_lock:
            if self._reachable is None or time.monotonic() - self._checked_at >= max_age_s:
                reachable = await self.source.ping(client)
                self._note_reachable(reachable, None if reachable else "health check failed")
        return bool(self._reachable)
