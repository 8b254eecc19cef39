"""Fairness per protected group, with fairlearn: approval rates, the four-fifths ratio, equal
opportunity and AUC, each with a bootstrap confidence interval.

An approval is the favourable outcome and a client who repaid (target 0) is the "qualified" one, so
equal opportunity compares the share of good clients each group gets approved (fairlearn's
true-positive rate with approval as the positive prediction and repayment as the positive label).
Groups smaller than `min_group_rows` are reported but not gated: their rates are noise.
fairlearn and scikit-learn (the train extra) are imported where figures are computed, so the
registry's gate and the API (which only read recorded figures or count approvals) do without them.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from ml.artifacts import FAIRNESS_ARTIFACT
from ml.config import FairnessGateParams, FairnessParams

DAYS_PER_YEAR = 365.25
MISSING_GROUP = "missing"


@dataclass
class GroupFigures:
    """One group of one attribute; the *_ci pairs are (low, high) bootstrap quantiles."""

    group: str
    rows: int
    approval_rate: float
    approval_ratio: float  # approval rate / that of the most-approved gated group (four-fifths rule)
    tpr: float  # share of the group's good clients who are approved
    tpr_gap: float  # highest gated group's TPR minus this one's
    auc: float | None
    gated: bool
    approval_rate_ci: tuple[float, float] | None = None
    tpr_ci: tuple[float, float] | None = None
    auc_ci: tuple[float, float] | None = None


@dataclass
class AttributeFairness:
    """Figures of one protected attribute; the summary figures cover the gated groups only."""

    attribute: str
    groups: list[GroupFigures]
    min_approval_ratio: float | None
    equal_opportunity_diff: float | None
    least_approved: str | None
    most_approved: str | None
    min_approval_ratio_ci: tuple[float, float] | None = None
    equal_opportunity_diff_ci: tuple[float, float] | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _age_band_labels(bands: list[int]) -> list[str]:
    edges = sorted(bands)
    labels = [f"under {edges[0]}"]
    labels += [f"{low}-{high - 1}" for low, high in zip(edges[:-1], edges[1:], strict=True)]
    return [*labels, f"{edges[-1]} and over"]


def group_labels(values: pd.Series, column: str, params: FairnessParams) -> pd.Series:
    """The group of each row: age bands for the age column (days before the application, negative),
    the value itself for a categorical column or a numeric one with few values, quartiles otherwise."""
    if column == params.age_column:
        years = -pd.to_numeric(values, errors="coerce") / DAYS_PER_YEAR
        edges = [-np.inf, *sorted(params.age_bands), np.inf]
        bands = pd.cut(years, edges, right=False, labels=_age_band_labels(params.age_bands))
        return bands.astype("string").fillna(MISSING_GROUP).astype(str)
    numeric = pd.api.types.is_numeric_dtype(values)
    if numeric and values.nunique(dropna=True) > params.max_groups:
        quartiles = pd.qcut(values, 4, duplicates="drop")
        return quartiles.astype("string").fillna(MISSING_GROUP).astype(str)
    if numeric:
        values = values.map(lambda v: f"{v:g}" if pd.notna(v) else None)
    return values.astype("string").fillna(MISSING_GROUP).astype(str)


def _auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """AUC, or NaN where a group (or a bootstrap sample of it) has a single class."""
    from sklearn.metrics import roc_auc_score

    y_true = np.asarray(y_true)
    if len(np.unique(y_true)) < 2:
        return float("nan")
    return float(roc_auc_score(y_true, scores))


def _pair(values: np.ndarray, confidence: float) -> tuple[float, float] | None:
    values = values[np.isfinite(values)]
    if not values.size:
        return None
    tail = (1 - confidence) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return float(low), float(high)


@dataclass
class _Bootstrap:
    """Resampled figures, one row per bootstrap sample and one column per group."""

    approval_rate: np.ndarray
    tpr: np.ndarray
    auc: np.ndarray


def _weighted_auc(weights: np.ndarray, target: np.ndarray, boundaries: np.ndarray) -> np.ndarray:
    """AUC of each row of `weights` (resample counts over rows sorted by score; ties share a block)."""
    positives = np.add.reduceat(weights * target, boundaries, axis=1)
    negatives = np.add.reduceat(weights * (1 - target), boundaries, axis=1)
    below = np.cumsum(negatives, axis=1) - negatives
    pairs = positives.sum(axis=1) * negatives.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(pairs > 0, (positives * (below + 0.5 * negatives)).sum(axis=1) / pairs, np.nan)


def _bootstrap(
    members: list[np.ndarray],
    target: np.ndarray,
    scores: np.ndarray,
    approved: np.ndarray,
    params: FairnessParams,
) -> _Bootstrap:
    """Stratified bootstrap (each group resampled within itself, sample b of every group together).

    Written with numpy rather than MetricFrame(n_boot=...): fairlearn rebuilds a frame per sample
    (about 0.1 s each, 35 s for 200 samples of 3,000 rows); resample counts make it a few matrix sums.
    """
    rng = np.random.default_rng(params.seed)
    n_boot = params.bootstrap
    shape = (n_boot, len(members))
    rates, tprs, aucs = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    for column, index in enumerate(members):
        order = index[np.argsort(scores[index], kind="stable")]
        size = len(order)
        draws = rng.integers(0, size, size=(n_boot, size)) + (np.arange(n_boot) * size)[:, None]
        weights = np.bincount(draws.ravel(), minlength=n_boot * size).reshape(n_boot, size).astype(float)
        sorted_scores, sorted_target = scores[order], target[order].astype(float)
        good, accepted = sorted_target == 0, approved[order]
        rates[:, column] = weights @ accepted / size
        with np.errstate(divide="ignore", invalid="ignore"):
            tprs[:, column] = (weights @ (accepted & good)) / (weights @ good)
        boundaries = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
        aucs[:, column] = _weighted_auc(weights, sorted_target, boundaries)
    return _Bootstrap(rates, tprs, aucs)


def _by_group(
    groups: pd.Series, target: np.ndarray, scores: np.ndarray, approved: np.ndarray
) -> pd.DataFrame:
    """Point figures per group with fairlearn: approval rate, TPR (approval among repaid), AUC."""
    from fairlearn.metrics import MetricFrame, selection_rate, true_positive_rate

    sensitive = groups.to_numpy()
    rates = MetricFrame(
        metrics={"approval_rate": selection_rate, "tpr": true_positive_rate},
        y_true=(target == 0).astype(int),
        y_pred=approved.astype(int),
        sensitive_features=sensitive,
    ).by_group
    auc = MetricFrame(metrics=_auc, y_true=target, y_pred=scores, sensitive_features=sensitive).by_group
    return rates.assign(auc=auc)


def assess_attribute(
    attribute: str,
    groups: pd.Series,
    target: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    params: FairnessParams,
) -> AttributeFairness:
    """Per-group figures of one attribute; refuse when score >= threshold (as the API does)."""
    groups = groups.reset_index(drop=True)
    target = np.asarray(target).astype(int)
    scores = np.asarray(scores, dtype=float)
    approved = scores < threshold
    figures = _by_group(groups, target, scores, approved)
    names = [str(name) for name in figures.index]
    members = [np.flatnonzero(groups.to_numpy() == name) for name in figures.index]
    rows = np.array([len(index) for index in members])
    gated = rows >= params.min_group_rows
    boot = _bootstrap(members, target, scores, approved, params) if params.bootstrap else None
    rate, tpr = figures["approval_rate"].to_numpy(), figures["tpr"].to_numpy()
    best_rate = np.max(rate[gated]) if gated.any() else np.nan
    best_tpr = np.max(tpr[gated]) if gated.any() else np.nan
    conf = params.confidence
    result = [
        GroupFigures(
            group=names[i],
            rows=int(rows[i]),
            approval_rate=float(rate[i]),
            approval_ratio=float(rate[i] / best_rate) if best_rate else float("nan"),
            tpr=float(tpr[i]),
            tpr_gap=float(best_tpr - tpr[i]),
            auc=None if np.isnan(figures["auc"].iloc[i]) else float(figures["auc"].iloc[i]),
            gated=bool(gated[i]),
            approval_rate_ci=_pair(boot.approval_rate[:, i], conf) if boot else None,
            tpr_ci=_pair(boot.tpr[:, i], conf) if boot else None,
            auc_ci=_pair(boot.auc[:, i], conf) if boot else None,
        )
        for i in range(len(names))
    ]
    summary: dict[str, Any] = {}
    if gated.sum() >= 2:
        gated_rate, gated_tpr = rate[gated], tpr[gated]
        gated_names = [n for n, keep in zip(names, gated, strict=True) if keep]
        summary = {
            "min_approval_ratio": float(gated_rate.min() / gated_rate.max()) if gated_rate.max() else None,
            "equal_opportunity_diff": float(gated_tpr.max() - gated_tpr.min()),
            "least_approved": gated_names[int(np.argmin(gated_rate))],
            "most_approved": gated_names[int(np.argmax(gated_rate))],
        }
        if boot:
            sample_rates, sample_tprs = boot.approval_rate[:, gated], boot.tpr[:, gated]
            with np.errstate(divide="ignore", invalid="ignore"):
                ratios = sample_rates.min(axis=1) / sample_rates.max(axis=1)
            summary["min_approval_ratio_ci"] = _pair(ratios, conf)
            summary["equal_opportunity_diff_ci"] = _pair(
                sample_tprs.max(axis=1) - sample_tprs.min(axis=1), conf
            )
    notes = [
        f"group {names[i]!r} has {rows[i]} rows (< {params.min_group_rows}): reported, not gated"
        for i in range(len(names))
        if not gated[i]
    ]
    return AttributeFairness(
        attribute=attribute,
        groups=result,
        min_approval_ratio=summary.get("min_approval_ratio"),
        equal_opportunity_diff=summary.get("equal_opportunity_diff"),
        least_approved=summary.get("least_approved"),
        most_approved=summary.get("most_approved"),
        min_approval_ratio_ci=summary.get("min_approval_ratio_ci"),
        equal_opportunity_diff_ci=summary.get("equal_opportunity_diff_ci"),
        notes=notes,
    )


def assess(
    frame: pd.DataFrame, target: np.ndarray, scores: np.ndarray, threshold: float, params: FairnessParams
) -> list[AttributeFairness]:
    """Figures for every protected attribute present in `frame` (absent ones are skipped)."""
    return [
        assess_attribute(
            column, group_labels(frame[column], column, params), target, scores, threshold, params
        )
        for column in params.protected
        if column in frame.columns
    ]


def _metric_key(*parts: str) -> str:
    """An MLflow-safe metric name (group labels like 'under 25' or '(0.5, 1.0]')."""
    return "_".join(re.sub(r"[^0-9A-Za-z]+", "_", part).strip("_") for part in parts)


def as_metrics(results: list[AttributeFairness]) -> dict[str, float]:
    """Flat metrics for the training run: the gate's summary figures and every group's rates."""
    metrics: dict[str, float] = {}
    for result in results:
        if result.min_approval_ratio is not None:
            metrics[_metric_key("fairness", result.attribute, "min_approval_ratio")] = (
                result.min_approval_ratio
            )
        if result.equal_opportunity_diff is not None:
            metrics[_metric_key("fairness", result.attribute, "equal_opportunity_diff")] = (
                result.equal_opportunity_diff
            )
        for group in result.groups:
            key = _metric_key("fairness", result.attribute, group.group)
            metrics[f"{key}_approval_rate"] = group.approval_rate
            metrics[f"{key}_tpr"] = group.tpr
            if group.auc is not None:
                metrics[f"{key}_auc"] = group.auc
    return metrics


def as_table(results: list[AttributeFairness]) -> pd.DataFrame:
    """One row per attribute and group, rates as fractions, CIs as low/high columns."""
    rows = []
    for result in results:
        for g in result.groups:
            ci = {
                f"{name}_{end}": (value[i] if value else None)
                for name, value in (
                    ("approval_rate", g.approval_rate_ci),
                    ("tpr", g.tpr_ci),
                    ("auc", g.auc_ci),
                )
                for i, end in enumerate(("low", "high"))
            }
            rows.append(
                {
                    "attribute": result.attribute,
                    "group": g.group,
                    "rows": g.rows,
                    "approval_rate": g.approval_rate,
                    "approval_ratio": g.approval_ratio,
                    "tpr": g.tpr,
                    "tpr_gap": g.tpr_gap,
                    "auc": g.auc,
                    "gated": g.gated,
                    **ci,
                }
            )
    return pd.DataFrame(rows)


def gate_failures(results: list[AttributeFairness], gate: FairnessGateParams) -> list[str]:
    """Why the fairness criteria refuse (empty = they pass), with the figures."""
    if not gate.enabled:
        return []
    failures = []
    judged = [r for r in results if gate.attributes is None or r.attribute in gate.attributes]
    for result in judged:
        ratio, diff = result.min_approval_ratio, result.equal_opportunity_diff
        if gate.min_approval_ratio is not None and ratio is not None and ratio < gate.min_approval_ratio:
            rates = {g.group: g.approval_rate for g in result.groups}
            failures.append(
                f"{result.attribute}: approval-rate ratio {ratio:.2f} is below the minimum "
                f"{gate.min_approval_ratio:.2f} (group {result.least_approved!r} approved "
                f"{rates[result.least_approved]:.1%}, group {result.most_approved!r} {rates[result.most_approved]:.1%})"
            )
        if (
            gate.max_equal_opportunity_diff is not None
            and diff is not None
            and diff > gate.max_equal_opportunity_diff
        ):
            failures.append(
                f"{result.attribute}: equal-opportunity difference {diff:.1%} (approval rate of clients who "
                f"repaid, between groups) is above the maximum {gate.max_equal_opportunity_diff:.1%}"
            )
    return failures


def results_from_dict(data: list[dict[str, Any]]) -> list[AttributeFairness]:
    """Read back the JSON artifact logged at training."""
    results = []
    for item in data:
        groups = [GroupFigures(**g) for g in item.get("groups", [])]
        results.append(AttributeFairness(**{**item, "groups": groups}))
    return results


def live_approval_rates(log: pd.DataFrame, params: FairnessParams, window: str = "1D") -> pd.DataFrame:
    """Approval rate per protected group and time window of the inference log (no outcomes needed):
    one row per window, attribute and group with rows, approval rate and the ratio to the
    most-approved group of that window (groups under `min_group_rows` are listed, not in the ratio).

    A plain group-by mean (fairlearn's selection rate) so the API computes it without the train extra.
    """
    columns = ["window", "attribute", "group", "rows", "approval_rate", "approval_ratio", "gated"]
    if log.empty or "decision" not in log:
        return pd.DataFrame(columns=columns)
    frames = []
    for column in params.protected:
        if column not in log.columns:
            continue
        data = pd.DataFrame(
            {
                "window": pd.to_datetime(log["ts"], utc=True).dt.floor(window),
                "group": group_labels(log[column], column, params).to_numpy(),
                "approved": (log["decision"] == "approve").to_numpy(),
            }
        )
        rates = (
            data.groupby(["window", "group"])["approved"].agg(rows="size", approval_rate="mean").reset_index()
        )
        rates["gated"] = rates["rows"] >= params.min_group_rows
        best = rates[rates["gated"]].groupby("window")["approval_rate"].max()
        rates["approval_ratio"] = rates["approval_rate"] / rates["window"].map(best)
        rates["window"] = rates["window"].map(lambda moment: moment.isoformat())
        frames.append(rates.assign(attribute=column))
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def read_decisions(
    database_url: str | None,
    columns: list[str],
    last_n: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> pd.DataFrame:
    """ts, decision and the `columns` of the logged rows, oldest first; only those keys are kept from
    each row's features, so memory follows the rows read, not the width of the model."""
    from ml.inference_log import create_log_engine, inference_log

    table = inference_log
    query = sa.select(table.c.ts, table.c.decision, table.c.features).order_by(table.c.id.desc())
    if since is not None:
        query = query.where(
            table.c.ts >= since.astimezone(UTC).replace(tzinfo=None) if since.tzinfo else since
        )
    if until is not None:
        query = query.where(
            table.c.ts < until.astimezone(UTC).replace(tzinfo=None) if until.tzinfo else until
        )
    if last_n is not None:
        query = query.limit(last_n)
    engine = create_log_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = []
            for ts, decision, features in connection.execute(query):
                values = json.loads(features)
                rows.append((ts, decision, *(values.get(name) for name in columns)))
    finally:
        engine.dispose()
    rows.reverse()
    frame = pd.DataFrame(rows, columns=["ts", "decision", *columns])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame


def live_summary(rates: pd.DataFrame) -> list[dict[str, Any]]:
    """Per attribute, the newest window's lowest approval-rate ratio among gated groups, with the groups."""
    out = []
    if rates.empty:
        return out
    for attribute, frame in rates.groupby("attribute", sort=False):
        latest = frame[frame["window"] == frame["window"].max()]
        gated = latest[latest["gated"]]
        if len(gated) < 2:
            ratio, least, most = None, None, None
        else:
            ratio = (
                float(gated["approval_rate"].min() / gated["approval_rate"].max())
                if gated["approval_rate"].max()
                else None
            )
            least = str(gated.loc[gated["approval_rate"].idxmin(), "group"])
            most = str(gated.loc[gated["approval_rate"].idxmax(), "group"])
        out.append(
            {
                "attribute": str(attribute),
                "window": str(latest["window"].iloc[0]),
                "rows": int(latest["rows"].sum()),
                "min_approval_ratio": ratio,
                "least_approved": least,
                "most_approved": most,
                "approval_rates": {
                    str(g): float(r) for g, r in zip(latest["group"], latest["approval_rate"], strict=True)
                },
            }
        )
    return out


def gate_summary(results: list[AttributeFairness] | None) -> list[dict[str, Any]]:
    """The figures a gate verdict records per attribute (None: the run has no fairness figures)."""
    if results is None:
        return [{"note": "the run has no fairness figures (trained before they existed); not checked"}]
    return [
        {
            "attribute": r.attribute,
            "min_approval_ratio": r.min_approval_ratio,
            "min_approval_ratio_ci": r.min_approval_ratio_ci,
            "equal_opportunity_diff": r.equal_opportunity_diff,
            "equal_opportunity_diff_ci": r.equal_opportunity_diff_ci,
            "least_approved": r.least_approved,
            "most_approved": r.most_approved,
            "approval_rates": {g.group: g.approval_rate for g in r.groups},
        }
        for r in results
    ]


def load_run_fairness(client: Any, run_id: str | None) -> list[AttributeFairness] | None:
    """The fairness figures logged with a training run (None when it has none)."""
    if not run_id:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client.download_artifacts(run_id, FAIRNESS_ARTIFACT, tmp)
        except Exception:  # noqa: BLE001 - MLflow raises several types for a missing artifact
            return None
        return results_from_dict(json.loads(Path(path).read_text()))
