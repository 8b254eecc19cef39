"""Book stability on Spark: PSI / CSI equal `ml.stability` (the drift check's pandas computation) on the
same rows, and missing shares and out-of-range counts equal pandas; written as the drift check writes."""

from __future__ import annotations

import json
import uuid

import pandas as pd
import pytest

from ml.config import DriftParams, StabilityParams
from ml.drift.compare import PREDICTION
from ml.schema import encode_frame
from ml.spark_stability import book_report, compare_book, download_reference, read_book_features
from ml.stability import column_stability, score_stability
from tests.servers import ROOT

PARAMS = StabilityParams()


@pytest.fixture(scope="module")
def stability(spark, book_csv, book_model, champion, spark_scored):
    schema = book_model.load().schema
    reference = download_reference(champion.tracking_uri, champion.run.run_id)
    book = read_book_features(spark, str(book_csv), "csv", schema)
    result, stable = compare_book(
        spark,
        book,
        spark.read.parquet(str(spark_scored.output)),
        reference,
        schema,
        DriftParams(),
        PARAMS,
        300,
    )
    return result, stable, reference, schema


def test_psi_and_csi_equal_the_pandas_computation(stability, book_csv, spark_scored):
    result, stable, reference, schema = stability
    book = pd.read_csv(book_csv, dtype=dict.fromkeys(schema.categorical_names(), "string"))
    ref_codes, book_codes = encode_frame(reference, schema), encode_frame(book, schema)
    ours = {feature.feature: feature for feature in stable.features}
    columns = {column.column: column for column in result.columns}
    assert len(ours) == len(schema.features) and len(columns) == len(schema.features) + 1
    for i, spec in enumerate(schema.features):
        span = (spec.min, spec.max) if spec.kind == "numeric" else None
        expected = column_stability(spec.name, spec.kind, ref_codes[:, i], book_codes[:, i], PARAMS, span)
        got = ours[spec.name]
        assert got.csi == pytest.approx(expected.csi, abs=1e-12), spec.name
        assert columns[spec.name].score == got.csi and columns[spec.name].method == "csi"
        assert (got.band, got.out_of_range) == (expected.band, expected.out_of_range), spec.name
        assert got.missing_current == pytest.approx(expected.missing_current, abs=1e-15), spec.name
        assert got.missing_reference == pytest.approx(expected.missing_reference, abs=1e-15), spec.name
    expected_score = score_stability(
        reference[PREDICTION].to_numpy(), spark_scored.scores["probability"].to_numpy(), PARAMS
    )
    assert stable.score.psi == pytest.approx(expected_score.psi, abs=1e-12)
    assert columns[PREDICTION].score == stable.score.psi and columns[PREDICTION].method == "psi"
    assert stable.score.bins == expected_score.bins
    assert stable.score.mean_current == pytest.approx(expected_score.mean_current, rel=1e-12)


def test_missing_rates_and_out_of_range_counts_equal_pandas(stability, book_csv):
    result, _, reference, schema = stability
    book = pd.read_csv(book_csv, dtype=dict.fromkeys(schema.categorical_names(), "string"))
    assert result.rows_current == len(book) and result.rows_reference == len(reference)
    for spec in schema.features:
        quality = result.quality[spec.name]
        if spec.kind == "numeric":
            numbers = pd.to_numeric(book[spec.name], errors="coerce")
            assert quality.missing_current == pytest.approx(numbers.isna().mean(), abs=1e-15), spec.name
        else:
            assert quality.missing_current == pytest.approx(book[spec.name].isna().mean(), abs=1e-15)
    assert result.quality["AMT_CREDIT"].out_of_range == 1  # the -5 of line 7
    assert result.quality["EXT_SOURCE_2"].out_of_range == 1  # the 1.7 of line 1205
    assert result.quality["NAME_CONTRACT_TYPE"].new_categories == ["Bogus loans"]
    assert result.quality["DAYS_BIRTH"].missing_current == pytest.approx(
        book["DAYS_BIRTH"].isna().mean() + 1 / len(book)  # "yesterday" counts as missing
    )


def test_written_as_the_drift_checks_json_and_html(stability, tmp_path):
    result, stable, _, _ = stability
    reference = {
        "source": "champion",
        "model_name": "credit-scoring",
        "model_version": "1",
        "description": "v1",
    }
    current = {"source": "book", "path": "book.csv", "description": "loan book <b>book.csv</b>"}
    summary, paths = book_report(result, stable, tmp_path, reference, current, None, "unused")
    written = json.loads((tmp_path / "latest.json").read_text())
    assert written == json.loads(paths["json"].read_text()) == json.loads(json.dumps(summary))
    assert written["columns"]["AMT_CREDIT"]["method"] == "csi"
    assert written["prediction_drift"]["method"] == "psi"
    assert "AMT_CREDIT: 1 of 3000 values outside [0, 1e+08]" in written["data_quality"]["issues"]
    assert written["stability"]["score"]["psi"] == stable.score.psi  # the drift check's stability block
    assert len(written["stability"]["features"]) == len(stable.features)
    page = paths["html"].read_text()
    assert "loan book &lt;b&gt;book.csv&lt;/b&gt;" in page  # data values escaped in the digest
    assert "<td>AMT_CREDIT</td><td>num</td><td>csi</td>" in page  # the full-book digest on top
    assert "Characteristic stability (CSI per feature)" in page  # ml.stability's tables
    assert "root_metric_" in page  # Evidently's widgets (on the sample) below


def test_the_console_drift_page_shows_a_book_run(stability, champion, tmp_path, monkeypatch):
    """The monitoring run `score-book --stability` logs is read by the console's Data drift page:
    the verdict, the CSI / PSI columns, the stability table and score bands, the HTML report."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    result, stable, _, _ = stability
    experiment = f"book-monitoring-{uuid.uuid4().hex[:8]}"  # this run alone, whatever else is logged
    reference = {"source": "champion", "model_name": champion.name, "model_version": champion.version}
    current = {"source": "book", "path": "book.csv", "description": "loan book book.csv"}
    summary, _ = book_report(result, stable, tmp_path, reference, current, champion.tracking_uri, experiment)
    assert summary["mlflow_run_id"]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", champion.tracking_uri)
    monkeypatch.setenv("MONITORING_EXPERIMENT_NAME", experiment)
    st.cache_data.clear()  # the page's MLflow reads are cached process-wide
    try:
        app = AppTest.from_file(str(ROOT / "app" / "pages" / "3_Data_drift.py"), default_timeout=60).run()
        assert not app.exception
        shown = "\n".join(str(part.value) for part in [*app.error, *app.success, *app.markdown])
        assert f"{summary['n_drifted']} of {summary['n_columns']} columns drifted" in shown  # the verdict
        history, columns, features = (frame.value for frame in app.dataframe)
        assert history["Rows checked"].tolist() == [3_000]
        assert sorted(columns["Column"]) == sorted(summary["columns"])  # each feature's CSI, the score's PSI
        assert set(columns["Test"]) == {"csi", "psi"}
        assert features["feature"].tolist() == [f.feature for f in stable.features]  # least stable first
        assert features["CSI"].tolist() == pytest.approx([f.csi for f in stable.features], abs=1e-12)
        assert len([c for c in app.get("plotly_chart") if "Score bands: PSI" in c.proto.spec]) == 1

        app.toggle(key=f"open_report_{summary['mlflow_run_id']}").set_value(True).run()
        assert not app.exception
        assert [b.label for b in app.get("download_button")] == ["Download the HTML report"]
        [frame] = [node.proto.srcdoc for node in app.main if type(node.proto).__name__ == "IFrame"]
        assert frame.startswith('<iframe sandbox="allow-scripts" ')  # the report's scripts, no same origin
        assert "Characteristic stability (CSI per feature)" in frame and "loan book book.csv" in frame
    finally:
        st.cache_data.clear()
