"""Check that the platform's services answer their health paths, deployed or local.

Retries for a long while on purpose: a free Render instance sleeps after 15 idle minutes and
its first request waits for it to wake (30-60 s, more after a deploy). The API also has to
report a loaded model, since a scoring service without one is not up in any useful sense.
Standard library and httpx only, so it runs by hand against any URLs.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

EXIT_OK = 0
EXIT_UNHEALTHY = 1
EXIT_USAGE = 2

HEALTH_PATHS = {"mlflow": "/health", "api": "/health", "app": "/_stcore/health"}


@dataclass
class Result:
    """The last answer a service gave before it passed or time ran out."""

    name: str
    url: str
    healthy: bool = False
    detail: str = "not checked"


def _judge(name: str, response: httpx.Response) -> tuple[bool, str]:
    """Decide from one response whether the service is up; say why not when it is not."""
    if name == "api" and response.status_code in (200, 503):
        try:
            body = response.json()
        except ValueError:
            return False, f"{response.status_code} with a body that is not JSON"
        if not body.get("model_loaded"):
            return False, f"{response.status_code}: no model loaded (register and promote a champion)"
        return (
            response.status_code == 200,
            f"{response.status_code} {body.get('status')}, model {body.get('model_version')}",
        )
    return response.status_code == 200, f"{response.status_code}"


def check(name: str, base_url: str, timeout: float, interval: float, request_timeout: float) -> Result:
    """Poll one service's health path until it is healthy or `timeout` seconds have passed."""
    result = Result(name, base_url.rstrip("/") + HEALTH_PATHS[name])
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=request_timeout, follow_redirects=True) as client:
        while True:
            try:
                result.healthy, result.detail = _judge(name, client.get(result.url))
            except httpx.HTTPError as exc:
                result.healthy, result.detail = False, f"unreachable: {type(exc).__name__}: {exc}"
            if result.healthy or time.monotonic() + interval > deadline:
                return result
            time.sleep(interval)


def summary_markdown(results: list[Result]) -> str:
    rows = "\n".join(
        f"| {r.name} | {r.url} | {'ok' if r.healthy else 'FAIL'} | {r.detail} |" for r in results
    )
    return f"### Smoke test\n\n| service | health url | result | detail |\n|---|---|---|---|\n{rows}\n"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=(
            "Check /health on MLflow and the API (which must report a loaded model) and "
            "/_stcore/health on the console, retrying until each passes or the timeout ends. "
            "Give the base URL of each service to check, e.g. https://credit-scoring-api.onrender.com "
            "or http://127.0.0.1:8000."
        ),
        epilog="exit codes: 0 every given service healthy; 1 at least one unhealthy or unreachable; 2 bad usage.",
    )
    parser.add_argument("--mlflow-url", help="base URL of the MLflow tracking server")
    parser.add_argument("--api-url", help="base URL of the scoring API")
    parser.add_argument("--app-url", help="base URL of the Streamlit console")
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="seconds to keep retrying each service; covers a free instance's cold start (default: %(default)s)",
    )
    parser.add_argument(
        "--interval", type=float, default=5.0, help="seconds between tries (default: %(default)s)"
    )
    parser.add_argument(
        "--request-timeout", type=float, default=60.0, help="seconds for one request (default: %(default)s)"
    )
    parser.add_argument(
        "--summary", help="append a Markdown summary to this file (e.g. $GITHUB_STEP_SUMMARY)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    targets = {
        name: url
        for name, url in (("mlflow", args.mlflow_url), ("api", args.api_url), ("app", args.app_url))
        if url
    }
    if not targets:
        parser.print_usage(sys.stderr)
        print("smoke-test: give at least one of --mlflow-url, --api-url, --app-url", file=sys.stderr)
        return EXIT_USAGE
    # Concurrently, so that three sleeping instances wake up together rather than one by one.
    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        futures = [
            pool.submit(check, name, url, args.timeout, args.interval, args.request_timeout)
            for name, url in targets.items()
        ]
        results = [future.result() for future in futures]
    for r in results:
        print(f"{r.name:<7} {'ok  ' if r.healthy else 'FAIL'} {r.url} {r.detail}")
    if args.summary:
        with Path(args.summary).open("a", encoding="utf-8") as fh:
            fh.write(summary_markdown(results))
    return EXIT_OK if all(r.healthy for r in results) else EXIT_UNHEALTHY


if __name__ == "__main__":
    sys.exit(main())
