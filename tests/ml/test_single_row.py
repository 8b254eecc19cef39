"""The single-row fast path gives exactly the booster's own probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from ml.generate import generate_applications
from ml.schema import encode_frame
from ml.scoring import ScoringModel


def test_predict_one_equals_predict_raw(champion_model: ScoringModel) -> None:
    raw = encode_frame(generate_applications(300, seed=21), champion_model.schema)
    raw[::7, ::3] = np.nan  # missing values take the trees' default branches

    one_by_one = np.array([champion_model.predict_one(raw[i : i + 1]) for i in range(len(raw))])

    np.testing.assert_array_equal(one_by_one, champion_model.predict_raw(raw))


def test_predict_one_refuses_a_row_of_the_wrong_width(champion_model: ScoringModel) -> None:
    with pytest.raises(ValueError, match="expected"):
        champion_model._single_row().predict(np.zeros(3))
