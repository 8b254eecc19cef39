"""The PromQL of the monitoring files, and the metric names it refers to.

A small lexer, not a parser: it drops strings, label matchers, ranges, grouping clauses, numbers
and Grafana variables, then keeps the identifiers that are neither functions nor keywords. Enough
for the expressions we write; promtool checks their syntax where it is installed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from tests.servers import ROOT

MONITORING = ROOT / "monitoring"
DASHBOARDS = MONITORING / "grafana" / "dashboards"
ALERTS = MONITORING / "alerts.yml"
GRAFANA_VARIABLES = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1h",
    "$job": "credit-scoring-api",
}
# Metrics Prometheus makes itself for every target, not exported by the API.
PROMETHEUS_SYNTHETIC = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}

_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan", "atan2"}
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_OFFSET = re.compile(r"\boffset\s+-?\w+")
_NUMBERS = re.compile(r"(?<![\w:])(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_IDENTIFIER = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")


def substitute_variables(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def metric_names(expr: str) -> set[str]:
    """Metric names an expression selects (function and aggregation names excluded)."""
    text = substitute_variables(expr)
    for pattern in (_STRINGS, _MATCHERS, _RANGES, _GROUPING, _OFFSET, _NUMBERS):
        text = pattern.sub(" ", text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        followed_by_call = text[match.end() :].lstrip().startswith("(")
        if not followed_by_call and match.group() not in _KEYWORDS:
            names.add(match.group())
    return names


def dashboard_files() -> list[Path]:
    return sorted(DASHBOARDS.glob("*.json"))


def dashboard_panels(path: Path) -> list[dict]:
    """Every panel, those nested in collapsed rows included."""
    panels = []
    for panel in json.loads(path.read_text())["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))
    return panels


def dashboard_expressions() -> dict[str, str]:
    """'file / panel title / refId' -> PromQL, for every dashboard target."""
    found = {}
    for path in dashboard_files():
        for panel in dashboard_panels(path):
            for target in panel.get("targets", []):
                found[f"{path.name} / {panel['title']} / {target['refId']}"] = target["expr"]
    return found


def alert_rules() -> list[dict]:
    return [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]


def alert_expressions() -> dict[str, str]:
    return {f"alerts.yml / {rule['alert']}": rule["expr"] for rule in alert_rules()}
