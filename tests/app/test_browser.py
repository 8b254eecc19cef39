"""End to end in a real browser: the console as a real Streamlit process, driven by headless Chromium."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import ROOT, Server, free_port, start_process
from tests.utils import Champion

CHROMIUM = Path("/usr/bin/chromium")
ENSURE_CHROMIUM = Path(__file__).with_name("ensure_chromium.sh")
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


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium, installed by the test setup itself when missing."""
    if not CHROMIUM.exists():
        result = subprocess.run(["sh", str(ENSURE_CHROMIUM)], capture_output=True, text=True, timeout=900)
        if result.returncode != 0 or not CHROMIUM.exists():
            pytest.skip(f"headless Chromium could not be installed: {result.stderr.strip()[-500:]}")
    return CHROMIUM


@pytest.fixture
def console_server(api_server: Server, champion: Champion, tmp_path) -> Iterator[Server]:
    """`streamlit run app/Home.py` as a real process, pointed at the session's API and MLflow."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ROOT / "app" / "Home.py"),
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    env = {
        "API_URL": api_server.url,
        "MLFLOW_TRACKING_URI": champion.tracking_uri,
    }
    server = start_process(
        command,
        f"http://127.0.0.1:{port}",
        tmp_path / "streamlit.log",
        env=env,
        health_path="/_stcore/health",
    )
    yield server
    server.stop()


@pytest.mark.browser
@pytest.mark.slow
def test_score_the_example_client_in_a_browser(chromium: Path, console_server: Server, tmp_path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    screenshot = tmp_path / "score_a_client.png"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(chromium),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1600},
        )
        try:
            page = browser.new_page()
            page.goto(f"{console_server.url}/Score_a_client", wait_until="domcontentloaded")
            page.get_by_role("button", name="Score this client").click(timeout=60_000)
            decision = page.get_by_text("probability of default is")
            decision.wait_for(timeout=60_000)
            page.get_by_text("Probability of default").first.wait_for(timeout=30_000)
            page.wait_for_timeout(1_500)  # let the gauge and waterfall finish drawing
            page.screenshot(path=str(screenshot), full_page=True)
            sentence = r"(Approved|Refused): \d+\.\d% probability of default is (above|at|below) the \d+\.\d% threshold"
            assert re.search(sentence, decision.inner_text()), decision.inner_text()
            assert page.get_by_text("Traceback").count() == 0
            for path, ready in (("", "Champion"), ("Model_registry", "Alias history")):
                page.goto(f"{console_server.url}/{path}", wait_until="domcontentloaded")
                page.get_by_text(ready).first.wait_for(timeout=60_000)
                page.wait_for_load_state("networkidle")
                page.wait_for_timeout(4_000)  # tables and charts draw after the script finishes
                page.screenshot(path=str(tmp_path / f"{path or 'overview'}.png"), full_page=True)
                assert page.get_by_text("Traceback").count() == 0
        finally:
            browser.close()
    assert screenshot.stat().st_size > 10_000
    print(f"screenshot: {screenshot}")


@pytest.mark.browser
@pytest.mark.slow
def test_validation_report_renders_sandboxed_in_a_browser(
    chromium: Path, console_server: Server, champion: Champion, champion_report: str, tmp_path
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(chromium),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 2400},
        )
        try:
            page = browser.new_page()
            page.goto(f"{console_server.url}/Model_registry", wait_until="domcontentloaded")
            page.get_by_text("Validation report").first.wait_for(timeout=60_000)
            report = page.frame_locator("iframe").frame_locator('iframe[title="report"]')
            heading = report.get_by_role("heading", name="Quality gate against the champion")
            heading.wait_for(timeout=60_000)
            title = report.get_by_role("heading", level=1).inner_text()
            assert title.startswith(f"Validation report: {champion.name} version")
            sandbox = page.frame_locator("iframe").locator('iframe[title="report"]').get_attribute("sandbox")
            assert sandbox == ""  # no scripts, no same origin
            assert report.locator("img[alt='calibration curve']").count() == 1
            page.screenshot(path=str(tmp_path / "validation_report.png"), full_page=True)
            assert page.get_by_text("Traceback").count() == 0
        finally:
            browser.close()
