"""The registry as tables for the operator: versions with who / why, and the alias history."""

from __future__ import annotations

from typing import Any

import pandas as pd

ALIASES = ("champion", "challenger")
_METRICS = ("test_roc_auc", "test_pr_auc", "test_ks", "threshold")


def versions_table(versions: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per version: aliases, key metrics, creation time, who and why of its last alias move."""
    rows = []
    for info in versions:
        tags = info.get("tags") or {}
        alias = next((a for a in ALIASES if f"{a}_by" in tags), None)
        metrics = info.get("metrics") or {}
        rows.append(
            {
                "version": str(info["version"]),
                "aliases": ", ".join(info.get("aliases") or []),
                **{name: metrics.get(name) for name in _METRICS},
                "created": info.get("created"),
                "by": tags.get(f"{alias}_by") if alias else None,
                "why": tags.get(f"{alias}_reason") if alias else None,
                "archived": bool(info.get("archived")),
            }
        )
    return pd.DataFrame(rows)


def history_table(events: list[dict[str, Any]]) -> pd.DataFrame:
    """Alias moves, newest first, as a timeline of who moved what where and why."""
    if not events:
        return pd.DataFrame(columns=["when", "action", "alias", "from", "to", "who", "why", "forced"])
    table = pd.DataFrame(events).rename(columns={"previous": "from", "version": "to"})
    table["when"] = pd.to_datetime(table["when"], utc=True)
    columns = ["when", "action", "alias", "from", "to", "who", "why", "forced"]
    return table[columns].sort_values("when", ascending=False).reset_index(drop=True)


def report_choices(versions: list[dict[str, Any]]) -> dict[str, str]:
    """Version label ("v3 (champion)") → run id, newest first, for the validation-report picker."""
    choices = {}
    for info in sorted(versions, key=lambda v: int(v["version"]), reverse=True):
        if info.get("run_id"):
            aliases = ", ".join(info.get("aliases") or [])
            choices[f"v{info['version']}" + (f" ({aliases})" if aliases else "")] = info["run_id"]
    return choices
