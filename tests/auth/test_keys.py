"""API key settings: labelled keys carry their role, the pre-roles forms keep their meaning, and a
bad entry is refused at startup by position, never echoing a key."""

from __future__ import annotations

import pytest

from api.identity_keys import KeyConfigError, KeyRing, load_keys
from api.identity_roles import Permission, Role, least_role_for, parse_role


def test_labelled_bare_and_admin_keys(tmp_path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text("# one per line\nci-bot:lead:file-secret-1\n")
    ring = KeyRing(
        load_keys("ana:data_scientist:s3cr3t-a, legacy-scoring-key", "legacy-admin-key", keys_file)
    )
    found = {
        key: ring.find(key) for key in ("s3cr3t-a", "legacy-scoring-key", "legacy-admin-key", "file-secret-1")
    }
    assert (found["s3cr3t-a"].label, found["s3cr3t-a"].role) == ("ana", Role.DATA_SCIENTIST)
    assert found["legacy-scoring-key"].role == Role.SCORER
    assert found["legacy-scoring-key"].label.startswith("key-")
    assert found["legacy-admin-key"].role == Role.LEAD
    assert found["legacy-admin-key"].label.startswith("admin-key-")
    assert (found["file-secret-1"].label, found["file-secret-1"].role) == ("ci-bot", Role.LEAD)
    assert ring.find("s3cr3t") is None


def test_a_bad_entry_names_its_position_not_its_key() -> None:
    with pytest.raises(KeyConfigError) as raised:
        load_keys("ok-key, bob:admin:very-secret-value", "", None)
    assert "entry 2" in str(raised.value) and "very-secret-value" not in str(raised.value)


def test_roles_include_the_ones_before_them() -> None:
    assert least_role_for(Permission.READ) == Role.VIEWER
    assert least_role_for(Permission.SCORE) == Role.SCORER
    assert least_role_for(Permission.POST_OUTCOMES) == Role.OUTCOMES
    assert least_role_for(Permission.MANAGE_CANDIDATES) == Role.DATA_SCIENTIST
    assert least_role_for(Permission.MANAGE_CHAMPION) == Role.LEAD
    assert parse_role(["offline_access", "scorer", "data_scientist"]) == Role.DATA_SCIENTIST
    assert parse_role("root") is None
