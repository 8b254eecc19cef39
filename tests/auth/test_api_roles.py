"""Per role, through the real API: allowed actions succeed and record the caller's name as "who",
the others are 403 naming the role needed; keys and tokens never reach the log or the history."""

from __future__ import annotations

import pytest

from ml.registry import Registry
from tests.api.conftest import Api, read_json_lines
from tests.auth.conftest import JWT_SECRET, KEYS, LABELS, METRICS_TOKEN, ROLES, bearer, call, hs256

# (method, path, body) -> the roles allowed; the others get 403 naming the lowest role allowed.
READ = ("GET", "/models", None)
SCORE = ("POST", "/predict", "record")
RELOAD = ("POST", "/model/reload", None)
ALLOWED = {
    READ: {"viewer", "scorer", "outcomes", "data_scientist", "lead"},
    SCORE: {"scorer", "data_scientist", "lead"},
    RELOAD: {"data_scientist", "lead"},
}
NEEDED = {READ: "viewer", SCORE: "scorer", RELOAD: "data_scientist"}


@pytest.mark.parametrize("action", list(ALLOWED), ids=lambda a: a[1])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("credential", ["key", "token"])
def test_each_role_may_do_exactly_its_actions(
    access_api: Api, example_record, action, role: str, credential: str
) -> None:
    method, path, body = action
    headers = {"X-API-Key": KEYS[role]} if credential == "key" else bearer(hs256(f"{role}-person", role))
    payload = {"features": example_record} if body == "record" else body
    response = call(access_api, method, path, headers, json=payload)
    if role in ALLOWED[action]:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 403, response.text
        assert f"'{NEEDED[action]}'" in response.json()["detail"]


def test_no_credential_is_401_and_a_wrong_key_says_so(access_api: Api) -> None:
    missing = call(access_api, "GET", "/models", {})
    assert missing.status_code == 401 and "missing credentials" in missing.json()["detail"]
    wrong = call(access_api, "GET", "/models", {"X-API-Key": "not-" + KEYS["lead"]})
    assert wrong.status_code == 401 and wrong.json()["detail"] == "invalid API key"


def _history_tail(registry: Registry, n: int) -> list:
    return registry.history()[-n:]


def test_challenger_is_the_data_scientists_and_champion_the_leads(
    access_api: Api, access_registry: Registry
) -> None:
    ds = {"X-API-Key": KEYS["data_scientist"]}
    lead = bearer(hs256("alice.lead", "lead"))
    to_challenger = {"alias": "challenger", "reason": "candidate from the new data"}
    to_champion = {"alias": "champion", "reason": "challenger looked good"}

    assert (
        call(
            access_api, "POST", "/models/2/promote", {"X-API-Key": KEYS["scorer"]}, json=to_challenger
        ).status_code
        == 403
    )
    done = call(access_api, "POST", "/models/2/promote", ds, json=to_challenger)
    assert done.status_code == 200, done.text
    assert done.json()["event"]["who"] == LABELS["data_scientist"]

    refused = call(access_api, "POST", "/models/2/promote", ds, json=to_champion)
    assert refused.status_code == 403 and "'lead'" in refused.json()["detail"]
    forced = call(access_api, "POST", "/models/3/promote", ds, json={**to_challenger, "force": True})
    assert forced.status_code == 403 and "'lead'" in forced.json()["detail"]
    assert call(access_api, "POST", "/models/rollback", ds, json={"reason": "no"}).status_code == 403

    promoted = call(access_api, "POST", "/models/2/promote", lead, json=to_champion)
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["event"]["who"] == "alice.lead"
    assert promoted.json()["verdict"]["who"] == "alice.lead" and promoted.json()["served_version"] == "2"

    rolled = call(access_api, "POST", "/models/rollback", lead, json={"reason": "back to v1"})
    assert rolled.status_code == 200 and rolled.json()["event"]["who"] == "alice.lead"

    history = _history_tail(access_registry, 4)
    assert [(e.action, e.alias, e.version, e.who) for e in history] == [
        ("promote", "challenger", "2", LABELS["data_scientist"]),
        ("promote", "champion", "2", "alice.lead"),
        ("clear", "challenger", "2", "alice.lead"),  # a promoted challenger stops shadowing itself
        ("rollback", "champion", "1", "alice.lead"),
    ]
    version = access_registry.client.get_model_version(access_registry.name, "2")
    assert version.tags["champion_by"] == "alice.lead"


def test_a_data_scientist_clears_the_challenger_and_a_scorer_may_not(
    access_api: Api, access_registry: Registry
) -> None:
    if access_registry.version_for("challenger") is None:
        access_registry.client.set_registered_model_alias(access_registry.name, "challenger", "2")
    candidate = access_registry.version_for("challenger")
    body = {"reason": "the candidate swapped too many approvals"}
    scorer = call(access_api, "POST", "/models/challenger/clear", {"X-API-Key": KEYS["scorer"]}, json=body)
    assert scorer.status_code == 403 and "'data_scientist'" in scorer.json()["detail"]

    cleared = call(
        access_api, "POST", "/models/challenger/clear", {"X-API-Key": KEYS["data_scientist"]}, json=body
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["event"]["who"] == LABELS["data_scientist"]
    assert access_registry.version_for("challenger") is None
    [event] = _history_tail(access_registry, 1)
    assert (event.action, event.alias, event.version, event.why) == (
        "clear",
        "challenger",
        candidate,
        body["reason"],
    )

    again = call(
        access_api, "POST", "/models/challenger/clear", {"X-API-Key": KEYS["data_scientist"]}, json=body
    )
    assert again.status_code == 409 and "no challenger" in again.json()["detail"]


def test_the_access_log_names_the_caller_and_never_a_secret(access_api: Api, example_record) -> None:
    token = hs256("bob.scorer", "scorer")
    assert (
        call(access_api, "POST", "/predict", bearer(token), json={"features": example_record}).status_code
        == 200
    )
    call(access_api, "POST", "/predict", {"X-API-Key": KEYS["scorer"]}, json={"features": example_record})
    call(access_api, "GET", "/metrics", bearer(METRICS_TOKEN))
    lines = [line for line in read_json_lines(access_api.log()) if line.get("logger") == "api.access"]
    assert {"bob.scorer", LABELS["scorer"]} <= {
        line.get("who") for line in lines if line["path"] == "/predict"
    }
    text = access_api.log() + repr(
        call(access_api, "GET", "/models", {"X-API-Key": KEYS["viewer"]}).json()["history"]
    )
    for secret in (*KEYS.values(), JWT_SECRET, METRICS_TOKEN, token):
        assert secret not in text


def test_metrics_needs_the_metrics_token_when_one_is_set(access_api: Api) -> None:
    assert call(access_api, "GET", "/metrics", {}).status_code == 401
    assert call(access_api, "GET", "/metrics", bearer("not-the-token")).status_code == 401
    assert call(access_api, "GET", "/metrics", {"X-API-Key": KEYS["lead"]}).status_code == 401
    ok = call(access_api, "GET", "/metrics", bearer(METRICS_TOKEN))
    assert ok.status_code == 200 and "api_requests_total" in ok.text
    assert call(access_api, "GET", "/health", {}).status_code == 200


def test_only_a_lead_archives_and_never_the_champion(access_api: Api, access_registry: Registry) -> None:
    reason = {"reason": "superseded"}
    ds = call(access_api, "POST", "/models/3/archive", {"X-API-Key": KEYS["data_scientist"]}, json=reason)
    assert ds.status_code == 403 and "'lead'" in ds.json()["detail"]
    champion = access_registry.version_for("champion")
    refused = call(
        access_api, "POST", f"/models/{champion}/archive", {"X-API-Key": KEYS["lead"]}, json=reason
    )
    assert refused.status_code == 409 and "is the champion" in refused.json()["detail"]
    done = call(access_api, "POST", "/models/3/archive", {"X-API-Key": KEYS["lead"]}, json=reason)
    assert done.status_code == 200, done.text
    assert done.json()["event"]["who"] == LABELS["lead"]
    assert (
        access_registry.history()[-1].action == "archive"
        and access_registry.history()[-1].who == LABELS["lead"]
    )
    again = call(access_api, "POST", "/models/3/promote", {"X-API-Key": KEYS["lead"]}, json={"reason": "x"})
    assert again.status_code == 409 and "archived" in again.json()["detail"]


def test_a_key_pasted_into_a_logged_field_is_masked(access_api: Api) -> None:
    """No code logs a key, but a caller can put one where the log looks (here the path): masked."""
    for secret in (KEYS["lead"], METRICS_TOKEN):
        response = call(access_api, "GET", f"/drift/reports/{secret}", {"X-API-Key": KEYS["viewer"]})
        assert response.status_code not in (401, 403), response.text
    logged = {
        line["path"] for line in read_json_lines(access_api.log()) if line.get("logger") == "api.access"
    }
    assert "/drift/reports/***" in logged
    for secret in (KEYS["lead"], METRICS_TOKEN):
        assert secret not in access_api.log()
