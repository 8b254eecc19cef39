"""GET /health: cheap liveness and readiness (MLflow reachability is cached, never checked per request)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.core.config import SERVICE_VERSION
from api.deps import HolderDep, HttpDep, SettingsDep, ShadowDep, UptimeDep
from api.schemas import HealthResponse

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=HealthResponse,
    responses={503: {"model": HealthResponse, "description": "No model loaded yet."}},
)
async def health(
    holder: HolderDep, settings: SettingsDep, http: HttpDep, uptime: UptimeDep, shadow: ShadowDep
) -> JSONResponse:
    served = holder.current
    challenger = shadow.holder.current if shadow else None
    reachable = await holder.mlflow_reachable(http, settings.health_cache_s)
    status = "unavailable" if served is None else "healthy" if reachable else "degraded"
    body = HealthResponse(
        status=status,
        model_loaded=served is not None,
        model_name=settings.model_name,
        model_version=served.version if served else None,
        model_alias=settings.model_alias,
        mlflow_reachable=reachable,
        service_version=SERVICE_VERSION,
        uptime_s=round(uptime, 3),
        challenger_version=challenger.version if challenger else None,
    )
    return JSONResponse(body.model_dump(), status_code=200 if served else 503)
