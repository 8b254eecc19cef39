"""End to end in a real browser: the console as a real Streamlit process, driven by headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.servers import Server
from tests.utils import Champion, headless_chromium


@pytest.mark.browser
@pytest.mark.slow
def test_score_the_example_client_in_a_browser(chromium: Path, console_server: Server, tmp_path) -> None:
    screenshot = tmp_path / "score_a_client.png"
    with headless_chromium(chromium, tmp_path / "chromium-profile") as browser:
        page = browser.new_page()
        page.goto(f"{console_server.url}/Score_a_client", wait_until="domcontentloaded")
        page.set_viewport_size({"width": 1400, "height": 700})  # the result lands below the form
        page.get_by_role("button", name="Score this client").click(timeout=60_000)
        decision = page.get_by_text("probability of default is")
        decision.wait_for(timeout=60_000)
        page.get_by_text("Probability of default").first.wait_for(timeout=30_000)
        page.wait_for_timeout(1_500)  # let the gauge and waterfall finish drawing (and the scroll end)
        top = page.evaluate("document.getElementById('score-result').getBoundingClientRect().top")
        assert 0 <= top < 700, f"the result's heading is {top}px from the top of a 700px window"
        page.set_viewport_size({"width": 1400, "height": 1600})
        page.screenshot(path=str(screenshot), full_page=True)
        sentence = (
            r"(Approved|Refused): \d+\.\d% probability of default is (above|at|below) the \d+\.\d% threshold"
        )
        assert re.search(sentence, decision.inner_text()), decision.inner_text()
        assert page.get_by_text("Traceback").count() == 0
        for path, ready in (("", "Champion"), ("Model_registry", "Alias history")):
            page.goto(f"{console_server.url}/{path}", wait_until="domcontentloaded")
            page.get_by_text(ready).first.wait_for(timeout=60_000)
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(4_000)  # tables and charts draw after the script finishes
            page.screenshot(path=str(tmp_path / f"{path or 'overview'}.png"), full_page=True)
            assert page.get_by_text("Traceback").count() == 0
    assert screenshot.stat().st_size > 10_000
    print(f"screenshot: {screenshot}")


@pytest.mark.browser
@pytest.mark.slow
def test_validation_report_renders_sandboxed_in_a_browser(
    chromium: Path, console_server: Server, champion: Champion, champion_report: str, tmp_path
) -> None:
    with headless_chromium(chromium, tmp_path / "chromium-profile", height=2400) as browser:
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
