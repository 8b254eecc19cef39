"""Where the single-row tail comes from: an API replica with stall probes, under `wrk` load.

Run: `.venv/bin/python bench/probe_tail.py` (MLFLOW_TRACKING_URI serving MODEL_NAME@MODEL_ALIAS).
Starts `python bench/probe_tail.py --serve` (the API as `python -m api` runs it, plus the probes), loads
it with wrk at concurrency 16 for `--duration` s, then prints what the probes saw:
  - event-loop lag: a task asks to wake every 1 ms and records how late it woke (a stall of the loop
    = every request in flight waits that long);
  - garbage collection: `gc.callbacks` timings per generation;
  - CPU time per thread (event loop, inference-log writer, OpenMP...) from /proc, over the load window.
PROBE_ENV="NAME=value ..." passes settings to the server (e.g. an ablation of one suspect).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import shlex
import signal
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LAG_TICK_S = 0.001


class Probes:
    """Loop lags and GC pauses, kept as (monotonic start, seconds) pairs."""

    def __init__(self) -> None:
        self.lags: list[tuple[float, float]] = []
        self.gcs: list[tuple[float, int, float]] = []
        self._gc_started = 0.0

    def on_gc(self, phase: str, info: dict[str, Any]) -> None:
        now = time.perf_counter()
        if phase == "start":
            self._gc_started = now
        else:
            self.gcs.append((self._gc_started, info["generation"], now - self._gc_started))

    async def watch_loop(self) -> None:
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(LAG_TICK_S)
            late = time.perf_counter() - asked - LAG_TICK_S
            if late > 0.0005:
                self.lags.append((asked, late))

    def sample_forever(self, thread_id: int, interval_s: float = 0.002) -> None:
        """A poor man's sampling profiler of one thread: inclusive counts per function (PROBE_SAMPLE=1)."""
        self.samples = 0
        self.inclusive: dict[str, int] = {}
        while True:
            time.sleep(interval_s)
            frame = sys._current_frames().get(thread_id)
            if frame is None or self._sampling_since == 0.0:
                continue
            self.samples += 1
            seen = set()
            while frame is not None:
                code = frame.f_code
                key = f"{Path(code.co_filename).name}:{code.co_name}"
                if key not in seen:
                    seen.add(key)
                    self.inclusive[key] = self.inclusive.get(key, 0) + 1
                frame = frame.f_back

    _sampling_since = 0.0

    def dump(self, path: Path, since: float) -> None:
        threads = {t.native_id: t.name for t in threading.enumerate()}
        path.write_text(
            json.dumps(
                {
                    "lags": [x for x in self.lags if x[0] >= since],
                    "gcs": [x for x in self.gcs if x[0] >= since],
                    "threads": {str(k): v for k, v in threads.items()},
                    "profile": {
                        "samples": getattr(self, "samples", 0),
                        "top": sorted(getattr(self, "inclusive", {}).items(), key=lambda x: -x[1])[:60],
                    },
                }
            )
        )


def serve(port: int, out: Path) -> None:
    """The API as `python -m api` runs it, with the probes installed in its process."""
    from api.runtime import block_unused_imports

    block_unused_imports()
    import uvicorn

    import api.main

    if os.environ.get("PROBE_NO_LOG"):  # an ablation: the inference log's work gone from this process
        from ml.inference_log import InferenceLogWriter

        InferenceLogWriter.append_lazy = lambda *_a, **_k: None  # type: ignore[method-assign]

    probes = Probes()
    gc.callbacks.append(probes.on_gc)
    app = api.main.app
    original = app.router.lifespan_context
    marks: dict[str, float] = {"since": 0.0}

    @contextlib.asynccontextmanager
    async def probed(app_: Any) -> AsyncIterator[None]:
        async with original(app_):
            if os.environ.get("PROBE_GC_FREEZE"):  # an ablation: what gc.freeze() after start-up changes
                gc.freeze()
            task = asyncio.create_task(probes.watch_loop())
            yield
            task.cancel()

    app.router.lifespan_context = probed
    if os.environ.get("PROBE_SAMPLE"):
        main_id = threading.get_ident()
        threading.Thread(target=probes.sample_forever, args=(main_id,), daemon=True).start()

    def mark(*_: Any) -> None:
        marks["since"] = probes._sampling_since = time.perf_counter()

    signal.signal(signal.SIGUSR1, mark)
    signal.signal(signal.SIGUSR2, lambda *_: probes.dump(out, marks["since"]))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds per thread id of a process."""
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        out[int(task.name)] = (int(fields[11]) + int(fields[12])) / ticks
    return out


def summarise(data: dict[str, Any], window_s: float, cpu: dict[str, float]) -> dict[str, Any]:
    lags = sorted(late for _, late in data["lags"])
    gcs = data["gcs"]
    by_gen: dict[int, list[float]] = {}
    for _, generation, seconds in gcs:
        by_gen.setdefault(generation, []).append(seconds)
    # A stall "explained by GC" when a collection ran inside the late interval.
    explained = 0
    starts = sorted((start, start + seconds) for start, _, seconds in gcs)
    for asked, late in data["lags"]:
        if late > 0.002 and any(asked <= s <= asked + LAG_TICK_S + late for s, _ in starts):
            explained += 1
    big = [x for x in lags if x > 0.002]
    return {
        "window_s": round(window_s, 1),
        "loop_lag": {
            "late_wakeups_over_0.5ms": len(lags),
            "over_2ms": len(big),
            "over_5ms": sum(1 for x in lags if x > 0.005),
            "over_10ms": sum(1 for x in lags if x > 0.010),
            "max_ms": round(lags[-1] * 1000, 2) if lags else 0,
            "total_stalled_ms_over_2ms": round(sum(big) * 1000, 1),
            "over_2ms_with_a_gc_inside": explained,
        },
        "gc": {
            f"gen{gen}": {
                "count": len(times),
                "per_s": round(len(times) / window_s, 1),
                "mean_ms": round(1000 * sum(times) / len(times), 3),
                "max_ms": round(1000 * max(times), 2),
                "total_ms": round(1000 * sum(times), 1),
            }
            for gen, times in sorted(by_gen.items())
        },
        "cpu_s_per_thread": cpu,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from scripts.servers import API_ENV, start_process

    with tempfile.TemporaryDirectory(prefix="probe-tail-") as tmp:
        workdir = Path(tmp)
        out = workdir / "probes.json"
        env = {
            **API_ENV,
            "DATABASE_URL": f"sqlite:///{workdir / 'log.db'}",
            "MODEL_CACHE_DIR": str(workdir / "cache"),
            "API_KEYS": "",
            "ADMIN_API_KEYS": "",
            "LOG_LEVEL": "INFO",
            **dict(item.split("=", 1) for item in shlex.split(os.environ.get("PROBE_ENV", ""))),
        }
        command = [sys.executable, __file__, "--serve", "--port", str(args.port), "--out", str(out)]
        server = start_process(command, f"http://127.0.0.1:{args.port}", workdir / "api.log", env=env)
        try:
            from bench.wrk import run_wrk

            body = args.body or json.dumps({"features": _example_row(server.url)})
            run_wrk(server.url, "/predict", body, args.concurrency, 2)  # warm-up
            pid = server.process.pid
            before = thread_cpu(pid)
            os.kill(pid, signal.SIGUSR1)
            started = time.perf_counter()
            result = run_wrk(server.url, "/predict", body, args.concurrency, args.duration)
            window = time.perf_counter() - started
            after = thread_cpu(pid)
            os.kill(pid, signal.SIGUSR2)
            time.sleep(0.5)
            data = json.loads(out.read_text())
            names = data["threads"]
            cpu: dict[str, float] = {}
            for tid, seconds in after.items():
                name = names.get(str(tid), "other (OpenMP, uvloop, ...)")
                cpu[name] = round(cpu.get(name, 0.0) + seconds - before.get(tid, 0.0), 2)
            summary = summarise(data, window, cpu)
            return {
                "wrk": result,
                **summary,
                "env": os.environ.get("PROBE_ENV", ""),
                "profile": data["profile"],
            }
        finally:
            server.stop()


def _example_row(url: str) -> dict[str, Any]:
    import httpx

    schema = httpx.get(f"{url}/model", timeout=10).json()["feature_schema"]["features"]
    return {
        spec["name"]: (float(spec["example"]) if spec["kind"] == "numeric" else spec["example"])
        for spec in schema
        if spec.get("example") is not None
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PROBE_PORT", "18410")))
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--body", default="")
    args = parser.parse_args()
    if args.serve:
        serve(args.port, args.out)
        return 0
    print(json.dumps(run(args), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
