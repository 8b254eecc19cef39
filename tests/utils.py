"""Helpers shared by the tests (tests/conftest.py holds only fixtures): the session's parameters and
settings, the shared champion's description, the champion loaded in-process, and the console in a
real Streamlit process driven by headless Chromium."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ml.config import Params, Settings, load_params
from ml.scoring import MODEL_SCORING_SUBDIR, ScoringModel
from ml.train import TrainResult
from tests.servers import ROOT, Server, free_port, start_process

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

TEST_ROWS = 20_000
CHAMPION_MODEL_NAME = "credit-scoring"


@dataclass(frozen=True)
class Champion:
    """The session's shared model: registered as version `version` of `name`, alias champion."""

    name: str
    version: str
    tracking_uri: str
    run: TrainResult
    server: Server


def session_params() -> Params:
    """params.yaml with a small reference sample and fewer boosting rounds: a session trains in seconds."""
    params = load_params()
    params.reference.rows = 2_000
    params.train.num_boost_round = 300
    return params


def make_settings(tracking_uri: str, model_name: str = CHAMPION_MODEL_NAME) -> Settings:
    return Settings(mlflow_tracking_uri=tracking_uri, model_name=model_name, experiment_name="tests")


def load_registered_model(tracking_uri: str, name: str, version: str) -> ScoringModel:
    """A registered version's scoring model, downloaded from MLflow and loaded in this process."""
    import mlflow.artifacts
    from mlflow.tracking import MlflowClient

    with tempfile.TemporaryDirectory() as tmp:
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        root = client.get_model_version_download_uri(name, version)
        path = mlflow.artifacts.download_artifacts(
            artifact_uri=f"{root}/{MODEL_SCORING_SUBDIR.as_posix()}", dst_path=tmp, tracking_uri=tracking_uri
        )
        return ScoringModel.load(Path(path))


# Debian's Chromium (tests/conftest.py's `chromium` fixture installs it when missing).
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def headless_chromium(
    chromium: Path, profile: Path, width: int = 1400, height: int = 1600
) -> Iterator[BrowserContext]:
    """Headless Chromium with a profile of its own, closed afterwards: a persistent context, because
    Debian's build is launched by path (no browser downloaded by Playwright)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(chromium),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height},
        )
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def console_page(chromium: Path, env: dict[str, str], page_path: str, workdir: Path) -> Iterator[Page]:
    """One page of a console started for it (`env` says which API and MLflow), open in headless
    Chromium; the browser and the console are stopped afterwards."""
    console = start_console(env, workdir / "streamlit.log")
    try:
        with headless_chromium(chromium, workdir / "chromium-profile", height=2200) as browser:
            page = browser.new_page()
            page.goto(f"{console.url}/{page_path}", wait_until="domcontentloaded")
            yield page
    finally:
        console.stop()


def screenshot_when_drawn(page: Page, charts: int, path: Path) -> None:
    """Wait for the page's `charts` Plotly charts to draw, then keep a full-page screenshot at `path`."""
    page.locator(".js-plotly-plot").nth(charts - 1).wait_for(timeout=60_000)
    page.wait_for_timeout(2_000)  # let the charts finish drawing
    page.screenshot(path=str(path), full_page=True)


def start_console(
    env: dict[str, str], log: Path, entry: Path = ROOT / "app" / "Home.py", port: int | None = None
) -> Server:
    """`streamlit run <entry>` as a real process on a loopback port (a free one unless given), healthy
    when it returns."""
    port = port or free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(entry), "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", "--server.headless", "true"]
    command += ["--browser.gatherUsageStats", "false"]
    return start_process(command, f"http://127.0.0.1:{port}", log, env=env, health_path="/_stcore/health")
