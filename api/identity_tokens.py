"""Bearer JWTs: verified with a shared secret (HS256) or an issuer's JWKS (RS256, an OIDC provider),
and minted (HS256, short-lived) by the console for the person signed in to it.

Only the configured algorithm is accepted, so `alg: none` and algorithm swaps fail like a bad
signature. Failures carry a reason fit for a 401 body; the token itself is never logged.

PyJWT (with cryptography, ~0.1 s of a replica's start) is imported where tokens are used, so a replica
configured with keys only never loads it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from api.identity_roles import Role, parse_role

DEFAULT_AUDIENCE = "credit-scoring-api"
CONSOLE_ISSUER = "credit-scoring-console"
MIN_SECRET_BYTES = 32  # RFC 7518 3.2: an HS256 key at least as long as the hash


class TokenError(Exception):
    """The token is not acceptable; `str(exc)` says why (expired, signature, audience...)."""


@dataclass(frozen=True)
class TokenIdentity:
    name: str
    role: Role | None


class TokenVerifier:
    """Checks signature, expiry, not-before, audience (and issuer when set), then reads the identity.

    HS256 tokens are checked with `secret` (the console's), RS256 ones with the keys at `jwks_url`
    (an OIDC provider's); a token in any other algorithm, `none` included, is refused.
    """

    def __init__(
        self,
        secret: str | None = None,
        jwks_url: str | None = None,
        audience: str = DEFAULT_AUDIENCE,
        issuer: str | None = None,
        role_claim: str = "role",
        name_claim: str = "sub",
        leeway_s: float = 10.0,
    ) -> None:
        self.secret = secret or None
        self.jwks = None
        if jwks_url:
            import jwt

            self.jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300)
        self.audience = audience
        self.issuer = issuer or None
        self.role_claim = role_claim
        self.name_claim = name_claim
        self.leeway_s = leeway_s

    @property
    def enabled(self) -> bool:
        return bool(self.secret or self.jwks)

    def algorithms(self) -> list[str]:
        return [alg for alg, on in (("HS256", self.secret), ("RS256", self.jwks)) if on]

    def needs_network(self, token: str) -> bool:
        """True when checking `token` may fetch the JWKS (then call `verify` from a worker thread)."""
        import jwt

        try:
            return self.jwks is not None and jwt.get_unverified_header(token).get("alg") == "RS256"
        except jwt.PyJWTError:
            return False

    def verify(self, token: str) -> TokenIdentity:
        import jwt

        try:
            key, algorithm = self._key_for(token, jwt.get_unverified_header(token))
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer if algorithm == "RS256" else None,
                leeway=self.leeway_s,
                options={"require": ["exp"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenError("token expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise TokenError("token not valid yet (nbf or iat in the future)") from exc
        except jwt.InvalidAudienceError as exc:
            raise TokenError(f"token is not meant for this API (audience must be {self.audience!r})") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise TokenError(f"token has no {exc.claim!r} claim") from exc
        except jwt.InvalidIssuerError as exc:
            raise TokenError(f"token issuer is not {self.issuer!r}") from exc
        except jwt.InvalidSignatureError as exc:
            raise TokenError("token signature does not verify") from exc
        except jwt.InvalidAlgorithmError as exc:
            raise TokenError(f"token algorithm not allowed ({exc}; accepted: {self.algorithms()})") from exc
        except jwt.PyJWKClientError as exc:
            raise TokenError(f"token signing key not found at the issuer's JWKS ({exc})") from exc
        except jwt.PyJWTError as exc:
            raise TokenError(f"malformed token ({exc})") from exc
        return self._identity(claims, algorithm)

    def _identity(self, claims: dict[str, Any], algorithm: str) -> TokenIdentity:
        """Name and role where JWT_NAME_CLAIM / JWT_ROLE_CLAIM say (the provider's places); an HS256
        token may instead carry them where the console writes them (`sub`, `role`), so the console
        keeps working when those settings point at the provider's claims. A provider's token is read
        at the configured places only: a stray top-level `role` in it grants nothing."""
        console = algorithm == "HS256"
        name_paths = (self.name_claim, "sub") if console else (self.name_claim,)
        role_paths = (self.role_claim, "role") if console else (self.role_claim,)
        names = (_claim(claims, path) for path in name_paths)
        name = next((value.strip() for value in names if isinstance(value, str) and value.strip()), None)
        if name is None:
            raise TokenError(f"token has no {self.name_claim!r} claim")
        roles = (parse_role(_claim(claims, path)) for path in role_paths)
        return TokenIdentity(name, next((role for role in roles if role is not None), None))

    def _key_for(self, token: str, header: dict[str, Any]) -> tuple[Any, str]:
        import jwt

        algorithm = header.get("alg")
        if algorithm == "HS256" and self.secret:
            return self.secret, algorithm
        if algorithm == "RS256" and self.jwks:
            return self.jwks.get_signing_key_from_jwt(token).key, algorithm
        raise jwt.InvalidAlgorithmError(f"alg {algorithm!r}")


def _claim(claims: dict[str, Any], path: str) -> Any:
    """A claim by dotted path, e.g. `realm_access.roles` (Keycloak) or a flat `role`."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def mint(
    secret: str,
    name: str,
    role: Role,
    ttl_s: int = 300,
    audience: str = DEFAULT_AUDIENCE,
) -> str:
    """A short-lived HS256 token for `name` acting as `role` (the console signs its users' calls)."""
    import jwt

    now = int(time.time())
    claims = {"sub": name, "role": role.value, "aud": audience, "iss": CONSOLE_ISSUER}
    return jwt.encode({**claims, "iat": now, "nbf": now, "exp": now + ttl_s}, secret, algorithm="HS256")
