"""`python -m ml drift` end to end against the session's MLflow server and champion: reports, the
retrain trigger's life cycle, the MLflow monitoring run, exit codes, and refused inputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from ml.artifacts import DRIFT_HTML_ARTIFACT, DRIFT_JSON_ARTIFACT
from ml.cli import main
from ml.drift.report import LATEST_HTML, LATEST_JSON, TRIGGER_FILE
from ml.inference_log import create_log_engine
from tests.drift.conftest import BATCH_ROWS, MONITORING_EXPERIMENT, SHIFTED


def drift(cli_base: list[str], reports: Path, *options: str) -> int:
    return main([*cli_base, "drift", "--reports-dir", str(reports), *options])


def latest(reports: Path) -> dict:
    return json.loads((reports / LATEST_JSON).read_text())


def test_clean_drift_clean_sets_then_clears_the_trigger(
    cli_base, batches, champion, tmp_path, capsys
) -> None:
    reports = tmp_path / "reports"

    assert drift(cli_base, reports, "--current", str(batches.clean)) == 0
    first = latest(reports)
    assert not first["dataset_drift"] and not (reports / TRIGGER_FILE).exists()

    digest = tmp_path / "digest.md"
    assert drift(cli_base, reports, "--current", str(batches.drifted), "--markdown", str(digest)) == 3
    summary = latest(reports)
    assert digest.read_text().startswith(f"### Drift detected: {summary['n_drifted']} of")
    assert "| AMT_CREDIT | Wasserstein distance (normed) |" in digest.read_text()
    assert set(summary["drifted_columns"]) >= SHIFTED
    assert summary["dataset_drift"] and summary["drift_share"] > summary["threshold"] == 0.1
    assert summary["prediction_drift"]["drifted"]  # the drifted batch was scored by the champion
    assert summary["current"]["scored_by"] == f"champion v{champion.version}"
    assert summary["model_version"] == champion.version and summary["reference"]["source"] == "champion"
    assert summary["rows"] == {"reference": 2_000, "current": BATCH_ROWS}
    assert summary["columns"]["AMT_CREDIT"] == {
        "type": "num",
        "method": "Wasserstein distance (normed)",
        "score": pytest.approx(summary["columns"]["AMT_CREDIT"]["score"]),
        "threshold": 0.1,
        "drifted": True,
    }
    trigger = json.loads((reports / TRIGGER_FILE).read_text())
    assert trigger["report_id"] == summary["report_id"]
    assert trigger["current"]["path"] == str(batches.drifted)
    html = (reports / LATEST_HTML).read_text()
    assert html == (reports / f"drift_{summary['report_id']}.html").read_text()
    assert 'class="drift-summary"' in html and "AMT_CREDIT" in html and "drawDashboard" in html
    assert (reports / f"drift_{first['report_id']}.json").exists()  # earlier reports are kept
    out = capsys.readouterr().out
    assert "DRIFT" in out and "retrain trigger: present" in out

    assert drift(cli_base, reports, "--current", str(batches.clean)) == 0
    assert not (reports / TRIGGER_FILE).exists()
    assert not list(reports.glob(".*.tmp"))


def test_each_check_is_an_mlflow_run_with_metrics_and_reports(cli_base, batches, champion, tmp_path) -> None:
    reports = tmp_path / "reports"
    assert drift(cli_base, reports, "--current", str(batches.drifted)) == 3
    summary = latest(reports)
    client = MlflowClient(champion.tracking_uri)
    run = client.get_run(summary["mlflow_run_id"])
    assert client.get_experiment(run.info.experiment_id).name == MONITORING_EXPERIMENT
    assert run.info.status == "FINISHED"
    assert run.data.metrics["drift_share"] == pytest.approx(summary["drift_share"])
    assert run.data.metrics["drifted_columns"] == summary["n_drifted"]
    assert run.data.metrics["data_quality_score"] == pytest.approx(summary["data_quality"]["score"])
    assert run.data.tags["model_version"] == champion.version and run.data.tags["source"] == "file"
    assert run.data.tags["report_id"] == summary["report_id"]
    assert {a.path for a in client.list_artifacts(run.info.run_id)} == {
        DRIFT_HTML_ARTIFACT,
        DRIFT_JSON_ARTIFACT,
    }
    logged = json.loads(
        Path(client.download_artifacts(run.info.run_id, DRIFT_JSON_ARTIFACT, str(tmp_path))).read_text()
    )
    assert logged == summary


@pytest.fixture(scope="module")
def clean_reports(cli_base, batches, tmp_path_factory) -> Path:
    """A reports directory after one good check: a refused check must leave it exactly as it is."""
    reports = tmp_path_factory.mktemp("clean") / "reports"
    assert drift(cli_base, reports, "--current", str(batches.clean)) == 0
    return reports


def _csv_with_bad_values(source: Path, target: Path) -> Path:
    frame = pd.read_csv(source)
    frame = frame.astype({"AMT_INCOME_TOTAL": object})
    frame.loc[[0, 41], "AMT_INCOME_TOTAL"] = ["abc", "1,5e5"]
    frame.to_csv(target, index=False)
    return target


def _csv_with_a_broken_line(source: Path, target: Path) -> Path:
    lines = source.read_text().splitlines()
    lines[6] += ",extra,fields"
    target.write_text("\n".join(lines) + "\n")
    return target


@pytest.mark.parametrize(
    ("make_input", "message"),
    [
        (_csv_with_bad_values, "AMT_INCOME_TOTAL: 2 values are not numbers (CSV lines 2, 43)"),
        (_csv_with_a_broken_line, "malformed CSV at line 7"),
        (
            lambda source, target: pd.read_csv(source).head(20).to_csv(target, index=False) or target,
            "20 rows",
        ),
        (
            lambda source, target: (
                pd.read_csv(source).drop(columns=["EXT_SOURCE_3"]).to_csv(target, index=False) or target
            ),
            "mismatched columns: the current data lacks 1",
        ),
    ],
    ids=["unparseable-values", "malformed-line", "too-few-rows", "missing-column"],
)
def test_bad_input_is_refused_and_nothing_is_written(
    cli_base, batches, clean_reports, tmp_path, capsys, make_input, message
) -> None:
    reports = Path(shutil.copytree(clean_reports, tmp_path / "reports"))
    before = {path.name: path.read_bytes() for path in reports.iterdir()}
    bad = make_input(batches.clean, tmp_path / "bad.csv")
    assert drift(cli_base, reports, "--current", str(bad)) == 1
    assert message in capsys.readouterr().err
    assert {path.name: path.read_bytes() for path in reports.iterdir()} == before


def test_an_empty_inference_log_window_is_refused(cli_base, tmp_path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    create_log_engine(url).dispose()
    assert drift(cli_base, tmp_path / "reports", "--database-url", url, "--since", "2020-01-01") == 1
    assert "has no rows between 2020-01-01" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()
