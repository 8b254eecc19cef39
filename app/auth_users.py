"""The console's built-in user list, for deployments without an identity provider.

`CONSOLE_USERS` (a secret) holds one `name:role:hash` per line (or `;`-separated), the hash made by
`python -m app.auth_users <name> <role>` (argon2id, from argon2-cffi). Passwords are only ever
verified against hashes: the console never stores, logs or forwards one.
"""

from __future__ import annotations

import getpass
import sys
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from api.identity_roles import Role, parse_role

_hasher = PasswordHasher()
# Checked when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-user-password")


class UsersConfigError(ValueError):
    """The user list cannot be read; the message names the entry by position, never a hash."""


@dataclass(frozen=True)
class ConsoleUser:
    name: str
    role: Role
    password_hash: str


def parse_users(raw: str) -> dict[str, ConsoleUser]:
    users: dict[str, ConsoleUser] = {}
    entries = [entry.strip() for entry in raw.replace(";", "\n").splitlines()]
    for position, entry in enumerate(entries, start=1):
        if not entry or entry.startswith("#"):
            continue
        name, _, rest = entry.partition(":")
        role_name, _, password_hash = rest.partition(":")
        role = parse_role(role_name)
        if not name or role is None or not password_hash.startswith("$argon2"):
            raise UsersConfigError(
                f"CONSOLE_USERS entry {position}: expected name:role:$argon2id$… (see docs/access.md)"
            )
        users[name.strip().lower()] = ConsoleUser(name.strip(), role, password_hash)
    return users


def load_users(raw: str, users_file: Path | None) -> dict[str, ConsoleUser]:
    return parse_users(raw + ("\n" + users_file.read_text() if users_file else ""))


def verify(users: dict[str, ConsoleUser], name: str, password: str) -> ConsoleUser | None:
    """The user when `password` is theirs, else None (the same work either way)."""
    user = users.get(name.strip().lower())
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    return user


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def main(argv: list[str]) -> int:
    """`python -m app.auth_users NAME ROLE`: asks for a password, prints the CONSOLE_USERS line."""
    if len(argv) != 2 or parse_role(argv[1]) is None:
        print(f"usage: python -m app.auth_users NAME ROLE   (ROLE: {', '.join(r.value for r in Role)})")
        return 2
    password = getpass.getpass("password: ")
    if len(password) < 12 or password != getpass.getpass("again: "):
        print("passwords differ or are shorter than 12 characters")
        return 2
    print(f"{argv[0]}:{argv[1]}:{hash_password(password)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
