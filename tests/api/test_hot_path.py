"""The single-row scoring path stays on the event loop: no dependency of a scoring route runs in FastAPI's
thread pool (a plain `def` dependency costs a thread hop and ~200 µs of a ~700 µs request,
bench/README.md), and FastAPI's OpenTelemetry check stays off unless asked for."""

import inspect

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from api.core.config import ApiSettings
from api.main import create_app
from api.routes import explain, predict

SCORING_ROUTES = [r for r in predict.router.routes + explain.router.routes if isinstance(r, APIRoute)]


def _dependencies(dependant: Dependant) -> list[Dependant]:
    found = []
    for sub in dependant.dependencies:
        found += [sub, *_dependencies(sub)]
    return found


def _runs_on_the_loop(call: object) -> bool:
    """Whether FastAPI awaits it (a coroutine function, or an object whose __call__ is one)."""
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(getattr(call, "__call__", None))


@pytest.mark.parametrize("route", SCORING_ROUTES, ids=lambda route: route.path)
def test_scoring_routes_have_only_async_dependencies(route):
    dependencies = _dependencies(route.dependant)
    assert len(dependencies) >= 4, "the route's auth (key, bearer, caller, role) and model dependencies"
    in_thread_pool = [d.call for d in dependencies if d.call and not _runs_on_the_loop(d.call)]
    assert in_thread_pool == [], f"{route.path}: run in the thread pool on every request: {in_thread_pool}"


def test_fastapi_telemetry_is_off_unless_asked_for():
    assert not create_app(ApiSettings())._native_telemetry.enabled()
    assert create_app(ApiSettings(opentelemetry=True))._telemetry["tracing"] is True
