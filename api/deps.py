"""Dependencies shared by the routes: the served model (or a clear 503) and the inference log."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status

from api import metrics
from api.logging import request_id_var
from api.model_holder import LoadedModel
from api.scoring import LoggableFeatures, Scored


async def served_model(request: Request) -> LoadedModel:
    """The model at the time of the request; every later step of the request uses this one object."""
    served = request.app.state.holder.current
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


def record_scored(request: Request, served: LoadedModel, scored: Scored) -> None:
    """Count the predictions and queue them for the inference log (never waits on the database)."""
    version = served.version
    for decision in ("approve", "refuse"):
        count = scored.decisions.count(decision)
        if count:
            metrics.PREDICTIONS.labels(version, decision).inc(count)
    if scored.rejected:
        metrics.REJECTED_ROWS.inc(scored.rejected)
    request.app.state.inference_log.append_lazy(_log_rows(served, scored, request_id()))


def _log_rows(served: LoadedModel, scored: Scored, rid: str) -> Iterator[dict[str, Any]]:
    """The inference-log rows of a request; consumed in the log's writer thread, not here."""
    features = itertools.chain.from_iterable(scored.features)
    for row, client_id, row_features, probability, decision in zip(
        scored.rows, scored.client_ids, features, scored.probabilities, scored.decisions, strict=True
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
        }


def single(served: LoadedModel, scores: tuple[float, str, str], record: dict[str, Any]) -> Scored:
    """One scored record; its loggable features are extracted later, in the log's writer thread."""
    probability, decision, band = scores
    id_column = served.model.schema.id_column
    client_id = record.get(id_column) if id_column else None
    return Scored(
        [1], [probability], [decision], [band], [LoggableFeatures(served, [record])], [client_id], total=1
    )
