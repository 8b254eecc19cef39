"""The console's credit views in AppTest: the validation report (sandboxed) and the stability section."""

from __future__ import annotations

import time

import httpx
import numpy as np
from mlflow.tracking import MlflowClient

from ml.config import StabilityParams
from ml.data import generated_dataset
from ml.drift.batches import make_production_batch
from ml.schema import infer_schema
from ml.stability import assess
from tests.app.conftest import button, run_page, texts


def frames_srcdoc(app) -> list[str]:
    """The documents of the page's iframes (st.iframe with an HTML string: an IFrame proto with srcdoc)."""
    frames = [node.proto for node in app.main if type(node.proto).__name__ == "IFrame"]
    return [frame.srcdoc for frame in frames if frame.srcdoc]


def test_registry_page_opens_the_validation_report_in_a_sandbox(console_env, champion, champion_report):
    app = run_page("registry")
    assert not app.exception
    label = next(
        o for o in app.selectbox(key="report_version").options if o.startswith(f"v{champion.version} ")
    )
    app.selectbox(key="report_version").select(label).run()
    assert not app.exception
    [frame] = frames_srcdoc(app)
    assert frame.startswith('<iframe sandbox="" ') and "allow-same-origin" not in frame
    assert f"Validation report: {champion.name} version {champion.version}" in frame
    assert (
        "&lt;h2&gt;Quality gate against the champion&lt;/h2&gt;" in frame
    )  # the document, escaped into srcdoc
    assert any(b.label == "Download the validation report" for b in app.get("download_button"))


def test_drift_page_shows_the_stability_table_and_score_bands(mlflow_env, monkeypatch):
    reference = generated_dataset(2_000, seed=3).frame
    current = make_production_batch(generated_dataset(2_000, seed=4).frame)
    rng = np.random.default_rng(0)
    stability = assess(
        reference,
        current,
        infer_schema(reference, "TARGET", "SK_ID_CURR"),
        StabilityParams(),
        rng.beta(2, 8, 2_000),
        rng.beta(3, 8, 2_000),
    )
    client = MlflowClient(mlflow_env.tracking_uri)
    experiment = client.get_experiment_by_name("credit-scoring-monitoring") or client.get_experiment(
        client.create_experiment("credit-scoring-monitoring")
    )
    run = client.create_run(experiment.experiment_id)
    client.log_metric(run.info.run_id, "drift_share", 0.3)
    summary = {"columns": {"AMT_CREDIT": {"drifted": True}}, "stability": stability.as_dict()}
    client.log_dict(run.info.run_id, summary, "drift/summary.json")
    client.set_terminated(run.info.run_id)

    app = run_page("drift")
    assert not app.exception
    assert "above 0.25: act" in texts(app)
    table = app.dataframe[-1].value
    bands = dict(zip(table["feature"], table["band"], strict=True))
    assert bands["CREDIT_GOODS_RATIO"] == "act" and table.iloc[0]["band"] == "act"
    assert len([c for c in app.get("plotly_chart") if "Score bands: PSI" in c.proto.spec]) == 1


LOW_EXTERNAL = {"EXT_SOURCE_1": "0.02", "EXT_SOURCE_2": "0.02", "EXT_SOURCE_3": "0.02"}


def test_scoring_page_shows_the_reasons_next_to_the_waterfall(console_env):
    app = run_page("score")
    fields = [field for field in app.number_input if field.label in LOW_EXTERNAL]
    assert {field.label for field in fields} >= {"EXT_SOURCE_2", "EXT_SOURCE_3"}
    for field in fields:
        field.set_value(0.02)
    button(app, "Score this client").click().run()
    assert not app.exception
    assert any(m.value.startswith("**Refused: ") for m in app.error)
    assert "Main reasons for refusal" in texts(app)
    reasons = next(frame.value for frame in app.dataframe if "code" in frame.value.columns)
    assert reasons.iloc[0]["code"] == "R03" and reasons.iloc[0]["reason"] == "Low external credit score"


def test_batch_download_carries_the_reasons(console_env):
    frame = generated_dataset(30, seed=8).frame.drop(columns=["TARGET"])
    frame.loc[:9, list(LOW_EXTERNAL)] = 0.02
    app = run_page("batch")
    app.file_uploader[0].set_value(("clients.csv", frame.to_csv(index=False).encode(), "text/csv")).run()
    button(app, "Score the file").click().run()
    assert not app.exception
    scored = app.dataframe[0].value  # the table the download button writes as CSV
    refused = scored[scored["decision"] == "refuse"]
    assert len(refused) >= 10 and refused["reasons"].str.len().gt(0).all()
    assert refused["reasons"].str.startswith("R03 Low external credit score").sum() >= 10
    assert (scored.loc[scored["decision"] == "approve", "reasons"] == "").all()


def test_fairness_page_shows_approval_rates_per_group(console_env):
    frame = generated_dataset(400, seed=12).frame.drop(columns=["TARGET"])
    records = [{k: v if v == v else None for k, v in row.items()} for row in frame.to_dict(orient="records")]
    assert httpx.post(f"{console_env.url}/predict/batch", json=records, timeout=60).status_code == 200
    deadline = time.monotonic() + 30
    while (
        httpx.get(f"{console_env.url}/fairness", timeout=30).json()["rows"] < 400
        and time.monotonic() < deadline
    ):
        time.sleep(0.3)
    app = run_page("fairness")
    assert not app.exception
    summary = app.dataframe[0].value
    assert set(summary["attribute"]) == {"CODE_GENDER", "DAYS_BIRTH"}
    groups = app.dataframe[1].value
    assert {"F", "M"} <= set(groups["group"]) and groups["approved"].str.endswith("%").all()
    assert any("Approval rate per group" in chart.proto.spec for chart in app.get("plotly_chart"))
