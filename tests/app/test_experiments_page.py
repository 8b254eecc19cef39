"""Issue 14, Experiments page: runs named by registered version and alias with a link to MLflow, the
key metrics first with the best marked to 4 significant digits, training rows and the parameters that
differ, bars on a scale that shows small differences, and PR curves beside the ROC curves."""

from __future__ import annotations

import json

import pandas as pd

from app import experiments
from app.components.charts import bar_range
from tests.app.conftest import run_page, texts
from tests.utils import TEST_ROWS


def _select(app, *run_ids: str):
    assert not app.exception and app.multiselect, (app.exception, texts(app))
    picker = app.multiselect[0]
    chosen = [label for label in picker.options if any(f"({run_id[:6]})" in label for run_id in run_ids)]
    assert len(chosen) == len(run_ids), picker.options
    return picker.set_value(chosen).run()


def test_runs_are_compared_by_version_and_key_metrics(mlflow_env, champion, trained_run, weak_run):
    app = _select(run_page("experiments"), trained_run.run_id, weak_run.run_id)
    assert not app.exception
    table = app.dataframe[0].value
    assert list(table.columns[:6]) == [
        "run",
        "version",
        "test AUC",
        "test KS",
        "business cost",
        "refusal rate",
    ]
    rows = table.set_index("version")
    assert rows.loc[f"v{champion.version} (champion)", "run"].startswith(f"v{champion.version} (champion) · ")
    assert set(table["training rows"]) == {TEST_ROWS}
    links = list(table["MLflow"])
    assert all(link.startswith(mlflow_env.tracking_uri + "/#/experiments/") for link in links)
    assert any(link.endswith(f"/runs/{trained_run.run_id}") for link in links)
    specs = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    titles = [spec["layout"].get("title", {}).get("text", "") for spec in specs]
    assert "ROC curves (test set)" in titles and "Precision-recall curves (test set)" in titles, titles
    bars = specs[titles.index("Key metrics by run")]
    assert [a["text"] for a in bars["layout"]["annotations"]] == [
        "test AUC",
        "test KS",
        "business cost",
        "refusal rate",
    ]


def test_bars_start_at_zero_only_when_the_differences_are_large():
    low, high = bar_range([0.7812, 0.7843])
    assert 0.77 < low < 0.7812 and 0.7843 < high < 0.80  # zoomed: the gap is visible
    assert bar_range([0.52, 0.78])[0] == 0.0
    assert bar_range([410.0, 395.0])[0] > 300


def test_the_best_of_each_metric_is_marked_to_four_significant_digits():
    table = pd.DataFrame(
        {
            "run": ["a", "b"],
            "test AUC": [0.781234, 0.779],
            "business cost": [1234.567, 1200.0],
            "max_bin": [255, 63],
        }
    )
    html = experiments.highlight_best(table, ["test AUC", "business cost"]).to_html()
    assert "0.7812" in html and "0.781234" not in html and "1235" in html and "1200" in html
    assert experiments.best_values(table, ["test AUC", "business cost"]) == {
        "test AUC": 0.781234,
        "business cost": 1200.0,
    }
    runs = pd.DataFrame(
        {
            "run_id": ["r1", "r2"],
            "run_name": ["x", "y"],
            "param.max_bin": ["255", "63"],
            "param.seed": ["1", "1"],
        }
    )
    assert experiments.differing_params(runs) == ["param.max_bin"]
