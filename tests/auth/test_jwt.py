"""Bearer JWTs against the real API: each way a token can be wrong is a 401 with its reason, a valid
token without a role is a 403, and an OIDC provider's RS256 tokens are checked against its JWKS."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from api.identity_roles import Role
from api.identity_tokens import TokenIdentity, TokenVerifier, mint
from tests.api.conftest import Api
from tests.auth.conftest import AUDIENCE, ISSUER, JWT_SECRET, Issuer, bearer, call, hs256


def _part(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unsigned(claims: dict) -> str:
    return f"{_part({'alg': 'none', 'typ': 'JWT'})}.{_part(claims)}."


def _hs256_with(key: bytes, claims: dict) -> str:
    """Signed by hand: PyJWT itself refuses to use a public key as an HMAC secret."""
    signing_input = f"{_part({'alg': 'HS256', 'typ': 'JWT'})}.{_part(claims)}"
    return f"{signing_input}.{_part(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())}"


def _status(api: Api, token: str) -> tuple[int, str]:
    response = call(api, "GET", "/models", bearer(token))
    return response.status_code, response.json()["detail"]


@pytest.mark.parametrize(
    ("make_token", "reason"),
    [
        (lambda now: hs256("eve", "lead", exp=now - 120), "token expired"),
        (lambda now: hs256("eve", "lead", nbf=now + 600), "not valid yet"),
        (
            lambda now: hs256("eve", "lead", secret="another-secret-of-at-least-32-bytes!"),
            "signature does not verify",
        ),
        (lambda now: hs256("eve", "lead", aud="some-other-api"), "not meant for this API"),
        (
            lambda now: _unsigned({"sub": "eve", "role": "lead", "aud": AUDIENCE, "exp": now + 300}),
            "algorithm not allowed",
        ),
        (
            lambda now: jwt.encode(
                {"sub": "eve", "role": "lead", "aud": AUDIENCE}, JWT_SECRET, algorithm="HS256"
            ),
            "'exp'",
        ),
        (lambda now: hs256("", "lead"), "no 'sub' claim"),
        (lambda now: "not.a.jwt", "malformed token"),
    ],
    ids=[
        "expired",
        "not-yet-valid",
        "wrong-signature",
        "wrong-audience",
        "alg-none",
        "no-exp",
        "no-sub",
        "garbage",
    ],
)
def test_a_bad_token_is_401_with_its_reason(
    access_api: Api, make_token: Callable[[int], str], reason: str
) -> None:
    """Tokens are minted when the test runs: one minted at collection expires during a long session."""
    response = call(access_api, "GET", "/models", bearer(make_token(int(time.time()))))
    assert response.status_code == 401, response.text
    assert reason in response.json()["detail"]
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


def test_a_valid_token_without_a_role_is_403(access_api: Api) -> None:
    status, detail = _status(access_api, hs256("mallory", None))
    assert status == 403 and "has no role" in detail
    status, detail = _status(access_api, hs256("mallory", "superuser"))
    assert status == 403 and "has no role" in detail


def test_oidc_tokens_are_checked_against_the_providers_jwks(
    access_api: Api, issuer: Issuer, example_record
) -> None:
    now = int(time.time())
    scorer = issuer.token("carol@bank.example", ["offline_access", "scorer"])
    predicted = call(access_api, "POST", "/predict", bearer(scorer), json={"features": example_record})
    assert predicted.status_code == 200, predicted.text
    assert call(access_api, "POST", "/model/reload", bearer(scorer)).status_code == 403

    assert _status(access_api, issuer.token("carol", ["scorer"], iss="https://evil.example"))[0] == 401
    assert _status(access_api, issuer.token("carol", ["scorer"], exp=now - 120)) == (401, "token expired")

    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(
        {"sub": "carol", "aud": AUDIENCE, "exp": now + 300, "realm_access": {"roles": ["lead"]}},
        stranger,
        algorithm="RS256",
        headers={"kid": issuer.kid},
    )
    assert _status(access_api, forged) == (401, "token signature does not verify")

    # The classic confusion: the provider's public key used as an HS256 secret.
    public_pem = issuer.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    confused = _hs256_with(public_pem, {"sub": "carol", "role": "lead", "aud": AUDIENCE, "exp": now + 300})
    assert _status(access_api, confused) == (401, "token signature does not verify")


def test_the_claims_configured_for_the_provider_leave_the_consoles_tokens_working(issuer: Issuer) -> None:
    """JWT_NAME_CLAIM / JWT_ROLE_CLAIM say where the provider puts a person's name and role. The
    console's own tokens (HS256, `sub` and `role`) keep working beside them, and a provider's token
    gets its role from the configured claim only, not from a stray top-level `role`."""
    verifier = TokenVerifier(
        secret=JWT_SECRET,
        jwks_url=issuer.jwks_url,
        issuer=ISSUER,
        role_claim="realm_access.roles",
        name_claim="preferred_username",
    )
    assert verifier.verify(mint(JWT_SECRET, "dana", Role.DATA_SCIENTIST)) == TokenIdentity(
        "dana", Role.DATA_SCIENTIST
    )
    provider = issuer.token("5f0c-uuid", ["scorer"], preferred_username="carol")
    assert verifier.verify(provider) == TokenIdentity("carol", Role.SCORER)
    stray = issuer.token("5f0c-uuid", [], preferred_username="carol", role="lead")
    assert verifier.verify(stray) == TokenIdentity("carol", None)
