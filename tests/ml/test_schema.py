"""The feature schema; the one column encoder gives the same matrix for records, tables and frames,
and names every bad value."""

import math

import numpy as np
import pytest

from ml.features import ENGINEERED, FeatureBuilder
from ml.generate import generate_applications
from ml.schema import ColumnEncoder, encode_frame, infer_schema


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


def test_records_tables_and_frames_encode_alike(frame, schema):
    encoder = ColumnEncoder(schema)
    head = frame[schema.names()].head(50)
    records = [
        {k: v for k, v in record.items() if not (isinstance(v, float) and math.isnan(v))}
        for record in head.to_dict("records")
    ]
    from_records = encoder.encode_records(records)
    from_table = encoder.encode_table(head, list(range(2, 52)))
    assert from_records.errors == [] and from_table.errors == []
    np.testing.assert_array_equal(from_records.matrix, encode_frame(frame.head(50), schema))
    np.testing.assert_array_equal(from_table.matrix, from_records.matrix)


def test_record_errors_name_field_and_reason(schema):
    encoded = ColumnEncoder(schema).encode_records(
        [
            {"EXT_SOURCE_2": 0.5},
            {
                "CODE_GENDER": "Q",
                "EXT_SOURCE_2": 3.0,
                "AMT_CREDIT": "lots",
                "DAYS_BIRTH": float("inf"),
                "NOT_A_FEATURE": 1,
                "FLAG_OWN_CAR": ["Y"],
            },
        ]
    )
    reasons = {e.field: e.reason for e in encoded.errors}
    assert reasons["CODE_GENDER"].startswith("unknown category 'Q'")
    assert "above the plausible maximum 1" in reasons["EXT_SOURCE_2"]
    assert reasons["AMT_CREDIT"] == "expected a number, got 'lots'"
    assert "finite" in reasons["DAYS_BIRTH"]
    assert reasons["NOT_A_FEATURE"] == "unknown feature for this model"
    assert "expected a category" in reasons["FLAG_OWN_CAR"]
    assert all(e.row == 2 for e in encoded.errors)
    assert encoded.bad.tolist() == [False, True]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (10**400, "finite"),  # OverflowError in float() before
        (True, "expected a number, got true"),
        ("1_000", "expected a number, got '1_000'"),
        ("0x10", "expected a number"),
        ("1" * 500, "expected a number"),
        ("2025\x0000", "expected a number"),
        ({"nested": 1}, "expected a number, got dict"),
    ],
)
def test_refused_numbers(schema, value, reason):
    encoded = ColumnEncoder(schema).encode_records([{"AMT_CREDIT": value}])
    assert [(e.field, e.row) for e in encoded.errors] == [("AMT_CREDIT", 1)]
    assert reason in encoded.errors[0].reason


@pytest.mark.parametrize(
    ("value", "expected"), [(" ", None), ("", None), (None, None), (" 12.5e3 ", 12500.0)]
)
def test_blank_text_is_missing_and_decimal_text_a_number(schema, value, expected):
    encoder = ColumnEncoder(schema)
    encoded = encoder.encode_records([{"AMT_CREDIT": value}])
    cell = encoded.matrix[0, encoder.index["AMT_CREDIT"]]
    assert encoded.errors == []
    assert math.isnan(cell) if expected is None else cell == expected


def test_a_huge_integer_as_a_category_is_an_unknown_category(schema):
    encoded = ColumnEncoder(schema).encode_records([{"CODE_GENDER": 10**400}])
    assert encoded.errors[0].reason.startswith("unknown category '1000")


def test_missing_features_are_scored_as_missing(schema):
    encoded = ColumnEncoder(schema).encode_records([{"EXT_SOURCE_2": 0.4, "SK_ID_CURR": 123}])
    assert encoded.errors == []
    assert np.sum(~np.isnan(encoded.matrix)) == 1


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


def test_each_engineered_feature_is_its_own_definition_to_the_bit(frame, schema):
    """The builder computes the ratios together (one division of column sets); every engineered column
    must still be exactly its feature's own `compute` of its inputs, zeros and missing values included,
    for a batch and for one row (the API's /predict)."""
    raw = encode_frame(frame, schema)
    index = {name: i for i, name in enumerate(schema.names())}
    raw[::7, index["AMT_ANNUITY"]] = 0.0
    raw[::5, index["AMT_INCOME_TOTAL"]] = np.nan
    builder = FeatureBuilder(schema)
    for rows in (raw, raw[7:8], raw[5:6]):
        matrix = builder.build(rows)
        with np.errstate(divide="ignore", invalid="ignore"):
            for feature in ENGINEERED:
                expected = feature.compute(*(matrix[:, index[name]] for name in feature.inputs))
                built = matrix[:, builder.feature_names.index(feature.name)]
                assert np.array_equal(built.view(np.uint64), expected.view(np.uint64)), feature.name


def test_generic_csv_gets_no_home_credit_features():
    import pandas as pd

    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "colour": ["red", "blue", "red"], "y": [0, 1, 0]})
    schema = infer_schema(frame, "y", None)
    assert FeatureBuilder(schema).feature_names == ["x", "colour"]


def test_the_drift_check_counts_exactly_the_cells_scoring_refuses(schema):
    """One plausibility rule: what the encoder refuses is what the drift check reports out of range."""
    import pandas as pd

    from ml.drift.compare import NUMERICAL, _prepare_numeric, _Prepared

    values = [0.5, float("inf"), -float("inf"), float("nan"), -0.2, 1.7, 1.0, 0.0]
    encoded = ColumnEncoder(schema).encode_records([{"EXT_SOURCE_2": v} for v in values])
    refused = {error.row for error in encoded.errors if error.field == "EXT_SOURCE_2"}
    assert refused == {2, 3, 5, 6}
    prepared = _Prepared()
    column = pd.Series(values)
    _prepare_numeric(prepared, "EXT_SOURCE_2", NUMERICAL, column, column, schema, None)
    assert prepared.quality["EXT_SOURCE_2"].out_of_range == len(refused)


def _arrow_text_batch(columns: dict[str, list[str | None]]):
    import pyarrow as pa

    return pa.RecordBatch.from_pydict({name: pa.array(cells, pa.string()) for name, cells in columns.items()})


def test_text_columns_from_arrow_encode_like_records_and_tables(frame, schema):
    """The CSV paths (text columns read by pyarrow, categories read by pandas) give the matrix and the
    messages of records and tables."""
    import pandas as pd

    encoder = ColumnEncoder(schema)
    head = frame[schema.names()].head(200)
    texts = {
        name: [None if pd.isna(v) else (repr(float(v)) if not isinstance(v, str) else v) for v in head[name]]
        for name in schema.names()
    }
    cells = {
        "AMT_CREDIT": [
            "1",
            " 2 ",
            "+3",
            "1e5",
            ".5",
            "7.",
            "inf",
            "-Infinity",
            "nan",
            "1_000",
            "0x10",
            "\u0663",
            "   ",
        ],
        "EXT_SOURCE_2": [
            "0.5",
            "2",
            "0." + "1" * 70,
            "-0",
            "\u00a00.25\u00a0",
            "true",
            "",
            "1e-400",
            "0.3",
            "0.1",
            "1",
            "0",
            "0.2",
        ],
        "CODE_GENDER": ["F", "M", " F", "Q", "", "f", "F", "M", "F", "M", "F", "M", "F"],
    }
    for name, values in cells.items():
        texts[name][: len(values)] = values
    rows = list(range(2, 202))
    from_arrow = encoder.encode_arrow(_arrow_text_batch(texts), rows)
    as_records = [{name: texts[name][i] for name in texts if texts[name][i] is not None} for i in range(200)]
    from_records = encoder.encode_records(as_records, rows)
    as_table = pd.DataFrame(texts, dtype=object)
    from_table = encoder.encode_table(as_table, rows)
    # pandas categories, as the default CSV reader reads categorical columns: judged once per text
    as_categories = as_table.astype(dict.fromkeys(schema.categorical_names(), "category"))
    from_categories = encoder.encode_table(as_categories, rows)
    np.testing.assert_array_equal(from_arrow.matrix, from_records.matrix)
    np.testing.assert_array_equal(from_arrow.matrix, from_table.matrix)
    np.testing.assert_array_equal(from_categories.matrix, from_table.matrix)
    assert from_arrow.errors == from_records.errors == from_table.errors == from_categories.errors
    assert np.array_equal(from_categories.bad, from_table.bad)
    assert np.array_equal(from_arrow.bad, from_records.bad)
    refused = {(e.row, e.field) for e in from_arrow.errors}
    assert {(8, "AMT_CREDIT"), (11, "AMT_CREDIT"), (4, "EXT_SOURCE_2"), (5, "CODE_GENDER")} <= refused


ODD_VALUES = [
    None,
    "",
    " ",
    "nan",
    "lots",
    "1_000",
    "0x10",
    True,
    10**400,
    1e308 * 10,
    -5.0,
    3.5,
    "Q",
    ["Y"],
    {},
    "  7 ",
]


def test_one_record_encodes_as_in_a_batch(frame, schema):
    """The single-record path (`/predict`) gives the matrix, refusal and errors, in order, of a batch."""
    encoder = ColumnEncoder(schema)
    rng = np.random.default_rng(5)
    names = schema.names()
    for record in frame[schema.names()].head(300).to_dict("records"):
        for name in rng.choice(names, size=rng.integers(0, 4), replace=False):
            record[name] = ODD_VALUES[rng.integers(len(ODD_VALUES))]
        if rng.random() < 0.1:
            record["NOT_A_FEATURE"] = 1
        if rng.random() < 0.3:
            del record[names[rng.integers(len(names))]]
        one, batch = encoder.encode_record(record), encoder.encode_records([record], rows=[None])
        np.testing.assert_array_equal(one.matrix, batch.matrix)
        assert one.bad.tolist() == batch.bad.tolist()
        assert one.errors == batch.errors
