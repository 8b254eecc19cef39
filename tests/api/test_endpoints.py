"""Every endpoint of the shared API process (real uvicorn, real MLflow, the session champion)."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
import pytest

from ml.scoring import ScoringModel
from tests.api.conftest import ADMIN_KEY, SCORING_KEY, Api


def test_health(api: Api, champion) -> None:
    with api.client(key=None) as client:
        response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy" and body["model_loaded"] and body["mlflow_reachable"]
    assert body["model_version"] == champion.version and body["model_alias"] == "champion"
    assert body["uptime_s"] > 0 and response.headers["x-request-id"]


def test_predict_matches_the_model(api: Api, champion, example_record, champion_model: ScoringModel) -> None:
    with api.client() as client:
        response = client.post(
            "/predict", json={"features": example_record}, headers={"X-Request-ID": "req-abc"}
        )
    assert response.status_code == 200, response.text
    body = response.json()
    expected = champion_model.predict_frame(pd.DataFrame([example_record]))[0]
    assert body["probability"] == pytest.approx(expected, rel=1e-9)
    assert body["decision"] == ("refuse" if expected >= champion_model.meta.threshold else "approve")
    assert body["model_version"] == champion.version and body["request_id"] == "req-abc"
    assert body["risk_band"] in ("low", "medium", "high", "very_high")
    assert body["threshold"] == pytest.approx(champion_model.meta.threshold)


def test_predict_missing_features_are_scored_as_missing_and_named(api: Api, example_record) -> None:
    features = {name: value for name, value in example_record.items() if name != "OWN_CAR_AGE"}
    with api.client() as client:
        response = client.post("/predict", json={"features": features})
    assert response.status_code == 200
    assert 0 < response.json()["probability"] < 1
    assert response.json()["missing_features"] == ["OWN_CAR_AGE"]


def test_batch_json_reports_bad_rows_and_scores_good_ones(api: Api, example_record) -> None:
    bad = {**example_record, "CODE_GENDER": "Z"}
    records = [example_record, bad, {**example_record, "AMT_CREDIT": "lots"}, example_record]
    with api.client() as client:
        response = client.post("/predict/batch", json=records)
        strict = client.post("/predict/batch?strict=true", json=records)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["rows"], body["scored"], body["rejected"]) == (4, 2, 2)
    assert [row["row"] for row in body["results"]] == [1, 4]
    assert {(e["row"], e["field"]) for e in body["errors"]} == {(2, "CODE_GENDER"), (3, "AMT_CREDIT")}
    assert body["results"][0]["probability"] == body["results"][1]["probability"]
    assert strict.status_code == 422 and strict.json()["errors"][0]["row"] == 2


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def test_batch_csv_upload_matches_the_model(api: Api, small_dataset, champion_model: ScoringModel) -> None:
    frame = small_dataset.frame.drop(columns=["TARGET"]).head(3000).reset_index(drop=True)
    frame.loc[10, "CODE_GENDER"] = "Unknown"
    frame["DAYS_BIRTH"] = frame["DAYS_BIRTH"].astype(object)
    frame.loc[20, "DAYS_BIRTH"] = "yesterday"
    with api.client() as client:
        upload = client.post("/predict/batch", files={"file": ("clients.csv", _csv(frame), "text/csv")})
        raw = client.post("/predict/batch", content=_csv(frame), headers={"Content-Type": "text/csv"})
    assert upload.status_code == 200, upload.text
    body = upload.json()
    assert (body["rows"], body["scored"], body["rejected"]) == (3000, 2998, 2)
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(12, "CODE_GENDER"), (22, "DAYS_BIRTH")]
    scored = pd.DataFrame(body["results"])
    assert scored["row"].iloc[0] == 2 and 12 not in set(scored["row"])
    good = frame.drop(index=[10, 20])
    good["DAYS_BIRTH"] = good["DAYS_BIRTH"].astype(float)
    np.testing.assert_allclose(scored["probability"], champion_model.predict_frame(good), rtol=1e-9)
    assert raw.json()["results"] == body["results"]


FULL_HEADER = b"{every feature}"  # replaced by the model's whole header: the missing-feature policy stays out


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (FULL_HEADER + b"\n", "no rows"),
        (b"AMT_CREDIT,NOT_A_FEATURE\n1,2\n", "unknown column"),
        (FULL_HEADER + b'\n1,2\n3,"4\n', "malformed"),
        (b"AMT_CREDIT,AMT_ANNUITY\n1,2,3,4\n", "malformed"),
        (b"\xff\xfe\x00A\x00M\n\x00\x01", "header"),
        (b"AMT_CREDIT,AMT_CREDIT\n1,2\n", "duplicated"),
    ],
)
def test_bad_csv_is_a_422_with_the_reason(
    api: Api, champion_model: ScoringModel, content: bytes, reason: str
) -> None:
    """Structural faults are named as such, also when the header is complete."""
    header = ",".join(champion_model.schema.names()).encode()
    with api.client() as client:
        response = client.post(
            "/predict/batch", files={"file": ("x.csv", content.replace(FULL_HEADER, header), "text/csv")}
        )
    assert response.status_code == 422, response.text
    assert reason in response.text.lower()


def test_explain_contributions_add_up(api: Api, example_record, champion_model: ScoringModel) -> None:
    with api.client() as client:
        response = client.post("/explain", json={"features": example_record, "top": 500})
        top3 = client.post("/explain", json={"features": example_record, "top": 3})
    assert response.status_code == 200, response.text
    body = response.json()
    logit = body["base_value"] + sum(item["contribution"] for item in body["contributions"])
    assert 1 / (1 + math.exp(-logit)) == pytest.approx(body["probability"], rel=1e-6)
    assert len(body["contributions"]) == len(champion_model.feature_names())
    magnitudes = [abs(item["contribution"]) for item in body["contributions"]]
    assert magnitudes == sorted(magnitudes, reverse=True)
    assert top3.json()["contributions"] == body["contributions"][:3]
    by_name = {item["feature"]: item["value"] for item in body["contributions"]}
    assert by_name["CODE_GENDER"] == example_record["CODE_GENDER"]


def test_model_info(api: Api, champion, champion_model: ScoringModel) -> None:
    with api.client() as client:
        body = client.get("/model").json()
    assert body["name"] == champion.name and body["version"] == champion.version
    assert body["run_id"] == champion.run.run_id
    assert body["threshold"] == pytest.approx(champion_model.meta.threshold)
    assert body["metrics"]["test_roc_auc"] > 0.7
    assert body["feature_names"] == champion_model.feature_names()
    assert [f["name"] for f in body["feature_schema"]["features"]] == champion_model.schema.names()


def test_models_lists_versions_and_aliases(api: Api, champion) -> None:
    with api.client() as client:
        body = client.get("/models").json()
    assert body["aliases"]["champion"] == champion.version and body["served_version"] == champion.version
    version = next(v for v in body["versions"] if v["version"] == champion.version)
    assert "champion" in version["aliases"] and "test_roc_auc" in version["metrics"]
    assert any(event["action"] == "promote" for event in body["history"])


def test_reload_is_admin_and_keeps_the_same_version(api: Api, champion) -> None:
    with api.client(ADMIN_KEY) as client:
        response = client.post("/model/reload")
    assert response.status_code == 200
    assert response.json() == {"changed": False, "served_version": champion.version}


def test_metrics(api: Api, champion, example_record) -> None:
    with api.client() as client:
        client.post("/predict", json={"features": example_record})
        client.post("/predict", json={"features": {"NOT_A_FEATURE": 1}})
        text = client.get("/metrics").text
    assert f'api_predictions_total{{decision="approve",model_version="{champion.version}"}}' in text or (
        f'api_predictions_total{{decision="refuse",model_version="{champion.version}"}}' in text
    )
    assert 'api_requests_total{method="POST",route="/predict",status="200"}' in text
    assert 'api_errors_total{route="/predict",status="422"}' in text
    assert f"api_model_version {float(champion.version)}" in text
    assert "api_request_duration_seconds_bucket" in text and "api_model_load_seconds_count" in text


# bad input: always a 4xx naming the field and the reason, never a 500 -----------------------------------

BAD_JSON_BODIES = [
    ('{"features": {"AMT_CREDIT": NaN}}', "body", "NaN"),
    ('{"features": {"AMT_CREDIT": Infinity}}', "body", "Infinity"),
    ('{"features": {"AMT_CREDIT": -Infinity}}', "body", "Infinity"),
    ('{"features": {"AMT_CREDIT": 1e999}}', "AMT_CREDIT", "finite"),
    ('{"features": {"NOT_A_FEATURE": 1}}', "NOT_A_FEATURE", "unknown feature"),
    ('{"features": {"AMT_CREDIT": "a lot"}}', "AMT_CREDIT", "expected a number"),
    ('{"features": {"AMT_CREDIT": {"nested": 1}}}', "AMT_CREDIT", "expected a number"),
    ('{"features": {"CODE_GENDER": "Z"}}', "CODE_GENDER", "unknown category"),
    ('{"features": {"CODE_GENDER": true}}', "CODE_GENDER", "expected a category"),
    ('{"features": {"EXT_SOURCE_2": 7.5}}', "EXT_SOURCE_2", "plausible maximum"),
    ('{"features": {"AMT_CREDIT": -5}}', "AMT_CREDIT", "plausible minimum"),
    ('{"features": [1, 2]}', "features", "dictionary"),
    ('{"features": {}, "extra": 1}', "extra", "not permitted"),
    ("{}", "features", "required"),
    ("", "body", "required"),
    ("not json", "body", "invalid JSON"),
    ("[1, 2", "body", "invalid JSON"),
]


@pytest.mark.parametrize(("body", "field", "reason"), BAD_JSON_BODIES)
@pytest.mark.parametrize("path", ["/predict", "/explain"])
def test_bad_json_input_is_a_422_naming_field_and_reason(
    api: Api, path: str, body: str, field: str, reason: str
) -> None:
    with api.client() as client:
        response = client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert any(error["field"] == field and reason.lower() in error["reason"].lower() for error in errors), (
        errors
    )


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("[]", "application/json", 422),
        ("{}", "application/json", 422),
        ("[1, 2]", "application/json", 200),
        ('[{"AMT_CREDIT": NaN}]', "application/json", 422),
        ("", "application/json", 422),
        ("<xml/>", "application/xml", 415),
    ],
)
def test_bad_batch_bodies(api: Api, body: str, content_type: str, status: int) -> None:
    with api.client() as client:
        response = client.post("/predict/batch", content=body, headers={"Content-Type": content_type})
    assert response.status_code == status, response.text
    if status == 200:  # rows that are not objects are rejected one by one
        assert response.json()["rejected"] == 2


def test_huge_bodies_are_refused(api: Api, example_record) -> None:
    huge = b'{"features": {"AMT_CREDIT": 1, "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}}'
    too_many = [example_record] * 10_001
    with api.client() as client:
        single = client.post("/predict", content=huge, headers={"Content-Type": "application/json"})
        batch = client.post("/predict/batch", json=too_many)
    assert single.status_code == 413
    assert batch.status_code == 413 and "10000" in batch.text


def test_multipart_without_a_file_field(api: Api) -> None:
    with api.client() as client:
        response = client.post(
            "/predict/batch", files={"attachment": ("x.csv", b"AMT_CREDIT\n1\n", "text/csv")}
        )
    assert response.status_code == 422 and "file" in response.text


def test_csv_big_upload_streams(api: Api, small_dataset) -> None:
    frame = small_dataset.frame.drop(columns=["TARGET"])
    frame = pd.concat([frame] * 2, ignore_index=True)  # 40,000 rows, several chunks
    buffer = io.BytesIO(_csv(frame))
    with api.client() as client:
        response = client.post("/predict/batch", files={"file": ("big.csv", buffer, "text/csv")})
    body = response.json()
    assert response.status_code == 200 and body["rows"] == len(frame)
    assert body["scored"] == len(frame) and body["rejected"] == 0  # generated clients are all valid
    assert body["results"][-1]["row"] == len(frame) + 1  # CSV line numbers: the header is line 1


# auth ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "key", "status"),
    [
        ("POST", "/predict", None, 401),
        ("POST", "/predict", "wrong-key", 401),
        ("POST", "/predict", SCORING_KEY, 200),
        ("POST", "/predict", ADMIN_KEY, 200),
        ("GET", "/model", None, 401),
        ("GET", "/models", SCORING_KEY, 200),
        ("POST", "/model/reload", None, 401),
        ("POST", "/model/reload", SCORING_KEY, 403),
        ("POST", "/model/reload", ADMIN_KEY, 200),
        ("POST", "/models/1/promote", SCORING_KEY, 403),
        ("POST", "/models/rollback", SCORING_KEY, 403),
        ("GET", "/health", None, 200),
        ("GET", "/metrics", None, 200),
    ],
)
def test_auth(api: Api, example_record, method: str, path: str, key: str | None, status: int) -> None:
    body = {"features": example_record} if path == "/predict" else {"reason": "test", "alias": "champion"}
    if path == "/models/rollback":
        body = {"reason": "test"}
    with api.client(key) as client:
        response = client.request(method, path, json=body if method == "POST" else None)
    assert response.status_code == status, response.text


def test_no_key_ever_reaches_the_log(api: Api, example_record) -> None:
    with api.client(ADMIN_KEY) as client:
        client.post("/predict", json={"features": {**example_record, "NAME_CONTRACT_TYPE": ADMIN_KEY}})
        client.post("/predict", json={"features": {SCORING_KEY: 1}})
    with api.client(SCORING_KEY) as client:
        client.post("/model/reload")
    with api.client("not-a-key-" + SCORING_KEY) as client:
        client.post("/predict", json={"features": example_record})
    log = api.log()
    assert SCORING_KEY not in log and ADMIN_KEY not in log
    entries = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    access = [entry for entry in entries if entry.get("logger") == "api.access"]
    assert len(access) >= 4 and all(entry.get("request_id") for entry in access), entries[-5:]
