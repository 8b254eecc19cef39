"""PSI / CSI against an independent numpy computation, and the production batch in the act band."""

import numpy as np
import pandas as pd
import pytest

from ml.config import StabilityParams
from ml.data import generated_dataset
from ml.drift.batches import make_production_batch
from ml.schema import infer_schema
from ml.stability import assess, band, column_stability, score_stability, to_html

PARAMS = StabilityParams()


def numpy_psi(reference: np.ndarray, current: np.ndarray, edges: np.ndarray) -> float:
    """Textbook PSI: shares per bin (np.histogram), then sum((a - e) * ln(a / e)), 0 shares as 1e-4."""
    expected = np.histogram(reference, edges)[0] / len(reference)
    actual = np.histogram(current, edges)[0] / len(current)
    expected, actual = np.maximum(expected, 1e-4), np.maximum(actual, 1e-4)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def test_score_psi_equals_numpy():
    rng = np.random.default_rng(3)
    reference, current = rng.beta(2, 8, 5_000), rng.beta(2.6, 8, 3_000)
    edges = np.r_[-np.inf, np.quantile(reference, np.linspace(0, 1, 11)[1:-1]), np.inf]
    result = score_stability(reference, current, PARAMS)
    assert result.psi == pytest.approx(numpy_psi(reference, current, edges), rel=1e-12)
    assert [b.reference for b in result.bins] == pytest.approx([0.1] * 10, abs=1e-3)
    assert sum(b.current for b in result.bins) == pytest.approx(1.0)


def test_csi_of_a_numeric_feature_with_missing_values_equals_numpy():
    rng = np.random.default_rng(4)
    reference = np.where(rng.random(4_000) < 0.2, np.nan, rng.normal(0, 1, 4_000))
    current = np.where(rng.random(2_000) < 0.35, np.nan, rng.normal(0.4, 1, 2_000))
    finite = reference[np.isfinite(reference)]
    edges = np.r_[-np.inf, np.quantile(finite, np.linspace(0, 1, 11)[1:-1]), np.inf]

    def shares(values):  # deciles of the finite values, then one bin for the missing ones
        return np.r_[np.histogram(values[np.isfinite(values)], edges)[0], np.isnan(values).sum()] / len(
            values
        )

    expected, actual = np.maximum(shares(reference), 1e-4), np.maximum(shares(current), 1e-4)
    result = column_stability("X", "numeric", reference, current, PARAMS, training_range=(-2.0, 2.0))
    assert result.csi == pytest.approx(np.sum((actual - expected) * np.log(actual / expected)), rel=1e-12)
    assert result.missing_reference == pytest.approx(np.isnan(reference).mean())
    assert result.missing_current == pytest.approx(np.isnan(current).mean())
    finite_current = current[np.isfinite(current)]
    assert result.out_of_range == int(((finite_current < -2) | (finite_current > 2)).sum())


def test_csi_of_a_categorical_feature_equals_numpy():
    reference = np.array([0.0] * 50 + [1.0] * 30 + [2.0] * 20)
    current = np.array([0.0] * 30 + [1.0] * 30 + [2.0] * 30 + [np.nan] * 10)
    expected = np.array([0.5, 0.3, 0.2, 1e-4, 1e-4])  # + unseen category + missing
    actual = np.array([0.3, 0.3, 0.3, 1e-4, 0.1])
    result = column_stability("C", "categorical", reference, current, PARAMS)
    assert result.csi == pytest.approx(np.sum((actual - expected) * np.log(actual / expected)))


def test_bands_follow_the_convention():
    assert [band(v, PARAMS) for v in (0.0, 0.099, 0.10, 0.25, 0.2501)] == [
        "stable",
        "stable",
        "watch",
        "watch",
        "act",
    ]


@pytest.fixture(scope="module")
def reference_and_schema():
    frame = generated_dataset(5_000, seed=21).frame
    return frame, infer_schema(frame, "TARGET", "SK_ID_CURR")


def test_drifted_production_batch_puts_credit_ratios_and_external_scores_in_the_act_band(
    reference_and_schema,
):
    reference, schema = reference_and_schema
    drifted = make_production_batch(generated_dataset(5_000, seed=99).frame)
    result = assess(reference, drifted, schema, PARAMS)
    bands = {f.feature: f.band for f in result.features}
    for feature in (
        "CREDIT_GOODS_RATIO",
        "CREDIT_ANNUITY_RATIO",
        "EXT_SOURCE_1",
        "EXT_SOURCE_2",
        "EXT_SOURCE_3",
    ):
        assert bands[feature] == "act", (feature, bands[feature])
    ratio = next(f for f in result.features if f.feature == "CREDIT_GOODS_RATIO")
    assert ratio.kind == "engineered" and ratio.made_of == ["AMT_CREDIT", "AMT_GOODS_PRICE"]
    assert ratio.out_of_range > 0
    undrifted = assess(reference, generated_dataset(5_000, seed=98).frame, schema, PARAMS)
    assert undrifted.counts()["act"] == 0 and undrifted.counts()["watch"] == 0


def test_html_escapes_feature_names():
    frame = pd.DataFrame({"<img src=x onerror=alert(1)>": np.arange(200.0), "TARGET": [0, 1] * 100})
    schema = infer_schema(frame, "TARGET", None)
    result = assess(
        frame, frame.assign(**{"<img src=x onerror=alert(1)>": np.arange(200.0) + 500}), schema, PARAMS
    )
    html = to_html(result)
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
