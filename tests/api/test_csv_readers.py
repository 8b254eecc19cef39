"""Both CSV readers (pandas by default and in the API image; pyarrow with CSV_READER=pyarrow) give the
same answer."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from api import csv_batch
from api.model_holder import LoadedModel
from api.scoring import InputError
from ml.generate import generate_applications
from ml.scoring import ScoringModel


def _served(model: ScoringModel) -> LoadedModel:
    return LoadedModel(model, "m", "1", "champion", None, "cache", datetime.now(UTC))


def _csv() -> bytes:
    frame = generate_applications(600, seed=8).drop(columns=["TARGET"])
    frame["DAYS_BIRTH"] = frame["DAYS_BIRTH"].astype(object)
    frame.loc[5, "DAYS_BIRTH"] = "yesterday"
    frame.loc[7, "CODE_GENDER"] = "Q"
    frame.loc[9, "AMT_CREDIT"] = 1e30
    return frame.to_csv(index=False).encode()


def _score(model: ScoringModel, content: bytes, reader: str):
    return csv_batch.score_csv(_served(model), io.BytesIO(content), False, 250, 10_000, reader=reader)


def test_pyarrow_and_pandas_read_a_csv_alike(champion_model: ScoringModel) -> None:
    content = _csv()
    by_arrow = _score(champion_model, content, "pyarrow")
    by_pandas = _score(champion_model, content, "pandas")
    assert by_arrow.rows == by_pandas.rows and by_arrow.probabilities == by_pandas.probabilities
    assert by_arrow.errors == by_pandas.errors and [e.row for e in by_arrow.errors] == [7, 9, 11]
    assert by_arrow.client_ids == by_pandas.client_ids and by_arrow.total == 600


@pytest.mark.parametrize("reader", ["pyarrow", "pandas"])
def test_a_line_with_too_many_fields_is_refused_with_its_line(
    champion_model: ScoringModel, reader: str
) -> None:
    content = b"AMT_CREDIT,AMT_ANNUITY\n1000,20\n1000,20,5\n"
    with pytest.raises(InputError) as refused:
        _score(champion_model, content, reader)
    assert refused.value.errors[0].row == 3 and "3 fields" in refused.value.errors[0].reason
