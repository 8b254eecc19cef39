"""The console's sign-in and role gating, page by page in AppTest against a real API and MLflow:
deployed, only the sign-in form shows until someone signs in; wrong passwords slow down; sign-out
ends the session; each role is offered only what it may do, and its actions are recorded as theirs."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from streamlit.testing.v1 import AppTest

from app.auth import IDENTITY
from ml.registry import Registry
from tests.api.conftest import read_json_lines
from tests.app.conftest import PAGES, start_api, texts
from tests.auth.conftest import JWT_SECRET
from tests.servers import Server
from tests.utils import Champion

# Cheap hashes for the tests (the parameters travel inside each hash); production uses the defaults.
_hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PEOPLE = {
    "vera": "viewer",
    "sam": "scorer",
    "olga": "outcomes",
    "dana": "data_scientist",
    "lea": "lead",
    "otto": "lead",
}
PASSWORD = {name: f"{name}-correct-horse-battery" for name in PEOPLE}
CONSOLE_KEY = "console-tests-console-key"  # a scorer key, as pre-roles blueprints gave the console


@pytest.fixture(scope="module")
def console_api(champion: Champion, tmp_path_factory) -> Iterator[tuple[Server, Registry]]:
    registry = Registry(f"console-access-{uuid.uuid4().hex[:8]}", champion.tracking_uri)
    for _ in range(2):
        registry.register(champion.run.model_uri, champion.run.run_id)
    registry.promote("1", "champion", "console access setup", who="pytest")
    server = start_api(
        tmp_path_factory.mktemp("console-access-api"),
        champion.tracking_uri,
        registry.name,
        {"JWT_SECRET": JWT_SECRET, "API_KEYS": f"console-key:scorer:{CONSOLE_KEY}"},
    )
    yield server, registry
    server.stop()


@pytest.fixture
def deployed(monkeypatch, console_api, champion: Champion) -> Registry:
    """The console as deployed: sign-in required, a built-in user list, the API's JWT secret."""
    server, registry = console_api
    users = [f"{name}:{role}:{_hasher.hash(PASSWORD[name])}" for name, role in PEOPLE.items()]
    monkeypatch.setenv("API_URL", server.url)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", champion.tracking_uri)
    monkeypatch.setenv("EXPERIMENT_NAME", "tests")
    monkeypatch.setenv("CONSOLE_LOGIN", "required")
    monkeypatch.setenv("CONSOLE_USERS", ";".join(users))
    monkeypatch.setenv("JWT_SECRET", JWT_SECRET)
    monkeypatch.setenv("LOGIN_LOCKOUT_S", "30")
    return registry


def _open(page: str) -> AppTest:
    return AppTest.from_file(str(PAGES[page]), default_timeout=60).run()


def _sign_in(app: AppTest, name: str, password: str) -> AppTest:
    app.text_input(key="login_name").input(name)
    app.text_input(key="login_password").input(password)
    return next(b for b in app.button if b.label == "Sign in").click().run()


def signed_in(page: str, name: str) -> AppTest:
    app = _sign_in(_open(page), name, PASSWORD[name])
    assert not app.exception, app.exception
    assert "Sign in" not in [t.value for t in app.title], texts(app)
    return app


def _sidebar_text(app: AppTest) -> str:
    return "\n".join(str(m.value) for m in app.sidebar.markdown)


@pytest.mark.parametrize("page", sorted(PAGES))
def test_a_deployed_console_shows_only_the_sign_in_form(deployed, page: str) -> None:
    app = _open(page)
    assert not app.exception
    assert [t.value for t in app.title] == ["Sign in"]
    assert [b.label for b in app.button] == ["Sign in"]
    assert not app.metric and not app.dataframe and not app.sidebar.markdown


def test_sign_in_then_sign_out_ends_the_session(deployed) -> None:
    app = _sign_in(_open("overview"), "lea", "not-her-password")
    assert "Wrong user name or password." in texts(app)
    app = _sign_in(app, "lea", PASSWORD["lea"])
    assert [t.value for t in app.title] == ["Overview"], texts(app)
    assert "Signed in as **lea**" in _sidebar_text(app) and "Role: **lead**" in _sidebar_text(app)

    next(b for b in app.sidebar.button if b.label == "Sign out").click().run()
    assert [t.value for t in app.title] == ["Sign in"]
    assert "identity" not in app.session_state
    app.switch_page("pages/5_Model_registry.py").run()
    assert [t.value for t in app.title] == ["Sign in"] and not app.dataframe


def test_five_wrong_passwords_slow_the_next_attempts_down(deployed) -> None:
    name = f"lea-{uuid.uuid4().hex[:6]}"  # the limiter is per name and process-wide: a name of its own
    app = _open("overview")
    for _ in range(5):
        app = _sign_in(app, name, "guess")
        assert "Wrong user name or password." in texts(app)
    app = _sign_in(app, name, "guess")
    assert "Too many failed sign-ins" in texts(app) and "try again in 30 s" in texts(app)

    # A real user under attack is slowed down too, even with the right password; other names are not.
    for _ in range(5):
        app = _sign_in(app, "otto", "guess")
    app = _sign_in(app, "otto", PASSWORD["otto"])
    assert "Too many failed sign-ins" in texts(app) and [t.value for t in app.title] == ["Sign in"]
    assert [t.value for t in signed_in("overview", "dana").title] == ["Overview"]


@pytest.mark.parametrize(("name", "offered"), [("vera", False), ("sam", True), ("lea", True)])
def test_scoring_is_offered_to_scorers_and_above(deployed, name: str, offered: bool) -> None:
    app = signed_in("score", name)
    has_form = any(b.label == "Score this client" for b in app.button)
    assert has_form is offered, texts(app)
    if not offered:
        assert "Scoring applications: Needs the scorer role" in texts(app)


def test_drift_checks_are_disabled_below_data_scientist(deployed) -> None:
    for name, disabled in (("sam", True), ("dana", False)):
        app = signed_in("drift", name)
        run = next(b for b in app.button if b.label == "Run a drift check now")
        assert run.disabled is disabled, name
        if disabled:
            assert "Needs the data scientist role" in run.help


def _history_who(registry: Registry) -> list[tuple[str, str, str]]:
    return [(e.alias, e.version, e.who) for e in registry.history()]


def test_registry_actions_per_role_and_who_is_recorded(deployed: Registry) -> None:
    viewer = signed_in("registry", "vera")
    assert not viewer.radio and "Promoting a version: Needs the data scientist role" in texts(viewer)

    ds = signed_in("registry", "dana")
    assert ds.radio(key="promote_alias").options == ["challenger"]
    assert ds.checkbox(key="promote_force").disabled
    assert "Rolling back the champion: Needs the lead role" in texts(ds)
    ds.selectbox(key="promote_version").select("2")
    ds.text_input(key="promote_reason").input("candidate for shadowing")
    next(b for b in ds.button if b.label == "Review promotion").click().run()
    next(b for b in ds.button if b.label == "Confirm").click().run()
    assert "v2 is now challenger." in texts(ds), texts(ds)

    lead = signed_in("registry", "lea")
    assert lead.radio(key="promote_alias").options == ["champion", "challenger"]
    lead.selectbox(key="promote_version").select("2")
    lead.radio(key="promote_alias").set_value("champion")
    lead.text_input(key="promote_reason").input("challenger held up")
    next(b for b in lead.button if b.label == "Review promotion").click().run()
    next(b for b in lead.button if b.label == "Confirm").click().run()
    assert "v2 is now champion." in texts(lead), texts(lead)

    assert _history_who(deployed)[-3:] == [
        ("challenger", "2", "dana"),
        ("champion", "2", "lea"),
        ("challenger", "2", "lea"),  # the promoted challenger's alias cleared, recorded as lea's move
    ]
    for name in PEOPLE:
        assert PASSWORD[name] not in repr(deployed.history())


def test_a_signed_in_person_never_acts_with_the_consoles_own_key(deployed, monkeypatch, console_api) -> None:
    """Without JWT_SECRET the console cannot act for anyone: its API_KEY (an open local console's)
    would make each person that key, scoring under its label, and must not be sent for them."""
    server, _ = console_api
    monkeypatch.delenv("JWT_SECRET")
    monkeypatch.setenv("API_KEY", CONSOLE_KEY)
    app = signed_in("score", "sam")
    assert any("JWT_SECRET" in str(e.value) for e in app.sidebar.error), texts(app)
    assert "missing credentials" in texts(app)  # the API's 401: the page could not read the model
    assert not any(b.label == "Score this client" for b in app.button) and not app.metric
    assert "console-key" not in {line.get("who") for line in read_json_lines(server.log())}


def test_sign_out_forgets_what_the_person_did(deployed) -> None:
    """The next person signing in at the same browser sees nothing of the last one's work."""
    app = signed_in("performance", "lea")
    upload = {"stored": 3, "corrected": 0, "unchanged": 0, "rejected": 1, "errors": []}
    app.session_state["outcomes_upload"] = ("lea-outcomes.csv", upload)
    app.run()
    assert "lea-outcomes.csv: 3 new" in "\n".join(str(s.value) for s in app.success), texts(app)

    next(b for b in app.sidebar.button if b.label == "Sign out").click().run()
    app = _sign_in(app, "olga", PASSWORD["olga"])  # who may record outcomes, and so sees their results
    assert [t.value for t in app.title] == ["Performance"], texts(app)
    assert "Outcomes CSV" in [u.label for u in app.get("file_uploader")]
    assert "lea-outcomes.csv" not in texts(app)


# Each action the console offers, and who may: scoring pages to scorers and above, drift checks and
# the challenger to data scientists and above, the champion and rollback to leads, outcomes to the
# outcomes role and leads. (Clearing the challenger and archiving are API-only: no page offers them.)
CONSOLE_ACTIONS = {
    "score a client": {"scorer", "data_scientist", "lead"},
    "score a file": {"scorer", "data_scientist", "lead"},
    "run a drift check": {"data_scientist", "lead"},
    "promote to challenger": {"data_scientist", "lead"},
    "promote to champion": {"lead"},
    "roll back": {"lead"},
    "record outcomes": {"outcomes", "lead"},
}


def _buttons(app: AppTest) -> dict[str, Any]:
    return {b.label: b for b in app.button}


def _uploaders(app: AppTest) -> list[str]:
    return [u.label for u in app.get("file_uploader")]


def _offered(app: AppTest) -> dict[str, bool]:
    """What the signed-in person is offered, page by page, in one browser session."""
    offered = {}
    app.switch_page("pages/1_Score_a_client.py").run()
    offered["score a client"] = "Score this client" in _buttons(app)
    app.switch_page("pages/2_Batch_scoring.py").run()
    offered["score a file"] = any(label.startswith("CSV of client applications") for label in _uploaders(app))
    app.switch_page("pages/3_Data_drift.py").run()
    offered["run a drift check"] = not _buttons(app)["Run a drift check now"].disabled
    app.switch_page("pages/5_Model_registry.py").run()
    aliases = app.radio(key="promote_alias").options if "Review promotion" in _buttons(app) else []
    offered["promote to challenger"] = "challenger" in aliases
    offered["promote to champion"] = "champion" in aliases
    offered["roll back"] = "Review rollback" in _buttons(app)
    app.switch_page("pages/6_Performance.py").run()
    offered["record outcomes"] = "Outcomes CSV" in _uploaders(app)
    assert not app.exception, app.exception
    return offered


@pytest.mark.parametrize("name", ["vera", "sam", "olga", "dana", "lea"])
def test_each_role_is_offered_exactly_its_actions(deployed, name: str) -> None:
    offered = _offered(signed_in("overview", name))
    assert offered == {action: PEOPLE[name] in who for action, who in CONSOLE_ACTIONS.items()}


def test_a_sign_in_lasts_its_session_ttl(deployed, monkeypatch) -> None:
    monkeypatch.setenv("CONSOLE_SESSION_TTL_S", "60")
    app = signed_in("registry", "lea")
    identity = app.session_state[IDENTITY]
    app.session_state[IDENTITY] = dataclasses.replace(identity, signed_in_at=identity.signed_in_at - 61)
    app.run()
    assert [t.value for t in app.title] == ["Sign in"] and not app.dataframe, texts(app)
    assert IDENTITY not in app.session_state
