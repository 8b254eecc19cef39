"""Issue 14, Data drift: the verdict and the next step first, a readable history, the full report only
when opened, a page that refreshes itself when the check it started finishes, and Home's verdict.

Checks are logged to the session's MLflow shaped like the drift job's runs; the refresh test starts a
real check through the session's API.
"""

from __future__ import annotations

import json
import time

import httpx
import mlflow

from ml.artifacts import DRIFT_HTML_ARTIFACT, DRIFT_JSON_ARTIFACT
from tests.app.conftest import button, run_page, texts

MONITORING = "credit-scoring-monitoring"


def log_check(tracking_uri: str, share: float, drifted: list[str], html_bytes: int = 2_000) -> str:
    """A monitoring run as `ml drift` logs it: metrics, the JSON summary and the HTML report."""
    client = mlflow.MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(MONITORING)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(MONITORING)
    run_id = client.create_run(experiment_id).info.run_id
    test = {"type": "num", "method": "wasserstein", "threshold": 0.1}
    columns = {name: {**test, "score": 0.3, "drifted": True} for name in drifted}
    columns["AMT_ANNUITY"] = {**test, "score": 0.01, "drifted": False}
    summary = {
        "drift_share": share,
        "dataset_drift": share > 0.1,
        "threshold": 0.1,
        "n_columns": 20,
        "n_drifted": len(drifted),
        "drifted_columns": drifted,
        "columns": columns,
    }
    for key, value in {"drift_share": share, "dataset_drift": float(share > 0.1), "threshold": 0.1}.items():
        client.log_metric(run_id, key, value)
    client.log_metric(run_id, "drifted_columns", len(drifted))
    client.log_dict(run_id, summary, f"drift/{DRIFT_JSON_ARTIFACT}")
    page = "<html><body><h1>Drift report</h1>" + "x" * html_bytes + "</body></html>"
    client.log_text(run_id, page, f"drift/{DRIFT_HTML_ARTIFACT}")
    client.set_terminated(run_id)
    return run_id


def test_the_verdict_and_the_next_step_come_first(mlflow_env):
    log_check(mlflow_env.tracking_uri, 0.05, ["AMT_CREDIT"])
    log_check(mlflow_env.tracking_uri, 0.15, ["DAYS_EMPLOYED", "AMT_CREDIT", "EXT_SOURCE_2"])
    app = run_page("drift")
    assert not app.exception
    verdict = app.error[0].value
    assert "Drift detected" in verdict and "3 of 20 columns" in verdict, verdict
    assert "15.0%" in verdict and "threshold of 10.0%" in verdict, verdict
    shown = texts(app)
    assert "Drifted: `DAYS_EMPLOYED`, `AMT_CREDIT`, `EXT_SOURCE_2`." in shown, shown
    assert "retrain trigger" in shown
    assert any("retrain-if-drift" in block.value for block in app.code)
    columns = app.dataframe[1].value
    assert list(columns.columns[:2]) == ["Column", "Drifted"]
    assert list(columns["Drifted"][:3]) == ["yes", "yes", "yes"] and columns["Drifted"].iloc[-1] == "no"


def test_the_history_reads_in_words_on_a_scale_of_its_own(mlflow_env):
    log_check(mlflow_env.tracking_uri, 0.02, [])
    app = run_page("drift")
    assert not app.exception
    assert "No drift" in app.success[0].value and "2.0%" in app.success[0].value
    history = app.dataframe[0].value
    assert {"Checked (UTC)", "Drift", "Share of columns drifted", "Retrain threshold"} <= set(history.columns)
    assert not any("_" in column for column in history.columns), list(history.columns)
    assert history["Drift"].iloc[0] == "no" and history["Share of columns drifted"].iloc[0] == "2.0%"
    chart = json.loads(app.get("plotly_chart")[0].proto.spec)
    top = chart["layout"]["yaxis"]["range"][1]
    shares = chart["data"][0]["y"]
    assert max(shares) <= top < 1, top  # past checks of the session reach 99 % at most
    assert chart["layout"]["xaxis"]["tickformat"]


def test_the_full_report_is_read_only_when_opened(mlflow_env):
    log_check(mlflow_env.tracking_uri, 0.05, ["AMT_CREDIT"], html_bytes=3_000_000)
    started = time.monotonic()
    app = run_page("drift")
    took = time.monotonic() - started
    assert not app.exception
    assert not app.download_button and not app.get("iframe"), "the report was read before it was opened"
    print(f"drift page with a 3 MB report, report closed: {took:.2f} s")
    app.toggle[0].set_value(True).run()
    assert not app.exception
    assert [b.label for b in app.download_button] == ["Download the HTML report"]


def test_the_page_refreshes_itself_when_its_check_finishes(console_env, mlflow_env):
    app = run_page("drift")
    button(app, "Run a drift check now").click().run()
    assert not app.exception
    assert "refreshes by itself" in texts(app), texts(app)
    job_id = app.session_state["drift_job"]
    deadline = time.monotonic() + 120
    while httpx.get(f"{console_env.url}/drift/jobs/{job_id}", timeout=5).json()["status"] == "running":
        assert time.monotonic() < deadline, "the check did not finish in 2 minutes"
        time.sleep(1)
    app.run()  # what the fragment's timer does in a browser: run the watcher again
    assert not app.exception
    shown = texts(app)
    assert f"Drift check {job_id} finished" in shown or f"Drift check {job_id} failed" in shown, shown
    assert "refreshes by itself" not in shown


def test_home_shows_the_latest_verdict_with_its_threshold(console_env, mlflow_env):
    log_check(mlflow_env.tracking_uri, 0.25, ["AMT_CREDIT", "DAYS_EMPLOYED"])
    app = run_page("overview")
    assert not app.exception
    verdict = "\n".join(e.value for e in app.error)
    assert "Drift detected" in verdict and "25.0%" in verdict and "10.0%" in verdict, verdict
    assert any("Data drift" in link.proto.label for link in app.get("page_link")), app.get("page_link")
