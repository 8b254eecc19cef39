"""The API process as the image starts it (`python -m api`): the heavy libraries it has no use for
are never imported, whatever the requests; the collector, paused while it starts, runs again once it
serves; a process started without api/replica.env says so."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys

from tests.api.conftest import Api
from tests.servers import API_ENV

# rich: httpx's command-line client; jwt: tokens, which this replica (keys only) is not configured for
NEVER_IMPORTED = {"sklearn", "matplotlib", "evidently", "rich", "jwt"}


def loaded_packages(log: str) -> set[str]:
    """Packages whose code ran, from `-X importtime` lines (`import time: self | cumulative | name`): a
    package that really loads imports submodules; a blocked one logs only its own name, in a few µs."""
    names = (line.rsplit("|", 1)[1].strip() for line in log.splitlines() if line.startswith("import time:"))
    return {name.split(".")[0] for name in names if "." in name}


def test_the_api_never_imports_sklearn_matplotlib_or_evidently(
    api: Api, example_record, small_dataset
) -> None:
    csv = io.StringIO()
    small_dataset.frame.head(50).drop(columns=["TARGET"]).to_csv(csv, index=False)
    with api.client() as client:
        answers = [
            client.post("/predict", json={"features": example_record}),
            client.post("/predict/batch", json=[example_record, {"AMT_CREDIT": "x"}]),
            client.post("/predict/batch", content=csv.getvalue(), headers={"Content-Type": "text/csv"}),
            client.post("/explain", json={"features": example_record}),
            client.get("/model"),
            client.get("/models"),
            client.get("/metrics"),
            client.get("/drift/latest"),
        ]
    assert [a.status_code for a in answers[:7]] == [200] * 7, [a.text[:200] for a in answers]
    imported = loaded_packages(api.log())
    assert {"lightgbm", "fastapi", "numpy"} <= imported, "the log holds no import lines: -X importtime is off"
    assert not imported & NEVER_IMPORTED


def _young_collections(metrics: str) -> float:
    return float(re.search(r'python_gc_collections_total\{generation="0"\} (\S+)', metrics).group(1))


def test_garbage_is_collected_once_the_replica_serves(api: Api, example_record) -> None:
    """`python -m api` pauses the collector while it imports and loads (api.runtime.pause_collection):
    the lifespan must turn it back on, or a replica's cyclic garbage would grow without bound."""
    with api.client() as client:
        before = _young_collections(client.get("/metrics").text)
        for _ in range(300):
            assert client.post("/predict", json={"features": example_record}).status_code == 200
        after = _young_collections(client.get("/metrics").text)
    assert after > before


def test_a_replica_started_without_its_environment_says_so() -> None:
    tuned = {**os.environ, **API_ENV}
    bare = {name: value for name, value in tuned.items() if name not in API_ENV}
    answers = [
        subprocess.run(
            [sys.executable, "-m", "api", "--help"], env=env, capture_output=True, text=True, timeout=60
        )
        for env in (tuned, bare)
    ]
    assert [a.returncode for a in answers] == [0, 0] and "--port" in answers[0].stdout
    assert "replica.env" not in answers[0].stderr
    assert "MALLOC_ARENA_MAX" in answers[1].stderr and "replica.env" in answers[1].stderr
