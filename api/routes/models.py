"""GET /models (versions, aliases, history) and the registry actions promote / rollback (admin)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from api.auth import AdminCaller, require_scoring
from api.routes.predict import ERRORS
from api.schemas import ModelsResponse, PromoteRequest, RegistryActionResponse, RollbackRequest
from api.strict_json import StrictJsonRoute

router = APIRouter(tags=["registry"], route_class=StrictJsonRoute)
REGISTRY_ERRORS = {**ERRORS, 404: ERRORS[422], 409: ERRORS[422]}


def _served_version(request: Request) -> str | None:
    served = request.app.state.holder.current
    return served.version if served else None


@router.get(
    "/models", response_model=ModelsResponse, responses=ERRORS, dependencies=[Depends(require_scoring)]
)
async def list_models(request: Request) -> ModelsResponse:
    overview = await request.app.state.registry.overview()
    return ModelsResponse(
        name=request.app.state.settings.model_name, served_version=_served_version(request), **overview
    )


@router.post("/models/{version}/promote", response_model=RegistryActionResponse, responses=REGISTRY_ERRORS)
async def promote(
    body: PromoteRequest,
    request: Request,
    version: Annotated[int, Path(ge=1, le=10**9)],
    caller: AdminCaller,
) -> RegistryActionResponse:
    result = await request.app.state.registry.promote(
        str(version), body.alias, body.reason, caller.label, body.force
    )
    await asyncio.to_thread(request.app.state.holder.refresh)
    return RegistryActionResponse(**result, served_version=_served_version(request))


@router.post("/models/rollback", response_model=RegistryActionResponse, responses=REGISTRY_ERRORS)
async def rollback(body: RollbackRequest, request: Request, caller: AdminCaller) -> RegistryActionResponse:
    result = await request.app.state.registry.rollback(body.reason, caller.label)
    await asyncio.to_thread(request.app.state.holder.refresh)
    return RegistryActionResponse(**result, served_version=_served_version(request))
