"""One client's answer in an operator's words: the decision sentence, what was absent, and why in
percentage points of default probability (the API's contributions are log-odds). Plain functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from app.feature_help import is_engineered, label

OTHERS = "all other features"


@dataclass(frozen=True)
class Step:
    """One feature's push on the probability of default, in percentage points (+ = riskier)."""

    name: str  # the model's feature name (the chart's label)
    feature: str  # as the table shows it: an engineered feature with what it is made of
    value: Any
    points: float
    engineered: bool


def percent(probability: float) -> str:
    return f"{probability * 100:.1f}%"


def decision_sentence(probability: float, threshold: float, decision: str) -> str:
    """'Refused: 14.0% probability of default is above the 8.7% threshold' (refused at the threshold too)."""
    if decision == "refuse":
        where = "above" if probability > threshold else "at"
        return f"Refused: {percent(probability)} probability of default is {where} the {percent(threshold)} threshold"
    return (
        f"Approved: {percent(probability)} probability of default is below the {percent(threshold)} threshold"
    )


def missing_warning(answer: dict[str, Any]) -> str | None:
    """What the answer says it did not get, with the features named ('' when nothing was absent)."""
    features = answer.get("missing_features") or []
    if not features:
        return None
    shown = ", ".join(features[:8]) + (f" and {len(features) - 8} more" if len(features) > 8 else "")
    return (
        f"Scored without {len(features)} of the model's features ({answer.get('missing_importance', 0):.0%} "
        f"of its importance): {shown}. The model took them as unknown; fill them in for a surer answer."
    )


def _sigmoid(logit: float) -> float:
    return 1.0 / (1.0 + math.exp(-logit))


def probability_steps(explanation: dict[str, Any], probability: float) -> tuple[float, list[Step]]:
    """(the model's base probability, each top feature's step in percentage points, then the rest).

    Log-odds add up, probabilities do not: each feature's step is the change of probability when its
    contribution is added to those before it, largest first, so the steps sum exactly from the base
    probability to this client's; "all other features" closes the gap left by the top ones.
    """
    logit = float(explanation["base_value"])
    base = _sigmoid(logit)
    steps = []
    for item in explanation["contributions"]:
        before = _sigmoid(logit)
        logit += float(item["contribution"])
        feature = str(item["feature"])
        points = (_sigmoid(logit) - before) * 100
        steps.append(Step(feature, label(feature), item.get("value"), points, is_engineered(feature)))
    rest = (probability - _sigmoid(logit)) * 100
    if abs(rest) >= 0.05:
        steps.append(Step(OTHERS, OTHERS, None, rest, False))
    return base, steps
