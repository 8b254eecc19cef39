"""Bounded load on a real replica (loopback only): steady traffic from the Locust file, and a
promotion then a rollback under load, where no request may fail and every answer must name the
version that was champion when it was served.

Steady load runs 10 s at 16 concurrent clients, capped at MAX_REQUESTS.
"""

from __future__ import annotations

import csv
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ops.conftest import OwnModel
from tests.ops.load import Answer, LoadRun, summary
from tests.ops.stack import start_api
from tests.servers import BIN, ROOT
from tests.utils import Champion

pytestmark = pytest.mark.slow
USERS = 16
STEADY_S = 10  # long enough for thousands of requests and every task of the file; the budget is make test
MAX_REQUESTS = 40_000


def _locust(url: str, csv_prefix: Path) -> subprocess.CompletedProcess[str]:
    command = [str(BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless"]
    command += ["--host", url, "-u", str(USERS), "-r", str(USERS), "-t", f"{STEADY_S}s"]
    command += ["--stop-timeout", "10", "--only-summary", "--csv", str(csv_prefix)]
    env = {"LOAD_MAX_REQUESTS": str(MAX_REQUESTS), "PATH": str(BIN), "HOME": str(csv_prefix.parent)}
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=STEADY_S + 90)


def test_steady_load_from_the_locust_file_has_no_error(tmp_path: Path, champion: Champion) -> None:
    api = start_api(
        tmp_path / "api", {"MLFLOW_TRACKING_URI": champion.tracking_uri, "MODEL_NAME": champion.name}
    )
    try:
        result = _locust(api.url, tmp_path / "locust")
    finally:
        api.stop()
    with open(tmp_path / "locust_stats.csv", newline="") as stats_file:
        stats = {row["Name"]: row for row in csv.DictReader(stats_file)}
    total = stats["Aggregated"]
    print(
        f"\nlocust {STEADY_S} s x {USERS} users: {total['Request Count']} requests, "
        f"{float(total['Requests/s']):.0f} req/s, p50 {total['50%']} ms, p95 {total['95%']} ms, "
        f"p99 {total['99%']} ms, failures {total['Failure Count']}"
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert int(total["Failure Count"]) == 0
    assert {"/predict", "/explain", "/predict/batch"} <= set(stats)
    assert int(stats["/predict"]["Request Count"]) > 10 * int(stats["/predict/batch"]["Request Count"]) > 0


def _promote(url: str, version: str) -> httpx.Response:
    body = {"alias": "champion", "reason": "ops test: promotion under load"}
    return httpx.post(f"{url}/models/{version}/promote", json=body, timeout=120)


def _rollback(url: str) -> httpx.Response:
    return httpx.post(f"{url}/models/rollback", json={"reason": "ops test: rollback under load"}, timeout=120)


def _timed(action) -> tuple[float, float, httpx.Response]:
    started = time.monotonic()
    response = action()
    return started, time.monotonic(), response


def _allowed_versions(answer: Answer, windows: list[tuple[float, float, str, str]], initial: str) -> set[str]:
    """Versions that were champion at some instant while `answer` was in flight. Each window is a
    registry action (sent, answered, before, after): during it, the alias and the replica switch."""
    allowed, current = set(), initial
    for sent, answered, before, after in windows:
        if answer.started < answered and answer.ended > sent:
            allowed |= {before, after}
        if answer.ended <= sent:
            return allowed or {current}
        current = after
    return allowed or {current}


def test_promotion_and_rollback_under_load_fail_no_request(
    tmp_path: Path, champion: Champion, own_model: OwnModel, records: list[dict[str, Any]]
) -> None:
    env = {
        "MLFLOW_TRACKING_URI": champion.tracking_uri,
        "MODEL_NAME": own_model.name,
        "MODEL_POLL_INTERVAL_S": "1",
    }
    api = start_api(tmp_path / "api", env)
    try:
        load = LoadRun(api.url, records, concurrency=USERS, duration_s=40, max_requests=MAX_REQUESTS).start()
        time.sleep(2)  # each window holds hundreds of requests at 16 clients
        promote = _timed(lambda: _promote(api.url, own_model.second))
        time.sleep(2)
        rollback = _timed(lambda: _rollback(api.url))
        time.sleep(2)
        answers = load.stop()
    finally:
        api.stop()
    print(f"\npromotion + rollback under load: {summary(answers)}")
    assert promote[2].status_code == 200, promote[2].text
    assert rollback[2].status_code == 200, rollback[2].text
    failed = [a for a in answers if a.status != 200]
    assert not failed, f"{len(failed)} failed requests, e.g. {failed[:3]}"
    windows = [
        (promote[0], promote[1], own_model.first, own_model.second),
        (rollback[0], rollback[1], own_model.second, own_model.first),
    ]
    wrong = [a for a in answers if a.model_version not in _allowed_versions(a, windows, own_model.first)]
    assert not wrong, f"{len(wrong)} answers named a version that was not champion then, e.g. {wrong[:3]}"
    served = {a.model_version for a in answers if promote[1] < a.started and a.ended < rollback[0]}
    assert served == {own_model.second}
    assert {a.model_version for a in answers if a.started > rollback[1]} == {own_model.first}
