"""Benchmark: what shadow scoring costs the champion's clients (issue 16).

Run: `.venv/bin/python bench/bench_shadow.py [--duration 5] [--batch-rows 20000]`. In one run it
  1. uses MLFLOW_TRACKING_URI (MODEL_NAME@champion) when given, else starts MLflow and trains a model;
     the same run is registered again as `challenger` (the shadow path does the same work whatever
     the challenger's trees say, and one training keeps the run short);
  2. starts the API with SHADOW_ENABLED=false, then with the challenger shadowing (one at a time: on
     2 cores two replicas would measure each other);
  3. on each (alternating rounds, best of each kept): single-row load at concurrency 1 and 16
     (p50/p99, req/s, and the API process's CPU per request, which a busy neighbour cannot inflate),
     a CSV batch timed to its answer and, with the challenger, to its last shadow score stored;
     then the API's RSS and peak.
It prints the ratios and writes bench/results/bench_shadow-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_api import (  # noqa: E402
    bench_model,
    client_row,
    cpu_s,
    rss_mb,
    run_load,
    start_api,
    write_results,
)

from ml.generate import generate_applications  # noqa: E402
from ml.registry import Registry  # noqa: E402
from tests.servers import Server  # noqa: E402


def _count(database_url: str, table: str) -> int:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table(table):
                return 0
            return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def _wait_for(database_url: str, table: str, rows: int, timeout_s: float = 300) -> float:
    """Seconds until `table` holds at least `rows` rows."""
    started = time.perf_counter()
    while _count(database_url, table) < rows and time.perf_counter() - started < timeout_s:
        time.sleep(0.1)
    return time.perf_counter() - started


def measure(
    api: Server, workdir: Path, body: bytes, csv: bytes, duration: float, shadow: bool
) -> dict[str, Any]:
    """Load at 1 and 16, then the batch: to its answer, and (shadowing) to its last shadow row."""
    database_url = f"sqlite:///{workdir / 'inference_log.db'}"
    label = "shadow" if shadow else "champion-only"
    load = []
    for concurrency in (1, 16):
        cpu, rows = cpu_s(api.process.pid), _count(database_url, "inference_log")
        result = asdict(run_load(label, api.url, "/predict", body, concurrency, duration))
        time.sleep(1.5)  # the log writer and the shadow thread finish the phase's rows
        scored = _count(database_url, "inference_log") - rows  # warm-up requests included
        result["cpu_us_per_request"] = round((cpu_s(api.process.pid) - cpu) / max(scored, 1) * 1e6, 1)
        load.append(result)
    _wait_for(database_url, "inference_log", _count(database_url, "inference_log"))
    before = _count(database_url, "shadow_scores")
    started = time.perf_counter()
    response = httpx.post(
        f"{api.url}/predict/batch", files={"file": ("batch.csv", csv, "text/csv")}, timeout=600
    )
    answer_s = time.perf_counter() - started
    response.raise_for_status()
    scored = response.json()["scored"]
    both_s = answer_s + _wait_for(database_url, "shadow_scores", before + scored) if shadow else None
    memory = rss_mb(api.process.pid)
    return {
        "load": load,
        "batch": {
            "rows": scored,
            "answer_s": round(answer_s, 3),
            "both_models_stored_s": both_s and round(both_s, 3),
        },
        "memory": memory,
        "shadow_rows": _count(database_url, "shadow_scores") if shadow else 0,
    }


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's best over the rounds (a shared machine only ever makes a run slower), memory's worst."""
    load = []
    for rows in zip(*(run["load"] for run in runs), strict=True):
        load.append(
            {
                "concurrency": rows[0]["concurrency"],
                "rps": max(r["rps"] for r in rows),
                "p50_ms": min(r["p50_ms"] for r in rows),
                "p99_ms": min(r["p99_ms"] for r in rows),
                "cpu_us_per_request": min(r["cpu_us_per_request"] for r in rows),
                "rounds": [
                    {k: r[k] for k in ("rps", "p50_ms", "p99_ms", "cpu_us_per_request")} for r in rows
                ],
            }
        )
    stored = [run["batch"]["both_models_stored_s"] for run in runs if run["batch"]["both_models_stored_s"]]
    return {
        "load": load,
        "batch": {
            "rows": runs[0]["batch"]["rows"],
            "answer_s": min(run["batch"]["answer_s"] for run in runs),
            "both_models_stored_s": min(stored) if stored else None,
        },
        "memory": {key: max(run["memory"][key] for run in runs) for key in ("rss_mb", "peak_rss_mb")},
        "shadow_rows": max(run["shadow_rows"] for run in runs),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per load phase")
    parser.add_argument("--batch-rows", type=int, default=20_000, help="rows of the CSV batch")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds; the best of each is kept")
    parser.add_argument("--model-name", default=os.environ.get("MODEL_NAME", "credit-scoring"))
    args = parser.parse_args()
    started_at = datetime.now(UTC)
    load_before = os.getloadavg()
    servers: list[Server] = []
    with tempfile.TemporaryDirectory(prefix="bench-shadow-") as tmp:
        workdir = Path(tmp)
        try:
            tracking_uri, champion, model = bench_model(workdir, args.model_name, "champion", servers)
            registry = Registry(args.model_name, tracking_uri)
            challenger = registry.version_for("challenger")
            if challenger is None:
                run_id = registry.client.get_model_version(args.model_name, champion).run_id
                challenger = registry.register(f"runs:/{run_id}/model", run_id)
                registry.promote(challenger, "challenger", "shadow benchmark", who="bench")
            body = json.dumps({"features": client_row(model)}).encode()
            csv = (
                generate_applications(args.batch_rows, seed=5)
                .drop(columns=["TARGET"])
                .to_csv(index=False)
                .encode()
            )
            runs: dict[str, list[dict[str, Any]]] = {"alone": [], "shadow": []}
            for round_ in range(args.rounds):  # alternate, so a neighbour's load hits both alike
                for shadow in (False, True) if round_ % 2 == 0 else (True, False):
                    name = "shadow" if shadow else "alone"
                    api_dir = workdir / f"{name}-{round_}"
                    api, _ = start_api(
                        api_dir,
                        tracking_uri,
                        args.model_name,
                        "champion",
                        {"SHADOW_ENABLED": str(shadow).lower()},
                    )
                    servers.append(api)
                    health = httpx.get(f"{api.url}/health", timeout=10).json()
                    assert (health["challenger_version"] is not None) == shadow, health
                    runs[name].append(measure(api, api_dir, body, csv, args.duration, shadow))
                    api.stop()
                    servers.remove(api)
                    print(f"  round {round_ + 1}: {name} done", flush=True)
            results = {name: best(found) for name, found in runs.items()}
        finally:
            for server in reversed(servers):
                server.stop()

    alone, shadow = results["alone"], results["shadow"]
    ratios = {
        f"c{a['concurrency']}": {
            "p50_shadow_vs_alone": round(b["p50_ms"] / a["p50_ms"], 3),
            "rps_shadow_vs_alone": round(b["rps"] / a["rps"], 3),
            "cpu_per_request_shadow_vs_alone": round(b["cpu_us_per_request"] / a["cpu_us_per_request"], 3),
        }
        for a, b in zip(alone["load"], shadow["load"], strict=True)
    }
    batch_ratio = round(shadow["batch"]["both_models_stored_s"] / alone["batch"]["answer_s"], 2)
    report = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        },
        "versions": {"champion": champion, "challenger": challenger},
        "duration_s": args.duration,
        "rounds": args.rounds,
        "alone": alone,
        "shadow": shadow,
        "ratios": ratios,
        "batch_both_models_vs_champion_alone": batch_ratio,
        "targets": {
            "within_10pct": all(
                r["p50_shadow_vs_alone"] <= 1.10 and r["rps_shadow_vs_alone"] >= 0.90 for r in ratios.values()
            ),
            "batch_within_1_5x": batch_ratio <= 1.5,
            "rss_under_350mb": shadow["memory"]["rss_mb"] < 350,
        },
    }
    print(
        json.dumps(
            {k: report[k] for k in ("ratios", "batch_both_models_vs_champion_alone", "targets")}, indent=2
        )
    )
    for name in ("alone", "shadow"):
        for row in report[name]["load"]:
            print(
                f"{name:<8} c={row['concurrency']:<3} req/s {row['rps']:>8} p50 {row['p50_ms']:>7} ms p99 {row['p99_ms']:>7} ms "
                f"CPU {row['cpu_us_per_request']} us/request"
            )
        print(f"{name:<8} batch {report[name]['batch']}  memory {report[name]['memory']}")
    print(f"wrote {write_results('bench_shadow', started_at, report)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
