"""The in-process tier: `TestClient(create_app(...))` serving the champion from a pre-filled model cache
(MLflow unreachable on purpose), for the bad-input cases of every endpoint: each one a 4xx in the
project's JSON error shape, never a 500. No server process to start, so the cases stay cheap; what
needs a real process (hot swap, SIGTERM, MLflow outages, the entry point) keeps its real-server tests."""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.auth import API_KEY_HEADER
from api.core.config import ApiSettings
from api.main import create_app
from api.mlflow_source import MlflowSource, ModelRef
from api.model_cache import ModelCache
from tests.api.conftest import ADMIN_KEY, SCORING_KEY
from tests.servers import free_port
from tests.utils import Champion


@pytest.fixture(scope="module")
def prefilled_cache(champion: Champion, tmp_path_factory) -> Path:
    """A model cache holding the champion, as a replica leaves it after a load."""
    root = tmp_path_factory.mktemp("inprocess-cache")
    cache = ModelCache(root)
    ref = ModelRef(champion.name, champion.version, champion.run.run_id)
    staging = cache.staging_dir(ref.name)
    cache.store(ref, MlflowSource(champion.tracking_uri, 30).download(ref, staging))
    cache.discard_staging(staging)
    cache.remember(ref, "champion")
    return root


@pytest.fixture(scope="module")
def client(champion: Champion, prefilled_cache: Path, tmp_path_factory) -> Iterator[TestClient]:
    workdir = tmp_path_factory.mktemp("inprocess")
    settings = ApiSettings(
        mlflow_tracking_uri=f"http://127.0.0.1:{free_port()}",  # nothing listens: the cache serves
        model_name=champion.name,
        model_cache_dir=prefilled_cache,
        database_url=f"sqlite:///{workdir / 'inference_log.db'}",
        api_keys=SCORING_KEY,
        admin_api_keys=ADMIN_KEY,
        mlflow_timeout_s=1,
    )
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level  # the app's lifespan installs its JSON handler
    try:
        with TestClient(create_app(settings), headers={API_KEY_HEADER: ADMIN_KEY}) as test_client:
            yield test_client
    finally:
        root.handlers[:], root.level = handlers, level


def test_the_cached_champion_is_served(client: TestClient, champion: Champion) -> None:
    body = client.get("/health").json()
    assert body["model_version"] == champion.version and body["status"] == "degraded"


BAD_INPUTS = [
    ("post", "/predict", {"json": {"features": {"AMT_CREDIT": "lots"}}}, 422, "AMT_CREDIT"),
    ("post", "/predict", {"json": {"features": {"NO_SUCH_COLUMN": 1}}}, 422, "NO_SUCH_COLUMN"),
    ("post", "/predict", {"json": {"feature": {}}}, 422, None),
    (
        "post",
        "/predict",
        {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
        422,
        None,
    ),
    ("post", "/predict/batch", {"json": []}, 422, None),
    ("post", "/predict/batch", {"json": {"AMT_CREDIT": 1}}, 422, None),
    ("post", "/predict/batch", {"content": b"", "headers": {"Content-Type": "text/csv"}}, 422, None),
    ("post", "/predict/batch", {"content": b"a", "headers": {"Content-Type": "text/plain"}}, 415, None),
    ("post", "/explain", {"json": {"features": {"AMT_CREDIT": [1, 2]}}}, 422, "AMT_CREDIT"),
    ("post", "/models/0/promote", {"json": {"alias": "champion", "reason": "x"}}, 422, None),
    ("post", "/models/1/promote", {"json": {"alias": "king", "reason": "x"}}, 422, None),
    ("post", "/models/rollback", {"json": {}}, 422, None),
    ("post", "/drift/run", {"json": {"last_n": 0}}, 422, None),
    ("get", "/drift/reports/not-a-report-id", {}, 422, None),
]


@pytest.mark.parametrize(("method", "path", "request_args", "status", "field"), BAD_INPUTS)
def test_bad_input_is_a_4xx_in_the_error_shape(
    client: TestClient, method: str, path: str, request_args: dict, status: int, field: str | None
) -> None:
    response = client.request(method.upper(), path, **request_args)
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"] and isinstance(body.get("errors", []), list)
    if field:
        assert field in {error["field"] for error in body["errors"]}, body


def test_start_up_leaves_the_heap_frozen(client: TestClient) -> None:
    """Full collections must not walk the ~160,000 start-up objects under load (bench/README.md)."""
    assert gc.get_freeze_count() > 10_000
