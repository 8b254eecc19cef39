"""Registry reads and writes for the API, through `ml.registry.Registry` (gate included).

MLflow's client is imported only when an admin or a console asks, keeping it out of a replica's
memory otherwise. Calls are blocking and run in a worker thread; failures become HTTP errors: a gate
refusal is 409 with its verdict, an impossible action 409, an unknown version 404, MLflow down 503.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi import HTTPException, status

from ml.config import GateParams

if TYPE_CHECKING:  # imported when an action runs: MLflow's client stays out of an idle replica
    from ml.registry import Registry

T = TypeVar("T")


class RegistryActions:
    def __init__(
        self, name: str, tracking_uri: str, gate: GateParams, database_url: str | None = None
    ) -> None:
        self.name = name
        self.tracking_uri = tracking_uri
        self.gate = gate
        self.database_url = database_url  # the decision log the gate's live criteria read

    def _registry(self) -> Registry:
        from ml.registry import Registry

        return Registry(self.name, self.tracking_uri, self.gate, self.database_url)

    async def _call(self, action: Callable[[Registry], T]) -> T:
        from ml.registry import GateRefusedError, RegistryError, as_dict

        try:
            return await asyncio.to_thread(lambda: action(self._registry()))
        except GateRefusedError as exc:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                {"detail": f"refused by the quality gate: {exc}", "verdict": as_dict(exc.verdict)},
            ) from exc
        except RegistryError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
        except HTTPException:
            raise
        except Exception as exc:
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, f"model registry unavailable: {exc}"
            ) from exc

    async def overview(self) -> dict[str, Any]:
        from ml.registry import as_dict

        def read(registry: Registry) -> dict[str, Any]:
            return {
                "aliases": registry.aliases(),
                "versions": [as_dict(info) for info in registry.list_versions()],
                "history": [as_dict(event) for event in registry.history()],
                "rollback_to": registry.rollback_target(),
            }

        return await self._call(read)

    async def gate_verdict(self, version: str) -> dict[str, Any]:
        """The gate's verdict on `version` becoming champion, without moving anything."""
        from ml.registry import as_dict

        def check(registry: Registry) -> dict[str, Any]:
            _require_version(registry, version)
            return as_dict(registry.check_gate(version))

        return await self._call(check)

    async def promote(self, version: str, alias: str, reason: str, who: str, force: bool) -> dict[str, Any]:
        from ml.registry import as_dict

        def promote(registry: Registry) -> dict[str, Any]:
            _require_version(registry, version)
            event, verdict = registry.promote(version, alias, reason, who=who, force=force)
            return {"event": as_dict(event), "verdict": as_dict(verdict) if verdict else None}

        return await self._call(promote)

    async def rollback(self, reason: str, who: str) -> dict[str, Any]:
        from ml.registry import as_dict

        return await self._call(lambda registry: {"event": as_dict(registry.rollback(reason, who=who))})

    async def clear_challenger(self, reason: str, who: str) -> dict[str, Any]:
        from ml.registry import as_dict

        return await self._call(
            lambda registry: {"event": as_dict(registry.clear_challenger(reason, who=who))}
        )

    async def archive(self, version: str, reason: str, who: str) -> dict[str, Any]:
        from ml.registry import as_dict

        def archive(registry: Registry) -> dict[str, Any]:
            _require_version(registry, version)
            return {"event": as_dict(registry.archive(version, reason, who=who))}

        return await self._call(archive)


def _require_version(registry: Registry, version: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        registry.client.get_model_version(registry.name, version)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"model {registry.name!r} has no version {version}"
            ) from exc
        raise
