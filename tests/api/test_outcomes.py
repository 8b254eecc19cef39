"""Outcomes through the real API on SQLite and PostgreSQL: idempotent, corrections kept, per-row
errors, the outcomes role, and realized performance equal to scikit-learn on the stored rows."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sklearn import metrics

from ml.inference_log import normalize_database_url
from ml.outcomes import outcomes_for_batch, read_corrections, read_outcomes
from tests.api.conftest import ADMIN_KEY, Api, api_env, launch_api
from tests.servers import create_postgres_database, drop_postgres_database

OUTCOMES_KEY = "outcomes-key-5d1e09a7c3"
BATCH_ROWS = 4000


def _write_params(path: Path) -> Path:
    """params.yaml with outcomes maturing at once (decisions in a test are seconds old)."""
    text = (Path(__file__).resolve().parents[2] / "params.yaml").read_text()
    path.write_text(text.replace("maturity_days: 90", "maturity_days: 0"))
    return path


def start_outcomes_api(champion, workdir: Path, database_url: str) -> Api:
    env = api_env(
        champion.tracking_uri,
        workdir,
        database_url=database_url,
        outcomes_api_keys=OUTCOMES_KEY,
        params_path=_write_params(workdir / "params.yaml"),
    )
    return launch_api(workdir, env)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def outcomes_api(request, champion, tmp_path) -> Iterator[Api]:
    """An API with a decision log of its own (a new database per test)."""
    if request.param == "sqlite":
        running = start_outcomes_api(champion, tmp_path, f"sqlite:///{tmp_path / 'log.db'}")
        yield running
        running.server.stop()
        return
    admin_url = request.getfixturevalue("postgres_url")
    url, name = create_postgres_database(admin_url)
    running = start_outcomes_api(champion, tmp_path, url)
    yield running
    running.server.stop()
    drop_postgres_database(admin_url, name)


def score_batch(api: Api, frame: pd.DataFrame) -> dict:
    """Score `frame` as a CSV upload and wait until every scored row is in the log."""
    with api.client() as client:
        response = client.post(
            "/predict/batch", files={"file": ("b.csv", frame.to_csv(index=False), "text/csv")}
        )
    assert response.status_code == 200, response.text
    body = response.json()
    engine = sa.create_engine(normalize_database_url(api.database_url))
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                logged = connection.execute(
                    sa.text("select count(*) from inference_log where request_id = :r"),
                    {"r": body["request_id"]},
                ).scalar_one()
            if logged == body["scored"]:
                return body
            time.sleep(0.2)
    finally:
        engine.dispose()
    raise AssertionError(f"{logged} of {body['scored']} rows logged")


def post_outcomes(api: Api, payload, key: str = OUTCOMES_KEY, **params):
    with api.client(key) as client:
        if isinstance(payload, str):
            return client.post("/outcomes", params=params, files={"file": ("o.csv", payload, "text/csv")})
        return client.post("/outcomes", params=params, json=payload)


def test_outcomes_are_idempotent_corrections_kept_and_bad_rows_named(
    outcomes_api: Api, small_dataset
) -> None:
    api = outcomes_api
    frame = small_dataset.frame.drop(columns=["TARGET"]).head(50)
    body = score_batch(api, frame)
    rid = body["request_id"]
    approved = [r["row"] for r in body["results"] if r["decision"] == "approve"]
    first = [
        {"request_id": rid, "row": row, "defaulted": i % 2, "observed_at": "2026-03-31"}
        for i, row in enumerate(approved[:5])
    ]
    client_row = approved[5]
    client_id = int(frame["SK_ID_CURR"].iloc[client_row - 2])  # CSV line 2 is the first record
    first.append({"client_id": client_id, "defaulted": 1, "observed_at": "2026-04-01"})

    response = post_outcomes(api, first)
    assert response.status_code == 200, response.text
    assert response.json() | {"errors": []} == {
        "rows": 6,
        "accepted": 6,
        "stored": 6,
        "corrected": 0,
        "unchanged": 0,
        "rejected": 0,
        "errors": [],
    }
    stored = read_outcomes(api.database_url)
    assert sorted(stored["row"]) == sorted([*approved[:5], client_row])  # the client id found its decision

    again = post_outcomes(api, first)
    assert again.status_code == 200 and again.json()["unchanged"] == 6 and again.json()["stored"] == 0
    pd.testing.assert_frame_equal(read_outcomes(api.database_url), stored)  # nothing changed, not even times
    assert read_corrections(api.database_url).empty

    changed = [{**first[0], "defaulted": 1 - first[0]["defaulted"], "observed_at": "2026-04-15"}]
    before = pd.Timestamp.now(tz="UTC").tz_localize(None)
    response = post_outcomes(api, changed)
    assert response.json()["corrected"] == 1
    corrections = read_corrections(api.database_url)
    assert len(corrections) == 1
    correction = corrections.iloc[0]
    assert (
        correction["previous_defaulted"] == first[0]["defaulted"]
        and correction["defaulted"] == changed[0]["defaulted"]
    )
    assert (
        str(correction["previous_observed_on"]) == "2026-03-31"
        and str(correction["observed_on"]) == "2026-04-15"
    )
    assert (
        before - pd.Timedelta(seconds=5)
        <= correction["corrected_at"]
        <= pd.Timestamp.now(tz="UTC").tz_localize(None)
    )
    current = read_outcomes(api.database_url).set_index("row").loc[approved[0]]
    assert current["defaulted"] == changed[0]["defaulted"]

    mixed = [
        {"request_id": rid, "row": approved[6], "defaulted": 0, "observed_at": "2026-04-02"},  # good
        {"request_id": "no-such-request", "row": 1, "defaulted": 0, "observed_at": "2026-04-02"},
        {"request_id": rid, "row": approved[7], "defaulted": "maybe", "observed_at": "2026-04-02"},
        {"request_id": rid, "row": approved[6], "defaulted": 1, "observed_at": "2026-04-02"},  # duplicate
        {"request_id": rid, "row": approved[8], "defaulted": 0, "observed_at": "yesterday"},
        {"request_id": rid, "row": approved[8], "defaulted": 0, "observed_at": "2026-04-02", "note": "x"},
    ]
    strict = post_outcomes(api, mixed, strict="true")
    assert strict.status_code == 422
    assert len(read_outcomes(api.database_url)) == 6  # strict: nothing stored
    response = post_outcomes(api, mixed)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["stored"] == 1 and result["rejected"] == 5
    assert {(e["row"], e["field"]) for e in result["errors"]} == {
        (2, "request_id"),
        (3, "defaulted"),
        (4, "request_id"),
        (5, "observed_at"),
        (6, "note"),
    }
    assert "no logged decision" in result["errors"][0]["reason"]
    assert len(read_outcomes(api.database_url)) == 7

    csv = (
        "request_id,row,defaulted,observed_at\n"
        + f"{rid},{approved[9]},0,2026-04-03\n{rid},{approved[10]},2,2026-04-03\n"
    )
    response = post_outcomes(api, csv)
    assert response.status_code == 200 and response.json()["errors"] == [
        {"row": 3, "field": "defaulted", "reason": "must be 0 or 1 (or true/false)"}
    ]
    refused = post_outcomes(api, "request_id,row,defaulted,observed_at\nnope,1,0,2026-04-03\n")
    assert refused.status_code == 422 and refused.json()["errors"][0]["row"] == 2

    lead = post_outcomes(api, first[1:], key=ADMIN_KEY)  # admin (lead) keys may record outcomes too
    assert lead.status_code == 200 and lead.json()["unchanged"] == 5
    assert post_outcomes(api, first, key=None).status_code == 401
    scorer = post_outcomes(api, first, key="scoring-key-3f9a1c77d2")
    assert scorer.status_code == 403 and "outcomes" in scorer.json()["detail"]


def test_realized_performance_equals_scikit_learn_on_the_stored_rows(
    outcomes_api: Api, small_dataset
) -> None:
    api = outcomes_api
    frame = small_dataset.frame.tail(BATCH_ROWS)
    score_batch(api, frame.drop(columns=["TARGET"]))
    # the generator's target goes in as an operator would do it: make-outcomes, then a CSV upload
    generated = outcomes_for_batch(
        api.database_url, frame, "TARGET", "SK_ID_CURR", pd.Timestamp("2026-05-01").date()
    )
    response = post_outcomes(api, generated.to_csv(index=False))
    assert response.status_code == 200 and response.json()["stored"] == len(generated)

    with api.client() as client:
        report = client.get("/performance").json()
    stored = read_outcomes(api.database_url)
    y, p = stored["defaulted"].to_numpy(), stored["probability"].to_numpy()
    overall = report["versions"][0]["overall"]
    realized = overall["realized"]
    assert realized["rows"] == len(stored) == len(generated)
    assert realized["roc_auc"] == pytest.approx(metrics.roc_auc_score(y, p), abs=1e-12)
    assert realized["bad_rate"] == pytest.approx(y.mean(), abs=1e-12)
    assert realized["brier"] == pytest.approx(metrics.brier_score_loss(y, p), abs=1e-12)
    fpr, tpr, _ = metrics.roc_curve(y, p)
    assert realized["ks"] == pytest.approx(np.max(tpr - fpr), abs=1e-12)
    assert overall["decisions"] == BATCH_ROWS
    assert overall["approved"] == len(generated)
    assert overall["awaiting_outcome"] == 0
    assert report["versions"][0]["training"]["roc_auc"] is not None
    assert "approved clients" in report["selection_bias"]
