"""Every console page in Streamlit's AppTest against a real API and a real MLflow."""

from __future__ import annotations

import io

import pytest

from ml.data import generated_dataset
from tests.app.conftest import PAGES, button, run_page, texts


def test_overview_shows_health_and_champion(console_env, champion):
    app = run_page("overview")
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Model version"] == champion.version
    assert metrics["Test ROC AUC"] == f"{champion.run.metrics['test_roc_auc']:.4f}"


def test_scoring_the_example_client_shows_probability_and_decision(console_env):
    app = run_page("score")
    assert not app.exception
    button(app, "Score this client").click().run()
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Probability of default"].endswith("%")
    assert 0 <= float(metrics["Probability of default"].rstrip("%")) <= 100
    assert "probability of default is" in next(m.value for m in [*app.success, *app.error])


def _batch_csv(rows: int) -> bytes:
    frame = generated_dataset(rows, seed=5).frame.drop(columns=["TARGET"]).astype({"AMT_CREDIT": object})
    frame.loc[2, "AMT_CREDIT"] = "lots"  # line 4 of the file (header = line 1) cannot be scored
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode()


def test_batch_upload_gives_the_scored_table_and_row_errors(console_env):
    app = run_page("batch")
    app.file_uploader[0].set_value(("clients.csv", _batch_csv(40), "text/csv")).run()
    button(app, "Score the file").click().run()
    assert not app.exception
    scored = app.dataframe[1].value  # after the rows not scored, which sit next to the summary
    assert len(scored) == 39
    assert {"line", "probability", "decision", "risk_band", "AMT_CREDIT"} <= set(scored.columns)
    assert 4 not in set(scored["line"]) and scored["AMT_CREDIT"].notna().all()
    errors = app.dataframe[0].value
    assert list(errors["line"].unique()) == [4]
    assert list(errors["field"]) == ["AMT_CREDIT"]
    assert any(b.label == "Download the scored CSV" for b in app.get("download_button"))


@pytest.mark.parametrize("page", sorted(PAGES))
def test_pages_show_a_friendly_error_when_the_api_and_mlflow_are_down(page, stopped_api_url, monkeypatch):
    monkeypatch.setenv("API_URL", stopped_api_url)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", stopped_api_url)
    app = run_page(page)
    assert not app.exception
    shown = texts(app)
    assert "unavailable" in shown or "not available right now" in shown, shown
    assert "Traceback" not in shown
    assert any(b.label == "Retry" for b in app.button)
