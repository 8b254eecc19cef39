"""The Champion vs challenger page against a real API shadowing a challenger (the shuffled-target
model) on 400 scored clients: in AppTest (figures from the API's own report, the live gate's
verdict, Review -> Confirm refused by the gate) and in headless Chromium."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ml.generate import generate_applications
from ml.registry import Registry
from ml.shadow_log import read_pairs
from tests.app.conftest import APP_DIR, button, start_api, texts
from tests.servers import Server
from tests.utils import Champion, console_page, screenshot_when_drawn

PAGE = APP_DIR / "pages" / "8_Champion_vs_challenger.py"


@pytest.fixture(scope="module")
def shadow_api(champion: Champion, weak_run: Any, tmp_path_factory) -> Iterator[Server]:
    """An open API whose champion is the session's model and whose challenger scored 400 clients."""
    registry = Registry(f"test-shadow-{uuid.uuid4().hex[:8]}", champion.tracking_uri)
    first = registry.register(champion.run.model_uri, champion.run.run_id)
    second = registry.register(weak_run.model_uri, weak_run.run_id)
    registry.promote(first, "champion", "page test", who="pytest")
    registry.promote(second, "challenger", "page test", who="pytest")
    workdir = tmp_path_factory.mktemp("shadow-api")
    server = start_api(workdir, champion.tracking_uri, registry.name)
    csv = generate_applications(400, seed=17).drop(columns=["TARGET"]).to_csv(index=False)
    response = httpx.post(
        f"{server.url}/predict/batch", files={"file": ("b.csv", csv, "text/csv")}, timeout=120
    )
    assert response.status_code == 200, response.text
    database_url = f"sqlite:///{workdir / 'inference_log.db'}"
    deadline = time.monotonic() + 30
    while len(read_pairs(database_url)) < response.json()["scored"]:
        assert time.monotonic() < deadline, "the shadow scores did not reach the log"
        time.sleep(0.3)
    yield server
    server.stop()


@pytest.fixture
def shadow_console(monkeypatch, shadow_api: Server, champion: Champion) -> Server:
    monkeypatch.setenv("API_URL", shadow_api.url)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", champion.tracking_uri)
    return shadow_api


def test_the_page_shows_the_report_and_promotes_through_review_and_confirm(shadow_console: Server) -> None:
    from streamlit.testing.v1 import AppTest

    report = httpx.get(f"{shadow_console.url}/challenger/report", params={"hours": 720}, timeout=60).json()
    pair = report["pairs"][0]
    app = AppTest.from_file(str(PAGE), default_timeout=90).run()
    assert not app.exception, app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Decisions compared"] == f"{pair['rows']:,}" and pair["rows"] > 300
    assert metrics["Swap set"] == f"{pair['swap_share']:.1%}"
    assert metrics["Challenger refuses"] == f"{pair['refusal_rate']['challenger']:.1%}"
    specs = [chart.proto.spec for chart in app.get("plotly_chart")]
    assert any("Swap set" in spec for spec in specs) and any("Score distributions" in spec for spec in specs)
    separating = app.dataframe[0].value
    assert list(separating["feature"]) == [f["feature"] for f in pair["separating_features"]]
    shown = texts(app)
    assert "Live criteria fail" in shown and f"only {pair['rows']} shadowed decisions" in shown

    app.text_input(key="challenger_promote_reason").input("better on live traffic")
    button(app, "Review promotion").click().run()
    assert f"Promote **v{pair['challenger_version']}** to **champion**" in texts(app)
    button(app, "Confirm").click().run()
    assert not app.exception
    assert "refused by the quality gate" in texts(app)  # the shuffled-target model fails the AUC minimum


@pytest.mark.browser
@pytest.mark.slow
def test_the_page_renders_in_chromium(
    chromium: Path, shadow_api: Server, champion: Champion, tmp_path
) -> None:
    env = {"API_URL": shadow_api.url, "MLFLOW_TRACKING_URI": champion.tracking_uri}
    screenshot = tmp_path / "challenger.png"
    with console_page(chromium, env, "Champion_vs_challenger", tmp_path) as page:
        page.get_by_text("What separates swap-in from swap-out clients").first.wait_for(timeout=90_000)
        screenshot_when_drawn(page, 2, screenshot)
        assert page.locator(".js-plotly-plot").count() == 2
        assert page.get_by_text("Traceback").count() == 0
    assert screenshot.stat().st_size > 10_000
