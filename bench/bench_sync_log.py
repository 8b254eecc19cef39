"""Benchmark: the cost of synchronous inference logging (INFERENCE_LOG_SYNC=true) against the
default asynchronous writer, same model, same machine, same run.

Run: `.venv/bin/python bench/bench_sync_log.py` (uses MLFLOW_TRACKING_URI when given, else starts
its own MLflow and trains a model, like bench_api.py). BENCH_DATABASE_URL points both APIs at one
log database (e.g. a PostgreSQL one); by default each has its own SQLite file.

Both APIs run at once and the load alternates between them in short rounds (single-row /predict at
concurrency 1 and 8, and a 10,000-row JSON batch), so a busy neighbour on a shared machine weighs on
both sides alike; each figure is the median over the rounds. It prints the figures and the
sync/async ratios and writes them to bench/results/bench_sync_log-<time>.json.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import (  # noqa: E402
    client_row,
    ensure_model,
    load_scoring_model,
    run_load,
    start_api,
    write_results,
)

NAME, ALIAS = "credit-scoring-bench", "champion"
ROUNDS = 5
ROUND_S = 3.0
BATCH_ROWS = 10_000
MODES = {"async": "false", "sync": "true"}


def one_round(url: str, row: dict, batch: bytes) -> dict[str, float]:
    body = json.dumps({"features": row}).encode()
    figures: dict[str, float] = {}
    for concurrency in (1, 8):
        result = run_load(url, url, "/predict", body, concurrency, ROUND_S)
        if result.errors:
            raise RuntimeError(f"{url}: {result.errors} errors")
        figures[f"c{concurrency}_rps"] = result.rps
        figures[f"c{concurrency}_p50_ms"] = result.p50_ms
        figures[f"c{concurrency}_p99_ms"] = result.p99_ms
    with httpx.Client(timeout=600) as client:
        started = time.perf_counter()
        client.post(
            f"{url}/predict/batch", content=batch, headers={"Content-Type": "application/json"}
        ).raise_for_status()
        figures["batch_10k_s"] = time.perf_counter() - started
    return figures


def main() -> None:
    database_url = os.environ.get("BENCH_DATABASE_URL")
    with tempfile.TemporaryDirectory(prefix="bench-sync-log-") as tmp:
        workdir = Path(tmp)
        tracking_uri, mlflow_server = ensure_model(workdir, NAME, ALIAS)
        servers = {}
        try:
            row = client_row(load_scoring_model(tracking_uri, NAME, "1", workdir))
            batch = json.dumps([row] * BATCH_ROWS).encode()
            for mode, sync in MODES.items():
                env = {"INFERENCE_LOG_SYNC": sync, **({"DATABASE_URL": database_url} if database_url else {})}
                servers[mode], _ = start_api(workdir / mode, tracking_uri, NAME, ALIAS, env)
            rounds: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
            for number in range(ROUNDS):
                order = list(MODES) if number % 2 == 0 else list(reversed(MODES))
                for mode in order:
                    rounds[mode].append(one_round(servers[mode].url, row, batch))
        finally:
            for server in servers.values():
                server.stop()
            if mlflow_server is not None:
                mlflow_server.stop()
    results = {
        mode: {key: statistics.median(r[key] for r in figures) for key in figures[0]}
        for mode, figures in rounds.items()
    }
    ratios = {key: results["sync"][key] / results["async"][key] for key in results["async"]}
    print(f"log database: {database_url or 'SQLite (one file per API)'}; {ROUNDS} rounds, medians")
    print(f"{'figure':<16}{'async':>12}{'sync':>12}{'sync/async':>12}")
    for key, ratio in ratios.items():
        print(f"{key:<16}{results['async'][key]:>12.2f}{results['sync'][key]:>12.2f}{ratio:>12.2f}")
    report = {"database": database_url or "sqlite", "results": results, "ratios": ratios}
    out = write_results("bench_sync_log", datetime.now(UTC), report)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
