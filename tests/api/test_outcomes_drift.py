"""After drift, the outcomes show it: realized AUC falls on a drifted batch with generated outcomes,
and the alert rule fires on the gauges the API exposes (promtool); the estimate before outcomes is
within 0.03 AUC of the realized figure when outcomes follow the model's probabilities."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from ml.drift.batches import make_production_batch
from ml.generate import generate_applications
from ml.outcomes import outcomes_for_batch, read_outcomes
from tests.api.conftest import Api
from tests.api.test_outcomes import post_outcomes, score_batch, start_outcomes_api

ROWS = 8000
MONITORING = Path(__file__).resolve().parents[2] / "monitoring"
PROMTOOL = shutil.which("promtool")


def _gauges(api: Api) -> dict[str, float]:
    """`credit_performance_*` samples of GET /metrics, keyed by their exposition line's name+labels."""
    with api.client() as client:
        text = client.get("/metrics").text
    samples = {}
    for line in text.splitlines():
        match = re.match(r"^(credit_performance_\w+(?:\{[^}]*\})?) (\S+)$", line)
        if match:
            samples[match.group(1)] = float(match.group(2))
    return samples


def _score_with_outcomes(api: Api, batch: pd.DataFrame) -> dict:
    """Score the batch, record its generated outcomes through the API, return GET /performance."""
    score_batch(api, batch.drop(columns=["TARGET"]))
    outcomes = outcomes_for_batch(
        api.database_url, batch, "TARGET", "SK_ID_CURR", pd.Timestamp("2026-06-30").date()
    )
    response = post_outcomes(api, outcomes.to_csv(index=False))
    assert response.status_code == 200 and response.json()["rejected"] == 0, response.text
    with api.client() as client:
        return client.get("/performance").json()


def _realized_alert(gauges: dict[str, float]) -> list[dict]:
    """The RealizedAucDrop alert these gauges should raise, as promtool expects it."""
    key = next(k for k in gauges if k.startswith("credit_performance_auc_drop") and 'kind="realized"' in k)
    version = re.search(r'model_version="([^"]+)"', key).group(1)
    rule = next(
        r
        for g in yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"]
        for r in g["rules"]
        if r.get("alert") == "RealizedAucDrop"
    )
    return [
        {
            "exp_labels": {"severity": "warning", "job": "credit-scoring-api", "model_version": version},
            "exp_annotations": {
                "summary": f"Model {version}: realized AUC is {gauges[key]:.3f} below its training AUC",
                "description": rule["annotations"]["description"],
            },
        }
    ]


def _promtool(tmp_path: Path, gauges: dict[str, float], expected: list[dict], name: str) -> str:
    """Run promtool's unit test of RealizedAucDrop over 20 minutes of these scraped values; its
    output, empty when the alerts were exactly `expected`."""
    job = 'job="credit-scoring-api",instance="api:8000"'
    series = [
        {
            "series": key.replace("{", "{" + job + ",", 1) if "{" in key else key + "{" + job + "}",
            "values": f"{value}x30",
        }
        for key, value in gauges.items()
    ]
    test = {
        "interval": "1m",
        "input_series": series,
        "alert_rule_test": [{"eval_time": "20m", "alertname": "RealizedAucDrop", "exp_alerts": expected}],
    }
    path = tmp_path / f"{name}_test.yml"
    path.write_text(yaml.safe_dump({"rule_files": [str(MONITORING / "alerts.yml")], "tests": [test]}))
    result = subprocess.run(
        [PROMTOOL, "test", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    return "" if result.returncode == 0 else result.stdout + result.stderr


@pytest.mark.skipif(PROMTOOL is None, reason="promtool not on PATH (Debian package prometheus)")
def test_drift_lowers_realized_auc_and_the_alert_fires(champion, tmp_path) -> None:
    frame = generate_applications(ROWS, seed=23)  # clients the model never saw
    figures = {}
    for name, intensity in (("steady", 0.0), ("drifted", 1.0)):
        workdir = tmp_path / name
        workdir.mkdir()
        api = start_outcomes_api(champion, workdir, f"sqlite:///{workdir / 'log.db'}")
        try:
            report = _score_with_outcomes(api, make_production_batch(frame, intensity, seed=7))
            figures[name] = (report["versions"][0], _gauges(api))
            if name == "steady":
                simulated_check(api)
        finally:
            api.server.stop()
    steady, drifted = figures["steady"][0]["overall"], figures["drifted"][0]["overall"]
    assert drifted["realized"]["roc_auc"] < steady["realized"]["roc_auc"] - 0.03
    assert drifted["realized"]["bad_rate"] > steady["realized"]["bad_rate"]
    assert drifted["realized_auc_drop"] > 0.05 > steady["realized_auc_drop"]  # performance.max_auc_drop
    assert _promtool(tmp_path, figures["steady"][1], [], "steady") == ""
    drifted_gauges = figures["drifted"][1]
    assert _promtool(tmp_path, drifted_gauges, _realized_alert(drifted_gauges), "drifted") == ""


def simulated_check(api: Api) -> None:
    """Outcomes drawn from the logged probabilities (calibrated by construction), sent as corrections
    of the generated ones: the estimate must then be within 0.03 AUC of the realized figure."""
    stored = read_outcomes(api.database_url)
    rng = np.random.default_rng(5)
    simulated = pd.DataFrame(
        {
            "request_id": stored["request_id"],
            "row": stored["row"],
            "defaulted": (rng.random(len(stored)) < stored["probability"].to_numpy()).astype(int),
            "observed_at": "2026-07-31",
        }
    )
    response = post_outcomes(api, simulated.to_csv(index=False))
    assert response.status_code == 200 and response.json()["rejected"] == 0
    with api.client() as client:
        overall = client.get("/performance").json()["versions"][0]["overall"]
    assert overall["realized"]["rows"] == overall["estimated"]["rows"] == len(stored)
    assert abs(overall["estimated"]["roc_auc"] - overall["realized"]["roc_auc"]) < 0.03
    assert abs(overall["estimated"]["bad_rate"] - overall["realized"]["bad_rate"]) < 0.01
