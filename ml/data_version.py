"""Data versioning with DVC: `dvc add` + `dvc push` a data file, and tag the MLflow run with its hash.

DVC stays optional: it is driven through its command line (never imported), so nothing else in the
project needs it installed. The hash is DVC's md5 of the file, the key of its copy in the remote, so
an MLflow run tagged with it can always be traced back to (and re-created from) the exact data.
"""

from __future__ import annotations

import shutil

# The dvc CLI is run with argument lists, never through a shell.
import subprocess  # nosec B404
import sys
from pathlib import Path

import yaml

DVC_HASH_TAG = "dvc_data_hash"


class DataVersioningError(RuntimeError):
    """DVC is missing or refused to version the file; the message carries DVC's own words."""


def dvc_executable() -> str:
    """The `dvc` next to this interpreter (the venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / "dvc"
    found = str(beside) if beside.exists() else shutil.which("dvc")
    if not found:
        raise DataVersioningError("dvc is not installed: run `make setup-dvc` (pip extra `dvc`)")
    return found


def _dvc(args: list[str], repo_dir: Path) -> None:
    command = [dvc_executable(), *args]
    result = subprocess.run(command, cwd=repo_dir, capture_output=True, text=True)  # nosec B603
    if result.returncode != 0:
        raise DataVersioningError(
            f"`dvc {' '.join(args)}` failed: {(result.stderr or result.stdout).strip()}"
        )


def version_with_dvc(path: str | Path, repo_dir: str | Path) -> str:
    """Track `path` with DVC in `repo_dir`, push it to the default remote and return its DVC md5.

    `path` (relative to the current directory, or absolute) must lie inside `repo_dir`. Leaves `<path>.dvc` next to the file for git; the remote is the one `.dvc/config` names.
    """
    repo_dir = Path(repo_dir).resolve()
    path = Path(path).resolve()
    if not path.exists():
        raise DataVersioningError(f"{path}: no such file or directory")
    dvc_file = path.with_name(path.name + ".dvc")
    _dvc(["add", str(path)], repo_dir)
    _dvc(["push", str(dvc_file)], repo_dir)
    return yaml.safe_load(dvc_file.read_text())["outs"][0]["md5"]


def record_dvc_hash(run_id: str, data_hash: str, tracking_uri: str) -> None:
    """Tag an MLflow run with the DVC hash of the data it was trained on (tag `dvc_data_hash`)."""
    from mlflow import MlflowClient

    MlflowClient(tracking_uri).set_tag(run_id, DVC_HASH_TAG, data_hash)
