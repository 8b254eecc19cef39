"""GET /health: cheap liveness and readiness (MLflow reachability is cached, never checked per request)."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.core.config import SERVICE_VERSION
from api.schemas import HealthResponse

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=HealthResponse,
    responses={503: {"model": HealthResponse, "description": "No model loaded yet."}},
)
async def health(request: Request) -> JSONResponse:
    state = request.app.state
    served = state.holder.current
    reachable = await state.holder.mlflow_reachable(state.http, state.settings.health_cache_s)
    status = "unavailable" if served is None else "healthy" if reachable else "degraded"
    body = HealthResponse(
        status=status,
        model_loaded=served is not None,
        model_name=state.settings.model_name,
        model_version=served.version if served else None,
        model_alias=state.settings.model_alias,
        mlflow_reachable=reachable,
        service_version=SERVICE_VERSION,
        uptime_s=round(time.monotonic() - state.started, 3),
    )
    return JSONResponse(body.model_dump(), status_code=200 if served else 503)
