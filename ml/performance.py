"""Realized performance (decisions joined with their outcomes) and estimated performance before them.

Per model version and cohort (month of the decision, or one window): decisions, approvals, how many
wait for an outcome, and once decisions are `maturity_days` old, the realized bad rate, ROC AUC, KS,
Brier score and business cost, next to the same figures on the approved part of the training run's
test set. For every cohort, outcomes or not, an estimate from the model's own probabilities:
confidence-based performance estimation (CBPE; NannyML, "Estimating model performance without
ground truth", docs.nannyml.com/stable/how_it_works/performance_estimation.html). If the
probabilities are calibrated, a decision with probability p defaults with probability p, so the
expected confusion counts at every threshold, hence the expected ROC curve and AUC, follow from the
probabilities alone. NannyML itself cannot be installed beside this project's pins (it requires
Jinja2<3.1 or lightgbm<4.6), hence this implementation.

The estimate is computed in SQL over probability bins (count and sum per bin), so a report over a
million decisions moves a few thousand numbers, not a million; realized figures need the rows with
an outcome, which are fetched once.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from ml.config import CostParams, PerformanceParams
from ml.inference_log import inference_log
from ml.outcomes import outcomes, outcomes_engine

CALIBRATION_TAG = "calibration_test"  # the run tag holding the test set's reliability curve (JSON)
BINS = 2000  # probability bins of the estimate: its AUC is exact to well under 0.001
SELECTION_BIAS = (
    "Outcomes exist only for approved clients: a refused client never had the loan. Realized figures "
    "describe the approved population, where the riskiest clients are missing, so its AUC is lower "
    "and its bad rate lower than over all applicants even for an unchanged model. They are compared "
    "with the same figures on the approved part of the training test set, not with the headline "
    "training AUC. How refused clients would have repaid is unknown (no reject inference here)."
)
ESTIMATE_ASSUMPTION = (
    "The estimate assumes the model's probabilities are still calibrated: it sees a change in who "
    "applies, not a change in how the same clients repay (concept drift); realized figures do."
)
TrainingLookup = Callable[[str], "TrainingFigures | None"]


@dataclass(frozen=True)
class TrainingFigures:
    """What the training run measured, for comparison: on the approved part of the test set when
    the run logged it (runs before outcomes existed only have the whole test set's AUC)."""

    run_id: str | None
    metrics: dict[str, float]
    calibration: dict[str, Any] | None

    def comparison(self) -> dict[str, float | None]:
        get = self.metrics.get
        return {
            "roc_auc": get("test_approved_roc_auc", get("test_roc_auc")),
            "bad_rate": get("test_approved_bad_rate"),
            "ks": get("test_approved_ks"),
            "brier": get("test_approved_brier"),
            "business_cost": get("test_approved_business_cost"),
            "test_roc_auc_all_applicants": get("test_roc_auc"),
            "ece": get("test_ece"),
            "estimate_error": (
                abs(get("test_approved_estimated_roc_auc") - get("test_approved_roc_auc"))
                if "test_approved_estimated_roc_auc" in self.metrics
                and "test_approved_roc_auc" in self.metrics
                else None
            ),
        }


def _cohort(dialect: str, column: sa.ColumnElement, window: bool) -> sa.ColumnElement:
    """The month of the decision as 'YYYY-MM' (or one cohort for a window)."""
    if window:
        return sa.literal("window")
    if dialect == "postgresql":
        return sa.func.to_char(sa.func.date_trunc("month", column), "YYYY-MM")
    return sa.func.strftime("%Y-%m", column)


def _filters(log: sa.Table, model_name: str | None, since: datetime | None, until: datetime | None) -> list:
    clauses = []
    if model_name:
        clauses.append(log.c.model_name == model_name)
    if since is not None:
        clauses.append(log.c.ts >= _naive(since))
    if until is not None:
        clauses.append(log.c.ts < _naive(until))
    return clauses


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _read_frame(engine: sa.Engine, query: sa.Select) -> pd.DataFrame:
    """A query's rows as a frame. On PostgreSQL through COPY and pandas' CSV parser: for the
    300,000 rows of a large report that is several times faster than building Python rows."""
    names = [column.name for column in query.selected_columns]
    with engine.connect() as connection:
        if engine.dialect.name != "postgresql":
            rows = connection.execute(query).all()
            return pd.DataFrame(
                dict(zip(names, zip(*rows, strict=True), strict=True)) if rows else [], columns=names
            )
        compiled = query.compile(dialect=engine.dialect)
        cursor = connection.connection.driver_connection.cursor()
        try:
            sql = cursor.mogrify(str(compiled), compiled.params).decode()  # values quoted by the driver
            buffer = io.StringIO()
            cursor.copy_expert(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER true)", buffer)
        finally:
            cursor.close()
    buffer.seek(0)
    return pd.read_csv(buffer, dtype={"model_version": str, "cohort": str}, float_precision="round_trip")


def read_bins(engine: sa.Engine, window: bool, where: list) -> pd.DataFrame:
    """Per version, cohort, decision and probability bin: decisions, and the sum of their
    probabilities and of their squares. One pass over the log, aggregated in the database; on
    PostgreSQL the month is grouped as a timestamp and formatted after (a third less work)."""
    log = inference_log
    postgres = engine.dialect.name == "postgresql" and not window
    month = (
        sa.func.date_trunc("month", log.c.ts) if postgres else _cohort(engine.dialect.name, log.c.ts, window)
    )
    bin_ = sa.cast(log.c.probability * BINS, sa.Integer).label("bin")
    grouped = (
        sa.select(
            log.c.model_version,
            month.label("cohort"),
            log.c.decision,
            bin_,
            sa.func.count().label("n"),
            sa.func.sum(log.c.probability).label("p"),
            sa.func.sum(log.c.probability * log.c.probability).label("p2"),
        )
        .where(log.c.probability.is_not(None), *where)
        .group_by(log.c.model_version, month, log.c.decision, bin_)
    )
    if postgres:
        inner = grouped.subquery()
        cohort = sa.func.to_char(inner.c.cohort, "YYYY-MM").label("cohort")
        grouped = sa.select(
            inner.c.model_version, cohort, inner.c.decision, inner.c.bin, inner.c.n, inner.c.p, inner.c.p2
        )
    return _read_frame(engine, grouped)


def read_outcome_rows(engine: sa.Engine, cutoff: datetime, window: bool, where: list) -> pd.DataFrame:
    """Every decision with an outcome: version, cohort, probability, decision, defaulted, and
    whether the decision is mature (old enough for its outcome to count)."""
    log = inference_log
    query = (
        sa.select(
            log.c.model_version,
            _cohort(engine.dialect.name, log.c.ts, window).label("cohort"),
            log.c.probability,
            log.c.decision,
            outcomes.c.defaulted,
            sa.case((log.c.ts <= cutoff, 1), else_=0).label("mature"),
        )
        .select_from(log.join(outcomes, outcomes.c.decision_id == log.c.id))
        .where(log.c.probability.is_not(None), *where)
    )
    return _read_frame(engine, query)


def estimate_from_bins(n: np.ndarray, p_sum: np.ndarray, p2_sum: np.ndarray) -> dict[str, float]:
    """CBPE over probability bins: expected bad rate, Brier score and ROC AUC if calibrated.

    Bin i holds n_i decisions with mean probability s_i = p_i / n_i: p_i expected defaulters and
    n_i - p_i expected good clients. The expected ROC AUC is the chance a defaulter scores above a
    good client (ties count half), summed over bins in ascending score.
    """
    keep = n > 0
    n, p_sum, p2_sum = n[keep], p_sum[keep], p2_sum[keep]
    order = np.argsort(p_sum / n, kind="stable")
    positives, negatives = p_sum[order], (n - p_sum)[order]
    total_pos, total_neg = positives.sum(), negatives.sum()
    rows = float(n.sum())
    below = np.cumsum(negatives) - negatives
    auc = (
        float(np.sum(positives * (below + 0.5 * negatives)) / (total_pos * total_neg))
        if total_pos and total_neg
        else float("nan")
    )
    return {
        "rows": int(rows),
        "bad_rate": float(total_pos / rows),
        "brier": float((p_sum.sum() - p2_sum.sum()) / rows),  # E[(y - p)^2] = p(1 - p) per decision
        "roc_auc": auc,
    }


def roc_auc(y: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic (ties count half). NumPy only: the API process keeps
    scikit-learn out of memory; the tests check it against scikit-learn."""
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    average_rank = np.cumsum(counts) - (counts - 1) / 2  # 1-based mean rank of each distinct score
    positives = int(y.sum())
    negatives = len(y) - positives
    rank_sum = float(average_rank[inverse][y == 1].sum())
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def ks(y: np.ndarray, scores: np.ndarray) -> float:
    """Kolmogorov-Smirnov: the largest gap between the defaulters' and the good clients' cumulative
    score distributions (max TPR - FPR over thresholds)."""
    values, inverse = np.unique(scores, return_inverse=True)
    positives = np.bincount(inverse, weights=y, minlength=len(values))[::-1]
    totals = np.bincount(inverse, minlength=len(values))[::-1]
    tpr = np.cumsum(positives) / positives.sum()
    fpr = np.cumsum(totals - positives) / (totals - positives).sum()
    return float(np.max(tpr - fpr))


def realized_figures(frame: pd.DataFrame, cost: CostParams) -> dict[str, float | None]:
    """Bad rate, ROC AUC, KS, Brier score and business cost (per decision, with the project's costs)
    of decisions with an outcome."""
    y = frame["defaulted"].to_numpy(dtype=int)
    scores = frame["probability"].to_numpy(dtype=float)
    refused = (frame["decision"] == "refuse").to_numpy()
    both_classes = 0 < y.sum() < len(y)
    missed = (
        np.sum((y == 1) & ~refused) * cost.false_negative + np.sum((y == 0) & refused) * cost.false_positive
    )
    return {
        "rows": len(y),
        "bad_rate": float(y.mean()),
        "roc_auc": roc_auc(y, scores) if both_classes else None,
        "ks": ks(y, scores) if both_classes else None,
        "brier": float(np.mean((scores - y) ** 2)),
        "business_cost": float(missed / len(y)),
    }


def _cohort_stats(
    bins: pd.DataFrame, outcome_rows: pd.DataFrame, params: PerformanceParams, cost: CostParams
) -> dict[str, Any]:
    approved = bins[bins["decision"] == "approve"]
    decisions, approvals = int(bins["n"].sum()), int(approved["n"].sum())
    realized = outcome_rows[outcome_rows["mature"] == 1]
    stats: dict[str, Any] = {
        "decisions": decisions,
        "approved": approvals,
        "approval_rate": approvals / decisions if decisions else None,
        "with_outcome": len(realized),
        "awaiting_outcome": approvals - int((outcome_rows["decision"] == "approve").sum()),
        "early_outcomes": len(outcome_rows) - len(realized),  # recorded, but the decision is too recent
        "realized": None,
        "realized_note": None,
        "estimated": None,
    }
    if len(realized) >= params.min_rows:
        stats["realized"] = realized_figures(realized, cost)
    else:
        stats["realized_note"] = (
            f"{len(realized)} mature outcomes; at least {params.min_rows} are needed for a figure"
        )
    if approvals >= params.min_rows:
        grouped = approved.groupby("bin")[["n", "p", "p2"]].sum()
        stats["estimated"] = estimate_from_bins(
            grouped["n"].to_numpy(float), grouped["p"].to_numpy(float), grouped["p2"].to_numpy(float)
        )
    return stats


def _drop(training_auc: float | None, figures: dict[str, Any] | None) -> float | None:
    if training_auc is None or not figures or figures.get("roc_auc") is None:
        return None
    return float(training_auc - figures["roc_auc"])


def performance_report(
    database_url: str | None,
    params: PerformanceParams,
    cost: CostParams,
    training: TrainingLookup | None = None,
    model_name: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    maturity_days: int | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Realized and estimated performance per model version and cohort (see the module docstring)."""
    maturity = params.maturity_days if maturity_days is None else maturity_days
    moment = _naive(now or datetime.now(UTC))
    cutoff = moment - timedelta(days=maturity)
    window = since is not None or until is not None
    engine = outcomes_engine(database_url)
    where = _filters(inference_log, model_name, since, until)
    bins = read_bins(engine, window, where)
    realized = read_outcome_rows(engine, cutoff, window, where)
    versions = []
    for version in sorted(bins["model_version"].dropna().unique(), key=_version_key):
        versions.append(
            _version_report(version, bins, realized, params, cost, training(version) if training else None)
        )
    return {
        "as_of": moment.replace(tzinfo=UTC).isoformat(timespec="seconds"),
        "maturity_days": maturity,
        "mature_before": cutoff.replace(tzinfo=UTC).isoformat(timespec="seconds"),
        "window": {
            "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None,
        }
        if window
        else None,
        "max_auc_drop": params.max_auc_drop,
        "decisions": int(bins["n"].sum()),
        "awaiting_outcomes": sum(v["overall"]["awaiting_outcome"] for v in versions),
        "selection_bias": SELECTION_BIAS,
        "estimate_assumption": ESTIMATE_ASSUMPTION,
        "versions": versions,
    }


def _version_key(version: str) -> tuple[int, str]:
    return (int(version), "") if str(version).isdigit() else (1 << 30, str(version))


def _version_report(
    version: str,
    bins: pd.DataFrame,
    realized: pd.DataFrame,
    params: PerformanceParams,
    cost: CostParams,
    training: TrainingFigures | None,
) -> dict[str, Any]:
    mine = bins[bins["model_version"] == version]
    mine_realized = realized[realized["model_version"] == version]
    comparison = training.comparison() if training else None
    training_auc = comparison["roc_auc"] if comparison else None
    outcome_groups = dict(tuple(mine_realized.groupby("cohort")))
    cohorts = []
    for cohort, cohort_bins in mine.groupby("cohort"):
        cohort_outcomes = outcome_groups.get(cohort, mine_realized.iloc[:0])
        stats = _cohort_stats(cohort_bins, cohort_outcomes, params, cost)
        cohorts.append({"cohort": cohort, **stats, **_drops(training_auc, stats)})
    overall = _cohort_stats(mine, mine_realized, params, cost)
    trusted, note = _trust(comparison, params)
    return {
        "model_version": version,
        "training": comparison,
        "calibration": training.calibration if training else None,
        "estimate_trusted": trusted,
        "estimate_note": note,
        "overall": {**overall, **_drops(training_auc, overall)},
        "cohorts": cohorts,
    }


def _drops(training_auc: float | None, stats: dict[str, Any]) -> dict[str, float | None]:
    return {
        "realized_auc_drop": _drop(training_auc, stats["realized"]),
        "estimated_auc_drop": _drop(training_auc, stats["estimated"]),
    }


def _trust(comparison: dict[str, float | None] | None, params: PerformanceParams) -> tuple[bool, str]:
    """Whether the estimate can be believed for this version: first by how far it was from the
    known outcomes of the test set's approved clients, else by the calibration error alone."""
    comparison = comparison or {}
    error, ece = comparison.get("estimate_error"), comparison.get("ece")
    if error is not None:
        said = f"On its test set the estimate was {error:.3f} AUC from the truth (calibration error {ece or 0:.1%}). "
        if error > params.max_estimate_error:
            return (
                False,
                said + f"That is more than {params.max_estimate_error:.3f}: do not rely on the estimate.",
            )
        return True, said + ESTIMATE_ASSUMPTION
    if ece is None:
        return False, "The training run logged no calibration for this version: the estimate is unverified."
    if ece > params.max_ece:
        return False, (
            f"Calibration error on the test set is {ece:.1%}, above {params.max_ece:.1%}: the probabilities "
            "are not reliable enough to estimate performance from them."
        )
    return True, f"Calibration error on the test set is {ece:.1%}. " + ESTIMATE_ASSUMPTION


def estimate_from_scores(probabilities: np.ndarray) -> dict[str, float]:
    """The estimate over raw probabilities (binned as the report bins them in SQL)."""
    bins = np.clip((probabilities * BINS).astype(int), 0, BINS)
    return estimate_from_bins(
        np.bincount(bins, minlength=BINS + 1).astype(float),
        np.bincount(bins, weights=probabilities, minlength=BINS + 1),
        np.bincount(bins, weights=probabilities * probabilities, minlength=BINS + 1),
    )


def latest_figures(report: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """Per version, the newest cohort's realized and estimated AUC and bad rate and the training AUC
    (what the gauges and alerts watch: an average over all cohorts would hide a recent fall)."""
    figures = {}
    for version in report["versions"]:
        realized = next((c["realized"] for c in reversed(version["cohorts"]) if c["realized"]), None)
        estimated = next((c["estimated"] for c in reversed(version["cohorts"]) if c["estimated"]), None)
        training = version["training"] or {}
        figures[version["model_version"]] = {
            "training_auc": training.get("roc_auc"),
            "training_bad_rate": training.get("bad_rate"),
            "realized_auc": realized["roc_auc"] if realized else None,
            "realized_bad_rate": realized["bad_rate"] if realized else None,
            "estimated_auc": estimated["roc_auc"] if estimated and version["estimate_trusted"] else None,
            "estimated_bad_rate": estimated["bad_rate"]
            if estimated and version["estimate_trusted"]
            else None,
            "awaiting_outcomes": version["overall"]["awaiting_outcome"],
        }
    return figures


def mlflow_training_lookup(tracking_uri: str, model_name: str, timeout_s: float = 5.0) -> TrainingLookup:
    """Training figures of a version from MLflow, cached (a run's metrics never change). Over plain
    HTTP for an HTTP tracking server, so the API need not import MLflow's client; None if unreachable."""
    cache: dict[str, TrainingFigures] = {}

    def lookup(version: str) -> TrainingFigures | None:
        if version not in cache:
            try:
                cache[version] = _fetch_training(tracking_uri, model_name, version, timeout_s)
            except Exception:  # MLflow down or the version gone: the report says "no training figures"
                return None
        return cache[version]

    return lookup


def _fetch_training(tracking_uri: str, model_name: str, version: str, timeout_s: float) -> TrainingFigures:
    if tracking_uri.startswith(("http://", "https://")):
        import httpx

        base = f"{tracking_uri.rstrip('/')}/api/2.0/mlflow"
        with httpx.Client(timeout=timeout_s) as client:
            found = client.get(f"{base}/model-versions/get", params={"name": model_name, "version": version})
            found.raise_for_status()
            run_id = found.json()["model_version"]["run_id"]
            run = client.get(f"{base}/runs/get", params={"run_id": run_id})
            run.raise_for_status()
        data = run.json()["run"]["data"]
        run_metrics = {m["key"]: float(m["value"]) for m in data.get("metrics", [])}
        tags = {t["key"]: t["value"] for t in data.get("tags", [])}
    else:
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        run_id = client.get_model_version(model_name, version).run_id
        run = client.get_run(run_id)
        run_metrics, tags = dict(run.data.metrics), dict(run.data.tags)
    curve = tags.get(CALIBRATION_TAG)
    return TrainingFigures(run_id, run_metrics, json.loads(curve) if curve else None)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def performance_markdown(report: dict[str, Any]) -> str:
    """The report as a short Markdown digest (monitor workflow, CLI): words and percentages."""
    lines = [
        "## Model performance",
        "",
        f"{report['decisions']:,} decisions; {report['awaiting_outcomes']:,} approved decisions await an "
        f"outcome. Outcomes count once a decision is {report['maturity_days']} days old.",
        "",
        "| version | cohort | decisions | approved | outcomes | bad rate (realized / estimated / training) "
        "| AUC (realized / estimated / training) | alert |",
        "|---|---|---:|---:|---:|---|---|---|",
    ]
    for version in report["versions"]:
        training = version["training"] or {}
        for cohort in version["cohorts"]:
            realized, estimated = cohort["realized"] or {}, cohort["estimated"] or {}
            drops = [d for d in (cohort["realized_auc_drop"], cohort["estimated_auc_drop"]) if d is not None]
            alert = f"AUC down {max(drops):.3f}" if drops and max(drops) > report["max_auc_drop"] else ""
            lines.append(
                f"| {version['model_version']} | {cohort['cohort']} | {cohort['decisions']:,} | "
                f"{_pct(cohort['approval_rate'])} | {cohort['with_outcome']:,} | "
                f"{_pct(realized.get('bad_rate'))} / {_pct(estimated.get('bad_rate'))} / "
                f"{_pct(training.get('bad_rate'))} | {_num(realized.get('roc_auc'))} / "
                f"{_num(estimated.get('roc_auc'))} / {_num(training.get('roc_auc'))} | {alert} |"
            )
        if not version["estimate_trusted"]:
            lines.append(f"\nVersion {version['model_version']}: {version['estimate_note']}")
    lines += ["", report["selection_bias"], "", report["estimate_assumption"]]
    return "\n".join(lines)
