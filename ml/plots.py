"""Evaluation plots logged with every run (matplotlib, headless)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn import metrics  # noqa: E402


def roc_figure(y_true: np.ndarray, scores: np.ndarray) -> Figure:
    fig, ax = plt.subplots(figsize=(5, 5))
    fpr, tpr, _ = metrics.roc_curve(y_true, scores)
    ax.plot(fpr, tpr, label=f"AUC = {metrics.roc_auc_score(y_true, scores):.3f}")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
    ax.set(xlabel="False positive rate", ylabel="True positive rate", title="ROC curve (test)")
    ax.legend(loc="lower right")
    return fig


def pr_figure(y_true: np.ndarray, scores: np.ndarray) -> Figure:
    fig, ax = plt.subplots(figsize=(5, 5))
    precision, recall, _ = metrics.precision_recall_curve(y_true, scores)
    ax.plot(recall, precision, label=f"AP = {metrics.average_precision_score(y_true, scores):.3f}")
    ax.axhline(np.mean(y_true), linestyle="--", color="grey", label="default rate")
    ax.set(xlabel="Recall", ylabel="Precision", title="Precision-recall curve (test)")
    ax.legend(loc="upper right")
    return fig


def confusion_figure(y_true: np.ndarray, scores: np.ndarray, threshold: float) -> Figure:
    fig, ax = plt.subplots(figsize=(5, 4))
    matrix = metrics.confusion_matrix(y_true, scores >= threshold, labels=[0, 1])
    metrics.ConfusionMatrixDisplay(matrix, display_labels=["repaid", "default"]).plot(ax=ax, colorbar=False)
    ax.set(title=f"Confusion matrix at threshold {threshold:.3f}", xlabel="Predicted (refuse = default)")
    return fig


def importance_figure(names: list[str], gains: np.ndarray, top: int = 20) -> Figure:
    order = np.argsort(gains)[::-1][:top][::-1]
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(order) + 1.2))
    ax.barh([names[i] for i in order], gains[order])
    ax.set(xlabel="Total gain", title=f"Top {len(order)} features by gain")
    fig.tight_layout()
    return fig


def score_distribution_figure(y_true: np.ndarray, scores: np.ndarray, threshold: float) -> Figure:
    fig, ax = plt.subplots(figsize=(6, 4))
    bins = np.linspace(0, 1, 51)
    ax.hist(scores[y_true == 0], bins=bins, alpha=0.6, density=True, label="repaid")
    ax.hist(scores[y_true == 1], bins=bins, alpha=0.6, density=True, label="default")
    ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.3f}")
    ax.set(xlabel="Probability of default", ylabel="Density", title="Score distribution (test)")
    ax.legend()
    return fig


def calibration_figure(y_true: np.ndarray, scores: np.ndarray, bins: int = 10) -> Figure:
    """Observed default rate against the predicted probability, per score decile."""
    from sklearn.calibration import calibration_curve

    observed, predicted = calibration_curve(y_true, scores, n_bins=bins, strategy="quantile")
    fig, ax = plt.subplots(figsize=(5, 5))
    top = max(float(np.max(predicted)), float(np.max(observed)), 0.05)
    ax.plot([0, top], [0, top], linestyle="--", color="grey", label="perfectly calibrated")
    ax.plot(predicted, observed, marker="o", label="model (deciles of the score)")
    ax.set(
        xlabel="Predicted probability of default", ylabel="Observed default rate", title="Calibration (test)"
    )
    ax.legend(loc="upper left")
    return fig
