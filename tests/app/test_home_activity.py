"""Issue 14, `make run` as an operator sees it: Home counts predictions from the inference log (which
outlives API restarts), and the "free Render instance" hint is given only for an API on Render."""

from __future__ import annotations

import pytest

from app.api_client import ApiClient, ApiUnavailableError, _unreachable
from ml.inference_log import InferenceLogWriter
from tests.app.conftest import run_page
from tests.servers import free_port


def test_home_counts_predictions_from_the_inference_log(console_env, monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'log.db'}"
    rows = [
        {"request_id": f"r{i}", "row": 0, "decision": "approve" if i % 4 else "refuse"} for i in range(40)
    ]
    with InferenceLogWriter(url) as writer:
        writer.write_now(rows)  # rows an earlier API process wrote: this one's counters never saw them
    monkeypatch.setenv("DATABASE_URL", url)
    app = run_page("overview")
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Predictions in the inference log"] == "40"
    assert metrics["Approval rate"] == "75.0%"
    assert "Predictions since API start" not in metrics


def test_the_render_wake_up_hint_is_only_for_an_api_on_render():
    with pytest.raises(ApiUnavailableError) as refused:
        ApiClient(f"http://127.0.0.1:{free_port()}", retries=0).health()
    assert "cannot be reached" in refused.value.message and "Render" not in refused.value.message
    assert "free Render instance" in _unreachable("https://credit-scoring-api.onrender.com")
    assert "Render" not in _unreachable("https://scoring.example.org")
