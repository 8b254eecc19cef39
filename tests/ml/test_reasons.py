"""Reason codes: real features, the right first reason, excluded attributes never cited."""

import numpy as np
import pytest

from ml.config import load_params
from ml.features import ENGINEERED
from ml.generate import generate_applications
from ml.reasons import PathContributions, ReasonExplainer, fallback_entry, load_catalogue
from ml.schema import encode_frame

EXCLUDED = load_params().reasons.excluded


def test_every_catalogue_entry_names_a_real_feature_and_every_feature_has_one():
    generated = set(generate_applications(50, seed=1).columns) - {"TARGET", "SK_ID_CURR"}
    real = generated | {feature.name for feature in ENGINEERED}
    catalogue = load_catalogue()
    assert set(catalogue) - real == set()
    assert real - set(catalogue) == set()
    codes: dict[str, str] = {}
    for entry in catalogue.values():
        assert codes.setdefault(entry.code, entry.text) == entry.text


def test_other_csv_columns_get_a_readable_sentence():
    explainer = ReasonExplainer(["monthly_debt_ratio", "score"], excluded=[])
    [reasons] = explainer.explain(np.array([[0.9, -0.2, 0.0]]))
    assert [(r.code, r.text) for r in reasons] == [
        ("MONTHLY_DEBT_RATIO", "Monthly debt ratio weighed towards refusal")
    ]
    assert fallback_entry("AGE-BAND").text == "Age band weighed towards refusal"


def test_features_sharing_a_code_are_summed_and_ordered_by_contribution():
    names = ["EXT_SOURCE_1", "EXT_SOURCE_2", "AMT_CREDIT", "CREDIT_INCOME_RATIO", "FLAG_PHONE"]
    explainer = ReasonExplainer(names, excluded=[])
    [reasons] = explainer.explain(np.array([[0.3, 0.3, 0.5, 0.4, -1.0, 0.0]]))
    assert [r.code for r in reasons] == ["R03", "R06", "R01"]
    assert reasons[0].contribution == pytest.approx(0.6)
    assert reasons[2].features == ("AMT_CREDIT", "AMT_INCOME_TOTAL")  # what the ratio is made of


def test_excluded_attribute_never_cited_even_when_its_contribution_is_the_largest():
    names = ["CODE_GENDER", "DAYS_BIRTH", "EMPLOYED_BIRTH_RATIO", "AMT_CREDIT", "EXT_SOURCE_2"]
    explainer = ReasonExplainer(names, excluded=EXCLUDED)
    [reasons] = explainer.explain(np.array([[5.0, 4.0, 3.0, 0.2, 0.1, -1.0]]))
    assert [r.code for r in reasons] == ["R06", "R03"]
    assert explainer.excluded_features == ["CODE_GENDER", "DAYS_BIRTH", "EMPLOYED_BIRTH_RATIO"]


def contributions_of(model, raw: np.ndarray, method: str) -> np.ndarray:
    """The API's two ways (params.yaml reasons.method)."""
    if method == "shap":
        return model.contributions(raw)
    return PathContributions(model.booster, len(model.feature_names()))(model.builder.build(raw))


def test_path_contributions_decompose_the_score_exactly(scoring_model, small_dataset):
    built = scoring_model.builder.build(encode_frame(small_dataset.frame.head(2_000), scoring_model.schema))
    path = PathContributions(scoring_model.booster, built.shape[1])(built)
    assert path.shape == (2_000, built.shape[1] + 1)
    np.testing.assert_allclose(
        path.sum(axis=1), scoring_model.booster.predict(built, raw_score=True), atol=1e-9
    )


def test_one_client_through_the_fast_path_gets_the_batch_contributions_to_the_bit(
    scoring_model, small_dataset
):
    """/predict takes LightGBM's single-row leaf path; a batch row must get the very same numbers."""
    built = scoring_model.builder.build(encode_frame(small_dataset.frame.head(200), scoring_model.schema))
    path = PathContributions(scoring_model.booster, built.shape[1])
    one_by_one = np.vstack([path(built[i : i + 1]) for i in range(len(built))])
    np.testing.assert_array_equal(one_by_one, path(built))


@pytest.mark.parametrize("method", ["path", "shap"])
def test_real_model_never_cites_excluded_attributes(scoring_model, small_dataset, method):
    rows = small_dataset.frame.head(3_000)
    raw = encode_frame(rows, scoring_model.schema)
    contributions = contributions_of(scoring_model, raw, method)
    names = scoring_model.feature_names()
    excluded_columns = [
        i for i, n in enumerate(names) if n in ("CODE_GENDER", "DAYS_BIRTH", "EMPLOYED_BIRTH_RATIO")
    ]
    largest = np.argmax(contributions[:, :-1], axis=1)
    assert np.isin(largest, excluded_columns).sum() > 0  # the case the rule is for does occur
    explainer = ReasonExplainer(names, excluded=EXCLUDED)
    for reasons in explainer.explain(contributions):
        assert len(reasons) <= 4
        for reason in reasons:
            assert reason.code not in ("R90", "R91")
            assert not set(reason.features) & {"CODE_GENDER", "DAYS_BIRTH"}


@pytest.mark.parametrize("method", ["path", "shap"])
def test_refusal_driven_by_low_external_scores_gives_that_reason_first(scoring_model, small_dataset, method):
    frame = small_dataset.frame
    typical = frame[(frame["EXT_SOURCE_2"] > 0.6) & (frame["EXT_SOURCE_3"] > 0.6)].head(50)
    assert (scoring_model.predict_frame(typical) < scoring_model.meta.threshold).mean() > 0.9
    low = typical.assign(EXT_SOURCE_1=0.02, EXT_SOURCE_2=0.02, EXT_SOURCE_3=0.02)
    assert (scoring_model.predict_frame(low) >= scoring_model.meta.threshold).all()
    explainer = ReasonExplainer(scoring_model.feature_names(), excluded=EXCLUDED)
    reasons = explainer.explain(
        contributions_of(scoring_model, encode_frame(low, scoring_model.schema), method)
    )
    assert [r[0].code for r in reasons] == ["R03"] * len(low)
    assert reasons[0][0].text == "Low external credit score"


def test_explain_dicts_answers_exactly_what_explain_gives() -> None:
    """The batch path (ranked for all rows at once, dicts built directly) and the per-row path agree,
    ties, zeros and negative contributions included."""
    names = [*load_catalogue(), "UNCATALOGUED_FEATURE"]
    explainer = ReasonExplainer(names, excluded=["CODE_GENDER"])
    rng = np.random.default_rng(5)
    contributions = np.round(rng.normal(0, 0.3, (400, len(names) + 1)), 1)  # rounded: many ties
    contributions[::9] = 0.0
    expected = [[reason.as_dict() for reason in row] for row in explainer.explain(contributions)]
    assert explainer.explain_dicts(contributions) == expected
    assert any(len(row) == explainer.max_reasons for row in expected) and [] in expected
