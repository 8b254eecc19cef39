"""Scoring and explaining JSON records with the served model: the hot path, without pandas.

A record is validated and encoded by the model's own `RecordEncoder` into a preallocated NaN row,
then scored by the booster directly (~15 µs for one row); batches fill one matrix and make one
predict call. Bad records raise `InputError` (or are reported per row) with field and reason.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from api.model_holder import LoadedModel
from ml.schema import FieldError

MAX_REPORTED_ERRORS = 1000


class InputError(ValueError):
    """The input cannot be scored; `errors` say where (row, field) and why."""

    def __init__(self, errors: Sequence[FieldError], message: str = "invalid input") -> None:
        super().__init__(message)
        self.errors = list(errors)
        self.message = message


@dataclass
class Scored:
    """Scores of the accepted rows of one request, plus what is needed to log them."""

    rows: list[int]  # 1-based record index (JSON) or CSV line number, per scored row
    probabilities: list[float]
    decisions: list[str]
    bands: list[str]
    features: list[Iterable[dict[str, Any]]]  # blocks yielding each scored row's features, maybe lazily
    client_ids: list[Any]
    errors: list[FieldError] = field(default_factory=list)
    rejected: int = 0
    total: int = 0

    def extend(self, other: Scored) -> None:
        self.rows += other.rows
        self.probabilities += other.probabilities
        self.decisions += other.decisions
        self.bands += other.bands
        self.features += other.features
        self.client_ids += other.client_ids
        room = MAX_REPORTED_ERRORS - len(self.errors)
        self.errors += other.errors[: max(room, 0)]
        self.rejected += other.rejected
        self.total += other.total


def decide(served: LoadedModel, probabilities: np.ndarray) -> tuple[list[str], list[str]]:
    """Decision at the model's cost-optimal threshold and the risk band, per probability."""
    threshold = served.model.meta.threshold
    decisions = ["refuse" if p >= threshold else "approve" for p in probabilities.tolist()]
    return decisions, served.model.risk_bands(probabilities)


class LoggableFeatures:
    """Validated JSON records as they go to the inference log (known features only, numbers as
    numbers), extracted only when iterated: in the log's writer thread, not on the request path."""

    def __init__(self, served: LoadedModel, records: Sequence[dict[str, Any]]) -> None:
        self.records = records
        self.kinds = served.kinds

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for record in self.records:
            out: dict[str, Any] = {}
            for name, value in record.items():
                kind = self.kinds.get(name)
                if kind is None or value is None or value == "":
                    continue
                out[name] = float(value) if kind == "numeric" and isinstance(value, str | bool) else value
            yield out


def predict_many(served: LoadedModel, raw: np.ndarray) -> np.ndarray:
    """Probabilities for a batch, on every core (ScoringModel.predict_raw keeps to one thread, which
    suits single rows served concurrently, not one large matrix)."""
    model = served.model
    return model.booster.predict(model.builder.build(raw))


def encode_one(served: LoadedModel, record: dict[str, Any]) -> np.ndarray:
    """One record as a (1, width) raw matrix; raises InputError listing every bad field."""
    encoder = served.model.encoder
    row = np.full((1, encoder.width), np.nan)
    errors = encoder.encode(record, row[0])
    if errors:
        raise InputError(errors)
    return row


def score_one(served: LoadedModel, record: dict[str, Any]) -> tuple[float, str, str]:
    """Probability of default, decision and risk band for one record."""
    probabilities = served.model.predict_raw(encode_one(served, record))
    decisions, bands = decide(served, probabilities)
    return float(probabilities[0]), decisions[0], bands[0]


def score_records(served: LoadedModel, records: Sequence[Any], strict: bool) -> Scored:
    """Score a JSON batch: good rows in one predict call, bad rows reported by 1-based index."""
    encoder = served.model.encoder
    id_column = served.model.schema.id_column
    matrix = np.full((len(records), encoder.width), np.nan)
    good: list[int] = []
    errors: list[FieldError] = []
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            row_errors = [
                FieldError("", f"expected an object of features, got {type(record).__name__}", i + 1)
            ]
        else:
            row_errors = encoder.encode(record, matrix[i], row=i + 1)
        if row_errors:
            errors += row_errors
        else:
            good.append(i)
    rejected = len(records) - len(good)
    if strict and errors:
        raise InputError(
            errors[:MAX_REPORTED_ERRORS], f"{rejected} of {len(records)} rows invalid (strict mode)"
        )
    probabilities = predict_many(served, matrix[good]) if good else np.empty(0)
    decisions, bands = decide(served, probabilities)
    return Scored(
        rows=[i + 1 for i in good],
        probabilities=probabilities.tolist(),
        decisions=decisions,
        bands=bands,
        features=[LoggableFeatures(served, [records[i] for i in good])],
        client_ids=[records[i].get(id_column) if id_column else None for i in good],
        errors=errors[:MAX_REPORTED_ERRORS],
        rejected=rejected,
        total=len(records),
    )


@dataclass(frozen=True)
class Explanation:
    probability: float
    decision: str
    risk_band: str
    base_value: float
    contributions: list[tuple[str, float | str | None, float]]  # feature, input value, log-odds contribution


def explain_one(served: LoadedModel, record: dict[str, Any], top: int) -> Explanation:
    """LightGBM's own per-feature contributions (log-odds) for one record, the largest `top` first."""
    model = served.model
    raw = encode_one(served, record)
    built = model.builder.build(raw)
    contributions = model.booster.predict(built, pred_contrib=True, num_threads=1)[0]
    base_value = float(contributions[-1])
    logit = base_value + float(contributions[:-1].sum())
    probability = 1.0 / (1.0 + math.exp(-logit))
    decisions, bands = decide(served, np.array([probability]))
    names = model.feature_names()
    order = np.argsort(-np.abs(contributions[:-1]), kind="stable")[:top]
    values = _display_values(served, built[0])
    return Explanation(
        probability,
        decisions[0],
        bands[0],
        base_value,
        [(names[i], values[i], float(contributions[i])) for i in order.tolist()],
    )


def _display_values(served: LoadedModel, built_row: np.ndarray) -> list[float | str | None]:
    """The booster's inputs for display: categories by name, missing as None."""
    specs = served.model.schema.features
    out: list[float | str | None] = []
    for i, value in enumerate(built_row.tolist()):
        if math.isnan(value):
            out.append(None)
        elif i < len(specs) and specs[i].kind == "categorical":
            out.append(specs[i].categories[int(value)])
        else:
            out.append(value)
    return out
