"""No file tracked by git holds something shaped like a secret: private keys, cloud or GitHub
tokens, or a password written into a URL. Placeholders (${VAR}, <password>, ...) are fine, as are
URLs without a password such as the local trust-auth postgresql://postgres@127.0.0.1:5432/test."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.servers import ROOT

PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret access key": re.compile(
        r"aws_secret_access_key\s*[:=]\s*[\"']?[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])", re.IGNORECASE
    ),
    "GitHub token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{50,})\b"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "password in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:(?P<password>[^@\s/'\"]+)@"),
}
PLACEHOLDER = re.compile(r"^(?:\$\{?[A-Za-z_][^}]*\}?|<[^>]*>|\{[^}]*\}|\*+|\.\.\.|x+)$", re.IGNORECASE)
# Exact findings that are not secrets, each with the reason.
ALLOWED = {
    # The CI job's own throwaway PostgreSQL service container, reachable only inside that job.
    (".github/workflows/ci.yml", "postgresql://ci:" + "ci@"),
}
SECRET_FILE_NAMES = re.compile(r"(?:^|/)(?:\.env(?:\..+)?|id_rsa|id_ed25519|.*\.pem|.*\.p12|.*\.key)$")
NOT_SECRET_FILES = {".env.example"}


def find_secrets(text: str) -> list[tuple[str, str]]:
    """(kind, matched text) for every secret-shaped string in `text`."""
    found = []
    for kind, pattern in PATTERNS.items():
        for match in pattern.finditer(text):
            password = match.groupdict().get("password")
            if password is None or not PLACEHOLDER.match(password):
                found.append((kind, match.group()))
    return found


def tracked_files() -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing is tracked")
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60)
    return [name for name in listing.stdout.decode().split("\0") if name]


def test_no_tracked_file_contains_a_secret() -> None:
    findings = []
    for name in tracked_files():
        path = ROOT / name
        if not path.is_file():
            continue  # deleted in the working tree
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary
        for kind, match in find_secrets(data.decode(errors="replace")):
            if not any(name == allowed_file and match.startswith(prefix) for allowed_file, prefix in ALLOWED):
                findings.append(f"{name}: {kind}: {match[:60]}")
    assert not findings, "secret-shaped strings in tracked files:\n" + "\n".join(findings)


def test_no_key_or_env_file_is_tracked() -> None:
    suspicious = [
        name
        for name in tracked_files()
        if SECRET_FILE_NAMES.search(name) and name.rsplit("/", 1)[-1] not in NOT_SECRET_FILES
    ]
    assert not suspicious


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("-----BEGIN RSA " + "PRIVATE KEY-----\nMIIE", "private key"),
        ("-----BEGIN OPENSSH " + "PRIVATE KEY-----", "private key"),
        ("key = " + "AKIA" + "Z7QK3M2N4P5R6S8T", "AWS access key id"),
        (
            "aws_secret_access_key = " + "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "0123456789",
            "AWS secret access key",
        ),
        ("token: " + "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "GitHub token"),
        ("url = postgresql://app:" + "s3cr3t-Pa55" + "@db.internal:5432/app", "password in a URL"),
        ("https://user:" + "hunter2" + "@example.com/path", "password in a URL"),
    ],
)
def test_the_scanner_finds_secret_shapes(text: str, kind: str) -> None:
    assert kind in {found_kind for found_kind, _ in find_secrets(text)}


@pytest.mark.parametrize(
    "text",
    [
        "postgresql://postgres@127.0.0.1:5432/test",
        "postgresql://credit_scoring:${POSTGRES_PASSWORD:-credit_scoring}@postgres:5432/credit_scoring",
        "postgresql://user:<password>@host:5432/db",
        "https://example.com/path?x=1",
        "sqlite:///inference_log.db",
        "ASIA is a continent; AKIA alone is not a key",
    ],
)
def test_the_scanner_leaves_placeholders_and_passwordless_urls_alone(text: str) -> None:
    assert find_secrets(text) == []
