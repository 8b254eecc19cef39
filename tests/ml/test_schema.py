"""The feature schema and the two encoders (DataFrame and dict) agree, and bad records are named."""

import math

import numpy as np
import pytest

from ml.features import FeatureBuilder
from ml.generate import generate_applications
from ml.schema import RecordEncoder, encode_frame, infer_schema


@pytest.fixture(scope="module")
def frame():
    return generate_applications(3_000, seed=4)


@pytest.fixture(scope="module")
def schema(frame):
    return infer_schema(frame, "TARGET", "SK_ID_CURR")


def test_infers_kinds_categories_and_ranges(schema):
    assert "TARGET" not in schema.names() and "SK_ID_CURR" not in schema.names()
    gender = schema.spec("CODE_GENDER")
    assert gender.kind == "categorical" and {"F", "M"} <= set(gender.categories)
    ext = schema.spec("EXT_SOURCE_2")
    assert ext.kind == "numeric" and (ext.allowed_min, ext.allowed_max) == (0.0, 1.0)
    assert schema.spec("CNT_CHILDREN").integer
    assert schema.spec("EXT_SOURCE_1").null_rate > 0.4


def test_dict_and_frame_encoders_agree(frame, schema):
    encoder = RecordEncoder(schema)
    records = frame[schema.names()].head(50).to_dict("records")
    rows = np.full((len(records), encoder.width), np.nan)
    for i, record in enumerate(records):
        clean = {k: v for k, v in record.items() if not (isinstance(v, float) and math.isnan(v))}
        assert encoder.encode(clean, rows[i]) == []
    np.testing.assert_array_equal(rows, encode_frame(frame.head(50), schema))


def test_record_errors_name_field_and_reason(schema):
    encoder = RecordEncoder(schema)
    row = np.full(encoder.width, np.nan)
    errors = encoder.encode(
        {
            "CODE_GENDER": "Q",
            "EXT_SOURCE_2": 3.0,
            "AMT_CREDIT": "lots",
            "DAYS_BIRTH": float("nan"),
            "NOT_A_FEATURE": 1,
            "FLAG_OWN_CAR": ["Y"],
        },
        row,
        row=7,
    )
    reasons = {e.field: e.reason for e in errors}
    assert reasons["CODE_GENDER"].startswith("unknown category 'Q'")
    assert "above the plausible maximum 1" in reasons["EXT_SOURCE_2"]
    assert reasons["AMT_CREDIT"] == "expected a number, got 'lots'"
    assert "finite" in reasons["DAYS_BIRTH"]
    assert reasons["NOT_A_FEATURE"] == "unknown feature for this model"
    assert "expected a category" in reasons["FLAG_OWN_CAR"]
    assert all(e.row == 7 for e in errors)


def test_missing_features_are_scored_as_missing(schema):
    encoder = RecordEncoder(schema)
    row = np.full(encoder.width, np.nan)
    assert encoder.encode({"EXT_SOURCE_2": 0.4, "SK_ID_CURR": 123}, row) == []
    assert np.sum(~np.isnan(row)) == 1


def test_engineered_features(frame, schema):
    builder = FeatureBuilder(schema)
    matrix = builder.build(encode_frame(frame, schema))
    names = builder.feature_names
    assert {"CREDIT_ANNUITY_RATIO", "EXT_SOURCE_MEAN", "CREDIT_GOODS_RATIO"} <= set(names)
    col = names.index("CREDIT_ANNUITY_RATIO")
    expected = (frame["AMT_CREDIT"] / frame["AMT_ANNUITY"]).to_numpy()
    np.testing.assert_allclose(matrix[:, col], expected, equal_nan=True)
    days = matrix[:, names.index("DAYS_EMPLOYED")]
    assert not np.any(days == 365_243) and np.isnan(days).sum() == (frame["DAYS_EMPLOYED"] == 365_243).sum()


def test_generic_csv_gets_no_home_credit_features():
    import pandas as pd

    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "colour": ["red", "blue", "red"], "y": [0, 1, 0]})
    schema = infer_schema(frame, "y", None)
    assert FeatureBuilder(schema).feature_names == ["x", "colour"]
