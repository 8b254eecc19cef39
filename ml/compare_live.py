"""Champion vs challenger on live traffic: what the challenger would have done to the same clients.

Reads the champion's decisions joined with their shadow scores (ml/shadow_log.py) over a window and
reports, per champion/challenger pair: the swap set (approve/refuse x approve/refuse), refusal
rates, score correlation, the PSI between the two score distributions, the score difference, and
the features that most separate the swap-in clients (the challenger would approve, the champion
refused) from the swap-out ones (the reverse). Where outcomes are recorded it adds the realized bad
rate and AUC of both models and the bad rate of swap-in and swap-out clients.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from ml.config import StabilityParams
from ml.performance import roc_auc
from ml.shadow_log import read_features, read_pairs, shadow_engine
from ml.stability import band, column_stability, psi

DECISIONS = ("approve", "refuse")
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
HISTOGRAM_BINS = 20
MIN_GROUP_ROWS = 20  # fewer swap-in or swap-out clients: no separating features (too few to say)
MIN_OUTCOME_ROWS = 30  # fewer outcomes (or one class only): no realized AUC
TOP_FEATURES = 8
FEATURE_SAMPLE_ROWS = 5_000  # swap-in / swap-out clients whose features are read, at most


def compare_live(
    url: str | None,
    model_name: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    last_n: int | None = None,
    stability: StabilityParams | None = None,
) -> dict[str, Any]:
    """The comparison report of the window (JSON-ready); its pairs, most recent first."""
    stability = stability or StabilityParams()
    frame = read_pairs(url, model_name, since, until, last_n)
    frame = _with_outcomes(url, frame)
    pairs = []
    if len(frame):
        latest = frame.groupby(["champion_version", "challenger_version"], sort=False)["decision_id"].max()
        for champion, challenger in latest.sort_values(ascending=False).index:
            rows = frame[(frame.champion_version == champion) & (frame.challenger_version == challenger)]
            pairs.append(compare_pair(rows, stability, lambda ids: read_features(url, ids)))
    return {
        "model_name": model_name,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "last_n": last_n,
        "rows": int(len(frame)),
        "pairs": pairs,
    }


def _with_outcomes(url: str | None, frame: pd.DataFrame) -> pd.DataFrame:
    """Add `defaulted` (0/1, NaN where no outcome is recorded) when the outcomes table exists."""
    frame = frame.assign(defaulted=np.nan)
    engine = shadow_engine(url)
    if not len(frame) or not sa.inspect(engine).has_table("outcomes"):
        return frame
    ids = frame["decision_id"].astype(int).tolist()
    found: list[tuple[int, int]] = []
    with engine.connect() as connection:
        for start in range(0, len(ids), 10_000):
            chunk = ids[start : start + 10_000]
            found += [
                (int(decision), int(defaulted))
                for decision, defaulted in connection.execute(
                    sa.text(
                        "SELECT decision_id, defaulted FROM outcomes WHERE decision_id IN :ids"
                    ).bindparams(sa.bindparam("ids", expanding=True)),
                    {"ids": chunk},
                )
            ]
    known = dict(found)
    frame["defaulted"] = frame["decision_id"].map(known).astype(float)
    return frame


def compare_pair(
    rows: pd.DataFrame, stability: StabilityParams, features: Callable[[list[int]], pd.DataFrame]
) -> dict[str, Any]:
    """The report of one champion/challenger pair over its rows (`features` reads logged features)."""
    champion = rows["champion_probability"].to_numpy(float)
    challenger = rows["challenger_probability"].to_numpy(float)
    n = len(rows)
    swap = {
        f"{a}_{b}": _count_share(
            int(((rows.champion_decision == a) & (rows.challenger_decision == b)).sum()), n
        )
        for a in DECISIONS
        for b in DECISIONS
    }
    swap_in = (rows.champion_decision == "refuse") & (rows.challenger_decision == "approve")
    swap_out = (rows.champion_decision == "approve") & (rows.challenger_decision == "refuse")
    refusal = {
        "champion": float((rows.champion_decision == "refuse").mean()),
        "challenger": float((rows.challenger_decision == "refuse").mean()),
    }
    edges = np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1)
    champion_counts = np.histogram(champion, edges)[0]
    challenger_counts = np.histogram(challenger, edges)[0]
    score_psi = _score_psi(champion, challenger, stability)
    difference = challenger - champion
    return {
        "champion_version": str(rows.champion_version.iloc[0]),
        "challenger_version": str(rows.challenger_version.iloc[0]),
        "rows": n,
        "first": rows.ts.min().isoformat(),
        "last": rows.ts.max().isoformat(),
        "swap": swap,
        "swap_in": int(swap_in.sum()),
        "swap_out": int(swap_out.sum()),
        "swap_share": float((swap_in | swap_out).mean()),
        "refusal_rate": refusal,
        "refusal_rate_change": refusal["challenger"] - refusal["champion"],
        "correlation": {
            "pearson": _correlation(champion, challenger),
            "spearman": _correlation(_ranks(champion), _ranks(challenger)),
        },
        "psi": score_psi,
        "psi_band": band(score_psi, stability),
        "difference": {
            "mean": float(difference.mean()),
            "std": float(difference.std()),
            "quantiles": {f"p{round(q * 100):02d}": float(np.quantile(difference, q)) for q in QUANTILES},
        },
        "histogram": {
            "edges": edges.tolist(),
            "champion": champion_counts.tolist(),
            "challenger": challenger_counts.tolist(),
        },
        "separating_features": separating_features(
            features(_sample(rows[swap_in])), features(_sample(rows[swap_out])), stability
        ),
        "outcomes": _outcome_figures(rows, swap_in, swap_out),
    }


def _count_share(count: int, total: int) -> dict[str, float | int]:
    return {"count": count, "share": count / total if total else 0.0}


def _score_psi(champion: np.ndarray, challenger: np.ndarray, stability: StabilityParams) -> float:
    """PSI of the challenger's scores against the champion's, over the champion's score deciles."""
    inner = np.unique(np.quantile(champion, np.linspace(0, 1, stability.score_bands + 1)[1:-1]))
    return psi(
        np.bincount(np.searchsorted(inner, champion, side="right"), minlength=len(inner) + 1),
        np.bincount(np.searchsorted(inner, challenger, side="right"), minlength=len(inner) + 1),
    )


def _ranks(values: np.ndarray) -> np.ndarray:
    ranks: np.ndarray = pd.Series(values).rank().to_numpy(float)
    return ranks


def _correlation(a: np.ndarray, b: np.ndarray) -> float | None:
    if len(a) < 2 or np.std(a) == 0 or np.std(b) == 0:
        return None
    return float(np.corrcoef(a, b)[0, 1])


def _sample(rows: pd.DataFrame) -> list[int]:
    """Decision ids of at most FEATURE_SAMPLE_ROWS of the rows (their features are read, not all)."""
    if len(rows) > FEATURE_SAMPLE_ROWS:
        rows = rows.sample(FEATURE_SAMPLE_ROWS, random_state=0)
    return [int(decision) for decision in rows["decision_id"]]


def separating_features(
    features_in: pd.DataFrame, features_out: pd.DataFrame, stability: StabilityParams
) -> list[dict[str, Any]]:
    """Features whose distribution differs most between swap-in and swap-out clients (PSI of one
    group against the other, categories and missing values as their own bins), largest first."""
    if len(features_in) < MIN_GROUP_ROWS or len(features_out) < MIN_GROUP_ROWS:
        return []
    found = []
    for name in sorted(set(features_in.columns) | set(features_out.columns)):
        a = features_in[name] if name in features_in else pd.Series(np.nan, index=features_in.index)
        b = features_out[name] if name in features_out else pd.Series(np.nan, index=features_out.index)
        numeric = pd.api.types.is_numeric_dtype(a.dropna()) and pd.api.types.is_numeric_dtype(b.dropna())
        if numeric:
            values_in, values_out = a.to_numpy(float), b.to_numpy(float)
            summary: dict[str, float | str | None] = {
                "swap_in": _nanmean(values_in),
                "swap_out": _nanmean(values_out),
            }
        else:
            codes, _ = pd.factorize(pd.concat([a, b]).astype("string"), use_na_sentinel=True)
            codes = np.where(codes < 0, np.nan, codes).astype(float)
            values_in, values_out = codes[: len(a)], codes[len(a) :]
            summary = {"swap_in": _top(a), "swap_out": _top(b)}
        kind = "numeric" if numeric else "categorical"
        index = column_stability(name, kind, values_out, values_in, stability).csi
        found.append({"feature": name, "kind": kind, "separation": index, **summary})
    found.sort(key=lambda item: -item["separation"])
    return found[:TOP_FEATURES]


def _nanmean(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else None


def _top(values: pd.Series) -> str | None:
    counts = values.dropna().astype(str).value_counts()
    return f"{counts.index[0]} ({counts.iloc[0] / len(values):.0%})" if len(counts) else None


def _outcome_figures(rows: pd.DataFrame, swap_in: pd.Series, swap_out: pd.Series) -> dict[str, Any] | None:
    """Realized figures on the rows whose outcome is recorded; None when there are none."""
    known = rows["defaulted"].notna()
    if not known.any():
        return None
    y = rows.loc[known, "defaulted"].to_numpy(int)
    both_classes = len(y) >= MIN_OUTCOME_ROWS and 0 < y.sum() < len(y)
    return {
        "rows": int(known.sum()),
        "bad_rate": float(y.mean()),
        "champion_auc": roc_auc(y, rows.loc[known, "champion_probability"].to_numpy())
        if both_classes
        else None,
        "challenger_auc": (
            roc_auc(y, rows.loc[known, "challenger_probability"].to_numpy()) if both_classes else None
        ),
        "swap_in": _bad_rate(rows.loc[known & swap_in, "defaulted"]),
        "swap_out": _bad_rate(rows.loc[known & swap_out, "defaulted"]),
    }


def _bad_rate(defaulted: pd.Series) -> dict[str, Any]:
    return {"rows": int(len(defaulted)), "bad_rate": float(defaulted.mean()) if len(defaulted) else None}


def report_markdown(report: dict[str, Any]) -> str:
    """A short digest of the report (the monitor workflow's summary, the CLI without --json)."""
    if not report["pairs"]:
        return "**Champion vs challenger**: no shadow scores in the window.\n"
    lines = ["### Champion vs challenger (shadow scoring)", ""]
    for pair in report["pairs"]:
        swap, refusal = pair["swap"], pair["refusal_rate"]
        lines += [
            f"**v{pair['champion_version']} (champion) vs v{pair['challenger_version']} (challenger)**: "
            f"{pair['rows']} rows, swap set {pair['swap_share']:.1%} "
            f"(swap-in {pair['swap_in']}, swap-out {pair['swap_out']}), refusal rate "
            f"{refusal['champion']:.1%} -> {refusal['challenger']:.1%}, score PSI {pair['psi']:.3f} "
            f"({pair['psi_band']}), correlation {_fmt(pair['correlation']['pearson'])}",
            "",
            "| champion \\ challenger | approve | refuse |",
            "|---|---|---|",
            f"| approve | {swap['approve_approve']['count']} | {swap['approve_refuse']['count']} |",
            f"| refuse | {swap['refuse_approve']['count']} | {swap['refuse_refuse']['count']} |",
            "",
        ]
        if pair["separating_features"]:
            top = ", ".join(
                f"{f['feature']} ({f['separation']:.2f})" for f in pair["separating_features"][:5]
            )
            lines += [f"Separating swap-in from swap-out: {top}", ""]
        outcomes = pair["outcomes"]
        if outcomes:
            lines += [
                f"Outcomes: {outcomes['rows']} rows, bad rate {outcomes['bad_rate']:.1%}, AUC champion "
                f"{_fmt(outcomes['champion_auc'])} vs challenger {_fmt(outcomes['challenger_auc'])}",
                "",
            ]
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
