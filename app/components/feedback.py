"""How a page fails: one clear message and a retry button, never a stack trace."""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn, ParamSpec, TypeVar

import streamlit as st

from app import mlflow_reader
from app.api_client import ApiUnavailableError
from app.errors import SourceUnavailableError
from app.mlflow_reader import MlflowUnavailableError

P = ParamSpec("P")
R = TypeVar("R")


def retry_button(key: str = "retry") -> None:
    """A button that forgets cached reads; the click itself reruns the page."""
    st.button("Retry", key=key, on_click=_forget_cache, type="primary")


def _forget_cache() -> None:
    st.cache_data.clear()
    mlflow_reader.clear_cache()


def stop_with_error(exc: SourceUnavailableError) -> NoReturn:
    """Show what went wrong and how to recover, then end this run of the page."""
    if isinstance(exc, ApiUnavailableError):
        st.error(f"**Scoring API unavailable.** {exc}", icon=":material/cloud_off:")
    elif isinstance(exc, MlflowUnavailableError):
        st.error(f"**MLflow unavailable.** {exc}", icon=":material/cloud_off:")
    else:
        st.error(str(exc), icon=":material/error:")
    retry_button()
    st.stop()


def load(func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Call a reader of the API, MLflow or the log; on failure show the error panel and stop the page."""
    try:
        return func(*args, **kwargs)
    except SourceUnavailableError as exc:
        stop_with_error(exc)


def try_load(what: str, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R | None:
    """Like `load` for an optional part of a page: warn and carry on without it."""
    try:
        return func(*args, **kwargs)
    except SourceUnavailableError as exc:
        st.warning(f"{what} is not available right now: {exc}", icon=":material/warning:")
        return None
