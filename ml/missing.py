"""What a record did not give the model, and whether it may still be scored (params.yaml `scoring.missing`).

A booster fed NaN still answers: each tree sends the row down its default branch, a guess. The share
of the model's importance (gain) carried by the absent features says how much of the answer is
guessed, so every answer names them, and the policy refuses above a set share, or when a column it
lists as required is absent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ml.config import MissingParams
from ml.features import FeatureBuilder
from ml.reasons import made_of
from ml.schema import FieldError


def importance_shares(gains: np.ndarray, builder: FeatureBuilder, raw_names: Sequence[str]) -> np.ndarray:
    """Each raw input's share of the booster's total gain (sums to 1; zeros for a gainless booster).

    An engineered feature's gain is split equally among the raw columns it is made of: without them
    it cannot be computed (a mean of external scores degrades more gently; equal parts is the simple
    reading of "made of").
    """
    index = {name: i for i, name in enumerate(raw_names)}
    shares = np.zeros(len(raw_names))
    for feature, gain in zip(builder.feature_names, gains.tolist(), strict=True):
        inputs = [index[name] for name in made_of(feature) if name in index]
        for i in inputs:
            shares[i] += gain / len(inputs)
    total = shares.sum()
    return shares / total if total > 0 else shares


@dataclass(frozen=True)
class Absence:
    """Per row: which of the model's features are absent (mask), their importance share, refused or not."""

    mask: np.ndarray  # rows x raw features, True = absent
    shares: np.ndarray  # per row, 0..1
    refused: np.ndarray  # per row, by the policy


class MissingCheck:
    """The policy applied to one model's features and importance shares."""

    def __init__(self, names: Sequence[str], shares: np.ndarray, params: MissingParams) -> None:
        self.names = list(names)
        self.shares = shares
        self.params = params
        index = {name: i for i, name in enumerate(self.names)}
        self.required = [index[name] for name in params.required if name in index]
        self.order = np.argsort(-shares, kind="stable")  # most important first, in every list
        self.ordered_names = np.asarray(self.names, dtype=object)[self.order]

    def absent_from(self, columns: Iterable[str]) -> np.ndarray:
        """The absent-mask of a header: which of the model's features its columns do not carry."""
        given = set(columns)
        return np.array([name not in given for name in self.names], dtype=bool)

    def assess(self, mask: np.ndarray) -> Absence:
        """Judge every row of an absent-mask (rows x features)."""
        shares = mask @ self.shares if mask.size else np.zeros(len(mask))
        refused = mask[:, self.required].any(axis=1) if self.required else np.zeros(len(mask), dtype=bool)
        if self.params.policy == "refuse":
            refused |= shares > self.params.max_importance_share + 1e-12
        return Absence(mask, shares, refused)

    def judge(self, row: np.ndarray) -> tuple[float, bool]:
        """One mask row (a record, a CSV or book header): its absent features' importance share, and
        whether the policy refuses it."""
        absence = self.assess(row.reshape(1, -1))
        return float(absence.shares[0]), bool(absence.refused[0])

    def features(self, row: np.ndarray) -> list[str]:
        """The absent features of one mask row, most important first."""
        names: list[str] = self.ordered_names[row[self.order]].tolist()
        return names

    def errors(self, row: np.ndarray, share: float, number: int | None) -> list[FieldError]:
        """Why a refused row was refused: one error per absent feature, required ones first."""
        required = [i for i in self.required if row[i]]
        out = [
            FieldError(self.names[i], "absent, and required (params.yaml scoring.missing.required)", number)
            for i in required
        ]
        if share > self.params.max_importance_share and self.params.policy == "refuse":
            reason = (
                f"absent; the absent features carry {share:.0%} of the model's importance, above the "
                f"{self.params.max_importance_share:.0%} params.yaml scoring.missing allows"
            )
            out += [FieldError(name, reason, number) for name in self.features(row) if name not in required]
        return out

    def refusal(self, row: np.ndarray, share: float) -> str:
        """Why the policy refuses a row, in one sentence."""
        required = [self.names[i] for i in self.required if row[i]]
        if required:
            return f"Not scored: required feature(s) absent: {', '.join(required)} (params.yaml scoring.missing.required)"
        first = ", ".join(self.features(row)[:5])
        return (
            f"Not scored: {int(row.sum())} of the model's {len(self.names)} features absent, carrying {share:.0%} of its "
            f"importance, above the {self.params.max_importance_share:.0%} params.yaml scoring.missing "
            f"allows; the most important absent: {first}"
        )

    def summary(self, row: np.ndarray, share: float) -> str:
        """One sentence for an answer that was scored with features absent ('' when none were)."""
        count = int(row.sum())
        if not count:
            return ""
        return (
            f"{count} of the model's {len(self.names)} features absent ({share:.0%} of its importance); "
            "scored without them, the model takes them as unknown"
        )
