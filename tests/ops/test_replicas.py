"""Two API replicas, one MLflow, one inference log: a promotion made through replica A reaches
replica B by polling within its interval, and both replicas log every scored row to the same store."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ml.inference_log import read_inference_log
from tests.ops.conftest import OwnModel
from tests.ops.stack import GRACEFUL_EXIT, served_version, start_api
from tests.utils import Champion

pytestmark = pytest.mark.slow
POLL_INTERVAL_S = 2.0
# Time for B to download and build the new version once its poll has seen the alias move.
LOAD_ALLOWANCE_S = 8.0


def _score(url: str, records: list[dict[str, Any]]) -> list[str]:
    """Score `records` one by one; return the request ids (every answer must be a 200)."""
    ids = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for features in records:
            response = client.post("/predict", json={"features": features})
            assert response.status_code == 200, response.text
            ids.append(response.json()["request_id"])
    return ids


def test_promotion_through_one_replica_reaches_the_other_and_both_log_to_one_store(
    tmp_path: Path, champion: Champion, own_model: OwnModel, log_url: str, records: list[dict[str, Any]]
) -> None:
    env = {
        "MLFLOW_TRACKING_URI": champion.tracking_uri,
        "MODEL_NAME": own_model.name,
        "DATABASE_URL": log_url,
        "MODEL_POLL_INTERVAL_S": str(POLL_INTERVAL_S),
    }
    replica_a = start_api(tmp_path / "a", env)
    replica_b = start_api(tmp_path / "b", env)
    try:
        assert served_version(replica_a.url) == served_version(replica_b.url) == own_model.first
        ids = _score(replica_a.url, records[:40]) + _score(replica_b.url, records[40:80])

        promoted = httpx.post(
            f"{replica_a.url}/models/{own_model.second}/promote",
            json={"alias": "champion", "reason": "ops test: replicas follow the alias"},
            timeout=60,
        )
        promoted_at = time.monotonic()
        assert promoted.status_code == 200, promoted.text
        assert promoted.json()["served_version"] == own_model.second

        while served_version(replica_b.url) != own_model.second:
            waited = time.monotonic() - promoted_at
            assert waited < POLL_INTERVAL_S + LOAD_ALLOWANCE_S, (
                f"replica B still serves the old version after {waited:.1f} s"
            )
            time.sleep(0.1)
        reached_b_s = time.monotonic() - promoted_at
        print(f"replica B served v{own_model.second} {reached_b_s:.2f} s after the promotion through A")

        ids += _score(replica_a.url, records[80:120]) + _score(replica_b.url, records[120:160])
    finally:
        codes = [replica_a.stop(signal.SIGTERM), replica_b.stop(signal.SIGTERM)]
    assert set(codes) <= GRACEFUL_EXIT, replica_a.log()[-2000:] + replica_b.log()[-2000:]

    logged = read_inference_log(log_url)
    assert len(logged) == len(ids) == 160
    assert sorted(logged["request_id"]) == sorted(ids)
    by_version = logged.groupby("model_version").size().to_dict()
    assert by_version == {own_model.first: 80, own_model.second: 80}
