"""The FastAPI application: `uvicorn api.main:app` (or `python -m api.main`, which honours PORT)."""

from __future__ import annotations

from api.lean_imports import block_unused_imports, limit_heap_growth, quiet_openmp

block_unused_imports()
limit_heap_growth()
quiet_openmp()

import asyncio  # noqa: E402
import contextlib  # noqa: E402
import logging  # noqa: E402
import time  # noqa: E402
from collections.abc import AsyncIterator  # noqa: E402

import httpx  # noqa: E402
from fastapi import FastAPI  # noqa: E402

from api.auth import Authenticator  # noqa: E402
from api.batch_slots import BatchSlots  # noqa: E402
from api.core.config import SERVICE_VERSION, ApiSettings, get_settings  # noqa: E402
from api.drift_jobs import DriftRunner  # noqa: E402
from api.drift_metrics import register_drift_gauges  # noqa: E402
from api.errors import install_error_handlers  # noqa: E402
from api.logging import configure_logging  # noqa: E402
from api.middleware import RequestContextMiddleware  # noqa: E402
from api.mlflow_source import MlflowSource  # noqa: E402
from api.model_cache import ModelCache  # noqa: E402
from api.model_holder import ModelHolder  # noqa: E402
from api.registry_actions import RegistryActions  # noqa: E402
from api.routes import drift, explain, health, model, models, outcomes, performance, predict  # noqa: E402
from api.routes import metrics as metrics_route  # noqa: E402
from api.security import install_security  # noqa: E402
from ml.config import load_params  # noqa: E402
from ml.inference_log import InferenceLogWriter  # noqa: E402

logger = logging.getLogger("api")


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
    )
    app.state.holder = holder
    app.state.registry = RegistryActions(
        settings.model_name, settings.mlflow_tracking_uri, load_params().gate
    )
    app.state.inference_log = InferenceLogWriter(settings.database_url)
    app.state.http = httpx.AsyncClient()
    await asyncio.to_thread(holder.refresh)
    if holder.current is None:
        logger.error("no model loaded: serving 503 until one arrives", extra={"reason": holder.last_error})
    poller = asyncio.create_task(holder.poll_forever(settings.model_poll_interval_s))
    logger.info(
        "api ready",
        extra={"model_version": holder.current.version if holder.current else None, "port": settings.port},
    )
    try:
        yield
    finally:
        poller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await poller
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
    )
    params = load_params()
    app.state.settings = settings
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
    ):
        app.include_router(router)
    install_security(app, settings)
    app.add_middleware(RequestContextMiddleware)
    return app


app = create_app()


def main() -> None:
    import uvicorn

    settings = get_settings()
    # A container listens on all its interfaces; the platform decides what reaches it.
    uvicorn.run("api.main:app", host="0.0.0.0", port=settings.port, log_level=settings.log_level.lower())  # nosec B104


if __name__ == "__main__":
    main()
