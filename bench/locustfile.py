"""Realistic traffic for the scoring API: mostly single scores, some explanations and small batches.

`make load` runs it headless for a bounded time against a running API (`make run` starts one):

    locust -f bench/locustfile.py --headless --host http://127.0.0.1:8000 -u 16 -r 16 -t 30s

Each simulated user is a client system sending applications with a short think time. Applications
come from the training data generator, or from LOAD_CSV (a CSV in the Home Credit schema). Any
answer other than a 200 naming a model version counts as a failure. Environment knobs:
LOAD_API_KEY (X-API-Key, when the API sets API_KEYS), LOAD_WAIT_S (longest think time, default
0.1), LOAD_BATCH_ROWS (rows per batch, default 50), LOAD_MAX_REQUESTS (stop after this many
requests in all, 0 = only the time limit bounds the run).
"""

from __future__ import annotations

import itertools
import math
import os
import random
from typing import Any

from locust import FastHttpUser, between, task
from locust.exception import StopUser

from ml.generate import generate_applications

WAIT_S = float(os.environ.get("LOAD_WAIT_S", "0.1"))
BATCH_ROWS = int(os.environ.get("LOAD_BATCH_ROWS", "50"))
MAX_REQUESTS = int(os.environ.get("LOAD_MAX_REQUESTS", "0"))
API_KEY = os.environ.get("LOAD_API_KEY", "")
_sent = itertools.count(1)


def _applications() -> list[dict[str, Any]]:
    """Client applications as JSON-ready feature dicts (target dropped, missing values sent as null,
    as a client system sends a value it does not know; a feature left out would be absent)."""
    path = os.environ.get("LOAD_CSV")
    if path:
        import pandas as pd

        frame = pd.read_csv(path)
    else:
        frame = generate_applications(2_000, seed=2024)
    frame = frame.drop(columns=["TARGET"], errors="ignore")
    return [
        {
            key: None if isinstance(value, float) and math.isnan(value) else value
            for key, value in record.items()
        }
        for record in frame.to_dict(orient="records")
    ]


APPLICATIONS = _applications()


class ScoringClient(FastHttpUser):
    """A client system of the lender: scores applicants, sometimes asks why, sometimes sends a batch."""

    wait_time = between(0, WAIT_S)

    def on_start(self) -> None:
        self.headers = {"X-API-Key": API_KEY} if API_KEY else {}

    def _post(self, path: str, body: Any) -> None:
        if MAX_REQUESTS and next(_sent) > MAX_REQUESTS:
            raise StopUser()
        with self.client.post(path, json=body, headers=self.headers, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {(response.text or '')[:200]}")
            elif not (response.json() or {}).get("model_version"):
                response.failure("answer names no model version")

    @task(17)
    def score(self) -> None:
        self._post("/predict", {"features": random.choice(APPLICATIONS)})

    @task(2)
    def explain(self) -> None:
        self._post("/explain", {"features": random.choice(APPLICATIONS), "top": 10})

    @task(1)
    def score_batch(self) -> None:
        self._post("/predict/batch", random.sample(APPLICATIONS, BATCH_ROWS))
