"""Behavioural tests of the trained model (Made With ML's invariance and directional tests): what a
credit officer expects of any champion, checked on the session's champion with generated clients."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.data import Dataset
from ml.scoring import ScoringModel

CLIENTS = 500


@pytest.fixture(scope="module")
def clients(small_dataset: Dataset) -> pd.DataFrame:
    return small_dataset.frame.drop(columns=[small_dataset.target]).sample(CLIENTS, random_state=5)


def _scores(model: ScoringModel, frame: pd.DataFrame) -> np.ndarray:
    return model.predict_frame(frame.reset_index(drop=True))


def test_the_client_id_never_changes_a_score(champion_model: ScoringModel, clients: pd.DataFrame) -> None:
    renumbered = clients.assign(SK_ID_CURR=np.arange(900_000, 900_000 + len(clients)))
    np.testing.assert_array_equal(_scores(champion_model, clients), _scores(champion_model, renumbered))


def test_a_better_external_score_lowers_the_probability(
    champion_model: ScoringModel, clients: pd.DataFrame
) -> None:
    poor = _scores(champion_model, clients.assign(EXT_SOURCE_2=0.15))
    good = _scores(champion_model, clients.assign(EXT_SOURCE_2=0.85))
    assert (good <= poor).all(), "raising EXT_SOURCE_2 must never raise the probability of default"
    assert good.mean() < poor.mean() * 0.8


def test_a_higher_income_for_the_same_credit_does_not_raise_it(
    champion_model: ScoringModel, clients: pd.DataFrame
) -> None:
    base = _scores(champion_model, clients)
    richer = _scores(champion_model, clients.assign(AMT_INCOME_TOTAL=clients["AMT_INCOME_TOTAL"] * 2))
    assert (richer <= base).all(), "doubling the income for the same credit must never raise the risk"
    assert richer.mean() < base.mean()
