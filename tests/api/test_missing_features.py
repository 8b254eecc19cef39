"""Scoring never guesses silently (issue 14): every answer names the model's features it did not get,
and params.yaml `scoring.missing` refuses, with a 422 naming them, a request lacking more than its share
of the model's importance or a required feature. In-process, on the shared champion."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from ml.config import MissingParams
from ml.data import Dataset
from ml.scoring import ScoringModel
from tests.api.test_inprocess import client, prefilled_cache  # noqa: F401 (the in-process app)

CSV = {"Content-Type": "text/csv"}


def _csv(frame: Any) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode()


@pytest.fixture(scope="module")
def clients(small_dataset: Dataset) -> Any:
    return small_dataset.frame.drop(columns=["TARGET"]).head(20)


@pytest.fixture(scope="module")
def complete(client: TestClient) -> dict[str, Any]:  # noqa: F811
    """A client with every feature: the schema's example values."""
    schema = client.get("/model").json()["feature_schema"]
    return {spec["name"]: spec["example"] for spec in schema["features"]}


@pytest.fixture
def policy(client: TestClient) -> Iterator[Callable[..., None]]:  # noqa: F811
    """Set the served app's scoring.missing policy for one test (params.yaml's again afterwards)."""
    state = client.app.state
    kept = state.scoring_params

    def set_policy(**fields: Any) -> None:
        state.scoring_params = kept.model_copy(update={"missing": MissingParams(**fields)})

    yield set_policy
    state.scoring_params = kept


def test_a_csv_with_10_of_the_columns_is_refused_naming_what_it_lacks(client, clients):  # noqa: F811
    """Before: scored without a word (every row refused by the model, 0 errors reported)."""
    response = client.post("/predict/batch", content=_csv(clients.iloc[:, :10]), headers=CSV)
    assert response.status_code == 422, response.text
    body = response.json()
    fields = {error["field"] for error in body["errors"]}
    assert {"EXT_SOURCE_2", "EXT_SOURCE_3"} <= fields and not fields & set(clients.columns[:10])
    assert {error["row"] for error in body["errors"]} == {1}  # the header line
    assert "importance" in body["detail"] and "EXT_SOURCE" in body["detail"]


def test_with_policy_score_the_csv_is_scored_with_its_absent_columns_reported(
    client,  # noqa: F811
    clients,
    policy,
):
    policy(policy="score")
    response = client.post("/predict/batch", content=_csv(clients.iloc[:, :10]), headers=CSV)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scored"] == len(clients)
    assert body["missing_features"][:1] == ["EXT_SOURCE_2"]  # most important first
    assert len(body["missing_features"]) == clients.shape[1] - 10
    assert 0.5 < body["missing_importance"] <= 1 and "absent" in body["warning"]


def test_a_complete_csv_reports_nothing_absent(client, clients):  # noqa: F811
    body = client.post("/predict/batch", content=_csv(clients), headers=CSV).json()
    assert body["missing_features"] == [] and body["missing_importance"] == 0 and body["warning"] is None


def test_a_single_client_reports_its_absent_features(client, complete):  # noqa: F811
    features = {name: value for name, value in complete.items() if name != "EXT_SOURCE_3"}
    body = client.post("/predict", json={"features": features}).json()
    assert body["missing_features"] == ["EXT_SOURCE_3"]
    assert 0 < body["missing_importance"] < 0.5 and "1 of the model's" in body["warning"]
    full = client.post("/predict", json={"features": complete}).json()
    assert full["missing_features"] == [] and full["warning"] is None


def test_a_single_client_lacking_most_of_the_importance_is_refused(client, complete):  # noqa: F811
    few = {name: complete[name] for name in ("AMT_CREDIT", "AMT_ANNUITY", "CODE_GENDER")}
    response = client.post("/predict", json={"features": few})
    assert response.status_code == 422, response.text
    body = response.json()
    assert {"EXT_SOURCE_2", "EXT_SOURCE_3"} <= {error["field"] for error in body["errors"]}
    assert {error["row"] for error in body["errors"]} == {None}


def test_a_required_feature_is_refused_whatever_its_importance(client, complete, policy):  # noqa: F811
    policy(policy="score", required=["FLAG_OWN_CAR"])
    features = {name: value for name, value in complete.items() if name != "FLAG_OWN_CAR"}
    response = client.post("/predict", json={"features": features})
    assert response.status_code == 422, response.text
    assert [(e["field"], "required" in e["reason"]) for e in response.json()["errors"]] == [
        ("FLAG_OWN_CAR", True)
    ]


def test_a_json_batch_reports_absent_features_per_row_and_refuses_by_row(client, complete):  # noqa: F811
    few = {name: complete[name] for name in ("AMT_CREDIT", "AMT_ANNUITY")}
    no_ext3 = {name: value for name, value in complete.items() if name != "EXT_SOURCE_3"}
    unknowns = {**complete, "EXT_SOURCE_1": None, "EXT_SOURCE_3": None}  # null: known to be unknown
    response = client.post("/predict/batch", json=[complete, few, no_ext3, unknowns])
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["scored"], body["rejected"]) == (3, 1)
    assert {error["row"] for error in body["errors"]} == {2}
    assert "EXT_SOURCE_2" in {error["field"] for error in body["errors"]}
    rows = {row["row"]: row for row in body["results"]}
    assert rows[1]["missing_features"] == [] and rows[1]["missing_importance"] == 0
    assert rows[3]["missing_features"] == ["EXT_SOURCE_3"] and rows[3]["missing_importance"] > 0
    assert rows[4]["missing_features"] == [] and rows[4]["missing_importance"] == 0
    assert "1 of 3 scored rows" in body["warning"]
    strict = client.post("/predict/batch?strict=true", json=[complete, few])
    assert strict.status_code == 422 and {e["row"] for e in strict.json()["errors"]} == {2}


def test_importance_shares_sum_to_one_and_credit_engineered_features_to_their_inputs(
    champion_model: ScoringModel,
) -> None:
    shares = dict(zip(champion_model.schema.names(), champion_model.importance, strict=True))
    assert shares and abs(sum(shares.values()) - 1) < 1e-9 and min(shares.values()) >= 0
    gains = dict(
        zip(champion_model.feature_names(), champion_model.booster.feature_importance("gain"), strict=True)
    )
    own = gains["EXT_SOURCE_2"] / sum(gains.values())
    assert shares["EXT_SOURCE_2"] > own  # plus its part of EXT_SOURCE_MEAN
    check = champion_model.missing_check(MissingParams())
    mask = np.ones((1, len(shares)), dtype=bool)
    assert check.assess(mask).refused.tolist() == [True]
    assert champion_model.missing_check(MissingParams(policy="score")).assess(mask).refused.tolist() == [
        False
    ]


def test_a_null_is_a_value_the_client_does_not_know_not_an_absent_feature(client, complete):  # noqa: F811
    """Bureau scores are often unknown (EXT_SOURCE_1 in about half of Home Credit's applications): a
    null is scored as the model learned such values, never refused; leaving the fields out is absent."""
    unknown = {**complete, "EXT_SOURCE_1": None, "EXT_SOURCE_2": None, "EXT_SOURCE_3": None}
    answer = client.post("/predict", json={"features": unknown})
    assert answer.status_code == 200, answer.text
    assert answer.json()["missing_features"] == [] and answer.json()["warning"] is None
    left_out = {k: v for k, v in complete.items() if not k.startswith("EXT_SOURCE_")}
    refused = client.post("/predict", json={"features": left_out})
    assert refused.status_code == 422, refused.text
    assert {e["field"] for e in refused.json()["errors"]} >= {"EXT_SOURCE_1", "EXT_SOURCE_2", "EXT_SOURCE_3"}
