"""Benchmark: what reason codes cost on POST /predict, against the same API without them, in one run.

Run: `.venv/bin/python bench/bench_reasons.py` (part of `make bench`). It uses MLFLOW_TRACKING_URI's
MODEL_NAME@MODEL_ALIAS when given, else trains one (as bench_api.py does), starts the API and sends
one refused client (low external scores) at concurrency 1, alternating `?reasons=false` and
`?reasons=true` phases so both see the same machine load; the p50 of each flag is the median of its
phases. The target: p50 with reasons within 0.3 ms of without. In-process timings of the same row
(predict alone; predict + decision-path reasons, what the API does; predict + TreeSHAP reasons,
reasons.method "shap") separate the model's cost from the HTTP path. Results go to bench/results/bench_reasons-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_api import bench_model, client_row, run_load, start_api, write_results  # noqa: E402

from ml.config import load_params  # noqa: E402
from ml.reasons import PathContributions, ReasonExplainer  # noqa: E402
from ml.scoring import ScoringModel  # noqa: E402

TARGET_MS = 0.3
LOW_EXTERNAL = {"EXT_SOURCE_1": 0.02, "EXT_SOURCE_2": 0.02, "EXT_SOURCE_3": 0.02}


def in_process_us(model: ScoringModel, row: dict[str, Any], repeats: int = 3_000) -> dict[str, float]:
    """Median µs per call of the model's own work for one row, with and without reasons."""
    raw = model.encoder.encode_records([row], rows=[None]).matrix
    params = load_params().reasons
    explainer = ReasonExplainer(model.feature_names(), params.excluded, params.max_reasons)
    path = PathContributions(model.booster, len(model.feature_names()))

    def plain() -> None:  # what POST /predict does: one build, LightGBM's single-row fast path
        model.predict_built_one(model.builder.build(raw))

    def with_path_reasons() -> None:  # the same build, and the single-row leaf path (reasons.method "path")
        built = model.builder.build(raw)
        model.predict_built_one(built)
        explainer.explain(path(built))

    def with_shap_reasons() -> None:  # reasons.method "shap"
        built = model.builder.build(raw)
        model.predict_built_one(built)
        explainer.explain(model.contributions(raw))

    out = {}
    for name, func in (
        ("predict_us", plain),
        ("predict_and_path_reasons_us", with_path_reasons),
        ("predict_and_shap_reasons_us", with_shap_reasons),
    ):
        samples = []
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(repeats // 5):
                func()
            samples.append((time.perf_counter() - started) / (repeats // 5) * 1e6)
        out[name] = round(statistics.median(samples), 1)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per load phase")
    parser.add_argument("--rounds", type=int, default=3, help="phases per flag (alternating)")
    parser.add_argument("--model-name", default=os.environ.get("MODEL_NAME", "credit-scoring"))
    parser.add_argument("--alias", default=os.environ.get("MODEL_ALIAS", "champion"))
    args = parser.parse_args()
    started_at = datetime.now(UTC)
    servers = []
    with tempfile.TemporaryDirectory(prefix="bench-reasons-") as tmp:
        workdir = Path(tmp)
        try:
            tracking_uri, version, model = bench_model(workdir, args.model_name, args.alias, servers)
            api, _ = start_api(workdir / "api", tracking_uri, args.model_name, args.alias)
            servers.append(api)
            row = {**client_row(model), **LOW_EXTERNAL}
            body = json.dumps({"features": row}).encode()
            answer = httpx.post(
                f"{api.url}/predict", content=body, headers={"Content-Type": "application/json"}
            )
            answer.raise_for_status()
            if answer.json()["decision"] != "refuse" or not answer.json()["reasons"]:
                raise SystemExit("the benchmark client was not refused with reasons; nothing to measure")
            phases: dict[str, list[dict[str, Any]]] = {"false": [], "true": []}
            for _ in range(args.rounds):
                for flag in ("false", "true"):
                    result = run_load(
                        f"reasons={flag}", api.url, f"/predict?reasons={flag}", body, 1, args.duration
                    )
                    phases[flag].append(asdict(result))
            model_us = in_process_us(model, row)
        finally:
            for server in reversed(servers):
                server.stop()
    p50 = {flag: statistics.median(p["p50_ms"] for p in runs) for flag, runs in phases.items()}
    report = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "model": {"name": args.model_name, "version": version, "trees": model.booster.num_trees()},
        "p50_ms_without_reasons": p50["false"],
        "p50_ms_with_reasons": p50["true"],
        "p50_difference_ms": round(p50["true"] - p50["false"], 3),
        "ratio_with_vs_without": round(p50["true"] / p50["false"], 3),
        "target_difference_ms": TARGET_MS,
        "within_target": p50["true"] - p50["false"] <= TARGET_MS,
        "in_process": model_us,
        "phases": phases,
        "load_average": os.getloadavg(),
    }
    path = write_results("bench_reasons", started_at, report)
    print(
        f"POST /predict p50: {p50['false']:.3f} ms without reasons, {p50['true']:.3f} ms with "
        f"(+{report['p50_difference_ms']:.3f} ms, ratio {report['ratio_with_vs_without']}x; target +{TARGET_MS} ms: "
        f"{'met' if report['within_target'] else 'MISSED'})"
    )
    print(
        f"in process ({report['model']['trees']} trees): predict {model_us['predict_us']} µs, "
        f"+ path reasons {model_us['predict_and_path_reasons_us']} µs, "
        f"+ TreeSHAP reasons {model_us['predict_and_shap_reasons_us']} µs"
    )
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
