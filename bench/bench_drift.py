"""Drift check at full size: our check vs a plain `Report([DataDriftPreset()]).run(...)`, same frames.

Reference 300,000 rows vs current 50,000 rows of generated Home-Credit-schema data (every column
but the id; the current is the ML core's drifted production batch), both with a real model's scores.
Each variant runs in a fresh process; the parent reads its peak RSS from `wait4` and its wall time,
the child reports the time of the check itself (loading the data included, imports excluded) and the
HTML size. Our check runs end to end as in production: reports written, the run logged to a real
`mlflow server` over HTTP. A third variant is the bounded check the API starts (drift.api_* caps).

    python bench/bench_drift.py            # full size (targets: < 60 s, < 2 GB, HTML < 20 MB)
    python bench/bench_drift.py --quick    # 30,000 vs 5,000 rows, a smoke run
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

RESULTS = ROOT / "bench" / "results" / "drift.json"
TARGET_SECONDS, TARGET_RSS_MB, TARGET_HTML_MB = 60, 2048, 20
API_SAMPLE_ROWS = 50_000  # the reference sample a training run keeps (params.reference.rows)


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM), read from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# setup (parent) ---------------------------------------------------------------------------------------


def _train_scorer(tracking_uri: str, workdir: Path):
    """A real LightGBM model (tracked in the throwaway MLflow server) to score both frames."""
    import mlflow

    from ml.config import Settings, load_params
    from ml.data import generated_dataset
    from ml.scoring import ScoringModel
    from ml.train import train_model

    params = load_params()
    params.train.num_boost_round, params.reference.rows = 300, 1_000
    settings = Settings(mlflow_tracking_uri=tracking_uri, experiment_name="bench-drift")
    result = train_model(generated_dataset(20_000, seed=5), params, settings, quiet=True)
    local = mlflow.artifacts.download_artifacts(
        result.model_uri, dst_path=str(workdir / "model"), tracking_uri=tracking_uri
    )
    return ScoringModel.load(local)


def prepare(tracking_uri: str, workdir: Path, reference_rows: int, current_rows: int) -> None:
    from ml.drift.batches import make_production_batch
    from ml.generate import generate_applications

    scorer = _train_scorer(tracking_uri, workdir)
    reference = generate_applications(reference_rows, seed=1).drop(columns=["SK_ID_CURR"])
    current = make_production_batch(generate_applications(current_rows, seed=2)).drop(columns=["SK_ID_CURR"])
    for frame in (reference, current):
        frame["prediction"] = scorer.predict_frame(frame)
    reference.to_parquet(workdir / "reference.parquet", index=False)
    current.to_parquet(workdir / "current.parquet", index=False)
    reference.head(API_SAMPLE_ROWS).to_parquet(workdir / "reference_api.parquet", index=False)


# variants (children) ----------------------------------------------------------------------------------


def run_plain(workdir: Path) -> dict:
    import pandas as pd
    from evidently import Report
    from evidently.legacy.metrics import DataDriftTable
    from evidently.presets import DataDriftPreset

    started = time.perf_counter()
    reference = pd.read_parquet(workdir / "reference.parquet")
    current = pd.read_parquet(workdir / "current.parquet")
    snapshot = Report([DataDriftPreset()]).run(current, reference)
    page = snapshot.get_html_str(as_iframe=False)
    (workdir / "plain.html").write_text(page, encoding="utf-8")
    seconds = time.perf_counter() - started
    # the preset's own per-column table, already computed by its render (a cache hit, not a rerun)
    table, _ = snapshot.context.get_legacy_metric(DataDriftTable(), None, None)
    columns = {
        name: {"method": c.stattest_name, "score": float(c.drift_score), "drifted": bool(c.drift_detected)}
        for name, c in table.drift_by_columns.items()
    }
    return {
        "seconds": seconds,
        "html_bytes": len(page.encode()),
        "columns": columns,
        "rows": [len(reference), len(current)],
    }


def run_ours(workdir: Path, api_caps: bool) -> dict:
    from ml.config import Settings, load_params
    from ml.drift.check import run_check

    params = load_params()
    settings = Settings(
        mlflow_tracking_uri=os.environ["BENCH_TRACKING_URI"], monitoring_experiment_name="bench"
    )
    caps = {"reference_rows": params.drift.api_reference_rows, "last_n": params.drift.api_current_rows}
    reference = workdir / ("reference_api.parquet" if api_caps else "reference.parquet")
    started = time.perf_counter()
    outcome = run_check(
        params,
        settings,
        workdir / ("reports_api" if api_caps else "reports"),
        reference_path=str(reference),
        current_path=str(workdir / "current.parquet"),
        **(caps if api_caps else {}),
    )
    seconds = time.perf_counter() - started
    summary = outcome.summary
    columns = {
        name: {k: c[k] for k in ("method", "score", "drifted")} for name, c in summary["columns"].items()
    }
    return {
        "seconds": seconds,
        "html_bytes": outcome.paths["html"].stat().st_size,
        "columns": columns,
        "rows": [summary["rows"]["reference"], summary["rows"]["current"]],
        "mlflow_logged": outcome.mlflow_logged,
    }


VARIANTS = {
    "plain": ("plain DataDriftPreset", lambda workdir: run_plain(workdir)),
    "ours": ("our drift check", lambda workdir: run_ours(workdir, api_caps=False)),
    "ours-api": ("our check, API caps", lambda workdir: run_ours(workdir, api_caps=True)),
}


def child(variant: str, workdir: Path, result_path: Path) -> None:
    result = VARIANTS[variant][1](workdir)
    result["child_peak_rss_mb"] = peak_rss_mb()
    result_path.write_text(json.dumps(result))


def measure(variant: str, workdir: Path, tracking_uri: str) -> dict:
    """Run one variant in a fresh process; wall time and peak RSS of that process alone."""
    result_path = workdir / f"{variant}.json"
    command = [
        sys.executable,
        __file__,
        "--child",
        variant,
        "--workdir",
        str(workdir),
        "--result",
        str(result_path),
    ]
    started = time.perf_counter()
    process = subprocess.Popen(command, env={**os.environ, "BENCH_TRACKING_URI": tracking_uri})
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"variant {variant} failed with exit code {process.returncode}")
    result = json.loads(result_path.read_text())
    result.update(wall_seconds=wall, peak_rss_mb=usage.ru_maxrss / 1024)
    return result


# report -----------------------------------------------------------------------------------------------


def compare_verdicts(plain: dict, ours: dict) -> dict:
    common = sorted(set(plain["columns"]) & set(ours["columns"]))
    drifted = {
        name: sorted(c for c in common if r["columns"][c]["drifted"])
        for name, r in (("plain", plain), ("ours", ours))
    }
    diffs = [abs(plain["columns"][c]["score"] - ours["columns"][c]["score"]) for c in common]
    methods = [c for c in common if plain["columns"][c]["method"] != ours["columns"][c]["method"]]
    return {
        "columns_compared": len(common),
        "only_in_plain": sorted(set(plain["columns"]) - set(common)),
        "drifted_plain": drifted["plain"],
        "drifted_ours": drifted["ours"],
        "same_drifted_columns": drifted["plain"] == drifted["ours"],
        "max_score_difference": max(diffs) if diffs else None,
        "method_mismatches": methods,
    }


def print_table(results: dict[str, dict]) -> None:
    print(
        f"\n{'variant':<24}{'rows ref/cur':>16}{'wall s':>9}{'check s':>9}{'peak RSS MB':>13}{'HTML MB':>9}  drifted"
    )
    for variant, r in results.items():
        drifted = sum(c["drifted"] for c in r["columns"].values())
        rows = f"{r['rows'][0]}/{r['rows'][1]}"
        print(
            f"{VARIANTS[variant][0]:<24}{rows:>16}{r['wall_seconds']:>9.1f}{r['seconds']:>9.1f}"
            f"{r['peak_rss_mb']:>13.0f}{r['html_bytes'] / 1e6:>9.2f}  {drifted} of {len(r['columns'])}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="30,000 vs 5,000 rows")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--child", choices=list(VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--prepare", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.workdir, args.result)
        return
    if args.prepare:
        prepare(os.environ["BENCH_TRACKING_URI"], args.workdir, *map(int, args.prepare.split(",")))
        return
    reference_rows, current_rows = (30_000, 5_000) if args.quick else (300_000, 50_000)
    from tests.servers import start_mlflow

    with tempfile.TemporaryDirectory(prefix="bench-drift-") as tmp:
        workdir = Path(tmp)
        started = time.perf_counter()
        server = start_mlflow(workdir / "mlflow")
        try:
            # in a child too: a fork inherits the parent's size into its peak RSS, so the parent stays lean
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--prepare",
                    f"{reference_rows},{current_rows}",
                    "--workdir",
                    str(workdir),
                ],
                env={**os.environ, "BENCH_TRACKING_URI": server.url},
                check=True,
            )
            print(
                f"setup (MLflow server, scorer, {reference_rows} + {current_rows} rows): {time.perf_counter() - started:.0f} s"
            )
            results = {variant: measure(variant, workdir, server.url) for variant in VARIANTS}
        finally:
            server.stop()
    print_table(results)
    verdicts = compare_verdicts(results["plain"], results["ours"])
    ours = results["ours"]
    targets = {
        "wall_under_60_s": ours["wall_seconds"] < TARGET_SECONDS,
        "peak_rss_under_2_gb": ours["peak_rss_mb"] < TARGET_RSS_MB,
        "html_under_20_mb": ours["html_bytes"] < TARGET_HTML_MB * 1e6,
        "same_drifted_columns": verdicts["same_drifted_columns"],
    }
    print(
        f"\nsame drifted columns as the plain run ({verdicts['columns_compared']} columns compared): "
        f"{verdicts['same_drifted_columns']} -> {', '.join(verdicts['drifted_ours'])}"
    )
    print(
        f"largest score difference: {verdicts['max_score_difference']:.2e}; plain also tested: {verdicts['only_in_plain']}"
    )
    print("targets: " + ", ".join(f"{name} {'ok' if ok else 'MISSED'}" for name, ok in targets.items()))
    report = {
        "benchmark": "drift",
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": {"reference": reference_rows, "current": current_rows},
        "machine": {
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg(),
            "python": sys.version.split()[0],
        },
        "results": {v: {k: r[k] for k in r if k != "columns"} for v, r in results.items()},
        "verdicts": verdicts,
        "targets": targets,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"results written to {args.output}")
    if not args.quick and not all(targets.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
