"""`score-book` end to end: the Spark engine (local[2]) vs the local engine vs the raw booster, one run.

A generated book (2,000,000 rows by default, Home-Credit schema, written as one CSV in slices so this
script stays small) is scored by `python -m ml score-book` in a fresh process per engine: read,
validate, score, write Parquet and the errors file. The peer is LightGBM's `predict` on the book's
already-built matrix, in this process, on the same 2 threads. The local engine also scores a tenth of
the book, so its peak memory can be compared across book sizes (it should not grow with rows).
The model is trained here and registered in a throwaway SQLite MLflow store in a temporary directory.

    python bench/bench_score_book.py                 # 2,000,000 rows (~10-20 min on 2 cores)
    python bench/bench_score_book.py --rows 200000   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

RESULTS = ROOT / "bench" / "results" / "score_book.json"
SLICE_ROWS = 200_000


def train_champion(tracking_uri: str) -> None:
    """A real model, registered and made champion in the throwaway store."""
    from ml.config import Settings, load_params
    from ml.data import generated_dataset
    from ml.registry import Registry
    from ml.train import train_model

    params = load_params()
    params.train.num_boost_round, params.reference.rows = 300, 2_000
    settings = Settings(mlflow_tracking_uri=tracking_uri, experiment_name="bench-score-book")
    result = train_model(generated_dataset(20_000, seed=5), params, settings, quiet=True)
    registry = Registry(settings.model_name, tracking_uri, params.gate)
    version = registry.register(result.model_uri, result.run_id)
    registry.promote(version, "champion", "bench", force=True)


def write_book(path: Path, rows: int) -> None:
    """`rows` generated clients as one CSV, written slice by slice (ids repeat between slices)."""
    from ml.generate import generate_applications

    written = 0
    while written < rows:
        part = generate_applications(min(SLICE_ROWS, rows - written), seed=100 + written // SLICE_ROWS)
        part.drop(columns=["TARGET"]).to_csv(path, mode="a", header=written == 0, index=False)
        written += len(part)


def run_engine(workdir: Path, tracking_uri: str, book: Path, engine: str, name: str) -> dict[str, float]:
    """One `score-book` process: its wall time and the peak resident memory of its process tree (the
    CLI, and for Spark its JVM and Python workers), sampled every 0.2 s with psutil. (`ru_maxrss` from
    wait4 would not do: Linux keeps the forking parent's high-water mark across exec.)"""
    import psutil

    command = [
        sys.executable, "-m", "ml", "--tracking-uri", tracking_uri, "score-book", str(book),
        "-o", str(workdir / f"{name}-scores"), "--engine", engine, "--json",
    ]  # fmt: skip
    if engine == "spark":
        command += ["--master", "local[2]"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYSPARK_PYTHON": sys.executable}
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(command, cwd=workdir, env=env, stdout=out, stderr=subprocess.DEVNULL)
        root, peak = psutil.Process(process.pid), 0
        while process.poll() is None:
            try:
                tree = [root, *root.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.2)
        seconds = time.perf_counter() - started
        out.seek(0)
        output = out.read()
    if process.returncode != 0:
        raise RuntimeError(f"{engine} engine failed: {output.decode()[-2000:]}")
    summary = json.loads(output)
    return {
        "seconds": round(seconds, 2),
        "peak_tree_rss_mb": round(peak / 2**20),
        "scored": summary["scored"],
    }


def raw_booster(tracking_uri: str, book: Path, workdir: Path) -> dict[str, float]:
    """The peer: LightGBM's predict on the book's built matrix (building it is not timed)."""
    import numpy as np
    import pandas as pd

    from ml.schema import encode_frame
    from ml.score_book import csv_dtypes, fetch_model

    model = fetch_model(tracking_uri, "credit-scoring", "champion", None, workdir / "model").load()
    blocks = [
        model.builder.build(encode_frame(chunk, model.schema))
        for chunk in pd.read_csv(book, dtype=csv_dtypes(model.schema), chunksize=SLICE_ROWS)
    ]
    matrix = np.concatenate(blocks)
    del blocks
    started = time.perf_counter()
    model.booster.predict(matrix, num_threads=2)
    return {"seconds": round(time.perf_counter() - started, 2), "rows": len(matrix)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=2_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-score-book-") as tmp:
        workdir = Path(tmp)
        os.chdir(workdir)  # the SQLite store keeps its artifacts under ./mlruns
        tracking_uri = f"sqlite:///{workdir / 'mlflow.db'}"
        train_champion(tracking_uri)
        book, small = workdir / "book.csv", workdir / "book-tenth.csv"
        write_book(book, args.rows)
        write_book(small, args.rows // 10)
        results = {
            "rows": args.rows,
            "book_mb": round(book.stat().st_size / 1e6, 1),
            "load_average": os.getloadavg()[0],
            "spark": run_engine(workdir, tracking_uri, book, "spark", "spark"),
            "local": run_engine(workdir, tracking_uri, book, "local", "local"),
            "local_tenth": run_engine(workdir, tracking_uri, small, "local", "local-tenth"),
            "raw_booster": raw_booster(tracking_uri, book, workdir),
        }
    raw = results["raw_booster"]["seconds"]
    results["ratios"] = {
        "spark_vs_raw": round(results["spark"]["seconds"] / raw, 1),
        "local_vs_raw": round(results["local"]["seconds"] / raw, 1),
        "spark_vs_local": round(results["spark"]["seconds"] / results["local"]["seconds"], 2),
        "local_memory_full_vs_tenth": round(
            results["local"]["peak_tree_rss_mb"] / results["local_tenth"]["peak_tree_rss_mb"], 2
        ),
    }
    results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["load_average_end"] = os.getloadavg()[0]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
