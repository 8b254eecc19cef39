"""GET /metrics: Prometheus exposition; open like /health, unless METRICS_TOKEN asks scrapers for a token."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from api import metrics
from api.auth import require_metrics_token
from api.deps import InferenceLogDep

router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
    dependencies=[Depends(require_metrics_token)],
)
async def prometheus_metrics(writer: InferenceLogDep) -> Response:
    metrics.LOG_PENDING.set(writer.pending())
    metrics.LOG_DROPPED.set(writer.dropped)
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
