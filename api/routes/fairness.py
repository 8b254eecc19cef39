"""GET /fairness: approval rate per protected group and window of the inference log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query, Request

from api.auth import require_read
from api.fairness_metrics import fairness_monitor_of, refresh_fairness_gauges
from api.routes.predict import ERRORS
from api.store_calls import LOG_UNREACHABLE, store_call

router = APIRouter(tags=["monitoring"], lifespan=refresh_fairness_gauges)


@router.get(
    "/fairness",
    responses=ERRORS,
    dependencies=[Depends(require_read)],
    summary="Approval rate per protected group (params.yaml fairness.protected) and time window",
)
async def fairness(
    request: Request,
    window: Annotated[
        str | None, Query(max_length=16, description="Window length as a pandas frequency, e.g. 1h or 1D.")
    ] = None,
    last_n: Annotated[
        int | None, Query(ge=1, le=200_000, description="Most recent decisions to read.")
    ] = None,
    since: Annotated[datetime | None, Query(description="Only decisions from this time (ISO 8601).")] = None,
) -> dict[str, Any]:
    if window is not None:
        try:
            pd.tseries.frequencies.to_offset(window)
        except ValueError as exc:
            raise HTTPException(422, f"window {window!r} is not a frequency such as 1h or 1D") from exc
    monitor = fairness_monitor_of(request.app)
    return await store_call(LOG_UNREACHABLE, monitor.report, window, last_n, since)
