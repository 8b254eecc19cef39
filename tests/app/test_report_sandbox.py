"""Issue 13, item 1: a data value crafted as markup never runs, in a real console in real Chromium.

A real drift check (Evidently) on current data whose ORGANIZATION_TYPE carries a script is logged
to the session's MLflow like the drift job does it; the Data drift page of a real Streamlit console
shows it. The report must still draw (its own scripts run) while the payload runs in no frame.
A report logged before the data was escaped (MLflow keeps them) is held by the sandbox alone: its
payload runs, but in an opaque origin that cannot reach the console's page.
"""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from ml.artifacts import DRIFT_HTML_ARTIFACT, DRIFT_JSON_ARTIFACT
from ml.config import DriftParams
from ml.drift.compare import compare
from ml.drift.report import build_summary, new_report_id, render_html
from ml.generate import generate_applications
from ml.schema import infer_schema
from tests.servers import Server
from tests.utils import Champion, headless_chromium

PAYLOAD = "</script><script>document.title='pwned';try{parent.document.title='pwned'}catch(e){}</script>"
# Records whether it ran and whether it reached the console's frame (its parent) and the page (top).
REACHING_PAYLOAD = (
    "</script><script>window.payloadRan=true;window.reached=[];"
    "for(const w of [parent,top]){try{w.document.title='pwned';window.reached.push(w.location.href)}"
    "catch(e){}}</script>"
)


def _report_with_payload(payload: str = PAYLOAD, escaped: bool = True) -> tuple[str, dict]:
    reference = generate_applications(400, seed=21)
    current = generate_applications(400, seed=22)
    current.loc[:40, "ORGANIZATION_TYPE"] = payload
    schema = infer_schema(reference, "TARGET", "SK_ID_CURR")
    result = compare(reference, current, schema, DriftParams(min_rows=50))
    summary = build_summary(result, new_report_id(), {"description": "reference"}, {"description": "crafted"})
    if not escaped:  # as reports were written before the data was escaped: Evidently's page as it is
        return result.snapshot.get_html_str(as_iframe=False), summary
    return render_html(result, summary), summary


def test_the_report_escapes_data_in_its_script_block() -> None:
    page, _ = _report_with_payload()
    assert PAYLOAD not in page and "</script><script>document.title" not in page
    assert "\\u003c/script\\u003e\\u003cscript\\u003edocument.title" in page  # the value is kept, escaped


def _log_check(tracking_uri: str, page: str, summary: dict) -> None:
    client = mlflow.MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("credit-scoring-monitoring")
    experiment_id = (
        experiment.experiment_id if experiment else client.create_experiment("credit-scoring-monitoring")
    )
    run = client.create_run(experiment_id)
    client.log_metric(run.info.run_id, "drift_share", 0.99)  # newest and highest: selected first
    client.log_dict(run.info.run_id, summary, f"drift/{DRIFT_JSON_ARTIFACT}")
    client.log_text(run.info.run_id, page, f"drift/{DRIFT_HTML_ARTIFACT}")
    client.set_terminated(run.info.run_id)


@pytest.mark.browser
@pytest.mark.slow
def test_no_script_from_report_data_runs_in_the_console(
    chromium: Path,
    console_server: Server,
    champion: Champion,
    tmp_path,
) -> None:
    page_html, summary = _report_with_payload()
    _log_check(champion.tracking_uri, page_html, summary)
    with headless_chromium(chromium, tmp_path / "chromium-profile") as browser:
        page = browser.new_page()
        _open_report(page, console_server.url)
        report = None
        for _ in range(120):  # the report frame: inside Streamlit's component frame
            report = next((f for f in page.frames if f.name == "" and "Evidently" in _safe_title(f)), None)
            report = report or next((f for f in page.frames if _has_dashboard(f)), None)
            if report is not None:
                break
            page.wait_for_timeout(500)
        assert report is not None, [f.url for f in page.frames]
        report.wait_for_function(
            "document.querySelectorAll('[id^=root_metric_] *').length > 20", timeout=60_000
        )
        page.wait_for_timeout(1_000)
        titles = [_safe_title(frame) for frame in page.frames]
        page.screenshot(path=str(tmp_path / "drift.png"), full_page=True)
    assert "pwned" not in titles and "Data drift" in titles[0], titles


@pytest.mark.browser
@pytest.mark.slow
def test_a_report_logged_before_escaping_cannot_reach_the_console(
    chromium: Path,
    console_server: Server,
    champion: Champion,
    tmp_path,
) -> None:
    page_html, summary = _report_with_payload(REACHING_PAYLOAD, escaped=False)
    _log_check(champion.tracking_uri, page_html, summary)
    with headless_chromium(chromium, tmp_path / "chromium-profile") as browser:
        page = browser.new_page()
        _open_report(page, console_server.url)
        report = None
        for _ in range(120):
            report = next((f for f in page.frames if _evaluate(f, "window.payloadRan === true")), None)
            if report is not None:
                break
            page.wait_for_timeout(500)
        assert report is not None, [f.url for f in page.frames]  # the unescaped payload does run...
        reached = _evaluate(report, "window.reached")
        titles = [_safe_title(frame) for frame in page.frames if frame is not report]
    assert reached == [], reached  # ...but reaches neither the console's frame nor its page
    assert "pwned" not in titles and "Data drift" in titles[0], titles


def _open_report(page, console_url: str) -> None:
    """The Data drift page with its full report open (the toggle: read only when asked)."""
    page.goto(f"{console_url}/Data_drift", wait_until="domcontentloaded")
    page.get_by_text("Open the full HTML report").first.click(timeout=90_000)
    page.get_by_text("Download the HTML report").first.wait_for(timeout=90_000)


def _evaluate(frame, script: str):
    try:
        return frame.evaluate(script)
    except Exception:  # a frame navigating away
        return None


def _safe_title(frame) -> str:
    try:
        return frame.evaluate("document.title")
    except Exception as exc:  # a frame navigating away
        return f"<{type(exc).__name__}>"


def _has_dashboard(frame) -> bool:
    try:
        return bool(frame.evaluate("!!document.querySelector('[id^=root_metric_]')"))
    except Exception:
        return False
