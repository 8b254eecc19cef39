"""The only place the console speaks HTTP: a small client of the scoring API.

Every call has a timeout; calls that cannot do harm when repeated are retried with backoff, so a
free Render instance waking up (30-60 s) costs a wait rather than an error. Failures become
`ApiError` with a message fit for an operator, never a traceback.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from app.errors import SourceUnavailableError

RETRY_STATUSES = frozenset({502, 503, 504})


class ApiError(SourceUnavailableError):
    """The API answered with an error; `detail` keeps its body (e.g. the gate's `verdict` on a 409)."""

    def __init__(self, message: str, status: int | None = None, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.detail = detail


class ApiUnavailableError(ApiError):
    """The API could not be reached or did not answer in time (down, asleep, or waking up)."""


@dataclass(frozen=True)
class ApiClient:
    """Typed calls to the scoring API at `base_url`.

    `token` (a JWT minted for the person signed in to the console) goes with every call, so the API
    applies their role and records their name; without one, `api_key` (an open local console's
    scoring key) does.
    """

    base_url: str
    timeout_s: float = 30.0
    retries: int = 2
    backoff_s: float = 0.5
    api_key: str | None = None
    token: str | None = None
    metrics_token: str | None = None
    sleep: Callable[[float], None] = time.sleep

    # reading ---------------------------------------------------------------------------------------

    def health(self, quick: bool = False) -> dict[str, Any]:
        """`/health`, including its 503 body (no model loaded) which is an answer, not a failure."""
        return self._json("GET", "/health", ok=(200, 503), quick=quick)

    def model(self) -> dict[str, Any]:
        return self._json("GET", "/model")

    def models(self) -> dict[str, Any]:
        return self._json("GET", "/models")

    def gate(self, version: str) -> dict[str, Any]:
        """The quality gate's verdict on `version` becoming champion (nothing is moved)."""
        return self._json("GET", f"/models/{version}/gate")

    def metrics_text(self) -> str:
        """The Prometheus counters (with the API's METRICS_TOKEN when it asks for one)."""
        return self._send("GET", "/metrics", token=self.metrics_token).text

    def drift_latest(self) -> dict[str, Any] | None:
        """The latest drift summary, or None when no check has run yet."""
        response = self._send("GET", "/drift/latest", ok=(200, 404))
        return response.json() if response.status_code == 200 else None

    def drift_job(self, report_id: str) -> dict[str, Any]:
        """A check started with `run_drift`: its `status` (running, done, failed), verdict or error."""
        return self._json("GET", f"/drift/jobs/{report_id}", quick=True)

    def drift_report_html(self, report_id: str) -> str:
        return self._send("GET", f"/drift/reports/{report_id}").text

    def fairness(self, window: str | None = None) -> dict[str, Any]:
        """Approval rate per protected group and window of the decision log."""
        params = {"window": window} if window else None
        return self._json("GET", "/fairness", params=params, timeout_s=max(self.timeout_s, 60.0))

    def performance(self) -> dict[str, Any]:
        """Realized and estimated performance per model version and cohort (the report may take a
        couple of seconds over a large log)."""
        return self._json("GET", "/performance", timeout_s=max(self.timeout_s, 60.0))

    def challenger_report(self, hours: float | None = None) -> dict[str, Any]:
        """Champion vs challenger on the shadowed traffic of the last `hours` (None: all logged)."""
        params = {"hours": hours} if hours else None
        return self._json("GET", "/challenger/report", params=params, timeout_s=max(self.timeout_s, 60.0))

    def post_outcomes_csv(self, filename: str, content: bytes) -> dict[str, Any]:
        """Record an outcomes file; safe to repeat (the same outcome twice changes nothing)."""
        files = {"file": (filename, content, "text/csv")}
        return self._json("POST", "/outcomes", files=files, timeout_s=max(self.timeout_s, 120.0))

    # scoring (repeating one only logs the row twice, so connection failures are retried) ------------

    def predict(self, features: dict[str, Any]) -> dict[str, Any]:
        return self._json("POST", "/predict", json={"features": features})

    def explain(self, features: dict[str, Any], top: int = 12) -> dict[str, Any]:
        return self._json("POST", "/explain", json={"features": features, "top": top})

    def predict_batch_csv(self, filename: str, content: bytes) -> dict[str, Any]:
        files = {"file": (filename, content, "text/csv")}
        return self._json("POST", "/predict/batch", files=files, timeout_s=max(self.timeout_s, 120.0))

    # registry and drift actions (never repeated once the request may have reached the API) ---------

    def promote(self, version: str, alias: str, reason: str, force: bool = False) -> dict[str, Any]:
        body = {"alias": alias, "reason": reason, "force": force}
        return self._json("POST", f"/models/{version}/promote", json=body, idempotent=False)

    def rollback(self, reason: str) -> dict[str, Any]:
        return self._json("POST", "/models/rollback", json={"reason": reason}, idempotent=False)

    def run_drift(self) -> dict[str, Any]:
        """Start a check of the inference log; the API answers 202 with the job (`id`, `status`)."""
        return self._json("POST", "/drift/run", ok=(202,), idempotent=False)

    # plumbing --------------------------------------------------------------------------------------

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise ApiError(
                f"The API sent an unreadable answer to {method} {path}.", response.status_code
            ) from exc

    def _send(
        self,
        method: str,
        path: str,
        ok: tuple[int, ...] = (200,),
        idempotent: bool = True,
        quick: bool = False,
        timeout_s: float | None = None,
        token: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request with retries: connection failures always, timeouts and 502-504 when idempotent."""
        headers = _credentials(token or self.token, self.api_key)
        timeout = httpx.Timeout(3.0 if quick else (timeout_s or self.timeout_s), connect=3.0)
        attempts = 1 if quick else 1 + self.retries
        url = self.base_url.rstrip("/") + path
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = httpx.request(method, url, headers=headers, timeout=timeout, **kwargs)
            except httpx.ConnectError as exc:
                if last:
                    raise ApiUnavailableError(_unreachable(self.base_url)) from exc
            except httpx.TimeoutException as exc:
                if last or not idempotent:
                    raise ApiUnavailableError(_too_slow(self.base_url, method, path)) from exc
            except httpx.HTTPError as exc:
                raise ApiUnavailableError(f"Could not talk to the API at {self.base_url}: {exc}.") from exc
            else:
                if response.status_code in ok:
                    return response
                if response.status_code not in RETRY_STATUSES or last or not idempotent:
                    raise _error_from(response, method, path)
            self.sleep(self.backoff_s * 2**attempt)
        raise AssertionError("unreachable: the loop returns or raises")


def _credentials(token: str | None, api_key: str | None) -> dict[str, str]:
    if token:
        return {"Authorization": f"Bearer {token}"}
    return {"X-API-Key": api_key} if api_key else {}


def _on_render(base_url: str) -> bool:
    """Whether the API is a Render service (whose free instances sleep), by its host name."""
    host = httpx.URL(base_url).host
    return host == "onrender.com" or host.endswith(".onrender.com")


def _unreachable(base_url: str) -> str:
    if _on_render(base_url):
        why = "It may be stopped, or asleep (a free Render instance takes 30-60 s to wake up)"
    else:
        why = "Is it running? (`make run` starts it locally)"
    return f"The scoring API at {base_url} cannot be reached. {why}. Try again in a moment."


def _too_slow(base_url: str, method: str, path: str) -> str:
    waking = " It may be waking up;" if _on_render(base_url) else ""
    return f"The scoring API at {base_url} did not answer {method} {path} in time.{waking} Try again in a moment."


def _error_from(response: httpx.Response, method: str, path: str) -> ApiError:
    """An operator-readable error from the API's answer: `{detail, errors: [{row, field, reason}], ...}`."""
    try:
        body = response.json()
    except ValueError:
        body = {"detail": response.text[:300]}
    status = response.status_code
    if status == 401:
        message = f"The API did not accept the console's credentials ({describe_error(body)}): sign in again."
    elif status == 403:
        message = f"Your role may not do this: {describe_error(body)}"
    else:
        message = f"The API refused {method} {path} (HTTP {status}): {describe_error(body)}"
    return (ApiUnavailableError if status in RETRY_STATUSES else ApiError)(message, status, body)


def describe_error(body: Any, limit: int = 5) -> str:
    """One line from an error body: its `detail`, then the first few field problems with their rows."""
    if not isinstance(body, dict):
        return str(body)
    detail = body.get("detail")
    text = detail if isinstance(detail, str) else json.dumps(detail) if detail is not None else "no detail"
    problems = [_problem(item) for item in body.get("errors") or []]
    if problems:
        more = f" (and {len(problems) - limit} more)" if len(problems) > limit else ""
        text += ": " + "; ".join(problems[:limit]) + more
    return text


def _problem(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    where = f"line {item['row']}, " if item.get("row") is not None else ""
    return f"{where}{item.get('field') or 'body'}: {item.get('reason', 'invalid')}"
