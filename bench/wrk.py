"""Debian's `wrk` as an independent closed-loop load generator: a Lua script POSTs one JSON body and
prints the latency percentiles and error counts as one JSON line when the run ends."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = io.open(os.getenv("WRK_BODY_FILE")):read("*a")
done = function(summary, latency, requests)
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"socket_errors":%d,"non2xx":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d}\\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max))
end
"""


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk not found: apt-get install -y wrk")
    return path


def run_wrk(url: str, path: str, body: str, connections: int, duration_s: float) -> dict[str, Any]:
    """One closed-loop run (one wrk thread, `connections` keep-alive connections); figures in ms."""
    with tempfile.TemporaryDirectory(prefix="wrk-") as tmp:
        script, body_file = Path(tmp) / "post.lua", Path(tmp) / "body.json"
        script.write_text(LUA)
        body_file.write_text(body)
        completed = subprocess.run(
            [
                wrk_path(),
                "-t1",
                f"-c{connections}",
                f"-d{max(int(duration_s), 1)}s",
                "-s",
                str(script),
                url + path,
            ],
            capture_output=True,
            text=True,
            timeout=duration_s + 60,
            env={"WRK_BODY_FILE": str(body_file)},
            check=True,
        )
    line = next(x for x in completed.stdout.splitlines() if x.startswith("WRKJSON "))
    raw = json.loads(line.removeprefix("WRKJSON "))
    seconds = raw["duration_us"] / 1e6
    return {
        "generator": "wrk",
        "concurrency": connections,
        "duration_s": round(seconds, 2),
        "requests": raw["requests"],
        "errors": raw["socket_errors"] + raw["non2xx"],
        "rps": round(raw["requests"] / seconds, 1),
        **{
            f"{key[:-3]}_ms": round(raw[key] / 1000, 3)
            for key in ("p50_us", "p90_us", "p99_us", "p999_us", "max_us")
        },
    }
