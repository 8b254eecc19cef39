"""The drift check itself (ml.drift.compare) on generated frames: verdicts, column types, data quality,
and the inputs it refuses. No MLflow, no files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.config import DriftParams
from ml.drift.batches import make_production_batch
from ml.drift.compare import PREDICTION, DriftInputError, compare
from ml.generate import generate_applications
from ml.schema import FeatureSchema, infer_schema
from tests.drift.conftest import BATCH_ROWS, CLEAN_SEED, DRIFTED_SEED, SHIFTED

WASSERSTEIN, JENSEN_SHANNON = "Wasserstein distance (normed)", "Jensen-Shannon distance"


@pytest.fixture(scope="module")
def training() -> pd.DataFrame:
    return generate_applications(20_000, seed=11)


@pytest.fixture(scope="module")
def schema(training: pd.DataFrame) -> FeatureSchema:
    return infer_schema(training, "TARGET", "SK_ID_CURR")


@pytest.fixture(scope="module")
def reference(training: pd.DataFrame) -> pd.DataFrame:
    return training.sample(n=2_000, random_state=42).reset_index(drop=True)


@pytest.fixture(scope="module")
def clean() -> pd.DataFrame:
    return generate_applications(BATCH_ROWS, CLEAN_SEED)


@pytest.fixture(scope="module")
def drifted() -> pd.DataFrame:
    return make_production_batch(generate_applications(BATCH_ROWS, DRIFTED_SEED))


def test_clean_data_shows_no_drift(reference, clean, schema) -> None:
    result = compare(reference, clean, schema, DriftParams())
    assert result.drifted_columns == []
    assert result.drift_share == 0 and not result.dataset_drift
    assert len(result.columns) == len(schema.features)
    assert result.prediction is None
    assert result.rows_reference == 2_000 and result.rows_current == BATCH_ROWS
    assert {"SK_ID_CURR", "TARGET"} <= set(result.ignored_columns)


def test_production_batch_flags_the_shifted_columns(reference, drifted, schema) -> None:
    result = compare(reference, drifted, schema, DriftParams())
    assert set(result.drifted_columns) == SHIFTED
    by_name = {c.column: c for c in result.columns}
    # Evidently's defaults for over 1,000 reference values: Wasserstein (numbers), Jensen-Shannon (text)
    assert by_name["AMT_INCOME_TOTAL"].method == WASSERSTEIN
    assert by_name["AMT_INCOME_TOTAL"].score > by_name["AMT_INCOME_TOTAL"].threshold == 0.1
    assert by_name["NAME_CONTRACT_TYPE"].method == JENSEN_SHANNON
    assert by_name["CNT_CHILDREN"].kind == "cat"  # an integer with few values, as Evidently types it
    assert result.drift_share == pytest.approx(5 / len(schema.features))


def test_the_score_is_tested_and_counted(reference, drifted, schema) -> None:
    """With scores on both sides the score is one more column: 6 of 59 is above the 0.1 default."""
    ref, cur = reference.copy(), drifted.copy()
    ref[PREDICTION] = 1 - ref["EXT_SOURCE_2"].fillna(0.5)
    cur[PREDICTION] = 1 - cur["EXT_SOURCE_2"].fillna(0.5)
    result = compare(ref, cur, schema, DriftParams())
    assert result.prediction is not None and result.prediction.drifted
    assert result.prediction_means[1] > result.prediction_means[0]
    assert set(result.drifted_columns) == SHIFTED | {PREDICTION}
    assert result.dataset_drift and result.drift_share > DriftParams().threshold


def test_column_types_come_from_the_reference(reference, clean, schema) -> None:
    """A log gives integers back as floats and numbers as text: same types, same methods, same scores."""
    as_logged = clean.copy()
    as_logged["CNT_CHILDREN"] = as_logged["CNT_CHILDREN"].astype(float)
    as_logged["DAYS_BIRTH"] = as_logged["DAYS_BIRTH"].astype(str)
    base = {c.column: c for c in compare(reference, clean, schema, DriftParams()).columns}
    logged = {c.column: c for c in compare(reference, as_logged, schema, DriftParams()).columns}
    for name in ("CNT_CHILDREN", "DAYS_BIRTH"):
        assert (logged[name].method, logged[name].kind) == (base[name].method, base[name].kind)
        assert logged[name].score == pytest.approx(base[name].score)


def test_data_quality_figures(reference, clean, schema) -> None:
    current = clean.copy()
    current.loc[:9, "NAME_HOUSING_TYPE"] = "Castle"
    current.loc[:4, "EXT_SOURCE_2"] = 1.7  # EXT_SOURCE scores are in [0, 1]
    current.loc[: len(current) // 2, "AMT_ANNUITY"] = np.nan
    result = compare(reference, current, schema, DriftParams())
    housing, ext2, annuity = (result.quality[n] for n in ("NAME_HOUSING_TYPE", "EXT_SOURCE_2", "AMT_ANNUITY"))
    assert housing.new_categories == ["Castle"] and housing.new_category_rows == 10
    assert ext2.out_of_range == 5 and ext2.allowed_range == (0.0, 1.0)
    assert annuity.missing_current > 0.5 > annuity.missing_reference
    issues = "\n".join(result.quality_issues())
    assert "'Castle'" in issues and "EXT_SOURCE_2: 5 of 3000 values outside [0, 1]" in issues
    assert "AMT_ANNUITY" in issues
    assert 0.98 < result.quality_score < 0.995  # ~1,500 extra missing cells of 174,000
    # Evidently tests the values present, so more missing values are a quality issue, not drift
    assert result.drifted_columns == []


def test_a_column_empty_in_the_current_data_counts_as_drifted(reference, clean, schema) -> None:
    current = clean.assign(OCCUPATION_TYPE=None)
    result = compare(reference, current, schema, DriftParams())
    occupation = next(c for c in result.columns if c.column == "OCCUPATION_TYPE")
    assert occupation.drifted and occupation.method is None and "no values" in occupation.note


def test_mismatched_columns_are_refused(reference, clean, schema) -> None:
    with pytest.raises(DriftInputError, match=r"mismatched columns: the current data lacks 2 .*AMT_CREDIT"):
        compare(reference, clean.drop(columns=["AMT_CREDIT", "AMT_ANNUITY"]), schema, DriftParams())


def test_too_few_rows_are_refused(reference, clean, schema) -> None:
    with pytest.raises(DriftInputError, match=r"the current data has 50 rows; .* at least 100"):
        compare(reference, clean.head(50), schema, DriftParams(min_rows=100))
    with pytest.raises(DriftInputError, match="the current data has no rows"):
        compare(reference, clean.head(0), schema, DriftParams())


def test_unparseable_values_are_refused_with_their_csv_lines(reference, clean, schema) -> None:
    current = clean.astype({"AMT_CREDIT": object})
    current.loc[[3, 7], "AMT_CREDIT"] = ["12O000", "n/a"]
    with pytest.raises(DriftInputError, match=r"AMT_CREDIT: 2 values are not numbers \(CSV lines 5, 9\)"):
        compare(reference, current, schema, DriftParams(), csv_offset=0)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # chi-square on rare categories
def test_methods_can_be_chosen_per_column(reference, drifted, schema) -> None:
    params = DriftParams(per_column_method={"AMT_INCOME_TOTAL": "psi"}, cat_method="chisquare")
    by_name = {c.column: c for c in compare(reference, drifted, schema, params).columns}
    assert by_name["AMT_INCOME_TOTAL"].method == "psi"  # named as configured
    assert by_name["AMT_CREDIT"].method == WASSERSTEIN
    assert by_name["NAME_CONTRACT_TYPE"].method == "chisquare"
