"""Deploy the platform's three Render services and wire their public URLs together.

A script rather than three deploy hooks because free Render web services cannot talk over the
private network: the API and the console must be told the public URLs of MLflow and the API
before they start, and a CI job must fail, with a reason, when a build fails.
Uses only Render's documented REST API (https://api-docs.render.com), the standard library
and httpx.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

EXIT_OK = 0
EXIT_DEPLOY_FAILED = 1
EXIT_USAGE = 2
EXIT_TIMEOUT = 3
EXIT_API_ERROR = 4

DEFAULT_API_BASE = "https://api.render.com/v1"
LIVE = "live"
FAILED = frozenset({"build_failed", "update_failed", "canceled", "pre_deploy_failed", "deactivated"})

# Deploy order matters: the API loads its model from MLflow, the console calls the API.
SERVICES: tuple[tuple[str, str], ...] = (
    ("mlflow", "RENDER_SERVICE_ID_MLFLOW"),
    ("api", "RENDER_SERVICE_ID_API"),
    ("app", "RENDER_SERVICE_ID_APP"),
)
API_KEY_VAR = "RENDER_API_KEY"


class DeployError(Exception):
    """A reason to stop, with the exit code that tells CI which kind of failure it was."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class Outcome:
    """What happened to one service, for the summary."""

    name: str
    service_id: str
    url: str
    deploy_id: str = ""
    status: str = "not started"


def read_service_ids(env: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """Return the API key and service ids, naming every missing secret at once."""
    names = [API_KEY_VAR, *(var for _, var in SERVICES)]
    missing = [name for name in names if not env.get(name, "").strip()]
    if missing:
        raise DeployError(
            f"missing secret(s): {', '.join(missing)}. Set them as GitHub Actions secrets "
            "(Settings > Secrets and variables > Actions) or export them for a manual run.",
            EXIT_USAGE,
        )
    return env[API_KEY_VAR].strip(), {name: env[var].strip() for name, var in SERVICES}


class RenderClient:
    """The four Render API calls a deploy needs, with Render's error message on failure."""

    def __init__(self, api_key: str, base_url: str = DEFAULT_API_BASE, timeout: float = 30.0) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            timeout=timeout,
        )

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, json: object | None = None) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, json=json)
        except httpx.HTTPError as exc:
            raise DeployError(f"Render API unreachable ({method} {path}): {exc}", EXIT_API_ERROR) from exc
        if response.is_error:
            raise DeployError(
                f"Render API {method} {path} answered {response.status_code}: {_error_message(response)}",
                EXIT_API_ERROR,
            )
        return response.json() if response.content else {}

    def service_url(self, service_id: str) -> str:
        """Public URL of a web service (serviceDetails.url)."""
        service = self._request("GET", f"/services/{service_id}")
        url = (service.get("serviceDetails") or {}).get("url")
        if not url:
            raise DeployError(f"service {service_id} has no public URL: is it a web service?", EXIT_API_ERROR)
        return str(url)

    def set_env_var(self, service_id: str, key: str, value: str) -> None:
        """Add or update one environment variable; it takes effect on the next deploy."""
        self._request("PUT", f"/services/{service_id}/env-vars/{key}", json={"value": value})

    def trigger_deploy(self, service_id: str, clear_cache: bool, commit: str | None) -> str:
        """Start a deploy (of `commit`, else of the branch's latest) and return the deploy id."""
        body = {"clearCache": "clear" if clear_cache else "do_not_clear"}
        if commit:
            body["commitId"] = commit
        deploy = self._request("POST", f"/services/{service_id}/deploys", json=body)
        if not deploy.get("id"):
            raise DeployError(
                f"Render accepted a deploy of {service_id} but returned no deploy id", EXIT_API_ERROR
            )
        return str(deploy["id"])

    def deploy_status(self, service_id: str, deploy_id: str) -> str:
        return str(self._request("GET", f"/services/{service_id}/deploys/{deploy_id}").get("status", ""))


def _error_message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message") or response.text)
    except ValueError:
        return response.text[:200]


def wait_until_live(client: RenderClient, outcome: Outcome, timeout: float, interval: float) -> None:
    """Poll a deploy until it is live; raise on a failed status or when time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        outcome.status = client.deploy_status(outcome.service_id, outcome.deploy_id)
        if outcome.status == LIVE:
            return
        if outcome.status in FAILED:
            raise DeployError(
                f"{outcome.name}: deploy {outcome.deploy_id} ended as {outcome.status}; "
                "see the deploy's logs in the Render dashboard",
                EXIT_DEPLOY_FAILED,
            )
        if time.monotonic() >= deadline:
            raise DeployError(
                f"{outcome.name}: deploy {outcome.deploy_id} still {outcome.status} after {timeout:g}s",
                EXIT_TIMEOUT,
            )
        time.sleep(interval)


def deploy_all(client: RenderClient, ids: dict[str, str], args: argparse.Namespace) -> list[Outcome]:
    """Wire the public URLs into the services' environment, then deploy them in order."""
    outcomes = [Outcome(name, ids[name], client.service_url(ids[name])) for name, _ in SERVICES]
    urls = {o.name: o.url for o in outcomes}
    client.set_env_var(ids["api"], "MLFLOW_TRACKING_URI", urls["mlflow"])
    client.set_env_var(ids["app"], "MLFLOW_TRACKING_URI", urls["mlflow"])
    client.set_env_var(ids["app"], "API_URL", urls["api"])
    try:
        for outcome in outcomes:
            outcome.deploy_id = client.trigger_deploy(outcome.service_id, args.clear_cache, args.commit)
            outcome.status = "created"
            print(f"{outcome.name}: deploy {outcome.deploy_id} started", flush=True)
            wait_until_live(client, outcome, args.timeout, args.poll_interval)
            print(f"{outcome.name}: live at {outcome.url}", flush=True)
    finally:
        _write_reports(outcomes, args)
    return outcomes


def summary_markdown(outcomes: list[Outcome]) -> str:
    rows = "\n".join(f"| {o.name} | {o.url} | {o.deploy_id or '-'} | {o.status} |" for o in outcomes)
    return f"### Render deploy\n\n| service | url | deploy | status |\n|---|---|---|---|\n{rows}\n"


def _write_reports(outcomes: list[Outcome], args: argparse.Namespace) -> None:
    """Append the summary and the URLs to the files GitHub Actions reads (when asked)."""
    if args.summary:
        with Path(args.summary).open("a", encoding="utf-8") as fh:
            fh.write(summary_markdown(outcomes))
    if args.github_output:
        with Path(args.github_output).open("a", encoding="utf-8") as fh:
            fh.writelines(f"{o.name}_url={o.url}\n" for o in outcomes)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=(
            "Deploy the MLflow, API and console services on Render, in that order: set the API's "
            "and console's MLFLOW_TRACKING_URI and the console's API_URL to the public URLs, trigger "
            "a deploy of each and wait until it is live. Reads RENDER_API_KEY, RENDER_SERVICE_ID_MLFLOW, "
            "RENDER_SERVICE_ID_API and RENDER_SERVICE_ID_APP from the environment."
        ),
        epilog=(
            "exit codes: 0 all three live; 1 a deploy failed (build_failed, update_failed, canceled, "
            "pre_deploy_failed, deactivated); 2 missing secret or bad usage; 3 a deploy timed out; "
            "4 Render API error (unreachable, unauthorized, unknown service)."
        ),
    )
    parser.add_argument(
        "--api-base",
        default=os.environ.get("RENDER_API_BASE", DEFAULT_API_BASE),
        help="Render API base URL (default: %(default)s; env RENDER_API_BASE)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=900.0,
        help="seconds to wait for each deploy to go live (default: %(default)s)",
    )
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=10.0,
        help="seconds between status polls (default: %(default)s)",
    )
    parser.add_argument("--commit", help="deploy this commit SHA (default: the branch's latest commit)")
    parser.add_argument("--clear-cache", action="store_true", help="rebuild without Render's build cache")
    parser.add_argument(
        "--summary", help="append a Markdown summary to this file (e.g. $GITHUB_STEP_SUMMARY)"
    )
    parser.add_argument("--github-output", help="append mlflow_url=, api_url=, app_url= lines to this file")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        api_key, ids = read_service_ids(os.environ)
        client = RenderClient(api_key, args.api_base)
        try:
            outcomes = deploy_all(client, ids, args)
        finally:
            client.close()
    except DeployError as exc:
        print(f"render-deploy: {exc}", file=sys.stderr)
        return exc.exit_code
    print(summary_markdown(outcomes))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
