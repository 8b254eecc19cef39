"""Book stability on Spark: PSI / CSI and data quality equal a plain pandas computation on the same rows.

The pandas side is written here from the definitions (ml/stability.py, the pandas version, had not
landed when this was written): reference deciles as bin edges, missing and unseen values as bins of
their own, an empty bin counted as a share of 1e-4.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ml.config import DriftParams
from ml.drift.compare import PREDICTION
from ml.spark_stability import book_report, compare_book, download_reference, read_book_features

DECILES = np.linspace(0.1, 0.9, 9)


def pandas_psi(expected: np.ndarray, actual: np.ndarray) -> float:
    e = np.clip(expected / expected.sum(), 1e-4, None)
    a = np.clip(actual / actual.sum(), 1e-4, None)
    return float(((a - e) * np.log(a / e)).sum())


def numeric_counts(values: pd.Series, edges: np.ndarray) -> np.ndarray:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    finite = np.isfinite(numbers)
    bins = np.searchsorted(edges, numbers[finite], side="left")  # edge[i-1] < v <= edge[i]
    return np.append(np.bincount(bins, minlength=len(edges) + 1), (~finite).sum())


def category_counts(values: pd.Series, categories: list[str]) -> np.ndarray:
    text = values.astype("string")
    known = [int((text == c).sum()) for c in categories]
    return np.array([*known, int(text.isna().sum()), int((text.notna() & ~text.isin(categories)).sum())])


def edges_of(values: pd.Series) -> np.ndarray:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    return np.unique(np.quantile(numbers[np.isfinite(numbers)], DECILES))


@pytest.fixture(scope="module")
def stability(spark, book_csv, book_model, champion, spark_scored):
    schema = book_model.load().schema
    reference = download_reference(champion.tracking_uri, champion.run.run_id)
    book = read_book_features(spark, str(book_csv), "csv", schema)
    result = compare_book(
        spark, book, spark.read.parquet(str(spark_scored.output)), reference, schema, DriftParams(), 300
    )
    return result, reference, schema


def test_psi_and_csi_equal_the_pandas_computation(stability, book_csv, spark_scored):
    result, reference, schema = stability
    book = pd.read_csv(book_csv, dtype=dict.fromkeys(schema.categorical_names(), "string"))
    by_name = {column.column: column for column in result.columns}
    assert len(by_name) == len(schema.features) + 1
    for spec in schema.features:
        if spec.kind == "categorical":
            expected = pandas_psi(
                category_counts(reference[spec.name], spec.categories),
                category_counts(book[spec.name], spec.categories),
            )
        else:
            edges = edges_of(reference[spec.name])
            expected = pandas_psi(
                numeric_counts(reference[spec.name], edges), numeric_counts(book[spec.name], edges)
            )
        assert by_name[spec.name].score == pytest.approx(expected, abs=1e-12), spec.name
        assert by_name[spec.name].method == "csi"
    edges = edges_of(reference[PREDICTION])
    score_psi = pandas_psi(
        numeric_counts(reference[PREDICTION], edges),
        numeric_counts(spark_scored.scores["probability"], edges),
    )
    assert by_name[PREDICTION].score == pytest.approx(score_psi, abs=1e-12)
    assert result.prediction_means[1] == pytest.approx(spark_scored.scores["probability"].mean(), rel=1e-12)


def test_missing_rates_and_out_of_range_counts_equal_pandas(stability, book_csv):
    result, reference, schema = stability
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
    result, _, _ = stability
    reference = {
        "source": "champion",
        "model_name": "credit-scoring",
        "model_version": "1",
        "description": "v1",
    }
    current = {"source": "book", "path": "book.csv", "description": "loan book <b>book.csv</b>"}
    summary, paths = book_report(result, tmp_path, reference, current, None, "unused")
    written = json.loads((tmp_path / "latest.json").read_text())
    assert written == json.loads(paths["json"].read_text()) == summary
    assert written["columns"]["AMT_CREDIT"]["method"] == "csi"
    assert written["prediction_drift"]["method"] == "psi"
    assert "AMT_CREDIT: 1 of 3000 values outside [0, 1e+08]" in written["data_quality"]["issues"]
    page = paths["html"].read_text()
    assert "loan book &lt;b&gt;book.csv&lt;/b&gt;" in page  # data values escaped in the digest
    assert "<td>AMT_CREDIT</td><td>num</td><td>csi</td>" in page  # the full-book digest on top
    assert "root_metric_" in page  # Evidently's widgets (on the sample) below
