"""API-key auth (`X-API-Key`): scoring keys, admin keys, and open access when no key is configured.

Modes: no key configured at all -> everything open (local use; warned at startup). Only API_KEYS ->
scoring needs a key and registry actions are refused until ADMIN_API_KEYS is set. Admin keys can do
everything. A missing or unknown key is 401; a known key without the right is 403. Keys are only ever
compared (in constant time) and labelled by a hash prefix: no key reaches a log or the registry.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader

API_KEY_HEADER = "X-API-Key"
_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="Scoring or admin API key.")


@dataclass(frozen=True)
class Caller:
    """Who made a request, as a label safe to log and to record in the registry."""

    label: str
    admin: bool


def key_label(key: str, admin: bool) -> str:
    return f"{'admin-' if admin else ''}key-{hashlib.sha256(key.encode()).hexdigest()[:4]}"


class KeyChecker:
    def __init__(self, scoring_keys: frozenset[str], admin_keys: frozenset[str]) -> None:
        self.scoring_keys = scoring_keys
        self.admin_keys = admin_keys

    @property
    def open_access(self) -> bool:
        return not self.scoring_keys and not self.admin_keys

    def check(self, key: str | None, need_admin: bool) -> Caller:
        if self.open_access:
            return Caller("anonymous", admin=True)
        if need_admin and not self.admin_keys:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, "registry actions are disabled: ADMIN_API_KEYS is not set"
            )
        if not need_admin and not self.scoring_keys:
            return Caller("anonymous", admin=False)
        if not key:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"missing {API_KEY_HEADER} header")
        if _matches(key, self.admin_keys):
            return Caller(key_label(key, admin=True), admin=True)
        if _matches(key, self.scoring_keys):
            if need_admin:
                raise HTTPException(
                    status.HTTP_403_FORBIDDEN, "this key may score but not change the registry"
                )
            return Caller(key_label(key, admin=False), admin=False)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid API key")


def _matches(key: str, keys: frozenset[str]) -> bool:
    found = False
    for candidate in keys:  # every key compared, so the timing does not tell which one was close
        found |= hmac.compare_digest(key.encode(), candidate.encode())
    return found


# async: FastAPI would run a plain `def` dependency in its thread pool, on every scoring request.
def _checker(request: Request) -> KeyChecker:
    return request.app.state.keys


async def require_scoring(request: Request, key: str | None = Depends(_header)) -> Caller:
    return _checker(request).check(key, need_admin=False)


async def require_admin(request: Request, key: str | None = Depends(_header)) -> Caller:
    return _checker(request).check(key, need_admin=True)


AdminCaller = Annotated[Caller, Depends(require_admin)]
