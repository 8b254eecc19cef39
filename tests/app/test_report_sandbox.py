"""Issue 13, item 1: a data value crafted as markup never runs, in a real console in real Chromium.

A real drift check (Evidently) on current data whose ORGANIZATION_TYPE carries a script is logged
to the session's MLflow like the drift job does it; the Data drift page of a real Streamlit console
shows it. The report must still draw (its own scripts run) while the payload runs in no frame.
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


def _report_with_payload() -> tuple[str, dict]:
    reference = generate_applications(400, seed=21)
    current = generate_applications(400, seed=22)
    current.loc[:40, "ORGANIZATION_TYPE"] = PAYLOAD
    schema = infer_schema(reference, "TARGET", "SK_ID_CURR")
    result = compare(reference, current, schema, DriftParams(min_rows=50))
    summary = build_summary(result, new_report_id(), {"description": "reference"}, {"description": "crafted"})
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
        page.goto(f"{console_server.url}/Data_drift", wait_until="domcontentloaded")
        page.get_by_text("Open the full HTML report").first.click(timeout=90_000)  # read only when asked
        page.get_by_text("Download the HTML report").first.wait_for(timeout=90_000)
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
