"""Monitoring as code, checked without servers: alert rules (promtool unit tests), the Prometheus
config, the dashboard's PromQL and layout, and the Grafana provisioning that loads them."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.ops.promql import (
    ALERTS,
    DASHBOARDS,
    MONITORING,
    alert_rules,
    dashboard_expressions,
    dashboard_files,
    dashboard_panels,
    metric_names,
    substitute_variables,
)

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool not on PATH: scripts/install_test_tools.sh installs it (Debian package prometheus)",
)
PROVISIONING = MONITORING / "grafana" / "provisioning"
REQUIRED_ALERTS = {
    "ApprovalRatioLow",
    "HighErrorRate",
    "HighLatency",
    "InstanceDown",
    "ModelNotLoaded",
    "DriftDetected",
    "NoPredictions",
}
REQUIRED_PANELS = {
    "Request rate",
    "Error rate",
    "Scoring latency percentiles",
    "Predictions by model version and decision",
    "Approval rate",
    "Model version in service",
    "Drift share",
}


def promtool(*args: str, cwd: Path = MONITORING) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


@needs_promtool
def test_alert_rules_pass_their_promtool_unit_tests() -> None:
    result = promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_prometheus_config_and_rules_are_valid() -> None:
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@needs_promtool
def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    expressions = dashboard_expressions()
    rules = [
        {"record": f"dashboard:query_{index}", "expr": substitute_variables(expr)}
        for index, expr in enumerate(expressions.values())
    ]
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = promtool("check", "rules", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr + "\n" + "\n".join(expressions)


def test_the_required_alerts_exist_with_severity_and_text() -> None:
    rules = {rule["alert"]: rule for rule in alert_rules()}
    assert set(rules) >= REQUIRED_ALERTS
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert {"summary", "description"} <= set(rule["annotations"]), name
        assert f"docs/operations.md#{name.lower()}" in rule["annotations"]["description"], name
    assert rules["HighErrorRate"]["for"] == rules["HighLatency"]["for"] == "5m"
    assert "> 0.01" in rules["HighErrorRate"]["expr"]
    assert ") > 0.1" in rules["HighLatency"]["expr"]  # the 100 ms SLA


def test_the_operations_doc_has_a_section_per_alert() -> None:
    doc = (MONITORING.parent / "docs" / "operations.md").read_text().lower()
    for rule in alert_rules():
        assert f"### {rule['alert'].lower()}" in doc, rule["alert"]


def test_metric_name_lexer() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (job, le) (rate(api_request_duration_seconds_bucket{job="$job", '
        'route=~"/predict|/explain"}[$__rate_interval]))) > 0.1 and on (job) up offset 5m == 1e3'
    )
    assert metric_names(expr) == {"api_request_duration_seconds_bucket", "up"}
    assert metric_names("sum(rate(x_total[5m])) by (le) / ignoring(a) y") == {"x_total", "y"}


def test_dashboard_has_the_panels_asked_for_on_the_provisioned_datasource() -> None:
    datasource = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())
    uid = datasource["datasources"][0]["uid"]
    files = dashboard_files()
    assert files, f"no dashboard in {DASHBOARDS}"
    titles = set()
    for path in files:
        dashboard = json.loads(path.read_text())
        assert dashboard["uid"] and dashboard["title"]
        panels = dashboard_panels(path)
        assert len({panel["id"] for panel in panels}) == len(panels), "panel ids must be unique"
        _assert_no_overlap(panels)
        for panel in panels:
            titles.add(panel["title"])
            if panel["type"] != "row":
                assert panel["datasource"]["uid"] == uid, panel["title"]
                assert panel["targets"] and all(target["expr"].strip() for target in panel["targets"])
    assert titles >= REQUIRED_PANELS, REQUIRED_PANELS - titles


def _assert_no_overlap(panels: list[dict]) -> None:
    cells: dict[tuple[int, int], str] = {}
    for panel in panels:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


def test_grafana_provider_and_compose_profile_load_these_files() -> None:
    provider = yaml.safe_load((PROVISIONING / "dashboards" / "provider.yml").read_text())["providers"][0]
    compose_file = MONITORING / "compose.yml"
    services = yaml.safe_load(compose_file.read_text())["services"]
    assert {"prometheus", "grafana"} <= set(services)
    mounts = {}
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["monitoring"], name
        for volume in services[name]["volumes"]:
            source, target, *_ = volume.split(":")
            if source.startswith("."):
                assert (compose_file.parent / source).exists(), volume
                mounts[target] = (compose_file.parent / source).resolve()
    assert mounts[provider["options"]["path"]] == DASHBOARDS.resolve()
    assert mounts["/etc/grafana/provisioning"] == PROVISIONING.resolve()
    assert mounts["/etc/prometheus/alerts.yml"] == ALERTS.resolve()
    assert (
        "monitoring/compose.yml"
        in yaml.safe_load((MONITORING.parent / "docker-compose.yml").read_text())["include"]
    )
