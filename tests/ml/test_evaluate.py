"""Metrics and the cost-minimising threshold, checked against brute force."""

import numpy as np

from ml.config import CostParams
from ml.evaluate import best_threshold, business_cost, evaluate


def brute_force_threshold(y, scores, cost):
    candidates = np.r_[np.unique(scores), np.inf]
    costs = [business_cost(y, scores >= t, cost) for t in candidates]
    return candidates[int(np.argmin(costs))], min(costs)


def test_best_threshold_matches_brute_force():
    rng = np.random.default_rng(0)
    cost = CostParams(false_negative=10, false_positive=1)
    for _ in range(20):
        y = (rng.random(400) < 0.1).astype(int)
        scores = np.round(np.clip(0.08 + 0.3 * y * rng.random(400) + 0.2 * rng.random(400), 0, 1), 2)
        threshold = best_threshold(y, scores, cost)
        _, best_cost = brute_force_threshold(y, scores, cost)
        assert business_cost(y, scores >= threshold, cost) == best_cost


def test_evaluate_reports_every_metric():
    y = np.array([0, 0, 1, 1, 0, 1])
    scores = np.array([0.1, 0.2, 0.8, 0.7, 0.6, 0.3])
    metrics = evaluate(y, scores, 0.5, CostParams())
    assert set(metrics) >= {"roc_auc", "pr_auc", "ks", "brier", "f1", "precision", "recall", "business_cost"}
    assert metrics["precision"] == 2 / 3 and metrics["recall"] == 2 / 3
    assert metrics["business_cost"] == (1 * 10 + 1 * 1) / 6
