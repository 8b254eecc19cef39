"""Access fixtures: one real API with a key per role, the console's JWT secret and an OIDC-style JWKS
(RS256) served over HTTP, on a registered model of its own (v1 champion, v2 and v3 candidates)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from ml.registry import Registry
from tests.api.conftest import Api, api_env, launch_api
from tests.utils import Champion

JWT_SECRET = "console-shared-secret-7c1d9e0b5a3f48a2b6e1"
METRICS_TOKEN = "metrics-token-5d2a8f61c0"
ROLES = ("viewer", "scorer", "outcomes", "data_scientist", "lead")
KEYS = {role: f"{role}-key-{uuid.uuid4().hex[:12]}" for role in ROLES}
LABELS = {role: f"{role}-bot" for role in ROLES}
AUDIENCE = "credit-scoring-api"
ISSUER = "https://idp.example.test/realms/credit"


@dataclass
class Issuer:
    """An RSA key whose public half is published as a JWKS at `jwks_url` (what an OIDC provider does)."""

    private_key: rsa.RSAPrivateKey
    kid: str
    jwks_url: str

    def token(self, sub: str, roles: Any, **claims: Any) -> str:
        now = int(time.time())
        body = {"sub": sub, "aud": AUDIENCE, "iss": ISSUER, "iat": now, "exp": now + 300}
        body["realm_access"] = {"roles": roles}
        return jwt.encode({**body, **claims}, self.private_key, algorithm="RS256", headers={"kid": self.kid})


def hs256(sub: str, role: str | None, secret: str = JWT_SECRET, **claims: Any) -> str:
    now = int(time.time())
    body = {"sub": sub, "aud": AUDIENCE, "iat": now, "exp": now + 300, **({"role": role} if role else {})}
    return jwt.encode({**body, **claims}, secret, algorithm="HS256")


@pytest.fixture(scope="session")
def issuer() -> Iterator[Issuer]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = "test-key-1"
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    document = json.dumps({"keys": [{**public, "kid": kid, "use": "sig", "alg": "RS256"}]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Issuer(key, kid, f"http://127.0.0.1:{server.server_port}/certs")
    server.shutdown()


@pytest.fixture(scope="session")
def access_registry(champion: Champion) -> Registry:
    """A model of its own: v1 champion, v2 and v3 (the same run) free to move."""
    registry = Registry(f"access-{uuid.uuid4().hex[:8]}", champion.tracking_uri)
    for _ in range(3):
        registry.register(champion.run.model_uri, champion.run.run_id)
    registry.promote("1", "champion", "access tests setup", who="pytest")
    return registry


@pytest.fixture(scope="session")
def access_api(
    champion: Champion, access_registry: Registry, issuer: Issuer, tmp_path_factory
) -> Iterator[Api]:
    workdir = tmp_path_factory.mktemp("access-api")
    env = api_env(
        champion.tracking_uri,
        workdir,
        model_name=access_registry.name,
        api_keys=",".join(f"{LABELS[role]}:{role}:{KEYS[role]}" for role in ROLES),
        admin_api_keys="",
        jwt_secret=JWT_SECRET,
        jwt_jwks_url=issuer.jwks_url,
        jwt_issuer=ISSUER,
        jwt_role_claim="realm_access.roles",
        metrics_token=METRICS_TOKEN,
    )
    running = launch_api(workdir, env)
    yield running
    running.server.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def call(api: Api, method: str, path: str, headers: dict[str, str], **kwargs: Any) -> httpx.Response:
    with httpx.Client(base_url=api.url, timeout=60) as client:
        return client.request(method, path, headers=headers, **kwargs)


@pytest.fixture(scope="session")
def example_record(access_api: Api) -> dict[str, Any]:
    """A plausible client: the schema's example value of every feature."""
    schema = call(access_api, "GET", "/model", {"X-API-Key": KEYS["viewer"]}).json()["feature_schema"]
    return {spec["name"]: spec["example"] for spec in schema["features"] if spec["example"] is not None}
