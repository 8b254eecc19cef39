"""The generator: Home Credit schema, determinism, default rate, learnable signal."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from ml.drift.batches import make_production_batch
from ml.generate import DAYS_EMPLOYED_PLACEHOLDER, generate_applications

HOME_CREDIT_COLUMNS = {
    "SK_ID_CURR": "int",
    "TARGET": "int",
    "NAME_CONTRACT_TYPE": "object",
    "CODE_GENDER": "object",
    "FLAG_OWN_CAR": "object",
    "FLAG_OWN_REALTY": "object",
    "CNT_CHILDREN": "int",
    "AMT_INCOME_TOTAL": "float",
    "AMT_CREDIT": "float",
    "AMT_ANNUITY": "float",
    "AMT_GOODS_PRICE": "float",
    "NAME_INCOME_TYPE": "object",
    "NAME_EDUCATION_TYPE": "object",
    "NAME_FAMILY_STATUS": "object",
    "NAME_HOUSING_TYPE": "object",
    "DAYS_BIRTH": "int",
    "DAYS_EMPLOYED": "int",
    "OCCUPATION_TYPE": "object",
    "ORGANIZATION_TYPE": "object",
    "CNT_FAM_MEMBERS": "float",
    "REGION_RATING_CLIENT": "int",
    "EXT_SOURCE_1": "float",
    "EXT_SOURCE_2": "float",
    "EXT_SOURCE_3": "float",
}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return generate_applications(60_000, seed=5)


def test_schema_has_the_real_columns_and_dtypes(frame):
    assert frame.shape[1] >= 42
    for name, kind in HOME_CREDIT_COLUMNS.items():
        assert name in frame.columns, name
        dtype = frame[name].dtype
        if kind == "int":
            assert pd.api.types.is_integer_dtype(dtype), (name, dtype)
        elif kind == "float":
            assert pd.api.types.is_float_dtype(dtype), (name, dtype)
        else:
            assert pd.api.types.is_object_dtype(dtype), (name, dtype)
    assert frame["SK_ID_CURR"].is_unique


def test_is_deterministic_for_a_seed():
    a, b = generate_applications(3_000, seed=9), generate_applications(3_000, seed=9)
    pd.testing.assert_frame_equal(a, b)
    assert not generate_applications(3_000, seed=10).equals(a)


def test_realistic_marginals(frame):
    assert 0.07 <= frame["TARGET"].mean() <= 0.09
    assert frame["EXT_SOURCE_1"].isna().mean() == pytest.approx(0.564, abs=0.02)
    assert frame["EXT_SOURCE_2"].isna().mean() < 0.01
    assert frame["EXT_SOURCE_3"].isna().mean() == pytest.approx(0.198, abs=0.02)
    placeholder = (frame["DAYS_EMPLOYED"] == DAYS_EMPLOYED_PLACEHOLDER).mean()
    assert 0.15 <= placeholder <= 0.21
    assert (frame.loc[frame["DAYS_EMPLOYED"] != DAYS_EMPLOYED_PLACEHOLDER, "DAYS_EMPLOYED"] <= 0).all()
    assert set(frame["CODE_GENDER"].unique()) <= {"F", "M", "XNA"}
    assert frame["CODE_GENDER"].value_counts(normalize=True)["F"] == pytest.approx(0.658, abs=0.01)
    assert 140_000 <= frame["AMT_INCOME_TOTAL"].median() <= 160_000
    assert frame["DAYS_BIRTH"].between(-25_600, -7_400).all()
    assert frame["EXT_SOURCE_2"].dropna().between(0, 1).all()


def test_ext_sources_are_the_strongest_signal(frame):
    aucs = {}
    for name in [
        "EXT_SOURCE_1",
        "EXT_SOURCE_2",
        "EXT_SOURCE_3",
        "DAYS_BIRTH",
        "AMT_CREDIT",
        "AMT_INCOME_TOTAL",
    ]:
        present = frame[name].notna()
        auc = roc_auc_score(frame.loc[present, "TARGET"], frame.loc[present, name])
        aucs[name] = max(auc, 1 - auc)
    strongest = max(aucs, key=aucs.get)
    assert strongest.startswith("EXT_SOURCE"), aucs
    assert all(aucs[f"EXT_SOURCE_{i}"] > 0.65 for i in (1, 2, 3)), aucs


def test_rejects_empty_size():
    with pytest.raises(ValueError):
        generate_applications(0)


def test_production_batch_applies_controlled_drift(frame):
    base = frame.head(20_000)
    drifted = make_production_batch(base, intensity=1.0)
    assert drifted["AMT_INCOME_TOTAL"].sum() == pytest.approx(base["AMT_INCOME_TOTAL"].sum() * 1.10, rel=1e-3)
    assert drifted["AMT_CREDIT"].sum() == pytest.approx(base["AMT_CREDIT"].sum() * 1.20, rel=1e-3)
    assert drifted["EXT_SOURCE_2"].mean() < base["EXT_SOURCE_2"].mean() - 0.09
    assert drifted["TARGET"].mean() - base["TARGET"].mean() == pytest.approx(0.045, abs=0.002)
    half = make_production_batch(base, intensity=0.5)
    assert half["AMT_CREDIT"].sum() == pytest.approx(base["AMT_CREDIT"].sum() * 1.10, rel=1e-3)
    pd.testing.assert_frame_equal(make_production_batch(base, intensity=0.0), base)
    assert np.array_equal(base["SK_ID_CURR"], drifted["SK_ID_CURR"])


def test_lightgbm_reaches_the_real_auc_window():
    """Trained like the pipeline does (our features, early stopping), test AUC lands in 0.72-0.82."""
    import lightgbm as lgb
    from sklearn.model_selection import train_test_split

    from ml.features import FeatureBuilder
    from ml.schema import encode_frame, infer_schema

    data = generate_applications(60_000, seed=21)
    train, test = train_test_split(data, test_size=0.25, stratify=data["TARGET"], random_state=0)
    train, valid = train_test_split(train, test_size=0.2, stratify=train["TARGET"], random_state=0)
    schema = infer_schema(train, "TARGET", "SK_ID_CURR")
    builder = FeatureBuilder(schema)

    def matrix(part):
        return builder.build(encode_frame(part, schema))

    train_set = lgb.Dataset(matrix(train), train["TARGET"], categorical_feature=builder.categorical_indices)
    booster = lgb.train(
        {"objective": "binary", "learning_rate": 0.05, "verbose": -1, "metric": "auc"},
        train_set,
        500,
        valid_sets=[train_set.create_valid(matrix(valid), valid["TARGET"])],
        callbacks=[lgb.early_stopping(50, verbose=False)],
    )
    auc = roc_auc_score(test["TARGET"], booster.predict(matrix(test)))
    assert 0.72 <= auc <= 0.82, auc
