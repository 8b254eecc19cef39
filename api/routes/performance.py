"""GET /performance: realized and estimated performance per model version and cohort."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from api.auth import require_read
from api.performance_metrics import monitor_of, refresh_gauges
from api.routes.predict import ERRORS
from api.store_calls import LOG_UNREACHABLE, store_call

router = APIRouter(tags=["outcomes"], lifespan=refresh_gauges)


@router.get(
    "/performance",
    responses=ERRORS,
    dependencies=[Depends(require_read)],
    summary="Realized performance (decisions with mature outcomes) and the estimate before outcomes",
)
async def performance(
    request: Request,
    since: Annotated[
        datetime | None, Query(description="One cohort: decisions from this time (ISO 8601).")
    ] = None,
    until: Annotated[datetime | None, Query(description="One cohort: decisions before this time.")] = None,
    maturity_days: Annotated[
        int | None, Query(ge=0, le=3650, description="Override performance.maturity_days.")
    ] = None,
) -> dict[str, Any]:
    if since and until and since >= until:
        raise HTTPException(422, "since must be before until")
    monitor = monitor_of(request.app)
    return await store_call(LOG_UNREACHABLE, monitor.report, since, until, maturity_days)
