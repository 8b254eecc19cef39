"""Prometheus metrics of one replica (prometheus-client's default registry, which adds process metrics)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter("api_requests_total", "HTTP requests by route and status.", ["method", "route", "status"])
ERRORS = Counter(
    "api_errors_total", "HTTP responses with status >= 400, by route and status.", ["route", "status"]
)
LATENCY = Histogram(
    "api_request_duration_seconds", "Time to answer a request, by route.", ["route"], buckets=LATENCY_BUCKETS
)
PREDICTIONS = Counter(
    "api_predictions_total", "Scored rows by model version and decision.", ["model_version", "decision"]
)
REJECTED_ROWS = Counter("api_rejected_rows_total", "Input rows refused by validation.")
MODEL_LOAD_SECONDS = Histogram(
    "api_model_load_seconds",
    "Time to fetch (MLflow or disk cache) and build a model.",
    ["source"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
MODEL_LOADS = Counter("api_model_loads_total", "Model load attempts by result.", ["result"])
MODEL_VERSION = Gauge("api_model_version", "Version number of the model being served (0 when none).")
MODEL_INFO = Gauge(
    "api_model_info", "The model being served (value 1).", ["model_name", "model_version", "alias"]
)
MLFLOW_UP = Gauge("api_mlflow_reachable", "1 when the MLflow server answered the last check.")
LOG_PENDING = Gauge(
    "api_inference_log_pending_rows", "Scored rows waiting to be written to the inference log."
)
LOG_DROPPED = Gauge("api_inference_log_dropped_rows", "Scored rows the inference log could not keep.")

SHADOW_SCORES = Counter(
    "api_shadow_scores_total", "Rows scored by the challenger in shadow, by its version.", ["model_version"]
)
SHADOW_ERRORS = Counter(
    "api_shadow_errors_total",
    "Rows the challenger failed to score or store in shadow, by its version.",
    ["model_version"],
)
SHADOW_SKIPPED = Counter(
    "api_shadow_skipped_rows_total",
    "Accepted rows not shadowed: sampled out, the shadow queue full, or no distinct challenger.",
    ["reason"],
)
CHALLENGER_VERSION = Gauge(
    "api_challenger_version", "Version number of the challenger shadowing (0 when none)."
)


def set_challenger(version: str | None) -> None:
    CHALLENGER_VERSION.set(float(version) if version and version.isdigit() else 0)


def set_model(name: str, version: str, alias: str) -> None:
    MODEL_INFO.clear()
    MODEL_INFO.labels(name, version, alias).set(1)
    MODEL_VERSION.set(float(version) if version.isdigit() else 0)


def render() -> tuple[bytes, str]:
    """The exposition text and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST
