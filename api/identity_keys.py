"""API keys that carry a role: `API_KEYS="label:role:key,..."`, a keys file, and the older forms.

An entry `label:role:key` names its holder (the label is what logs and the registry record) and its
role. A bare key in API_KEYS is a scorer and a bare key in ADMIN_API_KEYS a lead, as before roles
existed; both are labelled by a short hash, so no key ever reaches a log or the registry.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from api.identity_roles import Role, parse_role


@dataclass(frozen=True)
class ApiKey:
    label: str
    role: Role
    secret: str


class KeyConfigError(ValueError):
    """A keys setting that cannot be read; the message names the entry by position, never its key."""


def key_label(key: str, admin: bool) -> str:
    return f"{'admin-' if admin else ''}key-{hashlib.sha256(key.encode()).hexdigest()[:4]}"


def _entries(raw: str) -> list[str]:
    return [entry.strip() for entry in raw.replace("\n", ",").split(",") if entry.strip()]


def parse_keys(raw: str, bare_role: Role, where: str) -> list[ApiKey]:
    """Keys from one setting; entries without `label:role:` get `bare_role` and a hash label."""
    keys = []
    for position, entry in enumerate(_entries(raw), start=1):
        if entry.startswith("#"):
            continue
        label, sep, rest = entry.partition(":")
        role_name, sep2, secret = rest.partition(":")
        role = parse_role(role_name) if sep and sep2 else None
        if role is None:
            if entry.count(":") == 2:
                raise KeyConfigError(f"{where} entry {position}: unknown role {role_name!r}")
            keys.append(ApiKey(key_label(entry, bare_role == Role.LEAD), bare_role, entry))
        elif not label or not secret:
            raise KeyConfigError(f"{where} entry {position}: expected label:role:key")
        else:
            keys.append(ApiKey(label, role, secret))
    return keys


def load_keys(api_keys: str, admin_api_keys: str, keys_file: Path | None) -> list[ApiKey]:
    keys = parse_keys(api_keys, Role.SCORER, "API_KEYS")
    keys += parse_keys(admin_api_keys, Role.LEAD, "ADMIN_API_KEYS")
    if keys_file is not None:
        keys += parse_keys(keys_file.read_text(), Role.SCORER, str(keys_file))
    return keys


class KeyRing:
    """Looks a presented key up among the configured ones, in constant time per key."""

    def __init__(self, keys: Iterable[ApiKey]) -> None:
        self.keys = tuple(keys)

    def __bool__(self) -> bool:
        return bool(self.keys)

    def secrets(self) -> frozenset[str]:
        return frozenset(key.secret for key in self.keys)

    def roles(self) -> frozenset[Role]:
        return frozenset(key.role for key in self.keys)

    def find(self, presented: str) -> ApiKey | None:
        found = None
        for key in self.keys:  # every key compared, so the timing does not tell which one was close
            if hmac.compare_digest(presented.encode(), key.secret.encode()):
                found = key
        return found
