"""Issue 13, item 3: the worst bodies against a real API process under a real 512 MB memory limit:
it stays alive and answering, each refusal a JSON 413 or 503, and its peak resident memory < 512 MB.

The hard limit is RLIMIT_DATA (private writable memory: heap, anonymous maps, thread stacks: what
grows with the input), set with `prlimit --pid` once the replica is up to its idle size plus what
is left of 512 MB above its idle resident memory: any allocation past that fails. A fixed 512 MB
RLIMIT_DATA would be stricter than the budget (an idle replica reserves ~345 MB of it for ~200 MB
resident: thread stacks and allocator arenas, mostly untouched), and RLIMIT_AS cannot be used at all
(shared libraries alone map ~570 MB of address space).
"""

from __future__ import annotations

import io
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pandas as pd
import pytest

from tests.api.conftest import SCORING_KEY, Api, api_env, launch_api
from tests.utils import Champion

LIMIT_BYTES = 512 * 1024 * 1024


def _status_kb(pid: int) -> dict[str, int]:
    """The Vm* lines of /proc/<pid>/status, in kB."""
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {line.split(":")[0]: int(line.split()[1]) for line in lines if line.startswith("Vm")}


@pytest.fixture
def limited_api(champion: Champion, tmp_path) -> Iterator[Api]:
    api = launch_api(tmp_path, api_env(champion.tracking_uri, tmp_path, batch_wait_s="30"))
    status = _status_kb(api.server.process.pid)
    limit = status["VmData"] * 1024 + LIMIT_BYTES - status["VmRSS"] * 1024
    subprocess.run(["prlimit", "--pid", str(api.server.process.pid), f"--data={limit}"], check=True)
    yield api
    api.server.stop()


def _client(api: Api) -> httpx.Client:
    return httpx.Client(base_url=api.url, headers={"X-API-Key": SCORING_KEY}, timeout=300)


@pytest.mark.slow
def test_worst_bodies_leave_the_replica_alive_under_512_mb(
    limited_api: Api, small_dataset, example_record
) -> None:
    api = limited_api
    json_headers = {"Content-Type": "application/json"}
    empty_objects = b"[" + b"{}," * (14 * 1024 * 1024 // 3) + b"{}]"  # 14 MiB: once 585 MB in json.loads
    over_limit = b"[" + b"{}," * (57 * 1024 * 1024 // 3) + b"{}]"  # 57 MiB: once 1.78 GB
    frame = small_dataset.frame.drop(columns=["TARGET"])
    csv = (
        pd.concat([frame] * (100_000 // len(frame) + 1), ignore_index=True).head(100_000).to_csv(index=False)
    )
    with _client(api) as client:
        for body in (empty_objects, over_limit):
            refused = client.post("/predict/batch", content=body, headers=json_headers)
            assert refused.status_code == 413 and refused.json()["request_id"], refused.text[:500]
        full = client.post("/predict/batch", json=[example_record] * 10_000)
        assert full.status_code == 200 and full.json()["scored"] == 10_000, full.text[:500]

        def upload(_: int) -> httpx.Response:
            with _client(api) as own:
                return own.post(
                    "/predict/batch", files={"file": ("big.csv", io.BytesIO(csv.encode()), "text/csv")}
                )

        with ThreadPoolExecutor(5) as pool:
            answers = list(pool.map(upload, range(5)))
        health = client.get("/health")
    statuses = sorted(answer.status_code for answer in answers)
    assert set(statuses) <= {200, 503} and statuses[0] == 200, [a.text[:300] for a in answers]
    for answer in answers:
        if answer.status_code == 503:
            assert answer.headers["retry-after"] and answer.json()["request_id"]
        else:
            assert answer.json()["scored"] == 100_000
    assert health.status_code == 200 and api.server.process.poll() is None
    peak = _status_kb(api.server.process.pid)["VmHWM"] / 1024
    print(f"statuses {statuses}; peak resident memory {peak:.0f} MB")
    assert peak < 512


def test_a_batch_queued_behind_another_finds_the_log_it_left(
    start_api: Callable[..., Api], champion: Champion, example_record
) -> None:
    """The log's bound (MAX_LOG_BACKLOG_ROWS) is checked when a batch gets its turn: checked on arrival,
    five uploads queued at once all passed it and were scored one after another while the log still
    held the earlier ones (tests/images/test_images_memory.py). Here the first batch holds the slot
    while its body trickles in; the second, sent meanwhile, finds the first one's rows in the log."""
    api = start_api(champion.tracking_uri, max_log_backlog_rows=0)
    csv = pd.DataFrame([example_record] * 2_000).to_csv(index=False).encode()

    def trickled() -> Iterator[bytes]:
        yield csv[: len(csv) // 2]
        time.sleep(2)
        yield csv[len(csv) // 2 :]

    with ThreadPoolExecutor(2) as pool, _client(api) as first_client, _client(api) as second_client:
        first = pool.submit(
            first_client.post, "/predict/batch", content=trickled(), headers={"Content-Type": "text/csv"}
        )
        time.sleep(0.5)
        second = pool.submit(second_client.post, "/predict/batch", json=[example_record] * 10)
        first_answer, second_answer = first.result(), second.result()
    assert first_answer.status_code == 200 and first_answer.json()["scored"] == 2_000, first_answer.text[:300]
    assert second_answer.status_code == 503 and second_answer.headers["retry-after"], second_answer.text
    assert "the inference log is catching up" in second_answer.json()["detail"]
