"""Outcomes on PostgreSQL: importing a CSV, and GET /performance over a large decision log.

    .venv/bin/python bench/bench_outcomes.py      # ~2 min; needs PostgreSQL at BENCH_DATABASE_URL

One run, on one machine:
- fills a new database with 1,000,000 logged decisions (12 monthly cohorts, 2 versions) by bulk SQL;
- imports outcome CSVs of 25,000, 100,000 and 400,000 rows with `ml.outcomes.import_outcomes` in a
  child process each (time, and peak resident memory above the child's start: flat in rows means
  the CSV is never held whole), against the peer: PostgreSQL's own COPY of the same 100,000-row
  file into a bare table (the floor: no validation, lookup, duplicates or corrections);
- sets exactly 300,000 outcomes (bulk SQL), starts the API (`python -m api`) on that database and
  times GET /performance (median of 5), against the peer: one grouped scan of the log in SQL
  (`count` and `sum` per version and month: the least a per-cohort report must read).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.servers import API_ENV, api_command, free_port, start_process  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "outcomes.json"
DECISIONS = 1_000_000
OUTCOMES = 300_000
IMPORT_SIZES = (25_000, 100_000, 400_000)

FILL_LOG = f"""
INSERT INTO inference_log (ts, request_id, "row", model_name, model_version, client_hash, features,
                           probability, decision)
SELECT timestamp '2025-11-01' + (g % 365) * interval '1 day' + (g % 86400) * interval '1 second',
       'req-' || (g / 1000), g % 1000 + 1, 'credit-scoring', CASE WHEN g % 365 < 180 THEN '1' ELSE '2' END,
       md5(g::text), '{{}}', p, CASE WHEN p >= 0.3 THEN 'refuse' ELSE 'approve' END
FROM (SELECT g, power(random(), 3) AS p FROM generate_series(0, {DECISIONS - 1}) g) s
"""
SET_OUTCOMES = f"""
TRUNCATE outcomes;
INSERT INTO outcomes (decision_id, defaulted, observed_on, recorded_at)
SELECT id, CASE WHEN random() < probability THEN 1 ELSE 0 END, date '2026-10-01', now()
FROM inference_log WHERE decision = 'approve' ORDER BY id LIMIT {OUTCOMES};
"""
PEER_SCAN = """SELECT model_version, to_char(ts, 'YYYY-MM'), count(*), sum(probability)
               FROM inference_log GROUP BY 1, 2"""


def _vmhwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child_import(url: str, path: Path) -> dict:
    """In a fresh process: import `path`, report time and peak memory above the start."""
    from ml.outcomes import csv_chunks, import_outcomes, outcomes_engine

    outcomes_engine(url)  # connect and create before the baseline
    baseline = _vmhwm_mb()
    started = time.perf_counter()
    with path.open("rb") as stream:
        result = import_outcomes(url, csv_chunks(stream))
    return {
        "seconds": time.perf_counter() - started,
        "peak_above_start_mb": _vmhwm_mb() - baseline,
        "accepted": result.rows - result.rejected,
    }


def write_outcomes_csv(db: psycopg2.extensions.connection, rows: int, path: Path) -> None:
    """Outcomes of the newest `rows` approved decisions, keyed by request id + row."""
    with db.cursor() as cursor, path.open("w") as out:
        out.write("request_id,row,defaulted,observed_at\n")
        cursor.copy_expert(
            f"""COPY (SELECT request_id, "row", CASE WHEN random() < probability THEN 1 ELSE 0 END,
                       '2026-10-01' FROM inference_log WHERE decision = 'approve' ORDER BY id DESC LIMIT {rows})
                TO STDOUT WITH (FORMAT csv)""",
            out,
        )


def peer_copy(url: str, path: Path) -> float:
    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMPORARY TABLE copied (request_id text, row int, defaulted int, observed_at date)"
            )
            started = time.perf_counter()
            with path.open() as stream:
                cursor.copy_expert("COPY copied FROM STDIN WITH (FORMAT csv, HEADER true)", stream)
            connection.commit()
            return time.perf_counter() - started
    finally:
        connection.close()


def timed_get(url: str, runs: int = 5) -> list[float]:
    times = []
    with httpx.Client(timeout=120) as client:
        for _ in range(runs):
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
            response.raise_for_status()
    return times


def peer_scan(url: str, runs: int = 5) -> list[float]:
    connection = psycopg2.connect(url)
    times = []
    try:
        with connection.cursor() as cursor:
            for _ in range(runs):
                started = time.perf_counter()
                cursor.execute(PEER_SCAN)
                cursor.fetchall()
                times.append(time.perf_counter() - started)
    finally:
        connection.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child_import(args.child[0], Path(args.child[1]))))
        return

    admin_url = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"bench_outcomes_{os.getpid()}"
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    results: dict = {"decisions": DECISIONS, "outcomes": OUTCOMES}
    try:
        from ml.outcomes import outcomes_engine

        outcomes_engine(url)  # the log and outcomes tables, and the lookup indexes
        started = time.perf_counter()
        db = psycopg2.connect(url)
        db.autocommit = True
        db.cursor().execute(FILL_LOG)
        db.cursor().execute("ANALYZE inference_log")
        print(f"filled {DECISIONS:,} decisions in {time.perf_counter() - started:.1f} s", flush=True)

        with tempfile.TemporaryDirectory() as tmp:
            imports = {}
            for rows in IMPORT_SIZES:
                path = Path(tmp) / f"outcomes_{rows}.csv"
                write_outcomes_csv(db, rows, path)
                out = subprocess.run(
                    [sys.executable, __file__, "--child", url, str(path)],
                    capture_output=True,
                    text=True,
                    check=True,
                    cwd=ROOT,
                )
                imports[rows] = json.loads(out.stdout.strip().splitlines()[-1])
                print(f"import {rows:,}: {imports[rows]}", flush=True)
            copy_s = peer_copy(url, Path(tmp) / "outcomes_100000.csv")
        results["import"] = imports
        results["import_100k_vs_copy"] = {
            "copy_seconds": copy_s,
            "ratio": imports[100_000]["seconds"] / copy_s,
        }

        db.cursor().execute(SET_OUTCOMES)
        db.cursor().execute("ANALYZE outcomes")
        port = free_port()
        env = {
            **API_ENV,
            "DATABASE_URL": url,
            "MLFLOW_TRACKING_URI": "http://127.0.0.1:9",
            "MLFLOW_TIMEOUT_S": "1",
        }
        with tempfile.TemporaryDirectory() as tmp:
            server = start_process(
                api_command(port),
                f"http://127.0.0.1:{port}",
                Path(tmp) / "api.log",
                env={**env, "MODEL_CACHE_DIR": tmp},
                accept=(200, 503),
            )
            try:
                api_times = timed_get(f"http://127.0.0.1:{port}/performance")
            finally:
                server.stop()
        scan_times = peer_scan(url)
        results["performance"] = {
            "api_median_seconds": statistics.median(api_times),
            "api_seconds": api_times,
            "peer_scan_median_seconds": statistics.median(scan_times),
            "ratio": statistics.median(api_times) / statistics.median(scan_times),
        }
        db.close()
    finally:
        outcomes_engine.cache_clear()
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
