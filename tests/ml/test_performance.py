"""The performance figures: NumPy AUC and KS equal scikit-learn's, the CBPE estimate follows the
realized AUC on calibrated outcomes, and the calibration report measures miscalibration."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics

from ml.evaluate import calibration, ks_statistic
from ml.performance import BINS, estimate_from_bins, ks, roc_auc


def test_auc_and_ks_equal_scikit_learn_with_ties() -> None:
    rng = np.random.default_rng(1)
    scores = np.round(rng.random(3000), 2)  # many ties
    y = (rng.random(3000) < scores).astype(int)
    assert roc_auc(y, scores) == pytest.approx(metrics.roc_auc_score(y, scores), abs=1e-12)
    assert ks(y, scores) == pytest.approx(ks_statistic(y, scores), abs=1e-12)


def _binned(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    bins = (p * BINS).astype(int)
    return (
        np.bincount(bins, minlength=BINS + 1).astype(float),
        np.bincount(bins, weights=p, minlength=BINS + 1),
        np.bincount(bins, weights=p * p, minlength=BINS + 1),
    )


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_the_estimate_is_within_003_auc_of_outcomes_drawn_from_calibrated_probabilities(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = rng.beta(0.8, 9.0, 20_000)  # a credit-like spread of probabilities of default
    y = (rng.random(len(p)) < p).astype(int)
    estimate = estimate_from_bins(*_binned(p))
    assert abs(estimate["roc_auc"] - metrics.roc_auc_score(y, p)) < 0.03
    assert abs(estimate["bad_rate"] - y.mean()) < 0.01
    assert abs(estimate["brier"] - metrics.brier_score_loss(y, p)) < 0.005


def test_the_estimate_misses_when_probabilities_are_not_calibrated() -> None:
    """What the trust flag is for: halve every log-odds and the estimate no longer holds."""
    rng = np.random.default_rng(6)
    p = rng.beta(0.8, 9.0, 20_000)
    y = (rng.random(len(p)) < p).astype(int)
    logit = np.log(p / (1 - p))
    overconfident = 1 / (1 + np.exp(-2.5 * logit))
    assert abs(estimate_from_bins(*_binned(overconfident))["roc_auc"] - metrics.roc_auc_score(y, p)) > 0.05


def test_calibration_error_is_zero_when_calibrated_and_the_gap_otherwise() -> None:
    y = np.tile([1] + [0] * 9, 10)  # a 10% default rate in every bin
    assert calibration(y, np.full(100, 0.1), bins=5)["ece"] == pytest.approx(0.0)
    report = calibration(y, np.full(100, 0.5), bins=5)
    assert report["ece"] == pytest.approx(0.4)
    assert sum(report["count"]) == 100 and len(report["mean_predicted"]) == 5


def test_the_cli_imports_outcomes_and_writes_the_digest(tmp_path) -> None:
    """`outcomes import` then `performance --markdown` as the monitor workflow runs them."""
    import subprocess
    import sys
    from datetime import UTC, datetime, timedelta

    from ml.inference_log import InferenceLogWriter

    url = f"sqlite:///{tmp_path / 'log.db'}"
    rng = np.random.default_rng(8)
    probabilities = rng.beta(0.8, 9.0, 600)
    old = datetime.now(UTC) - timedelta(days=200)
    with InferenceLogWriter(url) as writer:
        writer.append(
            {
                "ts": old,
                "request_id": "r",
                "row": i + 1,
                "model_name": "credit-scoring",
                "model_version": "1",
                "features": {},
                "probability": float(p),
                "decision": "approve",
            }
            for i, p in enumerate(probabilities)
        )
    defaulted = (rng.random(600) < probabilities).astype(int)
    lines = ["request_id,row,defaulted,observed_at"] + [
        f"r,{i + 1},{d},2026-01-31" for i, d in enumerate(defaulted)
    ]
    (tmp_path / "outcomes.csv").write_text("\n".join(lines[:-100]) + "\nr,9999,1,2026-01-31\n")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "ml", "--tracking-uri", "http://127.0.0.1:9", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=120)

    imported = cli("outcomes", "import", str(tmp_path / "outcomes.csv"), "--database-url", url)
    assert imported.returncode == 0, imported.stderr
    assert "500 new" in imported.stdout and "1 refused" in imported.stdout
    assert "line 502: request_id: no logged decision for request r row 9999" in imported.stdout
    digest = tmp_path / "digest.md"
    report = cli("performance", "--database-url", url, "--markdown", str(digest))
    assert report.returncode == 0, report.stderr
    text = digest.read_text()
    assert "100 approved decisions await an outcome" in text
    bad_rate = f"{defaulted[:500].mean():.1%}"
    assert f"| 1 | {old:%Y-%m} | 600 | 100.0% | 500 | {bad_rate} / " in text, text


def test_make_outcomes_writes_the_batch_target_for_approved_decisions_only(tmp_path) -> None:
    import subprocess
    import sys

    import pandas as pd

    from ml.inference_log import InferenceLogWriter

    url = f"sqlite:///{tmp_path / 'log.db'}"
    batch = pd.DataFrame(
        {"SK_ID_CURR": [101, 102, 103, 104], "TARGET": [1, 0, 1, 0], "AMT_CREDIT": [1.0] * 4}
    )
    batch.to_csv(tmp_path / "batch.csv", index=False)
    with InferenceLogWriter(url) as writer:
        writer.append(
            {
                "request_id": "b",
                "row": i + 2,
                "client_id": client,
                "model_name": "credit-scoring",
                "model_version": "1",
                "features": {},
                "probability": 0.1,
                "decision": "refuse" if client == 103 else "approve",
            }
            for i, client in enumerate([101, 102, 103])  # 104 was never scored
        )
    out = tmp_path / "outcomes.csv"
    command = [
        sys.executable,
        "-m",
        "ml",
        "make-outcomes",
        "--batch",
        str(tmp_path / "batch.csv"),
        "--database-url",
        url,
        "--observed-at",
        "2026-02-01",
        "-o",
        str(out),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    written = pd.read_csv(out).sort_values("row")
    assert written.to_dict("records") == [
        {"request_id": "b", "row": 2, "defaulted": 1, "observed_at": "2026-02-01"},
        {"request_id": "b", "row": 3, "defaulted": 0, "observed_at": "2026-02-01"},
    ]


def test_the_estimate_is_trusted_by_its_error_on_the_test_set() -> None:
    from ml.config import PerformanceParams
    from ml.evaluate import approved_metrics
    from ml.performance import TrainingFigures, _trust

    rng = np.random.default_rng(9)
    p = rng.beta(0.8, 9.0, 20_000)
    y = (rng.random(len(p)) < p).astype(int)
    from ml.config import CostParams

    figures = approved_metrics(y, p, threshold=0.2, cost=CostParams())
    assert abs(figures["estimated_roc_auc"] - figures["roc_auc"]) < 0.03  # calibrated: the estimate holds
    params = PerformanceParams(max_estimate_error=0.02)
    close = TrainingFigures(
        "r", {"test_approved_roc_auc": 0.70, "test_approved_estimated_roc_auc": 0.69, "test_ece": 0.01}, None
    )
    far = TrainingFigures(
        "r", {"test_approved_roc_auc": 0.70, "test_approved_estimated_roc_auc": 0.62, "test_ece": 0.01}, None
    )
    assert _trust(close.comparison(), params)[0] is True
    trusted, note = _trust(far.comparison(), params)
    assert trusted is False and "0.080 AUC from the truth" in note
    assert _trust(TrainingFigures("r", {"test_ece": 0.2}, None).comparison(), params)[0] is False
