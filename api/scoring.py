"""Scoring and explaining with the served model: the hot path, without pandas.

Records are validated and encoded by the model's own `ColumnEncoder` (the one set of rules for JSON
and CSV), scored by the booster directly, and decided by `ScoringModel.decisions` / `risk_bands`.
Bad records raise `InputError` (or are reported per row) with field and reason.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from api.model_holder import LoadedModel
from ml.config import MissingParams
from ml.missing import Absence, MissingCheck
from ml.reasons import ReasonMode, contributions, reasons_by_row
from ml.schema import Encoded, FieldError

MAX_REPORTED_ERRORS = 1000


class InputError(ValueError):
    """The input cannot be scored; `errors` say where (row, field) and why."""

    def __init__(self, errors: Sequence[FieldError], message: str = "invalid input") -> None:
        super().__init__(message)
        self.errors = list(errors)
        self.message = message


class TooLargeError(InputError):
    """The input is over a size limit (rows, columns, bytes): a 413 rather than a 422."""


@dataclass
class Scored:
    """Scores of the accepted rows of one request, plus what is needed to log them."""

    rows: list[int]  # 1-based record index (JSON) or CSV line number, per scored row
    probabilities: list[float]
    decisions: list[str]
    bands: list[str]
    features: list[Iterable[dict[str, Any]]]  # blocks yielding each scored row's features, lazily
    client_ids: list[Any]
    errors: list[FieldError] = field(default_factory=list)
    rejected: int = 0
    total: int = 0
    reasons: list[list[dict[str, Any]] | None] | None = None  # per scored row, when asked for
    missing: list[list[str]] | None = None  # JSON: per scored row, the model's features it lacked
    missing_shares: list[float] | None = None  # JSON: per scored row, their share of the importance
    absent: Absent | None = None  # the features the whole request lacked (a CSV's header)

    def row_reasons(self) -> list[list[dict[str, Any]] | None]:
        return self.reasons if self.reasons is not None else [None] * len(self.rows)

    def extend(self, other: Scored) -> None:
        if self.reasons is not None or other.reasons is not None:
            self.reasons = self.row_reasons() + other.row_reasons()
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


@dataclass(frozen=True)
class Absent:
    """The model's features a request (or record) lacked, most important first, and what they weigh."""

    features: list[str]
    share: float  # of the model's importance (gain), 0..1
    warning: str  # one sentence; "" when nothing was absent


NOTHING_ABSENT = Absent([], 0.0, "")


def reason_mode(flag: bool | None) -> ReasonMode:
    """The `reasons` query flag: absent = for refusals only, true = for every row, false = none."""
    if flag is None:
        return "refusals"
    return "all" if flag else "none"


def reasons_for(
    served: LoadedModel,
    raw: np.ndarray,
    decisions: Sequence[str],
    mode: ReasonMode,
    built: np.ndarray | None = None,
) -> list[list[dict[str, Any]] | None] | None:
    """Up to `max_reasons` reason codes per row that pushed it towards refusal (None where not asked).

    Contributions are computed only for the rows that get reasons, in one call: decision-path
    attributions by default (a leaf lookup per tree), TreeSHAP with reasons.method "shap".
    """
    if mode == "none" or served.reasons is None:
        return None
    model = served.model

    def contributions_of(wanted: np.ndarray) -> np.ndarray:
        rows = model.builder.build(raw[wanted]) if built is None else built[wanted]
        return contributions(model.booster, served.path_contributions, rows)

    return reasons_by_row(served.reasons, contributions_of, decisions, mode)


def decide(served: LoadedModel, probabilities: np.ndarray) -> tuple[list[str], list[str]]:
    """The model's own decision and risk band, per probability."""
    model = served.model
    return model.decisions(probabilities).tolist(), model.risk_bands(probabilities)


class LoggedFeatures:
    """Scored rows as the inference log stores them: the encoded values (numbers as floats,
    categories by name, missing left out), so whatever was scored can be stored. Built only when
    iterated, in the log's writer thread."""

    def __init__(self, served: LoadedModel, raw: np.ndarray) -> None:
        self.raw = raw
        self.names = served.model.encoder.names
        self.categories = served.model.encoder.categories

    def __len__(self) -> int:
        return len(self.raw)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        columns = list(zip(self.names, self.categories, strict=True))
        for values in self.raw.tolist():
            yield {
                name: (categories[int(value)] if categories else value)
                for (name, categories), value in zip(columns, values, strict=True)
                if value == value  # not NaN
            }


def predict_many(served: LoadedModel, raw: np.ndarray) -> np.ndarray:
    """Probabilities for a batch, on every core (ScoringModel.predict_raw keeps to one thread, which
    suits single rows served concurrently, not one large matrix)."""
    model = served.model
    return np.asarray(model.booster.predict(model.builder.build(raw)))


def judge_absent(check: MissingCheck, mask: np.ndarray, row: int | None) -> Absent:
    """The absent features of one record or CSV header (`mask`: True = absent); InputError naming them
    when params.yaml scoring.missing refuses it."""
    if not mask.any():
        return NOTHING_ABSENT
    share, refused = check.judge(mask)
    if refused:
        raise InputError(check.errors(mask, share, row), check.refusal(mask, share))
    return Absent(check.features(mask), share, check.summary(mask, share))


def absent_mask(names: Sequence[str], records: Sequence[Any]) -> np.ndarray:
    """Rows x features, True where a record does not carry the feature at all. A null is present: the
    client says the value is unknown, as an empty CSV cell does, and the model learned such values."""
    mask = np.zeros((len(records), len(names)), dtype=bool)
    for i, record in enumerate(records):
        if isinstance(record, dict):
            mask[i] = [name not in record for name in names]
    return mask


def check_one(served: LoadedModel, record: dict[str, Any], params: MissingParams) -> Absent:
    """The features one record does not carry; InputError when the policy refuses it."""
    mask = absent_mask(served.model.encoder.names, [record])[0]
    return judge_absent(served.model.missing_check(params), mask, None)


def check_header(served: LoadedModel, header: Sequence[str], params: MissingParams) -> Absent:
    """The model's features a CSV header lacks; InputError (line 1) when the policy refuses the file."""
    check = served.model.missing_check(params)
    return judge_absent(check, check.absent_from(header), 1)


def encode_one(served: LoadedModel, record: dict[str, Any]) -> np.ndarray:
    """One record as a (1, width) raw matrix; raises InputError listing every bad field."""
    encoded = served.model.encoder.encode_record(record)
    if encoded.errors:
        raise InputError(encoded.errors)
    return encoded.matrix


def score_one(served: LoadedModel, built: np.ndarray) -> tuple[float, str, str]:
    """Probability of default, decision and risk band for one record, built (`builder.build`)."""
    probability = served.model.predict_built_one(built)
    decisions, bands = decide(served, np.array([probability]))
    return probability, decisions[0], bands[0]


def score_encoded(
    served: LoadedModel,
    encoded: Encoded,
    rows: np.ndarray,
    client_ids: Sequence[Any],
    strict: bool,
    reasons: ReasonMode = "none",
) -> Scored:
    """Score the good rows of an encoded batch in one predict call; `rows` number them in the answer."""
    good = np.flatnonzero(~encoded.bad)
    if strict and encoded.errors:
        first = encoded.errors[0].row
        raise InputError(
            encoded.errors[:MAX_REPORTED_ERRORS],
            f"{len(encoded.bad) - len(good)} of {len(encoded.bad)} rows invalid (strict mode); first at row {first}",
        )
    raw = encoded.matrix[good]
    probabilities = predict_many(served, raw) if len(good) else np.empty(0)
    decisions, bands = decide(served, probabilities)
    return Scored(
        rows=rows[good].tolist(),
        probabilities=probabilities.tolist(),
        decisions=decisions,
        bands=bands,
        features=[LoggedFeatures(served, raw)],
        client_ids=[client_ids[i] for i in good.tolist()],
        errors=encoded.errors[:MAX_REPORTED_ERRORS],
        rejected=len(encoded.bad) - len(good),
        total=len(encoded.bad),
        reasons=reasons_for(served, raw, decisions, reasons),
    )


def score_records(
    served: LoadedModel,
    records: Sequence[Any],
    strict: bool,
    reasons: ReasonMode = "none",
    missing: MissingParams | None = None,
) -> Scored:
    """Score a JSON batch: good rows in one predict call, bad rows reported by 1-based index; each
    row's absent features are reported, and rows the `missing` policy refuses are bad rows."""
    encoded = served.model.encoder.encode_records(records)
    check = served.model.missing_check(missing or MissingParams(policy="score"))
    absence = check.assess(absent_mask(served.model.encoder.names, records))
    _refuse_absent(check, absence, encoded)
    id_column = served.model.schema.id_column
    client_ids = [
        record.get(id_column) if id_column and isinstance(record, dict) else None for record in records
    ]
    scored = score_encoded(served, encoded, np.arange(1, len(records) + 1), client_ids, strict, reasons)
    good = ~encoded.bad
    scored.missing = [check.ordered_names[row].tolist() for row in absence.mask[good][:, check.order]]
    scored.missing_shares = absence.shares[good].tolist()
    everywhere = absence.mask[good].all(axis=0) if good.any() else np.zeros(len(check.names), dtype=bool)
    scored.absent = Absent(check.features(everywhere), float(everywhere @ check.shares), "")
    return scored


def _refuse_absent(check: MissingCheck, absence: Absence, encoded: Encoded) -> None:
    """Mark the otherwise good rows the policy refuses as bad, with an error per absent feature."""
    refused = np.flatnonzero(absence.refused & ~encoded.bad)
    if not len(refused):
        return
    for i in refused.tolist():
        if len(encoded.errors) < MAX_REPORTED_ERRORS:
            encoded.errors += check.errors(absence.mask[i], float(absence.shares[i]), i + 1)
    encoded.bad[refused] = True
    encoded.errors.sort(key=lambda error: error.row or 0)


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
    contributions = model.contributions(raw)[0]
    base_value = float(contributions[-1])
    logit = base_value + float(contributions[:-1].sum())
    probability = 1.0 / (1.0 + math.exp(-logit))
    decisions, bands = decide(served, np.array([probability]))
    names = model.feature_names()
    order = np.argsort(-np.abs(contributions[:-1]), kind="stable")[:top]
    values = _display_values(served, model.builder.build(raw)[0])
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
