"""Local disk copy of the models this replica served, so a restart while MLflow is down still serves.

Layout under the cache dir: `<name>/v<version>-<run id>/` holds a version's scoring files (the run id
keeps apart the "version 1" of two different registries, e.g. after `mlflow.db` was recreated),
`<name>/<alias>.json` says which version the alias pointed at when this replica last loaded it. Writes go to a temporary
sibling and are renamed into place, so a crash never leaves a half-written version behind.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from api.mlflow_source import ModelRef

KEEP_VERSIONS = 3


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


class ModelCache:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _model_dir(self, name: str) -> Path:
        return self.root / _slug(name)

    def version_dir(self, ref: ModelRef) -> Path:
        return self._model_dir(ref.name) / f"v{_slug(ref.version)}-{_slug(ref.run_id or 'unknown')}"

    def has(self, ref: ModelRef) -> bool:
        return self.version_dir(ref).is_dir()

    def staging_dir(self, name: str) -> Path:
        """A fresh temporary directory on the cache's filesystem (so the final rename is atomic)."""
        parent = self._model_dir(name)
        parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=".incoming-", dir=parent))

    def store(self, ref: ModelRef, files: Path) -> Path:
        """Move downloaded scoring files in as `ref`; return where they now live."""
        target = self.version_dir(ref)
        if target.is_dir():
            shutil.rmtree(files, ignore_errors=True)
            return target
        os.replace(files, target)
        return target

    @staticmethod
    def discard_staging(staging: Path) -> None:
        shutil.rmtree(staging, ignore_errors=True)

    def discard(self, ref: ModelRef) -> None:
        shutil.rmtree(self.version_dir(ref), ignore_errors=True)

    def remember(self, ref: ModelRef, alias: str) -> None:
        """Record that `alias` pointed at `ref`, and prune old versions."""
        pointer = self._model_dir(ref.name) / f"{_slug(alias)}.json"
        tmp = pointer.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"version": ref.version, "run_id": ref.run_id}))
        os.replace(tmp, pointer)
        self._prune(ref.name, keep=self.version_dir(ref).name)

    def last(self, name: str, alias: str) -> tuple[ModelRef, Path] | None:
        """The version `alias` pointed at when last loaded here, if its files are still cached."""
        pointer = self._model_dir(name) / f"{_slug(alias)}.json"
        try:
            data = json.loads(pointer.read_text())
        except (OSError, ValueError):
            return None
        ref = ModelRef(name, str(data["version"]), data.get("run_id"))
        return (ref, self.version_dir(ref)) if self.has(ref) else None

    def _prune(self, name: str, keep: str) -> None:
        versions = sorted(
            (p for p in self._model_dir(name).glob("v*") if p.is_dir()),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        # Every version an alias points at stays (the champion's and the challenger's share this cache).
        pointed = {keep} | {
            found[1].name
            for alias in self._model_dir(name).glob("*.json")
            if (found := self.last(name, alias.stem))
        }
        for stale in versions[KEEP_VERSIONS:]:
            if stale.name not in pointed:
                shutil.rmtree(stale, ignore_errors=True)
