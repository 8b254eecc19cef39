"""Fairness figures against a hand computation, and the gate refusing a model unfair to one group."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from ml.config import FairnessGateParams, FairnessParams, GateParams
from ml.data import Dataset, generated_dataset
from ml.fairness import _weighted_auc, assess, gate_failures, group_labels, live_approval_rates
from ml.registry import Registry
from ml.train import train_model
from tests.utils import make_settings

HAND = pd.DataFrame(
    {
        "GROUP": ["A", "A", "A", "A", "B", "B", "B", "B"],
        "TARGET": [0, 0, 1, 1, 0, 0, 0, 1],
        "score": [0.1, 0.6, 0.2, 0.9, 0.1, 0.2, 0.3, 0.7],
    }
)


def test_figures_equal_a_hand_computation():
    params = FairnessParams(protected=["GROUP"], min_group_rows=1, bootstrap=0)
    [result] = assess(HAND, HAND["TARGET"].to_numpy(), HAND["score"].to_numpy(), 0.5, params)
    a, b = result.groups
    # A: approved rows 0 and 2 of 4; of its two good clients one approved; AUC 3 of 4 pairs ordered.
    assert (a.group, a.rows, a.approval_rate, a.tpr, a.auc) == ("A", 4, 0.5, 0.5, 0.75)
    assert (b.group, b.approval_rate, b.tpr, b.auc) == ("B", 0.75, 1.0, 1.0)
    assert a.approval_ratio == pytest.approx(0.5 / 0.75) and b.approval_ratio == 1.0
    assert result.min_approval_ratio == pytest.approx(2 / 3)
    assert result.equal_opportunity_diff == pytest.approx(0.5)
    assert (result.least_approved, result.most_approved) == ("A", "B")
    failures = gate_failures(
        [result], FairnessGateParams(min_approval_ratio=0.7, max_equal_opportunity_diff=0.2)
    )
    assert failures[0].startswith("GROUP: approval-rate ratio 0.67 is below the minimum 0.70")
    assert "'A' approved 50.0%" in failures[0] and "'B' 75.0%" in failures[0]
    assert "equal-opportunity difference 50.0%" in failures[1]
    assert gate_failures([result], FairnessGateParams(enabled=False)) == []
    assert gate_failures([result], FairnessGateParams(attributes=["CODE_GENDER"])) == []  # reported only
    assert (
        gate_failures([result], FairnessGateParams(min_approval_ratio=None, max_equal_opportunity_diff=None))
        == []
    )


def test_bootstrap_auc_equals_sklearn_on_the_resampled_rows():
    rng = np.random.default_rng(0)
    scores = np.round(rng.random(300), 2)  # ties on purpose
    target = (rng.random(300) < scores).astype(float)
    order = np.argsort(scores, kind="stable")
    weights = rng.integers(0, 3, size=(5, 300)).astype(float)
    boundaries = np.flatnonzero(np.r_[True, scores[order][1:] != scores[order][:-1]])
    got = _weighted_auc(weights[:, order], target[order], boundaries)
    for row, value in zip(weights, got, strict=True):
        repeat = row.astype(int)
        assert value == pytest.approx(roc_auc_score(np.repeat(target, repeat), np.repeat(scores, repeat)))


def test_confidence_intervals_bracket_the_figures_and_small_groups_are_not_gated():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"GROUP": rng.choice(["x", "y", "z"], size=2_000, p=[0.6, 0.38, 0.02])})
    frame["score"] = rng.random(2_000)
    target = (rng.random(2_000) < frame["score"]).astype(int).to_numpy()
    [result] = assess(frame, target, frame["score"].to_numpy(), 0.5, FairnessParams(protected=["GROUP"]))
    for group in result.groups:
        low, high = group.approval_rate_ci
        assert low <= group.approval_rate <= high
        assert (high - low < 0.1) == group.gated  # ~1,000 rows: narrow; 36 rows: wide
    assert [g.gated for g in result.groups] == [True, True, False]
    low, high = result.min_approval_ratio_ci
    assert low <= result.min_approval_ratio <= high
    assert "reported, not gated" in result.notes[0]


def test_age_bands_from_days_birth():
    days = pd.Series([-24.9 * 365.25, -25 * 365.25, -40 * 365.25, -70 * 365.25, np.nan])
    labels = group_labels(days, "DAYS_BIRTH", FairnessParams())
    assert labels.tolist() == ["under 25", "25-34", "35-44", "55 and over", "missing"]


def test_live_approval_rates_per_group_and_window():
    log = pd.DataFrame(
        {
            "ts": pd.to_datetime(
                ["2026-01-01 10:00", "2026-01-01 11:00", "2026-01-01 12:00", "2026-01-02 09:00"], utc=True
            ),
            "decision": ["approve", "refuse", "approve", "approve"],
            "CODE_GENDER": ["F", "M", "M", "F"],
        }
    )
    rates = live_approval_rates(log, FairnessParams(protected=["CODE_GENDER"], min_group_rows=1), "1D")
    first = rates[rates["window"].str.startswith("2026-01-01")].set_index("group")
    assert first.loc["F", "approval_rate"] == 1.0 and first.loc["M", "approval_rate"] == 0.5
    assert first.loc["M", "approval_ratio"] == 0.5 and first.loc["M", "rows"] == 2
    assert len(rates) == 3


@pytest.fixture(scope="module")
def unfair_run(mlflow_server, params):
    """Trained on data where half of the men are defaulters: the model refuses men far more often."""
    dataset = generated_dataset(8_000, seed=5)
    frame = dataset.frame.copy()
    men = frame.index[frame["CODE_GENDER"] == "M"]
    frame.loc[np.random.default_rng(0).choice(men, size=len(men) // 2, replace=False), "TARGET"] = 1
    biased = Dataset(frame, "TARGET", "SK_ID_CURR", "biased against men", "biased")
    return train_model(biased, params, make_settings(mlflow_server.url), quiet=True)


def test_model_unfair_to_one_group_fails_the_fairness_gate_with_its_figures(
    mlflow_server, unfair_run, model_name
):
    registry = Registry(model_name, mlflow_server.url, GateParams())
    version = registry.register(unfair_run.model_uri, unfair_run.run_id)
    verdict = registry.check_gate(version)
    assert not verdict.passed
    [reason] = [r for r in verdict.reasons if r.startswith("CODE_GENDER: approval-rate ratio")]
    assert "group 'M'" in reason and "group 'F'" in reason
    gender = next(item for item in verdict.fairness if item["attribute"] == "CODE_GENDER")
    assert gender["least_approved"] == "M" and gender["min_approval_ratio"] < 0.7
    assert gender["approval_rates"]["M"] < 0.7 * gender["approval_rates"]["F"]
    assert verdict.criteria["fairness"]["min_approval_ratio"] == 0.7
    off = Registry(model_name, mlflow_server.url, GateParams(fairness=FairnessGateParams(enabled=False)))
    assert not [r for r in off.check_gate(version).reasons if "approval-rate" in r]


def test_session_champion_passes_the_fairness_criteria_with_figures_recorded(champion, params):
    verdict = Registry(champion.name, champion.tracking_uri, params.gate).check_gate(champion.version)
    assert verdict.passed, verdict.reasons
    assert {item["attribute"] for item in verdict.fairness} == {"CODE_GENDER", "DAYS_BIRTH"}
