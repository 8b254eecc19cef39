"""GET /challenger/report: champion vs challenger on the live traffic the challenger shadowed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query

from api.auth import require_read
from api.deps import HolderDep, SettingsDep, ShadowDep
from api.routes.predict import ERRORS
from api.store_calls import LOG_UNREACHABLE, store_call
from ml.compare_live import compare_live
from ml.config import load_params
from ml.live_gate import judge

router = APIRouter(tags=["models"])


@router.get(
    "/challenger/report",
    responses=ERRORS,
    dependencies=[Depends(require_read)],
    summary="Swap set, refusal rates, score PSI, outcomes and the live gate: champion vs challenger",
)
async def challenger_report(
    settings: SettingsDep,
    holder: HolderDep,
    shadow: ShadowDep,
    since: Annotated[datetime | None, Query(description="Window start (ISO 8601).")] = None,
    until: Annotated[datetime | None, Query(description="Window end, excluded.")] = None,
    hours: Annotated[
        float | None, Query(gt=0, le=24 * 366, description="The last N hours (not with since).")
    ] = None,
    last_n: Annotated[
        int | None, Query(ge=1, description="At most the N most recent shadowed decisions.")
    ] = None,
) -> dict[str, Any]:
    if hours is not None and since is not None:
        raise HTTPException(422, "give since or hours, not both")
    if hours is not None:
        since = datetime.now(UTC) - timedelta(hours=hours)
    if since and until and since >= until:
        raise HTTPException(422, "since must be before until")
    rows = min(last_n or settings.challenger_report_max_rows, settings.challenger_report_max_rows)
    params = load_params()
    report = await store_call(
        LOG_UNREACHABLE,
        compare_live,
        settings.database_url,
        settings.model_name,
        since,
        until,
        rows,
        params.stability,
    )
    # The live gate on the pair this replica serves now (what a promotion would be judged on).
    champion = holder.current.version if holder.current else None
    candidate = shadow.holder.current.version if shadow and shadow.holder.current else None
    current = [
        p
        for p in report["pairs"]
        if (p["champion_version"], p["challenger_version"]) == (champion, candidate)
    ]
    report["champion_version"], report["challenger_version"] = champion, candidate
    report["gate"] = judge(current[0] if current else None, params.gate.live)
    return report
