"""GET /models (versions, aliases, history) and the registry actions: promote, roll back, archive.

Who may move what: `challenger` is the data scientists' (and leads'), `champion` and rollback are the
leads' alone, and so are forcing a refusing gate and archiving. The caller's name is recorded as "who".
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from api.auth import Auth, CandidateManager, ChampionManager, Identity, require_read
from api.deps import HolderDep, RegistryDep, SettingsDep
from api.identity_roles import Permission
from api.model_holder import ModelHolder
from api.routes.predict import ERRORS
from api.schemas import (
    ArchiveRequest,
    ModelsResponse,
    PromoteRequest,
    RegistryActionResponse,
    RollbackRequest,
)
from api.strict_json import StrictJsonRoute

router = APIRouter(tags=["registry"], route_class=StrictJsonRoute)
REGISTRY_ERRORS = {**ERRORS, 404: ERRORS[422], 409: ERRORS[422]}
logger = logging.getLogger("api.registry")


def _served_version(holder: ModelHolder) -> str | None:
    served = holder.current
    return served.version if served else None


@router.get("/models", response_model=ModelsResponse, responses=ERRORS, dependencies=[Depends(require_read)])
async def list_models(registry: RegistryDep, holder: HolderDep, settings: SettingsDep) -> ModelsResponse:
    overview = await registry.overview()
    return ModelsResponse(name=settings.model_name, served_version=_served_version(holder), **overview)


@router.get(
    "/models/{version}/gate",
    responses=REGISTRY_ERRORS,
    dependencies=[Depends(require_read)],
)
async def gate_verdict(
    version: Annotated[int, Path(ge=1, le=10**9)], registry: RegistryDep
) -> dict[str, Any]:
    """What the quality gate would say to `version` becoming champion (nothing moves): the review step
    shows it before anyone confirms a promotion."""
    return await registry.gate_verdict(str(version))


def promotion_permission(body: PromoteRequest) -> Permission:
    """Candidates are the data scientists'; the champion, and overriding the gate, the leads'."""
    if body.alias == "challenger" and not body.force:
        return Permission.MANAGE_CANDIDATES
    return Permission.MANAGE_CHAMPION


@router.post("/models/{version}/promote", response_model=RegistryActionResponse, responses=REGISTRY_ERRORS)
async def promote(
    body: PromoteRequest,
    version: Annotated[int, Path(ge=1, le=10**9)],
    caller: Identity,
    auth: Auth,
    registry: RegistryDep,
    holder: HolderDep,
) -> RegistryActionResponse:
    auth.authorize(caller, promotion_permission(body))
    log = {"who": caller.name, "version": str(version), "alias": body.alias, "forced": body.force}
    try:
        result = await registry.promote(str(version), body.alias, body.reason, caller.name, body.force)
    except Exception as exc:
        logger.info("promotion refused", extra={**log, "reason": getattr(exc, "detail", str(exc))})
        raise
    logger.info("promotion done", extra={**log, "verdict": result.get("verdict")})
    await asyncio.to_thread(holder.refresh)
    return RegistryActionResponse(**result, served_version=_served_version(holder))


@router.post("/models/rollback", response_model=RegistryActionResponse, responses=REGISTRY_ERRORS)
async def rollback(
    body: RollbackRequest, caller: ChampionManager, registry: RegistryDep, holder: HolderDep
) -> RegistryActionResponse:
    result = await registry.rollback(body.reason, caller.name)
    logger.info("rollback done", extra={"who": caller.name, "event": result["event"]})
    await asyncio.to_thread(holder.refresh)
    return RegistryActionResponse(**result, served_version=_served_version(holder))


@router.post("/models/challenger/clear", response_model=RegistryActionResponse, responses=REGISTRY_ERRORS)
async def clear_challenger(
    body: RollbackRequest, caller: CandidateManager, registry: RegistryDep, holder: HolderDep
) -> RegistryActionResponse:
    """Drop the current candidate: the challenger alias leaves its version (data scientists and leads)."""
    result = await registry.clear_challenger(body.reason, caller.name)
    logger.info("challenger cleared", extra={"who": caller.name, "event": result["event"]})
    return RegistryActionResponse(**result, served_version=_served_version(holder))


@router.post("/models/{version}/archive", response_model=RegistryActionResponse, responses=REGISTRY_ERRORS)
async def archive(
    body: ArchiveRequest,
    version: Annotated[int, Path(ge=1, le=10**9)],
    caller: ChampionManager,
    registry: RegistryDep,
    holder: HolderDep,
) -> RegistryActionResponse:
    """Retire a version: it loses its aliases (never the champion's) and cannot be promoted again."""
    result = await registry.archive(str(version), body.reason, caller.name)
    logger.info("archive done", extra={"who": caller.name, "event": result["event"]})
    return RegistryActionResponse(**result, served_version=_served_version(holder))
