"""Who is calling and may they: API keys with roles (`X-API-Key`) and Bearer JWTs, as FastAPI dependencies.

Nothing configured (no key, no JWT setting) -> open access for local use, as the lead (warned at
startup). Otherwise a missing, unknown or invalid credential is 401 with the reason, and a known
identity without the role an action needs is 403 naming that role. The identity's name (a key's
label or a token's subject, never a key or a token) is what logs and the registry record as "who".
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.core.config import ApiSettings
from api.deps import SettingsDep
from api.identity_keys import KeyRing
from api.identity_roles import Permission, Role, allows, least_role_for
from api.identity_tokens import TokenError, TokenVerifier

API_KEY_HEADER = "X-API-Key"
_key_header = APIKeyHeader(
    name=API_KEY_HEADER, auto_error=False, description="An API key (its role applies)."
)
_bearer = HTTPBearer(
    auto_error=False, description="A JWT: HS256 from the console, or RS256 from the OIDC provider."
)


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: `name` is safe to log and to record in the registry."""

    name: str
    role: Role
    via: str  # key | token | open

    @property
    def label(self) -> str:
        return self.name

    def may(self, permission: Permission) -> bool:
        return allows(self.role, permission)


class Authenticator:
    """Identifies callers from the configured keys and token settings; one per app."""

    def __init__(self, keys: KeyRing, tokens: TokenVerifier) -> None:
        self.keys = keys
        self.tokens = tokens
        self.anonymous_role = _anonymous_role(keys, tokens)

    @classmethod
    def from_settings(cls, settings: ApiSettings) -> Authenticator:
        keys = settings.key_ring()
        tokens = TokenVerifier(
            secret=settings.jwt_secret,
            jwks_url=settings.jwt_jwks_url,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            role_claim=settings.jwt_role_claim,
            name_claim=settings.jwt_name_claim,
            leeway_s=settings.jwt_leeway_s,
        )
        return cls(keys, tokens)

    @property
    def open_access(self) -> bool:
        return not self.keys and not self.tokens.enabled

    def secrets(self) -> frozenset[str]:
        """Every configured secret, for the log formatter to mask."""
        return self.keys.secrets() | ({self.tokens.secret} if self.tokens.secret else set())

    async def identify(self, api_key: str | None, bearer: str | None) -> Caller:
        if self.open_access:
            return Caller("anonymous", Role.LEAD, "open")
        if bearer:
            return await self._from_token(bearer)
        if api_key:
            found = self.keys.find(api_key)
            if found is None:
                raise _unauthorized("invalid API key")
            return Caller(found.label, found.role, "key")
        if self.anonymous_role is not None:
            return Caller("anonymous", self.anonymous_role, "open")
        raise _unauthorized(f"missing credentials: send {API_KEY_HEADER} or Authorization: Bearer <token>")

    async def _from_token(self, token: str) -> Caller:
        if not self.tokens.enabled:
            raise _unauthorized("bearer tokens are not accepted here: set JWT_SECRET or JWT_JWKS_URL")
        try:
            if self.tokens.needs_network(token):
                identity = await asyncio.to_thread(self.tokens.verify, token)
            else:
                identity = self.tokens.verify(token)
        except TokenError as exc:
            raise _unauthorized(str(exc), token=True) from exc
        if identity.role is None:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"{identity.name!r} has no role: the token's {self.tokens.role_claim!r} claim names none of "
                + ", ".join(role.value for role in Role),
            )
        return Caller(identity.name, identity.role, "token")

    def authorize(self, caller: Caller, permission: Permission) -> Caller:
        if caller.may(permission):
            return caller
        needed = least_role_for(permission)
        detail = f"this action needs the role {needed.value!r} or one above it; {caller.name!r} is {caller.role.value!r}"
        if not self._can_grant(permission):
            detail += (
                f". No configured identity has it: add 'label:{needed.value}:key' to API_KEYS "
                "(bare keys in ADMIN_API_KEYS are leads), or set JWT_SECRET / JWT_JWKS_URL"
            )
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail)

    def _can_grant(self, permission: Permission) -> bool:
        return self.tokens.enabled or any(allows(role, permission) for role in self.keys.roles())


def _anonymous_role(keys: KeyRing, tokens: TokenVerifier) -> Role | None:
    """Callers without a credential: nobody, except with only lead keys (the pre-roles admin-only
    setup, where scoring stayed open)."""
    if keys and not tokens.enabled and keys.roles() == {Role.LEAD}:
        return Role.SCORER
    return None


def _unauthorized(reason: str, token: bool = False) -> HTTPException:
    challenge = f'Bearer error="invalid_token", error_description="{reason}"' if token else "Bearer"
    return HTTPException(status.HTTP_401_UNAUTHORIZED, reason, headers={"WWW-Authenticate": challenge})


async def _authenticator(request: Request) -> Authenticator:
    """async: FastAPI runs a plain `def` dependency in its thread pool, a thread hop per request."""
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator


Auth = Annotated[Authenticator, Depends(_authenticator)]


async def identify(
    request: Request,
    api_key: Annotated[str | None, Depends(_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The caller, remembered on the request so the access log can name them. The authenticator is read
    here, not as a sub-dependency: each dependency costs ~15 µs on every scoring request."""
    auth = await _authenticator(request)
    caller = await auth.identify(api_key, bearer.credentials if bearer else None)
    request.state.who = caller.name
    return caller


Identity = Annotated[Caller, Depends(identify)]


def require(permission: Permission) -> Callable[..., Awaitable[Caller]]:
    """A dependency that lets through only callers whose role grants `permission`."""

    # async: FastAPI would run a plain `def` dependency in its thread pool, on every scoring request.
    async def check(caller: Identity, request: Request) -> Caller:
        return (await _authenticator(request)).authorize(caller, permission)

    return check


require_read = require(Permission.READ)
require_scoring = require(Permission.SCORE)
require_candidates = require(Permission.MANAGE_CANDIDATES)
require_champion = require(Permission.MANAGE_CHAMPION)

Reader = Annotated[Caller, Depends(require_read)]
Scorer = Annotated[Caller, Depends(require_scoring)]
CandidateManager = Annotated[Caller, Depends(require_candidates)]
ChampionManager = Annotated[Caller, Depends(require_champion)]


async def require_metrics_token(
    settings: SettingsDep, bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """GET /metrics: open unless METRICS_TOKEN is set, then only with that bearer token."""
    expected = settings.metrics_token
    if not expected:
        return
    if bearer is None or not hmac.compare_digest(bearer.credentials.encode(), expected.encode()):
        raise _unauthorized("/metrics needs Authorization: Bearer <METRICS_TOKEN>")
