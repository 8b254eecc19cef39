"""GET /fairness and its gauges: approval rates per protected group of the API's own decision log."""

from __future__ import annotations

import time

from ml.data import generated_dataset


def test_fairness_shows_a_group_refused_far_more_often_and_the_gauges_follow(start_api, champion):
    api = start_api(champion.tracking_uri)
    frame = generated_dataset(1_500, seed=31).frame.drop(columns=["TARGET"])
    young = frame["DAYS_BIRTH"] > -35 * 365.25
    frame.loc[young, ["EXT_SOURCE_1", "EXT_SOURCE_2", "EXT_SOURCE_3"]] = 0.01  # refused, whatever else
    records = [{k: v if v == v else None for k, v in row.items()} for row in frame.to_dict(orient="records")]
    with api.client() as client:
        assert client.post("/predict/batch?reasons=false", json=records).status_code == 200
        deadline = time.monotonic() + 30
        while (report := client.get("/fairness").json())["rows"] < len(
            records
        ) and time.monotonic() < deadline:
            time.sleep(0.3)
        metrics = client.get("/metrics").text
        hourly = client.get("/fairness", params={"window": "1h", "last_n": 500}).json()
        bad = client.get("/fairness", params={"window": "fortnightly"})
    assert report["rows"] == len(records) and report["window"] == "1D"
    age = next(item for item in report["summary"] if item["attribute"] == "DAYS_BIRTH")
    assert age["least_approved"] in {"under 25", "25-34"} and age["min_approval_ratio"] < 0.2
    assert age["approval_rates"]["under 25"] == age["approval_rates"]["25-34"] == 0.0  # all refused
    gender = next(item for item in report["summary"] if item["attribute"] == "CODE_GENDER")
    assert set(gender["approval_rates"]) >= {"F", "M"}
    ratio_line = next(
        line
        for line in metrics.splitlines()
        if line.startswith('credit_fairness_approval_ratio{attribute="DAYS_BIRTH"}')
    )
    assert float(ratio_line.split()[-1]) == age["min_approval_ratio"]
    assert "credit_fairness_min_approval_ratio 0.7" in metrics
    assert hourly["rows"] == 500 and hourly["window"] == "1h"
    assert bad.status_code == 422 and "frequency" in bad.json()["detail"]
