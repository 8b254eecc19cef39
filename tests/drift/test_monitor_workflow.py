"""The scheduled drift workflow: valid for GitHub, pinned, least privilege, and wired to the CLI's exit
codes (3 = drift: reports uploaded, digest in the job summary, issue, failed run; Slack optional)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "monitor.yml"
BIN = Path(sys.executable).parent


def load() -> dict:
    data = yaml.safe_load(WORKFLOW.read_text())
    data["on"] = data.pop(True)  # YAML 1.1 reads the key `on` as True
    return data


def test_actionlint_and_githubs_schema_pass() -> None:
    lint = subprocess.run(
        [str(BIN / "actionlint"), "-no-color", str(WORKFLOW)],
        capture_output=True,
        text=True,
        env={"PATH": f"{BIN}:/usr/bin:/bin"},
        timeout=120,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    schema = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert schema.returncode == 0, schema.stdout + schema.stderr


def test_daily_and_manual_with_least_privilege() -> None:
    workflow = load()
    assert workflow["on"]["schedule"] and "workflow_dispatch" in workflow["on"]
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["jobs"]["drift"]["permissions"] == {"contents": "read", "issues": "write"}
    for line in WORKFLOW.read_text().splitlines():
        if "uses:" in line:
            action, _, comment = line.split("uses:", 1)[1].strip().partition(" # ")
            assert len(action.split("@")[1]) == 40 and comment.startswith("v"), line


def test_drift_outcomes_are_wired() -> None:
    steps = load()["jobs"]["drift"]["steps"]
    text = WORKFLOW.read_text()
    drift = next(step for step in steps if step.get("id") == "drift")
    assert "python -m ml" in drift["run"] and '--markdown "$RUNNER_TEMP/digest.md"' in drift["run"]
    assert '"$GITHUB_STEP_SUMMARY"' in drift["run"]
    upload = next(step for step in steps if "upload-artifact" in step.get("uses", ""))
    assert "reports/*.html" in upload["with"]["path"] and "reports/*.json" in upload["with"]["path"]
    assert "${{ secrets.SLACK_WEBHOOK_URL }}" in text
    issue = next(step for step in steps if "gh issue create" in step.get("run", ""))
    assert issue["if"].startswith("steps.drift.outputs.exit_code == '3'")
    failing = steps[-1]
    assert failing["if"] == "steps.drift.outputs.exit_code == '3'" and "exit 1" in failing["run"]


def test_the_digest_includes_realized_and_estimated_performance() -> None:
    steps = load()["jobs"]["drift"]["steps"]
    names = [step.get("name", "") for step in steps]
    performance = next(step for step in steps if "ml performance --markdown" in step.get("run", ""))
    assert '>> "$RUNNER_TEMP/digest.md"' in performance["run"]  # Slack and the issue carry it too
    slack = next(i for i, name in enumerate(names) if "Slack" in name)
    assert names.index(performance["name"]) < slack


def test_the_digest_includes_the_shadow_comparison_when_a_challenger_is_set() -> None:
    steps = load()["jobs"]["drift"]["steps"]
    names = [step.get("name", "") for step in steps]
    shadow = next(step for step in steps if "ml compare-live --if-challenger" in step.get("run", ""))
    assert '>> "$RUNNER_TEMP/digest.md"' in shadow["run"]
    assert names.index(shadow["name"]) < next(i for i, n in enumerate(names) if "Slack" in n)
