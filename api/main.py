"""The FastAPI application, `api.main:app`; a replica runs it with `python -m api` (api/__main__.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig

from api.auth import Authenticator
from api.batch_slots import BatchSlots
from api.core.config import SERVICE_VERSION, ApiSettings, get_settings
from api.drift_jobs import DriftRunner
from api.drift_metrics import register_drift_gauges
from api.errors import install_error_handlers
from api.logging import configure_logging
from api.middleware import RequestContextMiddleware
from api.mlflow_source import MlflowSource
from api.model_cache import ModelCache
from api.model_holder import ModelHolder
from api.registry_actions import RegistryActions
from api.routes import (
    challenger,
    drift,
    explain,
    fairness,
    health,
    model,
    models,
    outcomes,
    performance,
    predict,
)
from api.routes import metrics as metrics_route
from api.runtime import settle_heap
from api.security import install_security
from api.shadow import ShadowScorer, shadow_holder
from ml.config import load_params
from ml.inference_log import InferenceLogWriter

logger = logging.getLogger("api")
# FastAPI's native OpenTelemetry asks the global providers whether any is configured on every
# request (~8% of a single-row request's CPU, bench/README.md); Prometheus is this API's telemetry.
NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Load the model (MLflow, else the disk cache, else none and keep trying), poll, drain the log on exit."""
    settings: ApiSettings = app.state.settings
    auth: Authenticator = app.state.authenticator
    configure_logging(settings.log_level, secrets=auth.secrets() | {settings.metrics_token})
    if auth.open_access:
        logger.warning("no API key and no JWT setting: open access, for local use only")
    elif auth.anonymous_role is not None:
        logger.warning("only lead keys are set: callers without a key may score (the pre-roles setup)")
    holder = ModelHolder(
        MlflowSource(settings.mlflow_tracking_uri, settings.mlflow_timeout_s),
        ModelCache(settings.model_cache_dir),
        settings.model_name,
        settings.model_alias,
        load_params().reasons,
    )
    app.state.holder = holder
    app.state.registry = RegistryActions(
        settings.model_name, settings.mlflow_tracking_uri, load_params().gate, settings.database_url
    )
    app.state.inference_log = InferenceLogWriter(settings.database_url)
    app.state.http = httpx.AsyncClient()
    await asyncio.to_thread(holder.refresh)
    if holder.current is None:
        logger.error("no model loaded: serving 503 until one arrives", extra={"reason": holder.last_error})
    pollers = [asyncio.create_task(holder.poll_forever(settings.model_poll_interval_s))]
    app.state.shadow = None
    if settings.shadow_enabled:
        candidate = shadow_holder(holder, settings.shadow_alias)
        await asyncio.to_thread(candidate.refresh)
        pollers.append(asyncio.create_task(candidate.poll_forever(settings.model_poll_interval_s)))
        app.state.shadow = ShadowScorer(
            candidate, settings.database_url, settings.shadow_share, settings.shadow_max_pending_rows
        )
    settle_heap()  # after both models are built, so their objects are frozen too
    logger.info(
        "api ready",
        extra={"model_version": holder.current.version if holder.current else None, "port": settings.port},
    )
    try:
        yield
    finally:
        for poller in pollers:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
        if app.state.shadow is not None:
            app.state.shadow.close()
        await app.state.http.aclose()
        app.state.inference_log.close()
        logger.info(
            "api stopped; inference log drained", extra={"rows_written": app.state.inference_log.written}
        )


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Credit scoring API",
        version=SERVICE_VERSION,
        description="Scores loan applications with the registry's champion model; see docs/api.md.",
        lifespan=lifespan,
        max_body_size=None,  # enforced by install_error_handlers, inside the middlewares
        telemetry=None if settings.opentelemetry else NO_TELEMETRY,
    )
    params = load_params()
    app.state.settings = settings
    app.state.scoring_params = params.scoring  # scoring.missing: what an absent feature costs
    app.state.authenticator = Authenticator.from_settings(settings)
    app.state.started = time.monotonic()
    app.state.drift_runner = DriftRunner.for_api(params.drift, settings)
    register_drift_gauges(app.state.drift_runner.reports_dir)
    install_error_handlers(app, settings.max_upload_bytes)
    app.state.batch_slots = BatchSlots(settings.max_concurrent_batches, settings.batch_wait_s)
    for router in (
        health.router,
        predict.router,
        explain.router,
        model.router,
        models.router,
        metrics_route.router,
        drift.router,
        outcomes.router,
        performance.router,
        fairness.router,
        challenger.router,
    ):
        app.include_router(router)
    install_security(app, settings)
    app.add_middleware(RequestContextMiddleware)
    return app


app = create_app()
