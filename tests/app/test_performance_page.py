"""The Performance page against a real API whose log has decisions and outcomes: in AppTest (charts,
cohort table, an upload with a refused line) and in headless Chromium."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest

from ml.generate import generate_applications
from ml.outcomes import outcomes_for_batch
from tests.app.conftest import APP_DIR, start_api, texts
from tests.servers import ROOT, Server
from tests.utils import Champion, console_page, screenshot_when_drawn

PAGE = APP_DIR / "pages" / "6_Performance.py"


@pytest.fixture(scope="module")
def performance_api(champion: Champion, tmp_path_factory) -> Iterator[Server]:
    """An API (maturity 0 days) that scored 3,000 clients, most of whose outcomes are recorded."""
    workdir = tmp_path_factory.mktemp("performance-api")
    params = workdir / "params.yaml"
    params.write_text((ROOT / "params.yaml").read_text().replace("maturity_days: 90", "maturity_days: 0"))
    server = start_api(workdir, champion.tracking_uri, champion.name, {"PARAMS_PATH": str(params)})
    batch = generate_applications(3000, seed=31)
    with httpx.Client(base_url=server.url, timeout=120) as client:
        csv = batch.drop(columns=["TARGET"]).to_csv(index=False)
        assert client.post("/predict/batch", files={"file": ("b.csv", csv, "text/csv")}).status_code == 200
        database_url = f"sqlite:///{workdir / 'inference_log.db'}"
        outcomes = pd.DataFrame()
        for _ in range(100):  # the log's writer lingers a moment
            outcomes = outcomes_for_batch(
                database_url, batch, "TARGET", "SK_ID_CURR", pd.Timestamp("2026-06-30").date()
            )
            if len(outcomes) > 2000:
                break
            time.sleep(0.2)
        recorded = outcomes.iloc[:-300].to_csv(index=False)  # 300 approved decisions still await theirs
        response = client.post("/outcomes", files={"file": ("o.csv", recorded, "text/csv")})
        assert response.status_code == 200, response.text
    yield server
    server.stop()


@pytest.fixture
def performance_console(monkeypatch, performance_api: Server, champion: Champion) -> Server:
    monkeypatch.setenv("API_URL", performance_api.url)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", champion.tracking_uri)
    return performance_api


def test_the_page_shows_realized_and_estimated_figures_and_takes_an_upload(performance_console) -> None:
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(PAGE), default_timeout=90).run()
    assert not app.exception, app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Decisions logged"] == "3,000"
    assert metrics["Approved, awaiting an outcome"] == "300"
    assert len(app.get("plotly_chart")) == 3  # AUC and bad rate over cohorts, calibration
    cohorts = app.dataframe[0].value
    assert len(cohorts) == 1 and cohorts["awaiting outcome"].iloc[0] == 300
    assert 0.5 < cohorts["AUC (realized)"].iloc[0] < 1 and cohorts["bad rate (realized)"].iloc[0].endswith(
        "%"
    )
    assert "approved clients" in texts(app)

    upload = b"request_id,row,defaulted,observed_at\nno-such-request,1,0,2026-06-30\nx,1,7,2026-06-30\n"
    app.file_uploader[0].set_value(("late.csv", upload, "text/csv")).run()
    next(b for b in app.button if b.label == "Record the outcomes").click().run()
    assert not app.exception
    assert "nothing was recorded" in texts(app)
    errors = app.dataframe[-1].value
    assert list(zip(errors["line"], errors["field"], strict=True)) == [(2, "request_id"), (3, "defaulted")]


@pytest.mark.browser
@pytest.mark.slow
def test_the_page_renders_in_chromium(
    chromium: Path,
    performance_api: Server,
    champion: Champion,
    tmp_path,
) -> None:
    env = {"API_URL": performance_api.url, "MLFLOW_TRACKING_URI": champion.tracking_uri}
    screenshot = tmp_path / "performance.png"
    with console_page(chromium, env, "Performance", tmp_path) as page:
        page.get_by_text("Record outcomes").first.wait_for(timeout=90_000)
        screenshot_when_drawn(page, 3, screenshot)
        assert page.locator(".js-plotly-plot").count() == 3
        assert page.get_by_text("Approved, awaiting an outcome").count() == 1
        assert page.get_by_text("Traceback").count() == 0
    assert screenshot.stat().st_size > 10_000
