"""Dependencies shared by the routes, as `Annotated` types: what `create_app` and the lifespan put on
`app.state` (settings, model holder, registry actions, inference log, drift runner, HTTP client), the
served model (or a clear 503), and the inference-log recording of scored rows.

Each reader is `async`: FastAPI would run a plain `def` dependency in its thread pool, on every request.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Any, TypeVar

import httpx
import numpy as np
from fastapi import Depends, HTTPException, Request, status

from api import metrics
from api.core.config import ApiSettings
from api.drift_jobs import DriftRunner
from api.logging import request_id_var
from api.model_holder import LoadedModel, ModelHolder
from api.registry_actions import RegistryActions
from api.scoring import LoggedFeatures, Scored
from api.shadow import ShadowScorer
from ml.inference_log import InferenceLogWriter

logger = logging.getLogger("api.inference_log")
T = TypeVar("T")


def _state(name: str, kind: type[T]) -> Callable[[Request], Awaitable[T]]:
    """A dependency returning `app.state.<name>`, typed as `kind`."""

    async def read(request: Request) -> T:
        value: T = getattr(request.app.state, name)
        return value

    read.__name__ = f"app_state_{name}"
    return read


app_settings = _state("settings", ApiSettings)
model_holder = _state("holder", ModelHolder)
registry_actions = _state("registry", RegistryActions)
inference_log = _state("inference_log", InferenceLogWriter)
drift_runner = _state("drift_runner", DriftRunner)
http_client = _state("http", httpx.AsyncClient)


async def uptime_s(request: Request) -> float:
    started: float = request.app.state.started
    return time.monotonic() - started


async def shadow_scorer(request: Request) -> ShadowScorer | None:
    """The challenger's shadow scorer; None when SHADOW_ENABLED is off."""
    shadow: ShadowScorer | None = getattr(request.app.state, "shadow", None)
    return shadow


SettingsDep = Annotated[ApiSettings, Depends(app_settings)]
HolderDep = Annotated[ModelHolder, Depends(model_holder)]
RegistryDep = Annotated[RegistryActions, Depends(registry_actions)]
InferenceLogDep = Annotated[InferenceLogWriter, Depends(inference_log)]
DriftRunnerDep = Annotated[DriftRunner, Depends(drift_runner)]
HttpDep = Annotated[httpx.AsyncClient, Depends(http_client)]
UptimeDep = Annotated[float, Depends(uptime_s)]
ShadowDep = Annotated[ShadowScorer | None, Depends(shadow_scorer)]


async def served_model(request: Request) -> LoadedModel:
    """The model at the time of the request; every later step of the request uses this one object.
    (The holder is read here rather than as a sub-dependency: one fewer on every scoring request.)"""
    served = (await model_holder(request)).current
    if served is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "no model loaded yet: MLflow unreachable and no cached copy; retrying in the background",
            headers={"Retry-After": "5"},
        )
    return served


Served = Annotated[LoadedModel, Depends(served_model)]


def request_id() -> str:
    return request_id_var.get() or ""


async def record_scored(request: Request, served: LoadedModel, scored: Scored) -> None:
    """Count the predictions and log them: queued (the default; never waits on the database), or with
    INFERENCE_LOG_SYNC committed before the answer, a 503 if the database cannot take them. The logged
    rows then go to the challenger's shadow queue (api/shadow.py)."""
    version = served.version
    for decision in ("approve", "refuse"):
        count = scored.decisions.count(decision)
        if count:
            metrics.PREDICTIONS.labels(version, decision).inc(count)
    if scored.rejected:
        metrics.REJECTED_ROWS.inc(scored.rejected)
    writer = await inference_log(request)
    rows = _log_rows(served, scored, request_id())
    if not (await app_settings(request)).inference_log_sync:
        writer.append_lazy(rows, count=len(scored.rows), request_id=request_id())
    else:
        try:
            await asyncio.to_thread(writer.write_now, list(rows))
        except Exception as exc:
            logger.error("inference log: synchronous write failed; answering 503", exc_info=exc)
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                "the inference log cannot store the scored rows now, so they are not answered; retry",
                headers={"Retry-After": "5"},
            ) from exc
    shadow = await shadow_scorer(request)
    if shadow is not None:
        shadow.submit(served, scored, request_id())  # never raises, never waits


def _log_rows(served: LoadedModel, scored: Scored, rid: str) -> Iterator[dict[str, Any]]:
    """The inference-log rows of a request; consumed in the log's writer thread, not here."""
    features = itertools.chain.from_iterable(scored.features)
    for row, client_id, row_features, probability, decision, reasons in zip(
        scored.rows,
        scored.client_ids,
        features,
        scored.probabilities,
        scored.decisions,
        scored.row_reasons(),
        strict=True,
    ):
        yield {
            "request_id": rid,
            "row": row,
            "model_name": served.name,
            "model_version": served.version,
            "client_id": client_id,
            "features": row_features,
            "probability": probability,
            "decision": decision,
            "reasons": reasons,
        }


def single(
    served: LoadedModel, scores: tuple[float, str, str], record: dict[str, Any], raw: np.ndarray
) -> Scored:
    """One scored record (`raw` its encoded row); its logged features are built in the log's thread."""
    probability, decision, band = scores
    id_column = served.model.schema.id_column
    client_id = record.get(id_column) if id_column else None
    return Scored([1], [probability], [decision], [band], [LoggedFeatures(served, raw)], [client_id], total=1)
