"""GET /model (what is served) and POST /model/reload (follow the alias now; data scientists and leads)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends

from api.auth import CandidateManager, require_read
from api.deps import HolderDep, Served, ShadowDep
from api.routes.predict import ERRORS
from api.schemas import ChallengerInfo, ModelInfo, ReloadResponse

router = APIRouter(tags=["model"])


@router.get("/model", response_model=ModelInfo, responses=ERRORS, dependencies=[Depends(require_read)])
async def model_info(served: Served, shadow: ShadowDep) -> ModelInfo:
    model = served.model
    return ModelInfo(
        name=served.name,
        version=served.version,
        alias=served.alias,
        run_id=served.run_id,
        source=served.source,
        loaded_at=served.loaded_at,
        threshold=model.meta.threshold,
        metrics=model.meta.metrics,
        feature_names=model.feature_names(),
        feature_schema=model.schema.model_dump(),
        challenger=ChallengerInfo(**shadow.status()) if shadow else None,
    )


@router.post("/model/reload", response_model=ReloadResponse, responses=ERRORS)
async def reload_model(holder: HolderDep, shadow: ShadowDep, caller: CandidateManager) -> ReloadResponse:
    changed = await asyncio.to_thread(holder.refresh)
    if shadow:
        await asyncio.to_thread(shadow.holder.refresh)
    served = holder.current
    return ReloadResponse(changed=changed, served_version=served.version if served else None)
