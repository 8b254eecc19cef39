"""Production batches with controlled drift, to exercise monitoring and retraining.

At intensity 1: income +10%, credit amount +20%, EXT_SOURCE scores shifted down by 0.1 and the
default rate up by 4.5 points. Intensity scales every shift linearly; 0 gives the batch unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

INCOME_SHIFT = 0.10
CREDIT_SHIFT = 0.20
EXT_SOURCE_SHIFT = 0.10
TARGET_RATE_SHIFT = 0.045
EXT_SOURCES = ("EXT_SOURCE_1", "EXT_SOURCE_2", "EXT_SOURCE_3")


def make_production_batch(
    frame: pd.DataFrame, intensity: float = 1.0, seed: int = 7, target: str | None = "TARGET"
) -> pd.DataFrame:
    """Return a drifted copy of `frame`; columns that are absent are left alone."""
    if intensity < 0:
        raise ValueError("intensity must be >= 0")
    batch = frame.copy()
    if intensity == 0:
        return batch
    rng = np.random.default_rng(seed)
    if "AMT_INCOME_TOTAL" in batch:
        batch["AMT_INCOME_TOTAL"] = (batch["AMT_INCOME_TOTAL"] * (1 + INCOME_SHIFT * intensity)).round(1)
    if "AMT_CREDIT" in batch:
        batch["AMT_CREDIT"] = (batch["AMT_CREDIT"] * (1 + CREDIT_SHIFT * intensity)).round(1)
    for name in EXT_SOURCES:
        if name in batch:
            batch[name] = (batch[name] - EXT_SOURCE_SHIFT * intensity).clip(lower=0.0).round(6)
    if target and target in batch:
        labels = batch[target].to_numpy().copy()
        negatives = np.flatnonzero(labels == 0)
        flips = min(len(negatives), int(round(TARGET_RATE_SHIFT * intensity * len(labels))))
        labels[rng.choice(negatives, size=flips, replace=False)] = 1
        batch[target] = labels
    return batch
