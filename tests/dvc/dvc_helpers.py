"""Helpers for the DVC tests: a throwaway git + DVC repository holding a copy of the project's
pipeline files, and the `dvc` / `git` command lines run in it.

The copy carries the project's own dvc.yaml, .dvcignore and .dvc/config (so the tests check what
ships), with params shrunk so a full `dvc repro` trains in seconds.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
PROJECT_FILES = ("params.yaml", "dvc.yaml", ".dvcignore")
DVC_FILES = (".dvc/config", ".dvc/.gitignore")
# The lines docs/dvc.md asks for in the project's .gitignore, on top of the existing ones.
GITIGNORE_LINES = ("!data/*.dvc", "/model/", "/metrics.json", "/plots/", "/dvc_plots/")
SMALL_PARAMS = {
    ("data", "rows"): 3_000,
    ("train", "num_boost_round"): 60,
    ("train", "early_stopping_rounds"): 15,
    ("reference", "rows"): 500,
}
_RAN = re.compile(r"Running stage '([^']+)'")


def run(command: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    """Run a command; fail the test with its output when it fails. Returns stdout + stderr."""
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(command)} exited {result.returncode}:\n{output[-6000:]}"
    return output


def dvc(args: list[str], repo: Path, env: dict[str, str]) -> str:
    return run([str(VENV_BIN / "dvc"), *args], repo, env)


def git(args: list[str], repo: Path, env: dict[str, str]) -> str:
    return run(["git", *args], repo, env)


def stages_run(output: str) -> list[str]:
    """The stages a `dvc repro` output says it ran, in order."""
    return _RAN.findall(output)


def dvc_env(tracking_uri: str) -> dict[str, str]:
    """The venv's python first on PATH (dvc.yaml calls `python -m ml`), MLflow, no telemetry."""
    return {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "MLFLOW_TRACKING_URI": tracking_uri,
        "EXPERIMENT_NAME": "dvc-pipeline-tests",
        "DVC_NO_ANALYTICS": "1",
        "GIT_AUTHOR_NAME": "pytest",
        "GIT_AUTHOR_EMAIL": "pytest@example.invalid",
        "GIT_COMMITTER_NAME": "pytest",
        "GIT_COMMITTER_EMAIL": "pytest@example.invalid",
    }


def set_param(repo: Path, keys: tuple[str, ...], value: object) -> None:
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text())
    node = params
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def make_repo(repo: Path, env: dict[str, str]) -> Path:
    """A new git + DVC repository with the project's ml/ package and pipeline files, committed."""
    repo.mkdir(parents=True)
    shutil.copytree(ROOT / "ml", repo / "ml", ignore=shutil.ignore_patterns("__pycache__"))
    for name in PROJECT_FILES:
        shutil.copy2(ROOT / name, repo / name)
    gitignore = (ROOT / ".gitignore").read_text() + "\n".join(GITIGNORE_LINES) + "\n"
    (repo / ".gitignore").write_text(gitignore)
    for directory in ("data", "reports"):
        (repo / directory).mkdir()
        (repo / directory / ".gitkeep").touch()
    git(["init", "-q", "-b", "main"], repo, env)
    dvc(["init", "-q"], repo, env)
    for name in DVC_FILES:
        shutil.copy2(ROOT / name, repo / name)
    for keys, value in SMALL_PARAMS.items():
        set_param(repo, keys, value)
    git(["add", "."], repo, env)
    git(["commit", "-q", "-m", "project files"], repo, env)
    return repo
