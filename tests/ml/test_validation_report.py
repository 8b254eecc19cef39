"""The validation report: logged at registration with every section filled, written by `ml report`, escaped."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient

from ml.cli import main
from ml.config import load_params
from ml.validation_report import (
    NOT_RECORDED,
    REPORT_HTML,
    REPORT_MD,
    REPORT_TAG,
    RunEvidence,
    build_sections,
    render_html,
)

SECTIONS = [
    "Purpose and data",
    "Features and their importance",
    "Performance on test data",
    "Stability of the test scores against training",
    "Fairness",
    "Quality gate against the champion",
    "Known limitations",
    "Training parameters",
]


def assert_complete(html: str, markdown: str) -> None:
    assert re.findall(r"<h2>(.*?)</h2>", html) == SECTIONS
    assert [line[3:] for line in markdown.splitlines() if line.startswith("## ")] == SECTIONS
    assert NOT_RECORDED not in html and NOT_RECORDED not in markdown
    for needle in (
        "AUC",
        "KS",
        "Brier score",
        "calibration curve",
        "CODE_GENDER",
        "under 25",
        "PSI of the test scores",
        "Business cost per client",
        "EXT_SOURCE",
        "train.lightgbm.learning_rate",
        "Default rate: train",
    ):
        assert needle in html, needle
    assert "<script" not in html and "default-src 'none'" in html


def test_cli_registration_logs_a_complete_report(mlflow_server, trained_run, model_name, tmp_path):
    argv = ["--tracking-uri", mlflow_server.url, "--model-name", model_name]
    assert main([*argv, "register", "--run-id", trained_run.run_id]) == 0
    client = MlflowClient(mlflow_server.url)
    [version] = client.search_model_versions(f"name='{model_name}'")
    assert version.tags[REPORT_TAG] == REPORT_HTML
    html = Path(client.download_artifacts(trained_run.run_id, REPORT_HTML, str(tmp_path))).read_text()
    markdown = Path(client.download_artifacts(trained_run.run_id, REPORT_MD, str(tmp_path))).read_text()
    assert_complete(html, markdown)
    assert f"{model_name} version 1" in html and "PASSES the gate" in html

    out = tmp_path / "out" / "report.html"
    assert main([*argv, "report", "1", "--output", str(out)]) == 0
    assert_complete(out.read_text(), out.with_suffix(".md").read_text())


def test_report_escapes_every_value_from_data():
    hostile = "<script>alert(1)</script>"
    evidence = RunEvidence(
        model_name=hostile,
        version="3",
        run_id="r1",
        started="2026-01-01T00:00:00+00:00",
        tags={"git_commit": hostile},
        run_params={},
        metrics={"test_roc_auc": 0.75, "threshold": 0.1, "best_iteration": 10.0},
        data_summary={
            "source": hostile,
            "data_hash": "ab" * 32,
            "rows": {"train": 7, "valid": 2, "test": 2},
            "target_rate": {"train": 0.1},
            "date_range": None,
        },
        importance={hostile: 3.0, "EXT_SOURCE_2": 1.0},
        test_scores=pd.DataFrame(
            {"target": [0, 1] * 50, "prediction": np.linspace(0, 1, 100), hostile: ["a"] * 100}
        ),
        reference_scores=np.linspace(0, 1, 100),
        fairness=[
            {
                "attribute": hostile,
                "groups": [],
                "min_approval_ratio": None,
                "equal_opportunity_diff": None,
                "least_approved": None,
                "most_approved": None,
                "notes": [hostile],
            }
        ],
        params={"train": {hostile: hostile}},
    )
    verdict = {
        "passed": False,
        "candidate_auc": 0.75,
        "champion_version": None,
        "champion_auc": None,
        "reasons": [hostile],
        "criteria": {},
    }
    html = render_html(evidence, build_sections(evidence, verdict, load_params()))
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
