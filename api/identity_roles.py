"""Roles and what each may do: one list for the API and the console (no web framework imported here).

`viewer < scorer < data_scientist < lead` each include the one before; `outcomes` is a service role
that may read and post outcomes only. The table in docs/api.md lists it route by route;
tests/auth/test_api_routes.py holds every route of the API, every role and that table to it.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"
    SCORER = "scorer"
    OUTCOMES = "outcomes"
    DATA_SCIENTIST = "data_scientist"
    LEAD = "lead"


class Permission(StrEnum):
    READ = "read"  # model info, versions and history, drift summaries and reports, console pages
    SCORE = "score"  # /predict, /predict/batch, /explain
    POST_OUTCOMES = "post_outcomes"  # /outcomes, when it exists
    MANAGE_CANDIDATES = "manage_candidates"  # set and clear `challenger`, reload, run drift checks
    MANAGE_CHAMPION = "manage_champion"  # move `champion`, roll back, force the gate, archive


_LADDER = (Role.VIEWER, Role.SCORER, Role.DATA_SCIENTIST, Role.LEAD)
_OWN = {
    Role.VIEWER: {Permission.READ},
    Role.SCORER: {Permission.SCORE},
    Role.DATA_SCIENTIST: {Permission.MANAGE_CANDIDATES},
    Role.LEAD: {Permission.MANAGE_CHAMPION, Permission.POST_OUTCOMES},
}


def _grants() -> dict[Role, frozenset[Permission]]:
    grants: dict[Role, frozenset[Permission]] = {}
    held: set[Permission] = set()
    for role in _LADDER:
        held |= _OWN[role]
        grants[role] = frozenset(held)
    grants[Role.OUTCOMES] = frozenset({Permission.READ, Permission.POST_OUTCOMES})
    return grants


GRANTS = _grants()
ROLE_ORDER = (Role.VIEWER, Role.SCORER, Role.OUTCOMES, Role.DATA_SCIENTIST, Role.LEAD)


def allows(role: Role, permission: Permission) -> bool:
    return permission in GRANTS[role]


def least_role_for(permission: Permission) -> Role:
    """The lowest role that may do `permission`: the one a refusal names."""
    return next(role for role in ROLE_ORDER if allows(role, permission))


def parse_role(value: object) -> Role | None:
    """A role from a claim or a config entry: a name, or a list of names (the highest one wins)."""
    names = value if isinstance(value, list | tuple) else [value]
    found = [Role(name) for name in names if isinstance(name, str) and name in Role._value2member_map_]
    return max(found, key=ROLE_ORDER.index) if found else None
