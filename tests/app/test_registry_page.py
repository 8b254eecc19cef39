"""Issue 14, Model registry page: the gate's verdict and the metrics before Confirm, one message per
outcome in words, rollback naming its target, forms that reset, the signed-in person as "who", each
version's own last move, timeline markers apart, and a read-only registry from MLflow with the API down.
"""

from __future__ import annotations

import json
import time

import httpx
import pandas as pd
from streamlit.testing.v1 import AppTest

from api.identity_roles import Role
from app import registry_view
from app.auth import IDENTITY, ConsoleIdentity
from ml.registry import Registry
from tests.app.conftest import PAGES, button, run_page


def _served_version(url: str, expected: str, timeout_s: float = 20) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        version = str(httpx.get(f"{url}/health", timeout=5).json()["model_version"])
        if version == expected or time.monotonic() > deadline:
            return version
        time.sleep(0.3)


def _messages(app) -> list[tuple[str, str]]:
    """Every outcome box on the page, with its kind."""
    return [
        *(("success", str(m.value)) for m in app.main.success),
        *(("warning", str(m.value)) for m in app.main.warning),
        *(("error", str(m.value)) for m in app.main.error),
    ]


def _signed_in_page(monkeypatch, registry_api, mlflow_env, who: str):
    monkeypatch.setenv("API_URL", registry_api.server.url)
    monkeypatch.setenv("JWT_SECRET", registry_api.jwt_secret)
    monkeypatch.setenv("MODEL_NAME", registry_api.model_name)
    monkeypatch.setenv("CONSOLE_LOGIN", "required")
    app = AppTest.from_file(str(PAGES["registry"]), default_timeout=60)
    app.session_state[IDENTITY] = ConsoleIdentity(who, Role.LEAD, "password", time.time())
    return app.run()


def _review_promotion(app, version: str, alias: str, reason: str, force: bool = False):
    app.selectbox(key="promote_version").select(version)
    app.radio(key="promote_alias").set_value(alias)
    app.text_input(key="promote_reason").input(reason)
    app.checkbox(key="promote_force").set_value(force)
    return button(app, "Review promotion").click().run()


def test_promotions_and_rollback_end_in_one_message_each(registry_api, mlflow_env, weak_run, monkeypatch):
    registry = Registry(registry_api.model_name, mlflow_env.tracking_uri)
    weak = registry.register(weak_run.model_uri, weak_run.run_id)  # v3: AUC near 0.5, the gate refuses
    app = _signed_in_page(monkeypatch, registry_api, mlflow_env, "ana")
    assert not app.exception

    _review_promotion(app, weak, "champion", "try the new one")
    assert not app.exception
    assert [kind for kind, _ in _messages(app)] == ["error"], _messages(app)  # the gate, before Confirm
    gate = app.main.error[0].value
    assert "Quality gate refuses" in gate and "below the minimum" in gate, gate
    compared = next(frame.value for frame in app.dataframe if "metric" in frame.value.columns)
    assert {f"v{weak} (candidate)", "v1 (champion)", "difference"} <= set(compared.columns)
    assert compared.set_index("metric").loc["Test ROC AUC", "candidate is"] == "worse"

    button(app, "Confirm").click().run()
    messages = _messages(app)
    assert [kind for kind, _ in messages] == ["error"], messages
    refusal = messages[0][1]
    assert refusal.startswith(f"v{weak} was not made champion: ") and "below the minimum" in refusal
    assert "HTTP" not in refusal and "{" not in refusal and refusal.count("below the minimum") == 1

    _review_promotion(app, weak, "champion", "accepted risk, see ticket 12", force=True)
    button(app, "Confirm").click().run()
    messages = _messages(app)
    assert [kind for kind, _ in messages] == ["warning"], messages  # no green Done above a red refusal
    assert f"v{weak} is now champion, forced past the quality gate" in messages[0][1]
    assert app.text_input(key="promote_reason").value == ""  # the form starts over
    assert not app.checkbox(key="promote_force").value
    assert _served_version(registry_api.server.url, weak) == weak

    assert f"from v{weak} to v1" in "\n".join(m.value for m in app.markdown)
    app.text_input(key="rollback_reason").input("v3 refuses everyone")
    button(app, "Review rollback").click().run()
    assert f"from **v{weak}** to **v1**" in "\n".join(m.value for m in app.markdown)
    assert "Recorded as done by **ana**" in "\n".join(m.value for m in app.markdown)
    button(app, "Confirm").click().run()
    messages = _messages(app)
    assert messages == [
        ("success", f"Rolled back: v1 is champion again (v{weak} left). The API now serves v1.")
    ]
    assert app.text_input(key="rollback_reason").value == ""
    assert _served_version(registry_api.server.url, "1") == "1"

    versions = app.dataframe[0].value.set_index("version")
    assert versions.loc["1", "last move"].startswith("champion again (rollback)")
    assert versions.loc[weak, "last move"].startswith("made champion")
    assert versions.loc["2", "last move"] is None  # never moved: v1's move is not shown as its own
    assert versions.loc["1", "by"] == "ana" and versions.loc[weak, "by"] == "ana"
    history = app.dataframe[-1].value
    assert list(history["who"][:2]) == ["ana", "ana"]

    chart = json.loads(app.get("plotly_chart")[0].proto.spec)
    assert sum(len(trace["x"]) for trace in chart["data"]) == 3  # v1's setup, the forced v3, the rollback


def test_timeline_markers_close_in_time_are_lifted_apart():
    start = pd.Timestamp("2026-01-01", tz="UTC")
    moments = [
        start,
        start + pd.Timedelta(seconds=5),
        start + pd.Timedelta(seconds=9),
        start + pd.Timedelta(days=30),
    ]
    history = pd.DataFrame({"when": moments, "alias": ["champion"] * 3 + ["challenger"]})
    lanes = registry_view.timeline_lanes(history)
    assert len(set(lanes[:3])) == 3, list(lanes)  # seconds apart on a month's axis: one lane each
    assert lanes[3] == 0.0  # alone on its row (challenger sorts first)
    far = pd.DataFrame(
        {"when": [start, start + pd.Timedelta(days=10), moments[3]], "alias": ["champion"] * 3}
    )
    assert set(registry_view.timeline_lanes(far)) == {0.0}  # apart in time: one row


def test_with_the_api_down_the_registry_still_reads_from_mlflow(stopped_api_url, mlflow_env, monkeypatch):
    monkeypatch.setenv("API_URL", stopped_api_url)
    monkeypatch.setenv("MODEL_NAME", mlflow_env.name)
    app = run_page("registry")
    assert not app.exception
    assert "read-only, from MLflow" in app.warning[0].value
    versions = app.dataframe[0].value
    assert mlflow_env.version in set(versions["version"])
    history = app.dataframe[1].value
    assert "test session champion" in set(history["why"])
    assert not any(b.label in ("Review promotion", "Review rollback") for b in app.button)
