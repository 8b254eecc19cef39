"""The registry as tables for the operator: versions with their own last move, the alias history, a
candidate's metrics next to the champion's, and where the timeline's markers go."""

from __future__ import annotations

from typing import Any

import pandas as pd

ALIASES = ("champion", "challenger")
_METRICS = ("test_roc_auc", "test_pr_auc", "test_ks", "threshold")
COMPARED = {  # metric -> (label, higher is better)
    "test_roc_auc": ("Test ROC AUC", True),
    "test_pr_auc": ("Test PR AUC", True),
    "test_ks": ("Test KS", True),
    "test_business_cost": ("Test business cost", False),
    "threshold": ("Decision threshold", None),
}


def last_moves(history: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each version's latest alias move (promotion, rollback, archive, clear), by version."""
    moves: dict[str, dict[str, Any]] = {}
    for event in sorted(history, key=lambda e: str(e.get("when"))):
        if event.get("version") is not None:
            moves[str(event["version"])] = event
    return moves


def versions_table(
    versions: list[dict[str, Any]], history: list[dict[str, Any]] | None = None
) -> pd.DataFrame:
    """One row per version: aliases, key metrics, creation time, and its own last move (what, who, why)."""
    moves = last_moves(history or [])
    rows = []
    for info in versions:
        metrics = info.get("metrics") or {}
        move = moves.get(str(info["version"]))
        rows.append(
            {
                "version": str(info["version"]),
                "aliases": ", ".join(info.get("aliases") or []),
                **{name: metrics.get(name) for name in _METRICS},
                "created": info.get("created"),
                "last move": _move_label(move) if move else None,
                "by": move.get("who") if move else None,
                "why": move.get("why") if move else None,
                "archived": bool(info.get("archived")),
            }
        )
    return pd.DataFrame(rows)


def _move_label(move: dict[str, Any]) -> str:
    action, alias = move.get("action"), move.get("alias")
    when = str(move.get("when") or "")[:16].replace("T", " ")
    what = {"promote": f"made {alias}", "rollback": f"{alias} again (rollback)", "clear": f"{alias} cleared"}
    return f"{what.get(str(action), str(action))}, {when}"


def history_table(events: list[dict[str, Any]]) -> pd.DataFrame:
    """Alias moves, newest first, as a timeline of who moved what where and why."""
    if not events:
        return pd.DataFrame(columns=["when", "action", "alias", "from", "to", "who", "why", "forced"])
    table = pd.DataFrame(events).rename(columns={"previous": "from", "version": "to"})
    table["when"] = pd.to_datetime(table["when"], utc=True, format="ISO8601")
    columns = ["when", "action", "alias", "from", "to", "who", "why", "forced"]
    return table[columns].sort_values("when", ascending=False).reset_index(drop=True)


def timeline_lanes(history: pd.DataFrame, min_gap: float = 0.04) -> pd.Series:
    """A vertical position per move: its alias's row, shifted up a lane for each earlier move of that
    row closer in time than `min_gap` of the whole span, so that no two markers sit on each other."""
    rows = {alias: i for i, alias in enumerate(sorted(history["alias"].replace("", "(archived)").unique()))}
    times = history["when"].astype("int64")
    span = max(int(times.max() - times.min()), 1)
    lanes = pd.Series(0.0, index=history.index)
    for alias, part in history.assign(row=history["alias"].replace("", "(archived)")).groupby("row"):
        placed: list[tuple[int, float]] = []
        for index in part.sort_values("when").index:
            moment = int(times[index])
            near = {lane for t, lane in placed if abs(moment - t) < min_gap * span}
            lane = next(step * 0.25 for step in range(len(near) + 1) if step * 0.25 not in near)
            placed.append((moment, lane))
            lanes[index] = rows[alias] + lane
    return lanes


def comparison(versions: list[dict[str, Any]], candidate: str, champion: str | None) -> pd.DataFrame:
    """The candidate's key metrics next to the champion's, with the difference and which is better."""
    by_version = {str(v["version"]): v.get("metrics") or {} for v in versions}
    mine, theirs = by_version.get(str(candidate), {}), by_version.get(str(champion), {}) if champion else {}
    rows = []
    for metric, (label, higher) in COMPARED.items():
        if metric not in mine:
            continue
        row: dict[str, Any] = {"metric": label, f"v{candidate} (candidate)": mine[metric]}
        if champion and champion != candidate and metric in theirs:
            difference = mine[metric] - theirs[metric]
            row[f"v{champion} (champion)"] = theirs[metric]
            row["difference"] = difference
            better = None if higher is None or difference == 0 else (difference > 0) == higher
            row["candidate is"] = "-" if better is None else "better" if better else "worse"
        rows.append(row)
    return pd.DataFrame(rows)


def report_choices(versions: list[dict[str, Any]]) -> dict[str, str]:
    """Version label ("v3 (champion)") → run id, newest first, for the validation-report picker."""
    choices = {}
    for info in sorted(versions, key=lambda v: int(v["version"]), reverse=True):
        if info.get("run_id"):
            aliases = ", ".join(info.get("aliases") or [])
            choices[f"v{info['version']}" + (f" ({aliases})" if aliases else "")] = info["run_id"]
    return choices
