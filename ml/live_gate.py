"""The gate's live criteria: is the candidate's shadow record against the current champion good
enough to promote it? Judged on `ml.compare_live`'s report; the verdict says the figures it used."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ml.compare_live import compare_live
from ml.config import LiveGateParams


def judge(pair: dict[str, Any] | None, live: LiveGateParams) -> dict[str, Any]:
    """The live verdict of one champion/challenger pair of the report (None: never shadowed)."""
    outcomes = (pair or {}).get("outcomes") or {}
    rows: int = pair["rows"] if pair else 0
    figures: dict[str, Any] = {
        "rows": rows,
        "swap_share": pair["swap_share"] if pair else None,
        "refusal_rate_change": pair["refusal_rate_change"] if pair else None,
        "champion_auc": outcomes.get("champion_auc"),
        "challenger_auc": outcomes.get("challenger_auc"),
    }
    failures = []
    if live.min_rows is not None and rows < live.min_rows:
        failures.append(f"only {rows} shadowed decisions; the live gate needs {live.min_rows}")
    if pair and live.max_swap_share is not None and pair["swap_share"] > live.max_swap_share:
        failures.append(f"swap set {pair['swap_share']:.1%} of clients is over {live.max_swap_share:.1%}")
    if (
        pair
        and live.max_refusal_rate_increase is not None
        and pair["refusal_rate_change"] > live.max_refusal_rate_increase
    ):
        failures.append(
            f"refusal rate up {pair['refusal_rate_change']:.1%} (at most {live.max_refusal_rate_increase:.1%})"
        )
    champion_auc, challenger_auc = figures["champion_auc"], figures["challenger_auc"]
    if (
        live.max_realized_auc_drop is not None
        and champion_auc is not None
        and challenger_auc is not None
        and challenger_auc < champion_auc - live.max_realized_auc_drop
    ):
        failures.append(f"realized AUC {challenger_auc:.4f} is below the champion's {champion_auc:.4f}")
    return {
        "enforced": live.enabled,
        "passed": not failures,
        "failures": failures,
        "figures": figures,
        "criteria": live.model_dump(),
    }


def live_verdict(
    url: str | None, model_name: str, champion: str, candidate: str, live: LiveGateParams
) -> dict[str, Any]:
    """The live verdict of `candidate` as challenger of `champion` over the gate's window."""
    since = datetime.now(UTC) - timedelta(hours=live.window_hours)
    report = compare_live(url, model_name, since=since)
    pair = next(
        (
            p
            for p in report["pairs"]
            if p["champion_version"] == champion and p["challenger_version"] == candidate
        ),
        None,
    )
    return {**judge(pair, live), "champion_version": champion, "candidate_version": candidate}
