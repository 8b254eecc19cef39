"""GET /metrics: Prometheus exposition (open, like /health, for scrapers inside the platform)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api import metrics

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def prometheus_metrics(request: Request) -> Response:
    writer = request.app.state.inference_log
    metrics.LOG_PENDING.set(writer.pending())
    metrics.LOG_DROPPED.set(writer.dropped)
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
