"""scripts/extra_requirements.py lists what an image installs: the core plus its extras, read from
pyproject.toml (self-references like `all` expanded)."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib

from tests.deploy.deploy_helpers import REPO

PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def listed(*args: str) -> list[str]:
    script = REPO / "scripts" / "extra_requirements.py"
    result = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_core_and_one_extra() -> None:
    extras = PROJECT["optional-dependencies"]
    assert listed("api") == PROJECT["dependencies"] + extras["api"]
    assert listed("tracking-server", "--no-core") == extras["tracking-server"]


def test_self_references_are_expanded_once() -> None:
    everything = listed("all", "--no-core")
    assert "evidently==0.7.23" in everything and "streamlit>=1.40" in everything
    assert len(everything) == len(set(everything))
    assert not any(line.startswith(PROJECT["name"]) for line in everything)


def test_an_unknown_extra_is_refused() -> None:
    script = REPO / "scripts" / "extra_requirements.py"
    result = subprocess.run([sys.executable, str(script), "nope"], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and "no extra 'nope'" in result.stderr


def test_pinned_lists_what_a_pip_report_installs(tmp_path) -> None:
    report = {
        "install": [
            {"metadata": {"name": "numpy", "version": "2.3.0"}},
            {"metadata": {"name": "Flask", "version": "3.1.3"}},
        ]
    }
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    assert listed("--pinned", str(path)) == ["Flask==3.1.3", "numpy==2.3.0"]
