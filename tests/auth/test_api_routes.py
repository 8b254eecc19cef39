"""Every route of the real API, for every role: refused with 403 naming the lowest role allowed, or
let through (whatever the request itself then earns). Each probe is built so that no allowed call
changes anything (an unknown version, a body the route refuses), and the table below must name
every operation the API's OpenAPI lists, so a new route cannot go unclassified. docs/api.md's role
table is checked against the same probes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Api
from tests.auth.conftest import KEYS, ROLES, call

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"
OPEN = {("GET", "/health"), ("GET", "/metrics")}  # /metrics has its own token (test_api_roles.py)
WHO_MAY = {
    "viewer": set(ROLES),
    "scorer": {"scorer", "data_scientist", "lead"},
    "outcomes": {"outcomes", "lead"},
    "data_scientist": {"data_scientist", "lead"},
    "lead": {"lead"},
}
UNKNOWN = "999999"  # no such version: an allowed registry action ends in 404, nothing moves
# (lowest role allowed, method, route as in the OpenAPI, path sent, JSON body)
PROBES: list[tuple[str, str, str, str, Any]] = [
    ("viewer", "GET", "/model", "/model", None),
    ("viewer", "GET", "/models", "/models", None),
    ("viewer", "GET", "/models/{version}/gate", f"/models/{UNKNOWN}/gate", None),
    ("viewer", "GET", "/drift/latest", "/drift/latest", None),
    ("viewer", "GET", "/drift/jobs/{report_id}", "/drift/jobs/no-such-job", None),
    ("viewer", "GET", "/drift/reports/{report_id}", "/drift/reports/no-such-report", None),
    ("viewer", "GET", "/performance", "/performance", None),
    ("viewer", "GET", "/fairness", "/fairness", None),
    ("viewer", "GET", "/challenger/report", "/challenger/report", None),
    ("scorer", "POST", "/predict", "/predict", {}),
    ("scorer", "POST", "/predict/batch", "/predict/batch", {}),
    ("scorer", "POST", "/explain", "/explain", {}),
    ("outcomes", "POST", "/outcomes", "/outcomes", {}),
    ("data_scientist", "POST", "/model/reload", "/model/reload", None),
    (
        "data_scientist",
        "POST",
        "/models/{version}/promote",
        f"/models/{UNKNOWN}/promote",
        {"alias": "challenger", "reason": "probe"},
    ),
    ("data_scientist", "POST", "/models/challenger/clear", "/models/challenger/clear", {}),
    ("data_scientist", "POST", "/drift/run", "/drift/run", {"last_n": 0}),
    (
        "lead",
        "POST",
        "/models/{version}/promote",
        f"/models/{UNKNOWN}/promote",
        {"alias": "champion", "reason": "probe"},
    ),
    (
        "lead",
        "POST",
        "/models/{version}/promote",
        f"/models/{UNKNOWN}/promote",
        {"alias": "challenger", "reason": "probe", "force": True},
    ),
    ("lead", "POST", "/models/rollback", "/models/rollback", {}),
    ("lead", "POST", "/models/{version}/archive", f"/models/{UNKNOWN}/archive", {"reason": "probe"}),
]


def test_every_operation_of_the_api_has_a_probe(access_api: Api) -> None:
    spec = call(access_api, "GET", "/openapi.json", {}).json()
    listed = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    assert listed - OPEN == {(method, route) for _, method, route, _, _ in PROBES}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_is_refused_exactly_what_it_may_not_do(access_api: Api, role: str) -> None:
    wrong = []
    for needed, method, route, path, body in PROBES:
        response = call(access_api, method, path, {"X-API-Key": KEYS[role]}, json=body)
        if role in WHO_MAY[needed]:
            ok = response.status_code not in (401, 403)
        else:
            ok = response.status_code == 403 and f"'{needed}'" in response.json()["detail"]
        if not ok:
            wrong.append((method, path, body, response.status_code, response.text[:200]))
    assert not wrong, wrong


def _docs_rows() -> dict[str, str]:
    """docs/api.md's role table: role -> its endpoints cell, routes spelled with `{}` placeholders."""
    rows = re.findall(r"^\| `(\w+)` \| [^|]+ \| ([^|]+) \|$", DOCS.read_text(), flags=re.MULTILINE)
    return {role: _placeholders(cell) for role, cell in rows if role in WHO_MAY}


def _placeholders(text: str) -> str:
    return re.sub(r"\{\w+\}", "{}", text)


def test_the_role_table_in_the_docs_names_every_route_under_its_lowest_role() -> None:
    rows = _docs_rows()
    assert set(rows) == set(WHO_MAY)
    missing = {
        (needed, method, route)
        for needed, method, route, _, _ in PROBES
        if f"`{method} {_placeholders(route)}`" not in rows[needed]
    }
    assert not missing, missing
