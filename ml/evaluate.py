"""Model evaluation: ranking metrics, the business cost and the threshold that minimises it."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import metrics

from ml.config import CostParams
from ml.performance import estimate_from_scores


def best_threshold(y_true: np.ndarray, scores: np.ndarray, cost: CostParams) -> float:
    """The score threshold minimising FN*cost_fn + FP*cost_fp (refuse when score >= threshold).

    Exact over every distinct score, via cumulative counts on the sorted scores.
    """
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    positives = np.cumsum(y_true[order] == 1)  # refused defaulters when cutting after position i
    negatives = np.cumsum(y_true[order] == 0)  # refused good clients
    total_pos = positives[-1]
    last_of_run = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]
    fn = total_pos - positives[last_of_run]
    fp = negatives[last_of_run]
    costs = np.r_[total_pos * cost.false_negative, fn * cost.false_negative + fp * cost.false_positive]
    candidates = np.r_[np.inf, sorted_scores[last_of_run]]
    best = int(np.argmin(costs))
    return float(min(candidates[best], 1.0))


def business_cost(y_true: np.ndarray, refused: np.ndarray, cost: CostParams) -> float:
    """Average cost per client of the decisions (lower is better)."""
    fn = np.sum((y_true == 1) & ~refused)
    fp = np.sum((y_true == 0) & refused)
    return float((fn * cost.false_negative + fp * cost.false_positive) / len(y_true))


def ks_statistic(y_true: np.ndarray, scores: np.ndarray) -> float:
    fpr, tpr, _ = metrics.roc_curve(y_true, scores)
    return float(np.max(tpr - fpr))


def evaluate(y_true: np.ndarray, scores: np.ndarray, threshold: float, cost: CostParams) -> dict[str, float]:
    """All headline metrics at `threshold`."""
    refused = scores >= threshold
    return {
        "roc_auc": float(metrics.roc_auc_score(y_true, scores)),
        "pr_auc": float(metrics.average_precision_score(y_true, scores)),
        "ks": ks_statistic(y_true, scores),
        "brier": float(metrics.brier_score_loss(y_true, scores)),
        "f1": float(metrics.f1_score(y_true, refused, zero_division=0)),
        "precision": float(metrics.precision_score(y_true, refused, zero_division=0)),
        "recall": float(metrics.recall_score(y_true, refused, zero_division=0)),
        "business_cost": business_cost(y_true, refused, cost),
        "refusal_rate": float(np.mean(refused)),
    }


def roc_points(y_true: np.ndarray, scores: np.ndarray, max_points: int = 200) -> dict[str, list[float]]:
    """A thinned ROC curve, small enough to store and overlay in the console."""
    fpr, tpr, _ = metrics.roc_curve(y_true, scores)
    keep = np.unique(np.linspace(0, len(fpr) - 1, min(max_points, len(fpr))).astype(int))
    return {"fpr": fpr[keep].round(5).tolist(), "tpr": tpr[keep].round(5).tolist()}


def pr_points(y_true: np.ndarray, scores: np.ndarray, max_points: int = 200) -> dict[str, list[float]]:
    """A thinned precision-recall curve (defaulters as positives), to overlay beside the ROC curves."""
    precision, recall, _ = metrics.precision_recall_curve(y_true, scores)
    keep = np.unique(np.linspace(0, len(recall) - 1, min(max_points, len(recall))).astype(int))
    return {"recall": recall[keep].round(5).tolist(), "precision": precision[keep].round(5).tolist()}


def calibration(y_true: np.ndarray, scores: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """Reliability curve over equal-count bins and the expected calibration error (ECE): the
    count-weighted mean gap between predicted probability and observed default rate. Equal-count
    bins because with a default rate near 8% equal-width bins would put most clients in the first."""
    order = np.argsort(scores, kind="stable")
    groups = [group for group in np.array_split(order, bins) if len(group)]
    predicted = np.array([scores[g].mean() for g in groups])
    observed = np.array([y_true[g].mean() for g in groups])
    counts = np.array([len(g) for g in groups])
    ece = float(np.sum(counts * np.abs(predicted - observed)) / counts.sum())
    return {
        "ece": ece,
        "mean_predicted": predicted.round(5).tolist(),
        "observed_rate": observed.round(5).tolist(),
        "count": counts.tolist(),
    }


def approved_metrics(
    y_true: np.ndarray, scores: np.ndarray, threshold: float, cost: CostParams
) -> dict[str, float]:
    """Figures on the clients the model approves: the only ones whose outcome production will see,
    so realized performance is compared with these (see ml/performance.py on selection bias)."""
    approved = scores < threshold
    y, s = y_true[approved], scores[approved]
    return {
        "roc_auc": float(metrics.roc_auc_score(y, s)),
        "ks": ks_statistic(y, s),
        "brier": float(metrics.brier_score_loss(y, s)),
        "bad_rate": float(y.mean()),
        "business_cost": business_cost(y, np.zeros(len(y), dtype=bool), cost),
        "rows": float(len(y)),
        # what the estimate before outcomes would have said here: its error on known outcomes
        "estimated_roc_auc": estimate_from_scores(s)["roc_auc"],
    }
