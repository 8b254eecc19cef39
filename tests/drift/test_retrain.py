"""`python -m ml retrain-if-drift`: nothing without a trigger; with one, a candidate trained on the
reference sample plus the labelled drifted batch, registered as challenger and put through the gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ml.cli import main
from ml.drift.report import TRIGGER_FILE
from ml.registry import Registry
from ml.validation_report import REPORT_HTML, REPORT_MD, REPORT_TAG
from tests.ml.test_validation_report import assert_complete


@pytest.fixture
def own_champion(trained_run, mlflow_server, params, params_file, model_name) -> tuple[Registry, list[str]]:
    """The session's trained run as v1 champion of a model name of its own (aliases move here only)."""
    registry = Registry(model_name, mlflow_server.url, params.gate)
    registry.promote(
        registry.register(trained_run.model_uri, trained_run.run_id), "champion", "test", who="pytest"
    )
    return registry, [
        "--params",
        str(params_file),
        "--tracking-uri",
        mlflow_server.url,
        "--model-name",
        model_name,
    ]


def test_without_a_trigger_nothing_happens(own_champion, tmp_path, capsys) -> None:
    _, base = own_champion
    assert main([*base, "retrain-if-drift", "--reports-dir", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)["action"] == "none"


def test_a_trigger_from_the_inference_log_needs_labelled_data(own_champion, tmp_path, capsys) -> None:
    _, base = own_champion
    trigger = {
        "report_id": "20260101T000000Z-abcdef",
        "drift_share": 0.2,
        "current": {"source": "inference_log"},
    }
    (tmp_path / TRIGGER_FILE).write_text(json.dumps(trigger))
    assert main([*base, "retrain-if-drift", "--reports-dir", str(tmp_path)]) == 1
    assert "no labels: pass --data" in capsys.readouterr().err


@pytest.mark.slow
def test_drift_then_retrain_registers_a_challenger_and_applies_the_gate(
    own_champion, batches, tmp_path, capsys
) -> None:
    registry, base = own_champion
    reports = str(tmp_path / "reports")
    assert main([*base, "drift", "--reports-dir", reports, "--current", str(batches.drifted)]) == 3
    assert "stability: score PSI" in capsys.readouterr().out
    stability = json.loads((tmp_path / "reports" / "latest.json").read_text())["stability"]
    bands = {item["feature"]: item["band"] for item in stability["features"]}
    assert {bands[name] for name in ("CREDIT_GOODS_RATIO", "CREDIT_ANNUITY_RATIO", "EXT_SOURCE_2")} == {"act"}
    assert "Characteristic stability (CSI per feature)" in (tmp_path / "reports" / "latest.html").read_text()

    code = main([*base, "retrain-if-drift", "--reports-dir", reports, "--promote", "--who", "pytest"])
    outcome = json.loads(capsys.readouterr().out)
    assert outcome["action"] == "retrained" and outcome["version"] == "2"
    assert outcome["rows"] == 2_000 + 3_000  # the reference sample plus the labelled batch
    assert outcome["gate"]["champion_version"] == "1" and outcome["gate"]["candidate_auc"] > 0.5
    aliases = registry.aliases()
    assert aliases["challenger"] == "2"
    assert "drift report" in registry.history()[-1].why
    version = registry.client.get_model_version(registry.name, "2")
    assert version.tags[REPORT_TAG] == REPORT_HTML
    html = Path(registry.client.download_artifacts(version.run_id, REPORT_HTML, str(tmp_path))).read_text()
    markdown = Path(registry.client.download_artifacts(version.run_id, REPORT_MD, str(tmp_path))).read_text()
    assert_complete(html, markdown)
    if outcome["gate"]["passed"]:
        assert code == 0 and outcome["promoted"] and aliases["champion"] == "2"
        assert not (tmp_path / "reports" / TRIGGER_FILE).exists()
    else:
        assert code == 5 and not outcome["promoted"] and aliases["champion"] == "1"
        assert outcome["gate"]["reasons"] and (tmp_path / "reports" / TRIGGER_FILE).exists()
