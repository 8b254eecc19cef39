"""The feature schema: the one description of a model's inputs shared by training, the API and drift.

It is inferred from the training data, stored next to the booster in the model artifact, and used
to turn raw client records (dicts from JSON, rows from a CSV, DataFrames) into the booster's numeric
input, so serving never depends on pandas category dtypes matching the training run.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from ml.domain import KNOWN_RANGES

if TYPE_CHECKING:  # imported where a CSV is read (not at the API's start-up; the API image has none)
    import pyarrow as pa

MAX_CATEGORIES = 200


class FeatureSpec(BaseModel):
    """One raw input column as the model expects it."""

    name: str
    kind: Literal["numeric", "categorical"]
    categories: list[str] = Field(default_factory=list)
    min: float | None = None
    max: float | None = None
    allowed_min: float | None = None
    allowed_max: float | None = None
    null_rate: float = 0.0
    integer: bool = False
    example: float | str | None = None

    @property
    def bounds(self) -> tuple[float, float]:
        """The plausible range, open-ended where the schema sets no limit."""
        low = self.allowed_min if self.allowed_min is not None else -np.inf
        high = self.allowed_max if self.allowed_max is not None else np.inf
        return low, high


def implausible(values: np.ndarray, low: float | np.ndarray, high: float | np.ndarray) -> np.ndarray:
    """The plausibility rule for numbers: infinite or outside [low, high] (NaN is missing, not implausible).
    Scoring refuses such a cell; the drift check counts it."""
    with np.errstate(invalid="ignore"):
        outside: np.ndarray = np.isinf(values) | (values < low) | (values > high)
    return outside


class FeatureSchema(BaseModel):
    """All raw inputs of a model, in booster order, plus the target and id column names."""

    target: str
    id_column: str | None = None
    features: list[FeatureSpec]

    def names(self) -> list[str]:
        return [spec.name for spec in self.features]

    def spec(self, name: str) -> FeatureSpec:
        return self._by_name()[name]

    def _by_name(self) -> dict[str, FeatureSpec]:
        cache = self.__dict__.get("_lookup")
        if cache is None:
            cache = {spec.name: spec for spec in self.features}
            self.__dict__["_lookup"] = cache
        return cache

    def categorical_names(self) -> list[str]:
        return [spec.name for spec in self.features if spec.kind == "categorical"]

    def example_record(self) -> dict[str, Any]:
        return {spec.name: spec.example for spec in self.features if spec.example is not None}

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.model_dump_json(indent=2))

    @classmethod
    def load(cls, path: str | Path) -> FeatureSchema:
        return cls.model_validate_json(Path(path).read_text())


@dataclass(frozen=True)
class FieldError:
    """A problem with one field of one record; `row` is 1-based within a batch (None for single records)."""

    field: str
    reason: str
    row: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "reason": self.reason}


def _is_categorical(series: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))


def _allowed_range(name: str, low: float, high: float) -> tuple[float, float]:
    """Plausible bounds: the domain's own where known, else the observed span widened on each side."""
    if name in KNOWN_RANGES:
        return KNOWN_RANGES[name]
    span = max(high - low, abs(high), abs(low), 1.0)
    return low - span, high + span


def _numeric_spec(name: str, series: pd.Series) -> FeatureSpec:
    values = series.to_numpy(dtype=float, na_value=np.nan)
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    allowed_min, allowed_max = _allowed_range(name, low, high)
    integer = bool(finite.size) and bool(np.all(np.mod(finite, 1) == 0))
    median = float(np.median(finite)) if finite.size else None
    return FeatureSpec(
        name=name,
        kind="numeric",
        min=low,
        max=high,
        allowed_min=allowed_min,
        allowed_max=allowed_max,
        null_rate=float(np.mean(~np.isfinite(values))) if len(values) else 0.0,
        integer=integer,
        example=(round(median) if integer else median) if median is not None else None,
    )


def _categorical_spec(name: str, series: pd.Series) -> FeatureSpec:
    present = series.dropna().astype(str)
    counts = present.value_counts()
    return FeatureSpec(
        name=name,
        kind="categorical",
        categories=sorted(counts.index.tolist()),
        null_rate=float(series.isna().mean()) if len(series) else 0.0,
        example=str(counts.index[0]) if len(counts) else None,
    )


def infer_schema(frame: pd.DataFrame, target: str, id_column: str | None) -> FeatureSchema:
    """Describe every input column of `frame` (all but the target and the id)."""
    specs = []
    for name in frame.columns:
        if name in (target, id_column):
            continue
        series = frame[name]
        specs.append(
            _categorical_spec(name, series) if _is_categorical(series) else _numeric_spec(name, series)
        )
    return FeatureSchema(target=target, id_column=id_column, features=specs)


def encode_frame(frame: pd.DataFrame, schema: FeatureSchema) -> np.ndarray:
    """Vectorised raw-feature matrix (float64, NaN = missing, categories as codes) for a DataFrame.

    Columns absent from `frame` are all-missing; unknown categories become missing.
    """
    matrix = np.full((len(frame), len(schema.features)), np.nan)
    for col, spec in enumerate(schema.features):
        if spec.name not in frame.columns:
            continue
        series = frame[spec.name]
        if spec.kind == "categorical":
            codes = pd.Categorical(series.astype("string"), categories=spec.categories).codes
            matrix[:, col] = np.where(codes < 0, np.nan, codes)
        else:
            matrix[:, col] = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return matrix


NUMBER_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
MAX_NUMBER_TEXT = 64  # characters: no plausible feature value needs more


class ColumnEncoder:
    """The one place where a raw value is accepted or refused: JSON records, CSV chunks, DataFrames.

    Built once per model version. Values are checked a column at a time: the type of each cell
    (a number, a category, missing), then one vectorised range check over the whole matrix, so a
    CSV chunk of 10,000 rows and a single JSON record follow exactly the same rules and messages.

    Rules: numbers are JSON numbers or decimal text (`"1_000"`, `true`, `"0x10"` are refused),
    finite and within the schema's plausible range; categories are text (or integers, read as
    their decimal text) among the schema's categories; None, NaN from a CSV and blank text are missing.
    """

    def __init__(self, schema: FeatureSchema) -> None:
        self.schema = schema
        self.width = len(schema.features)
        self.names = schema.names()
        self.index = {name: i for i, name in enumerate(self.names)}
        self.categories = [
            spec.categories if spec.kind == "categorical" else None for spec in schema.features
        ]
        self._codes = [
            {category: float(code) for code, category in enumerate(spec.categories)}
            for spec in schema.features
        ]
        self._numeric = [spec.kind == "numeric" for spec in schema.features]
        bounds = [
            s.bounds if n else (-np.inf, np.inf) for s, n in zip(schema.features, self._numeric, strict=True)
        ]
        self._low = np.array([low for low, _ in bounds])
        self._high = np.array([high for _, high in bounds])
        self._category_sets: dict[int, pa.Array] = {}  # per categorical column, built at its first CSV

    def encode_records(self, records: Sequence[Any], rows: Sequence[int | None] | None = None) -> Encoded:
        """Records (dicts of raw values, e.g. parsed JSON) as a raw matrix; `rows` number them in errors."""
        n = len(records)
        numbers = list(range(1, n + 1)) if rows is None else list(rows)
        columns: list[list[Any]] = [[None] * n for _ in range(self.width)]
        bad = np.zeros(n, dtype=bool)
        errors: list[FieldError] = []
        id_column = self.schema.id_column
        for i, record in enumerate(records):
            if not isinstance(record, dict):
                bad[i] = True
                errors.append(
                    FieldError("", f"expected an object of features, got {type(record).__name__}", numbers[i])
                )
                continue
            for name, value in record.items():
                col = self.index.get(name)
                if col is not None:
                    columns[col][i] = value
                elif name != id_column:
                    bad[i] = True
                    errors.append(FieldError(str(name), "unknown feature for this model", numbers[i]))
        matrix = np.full((n, self.width), np.nan)
        for col, values in enumerate(columns):
            self._encode_column(col, values, matrix[:, col], bad, errors, numbers)
        self._check_ranges(matrix, bad, errors, numbers)
        return Encoded(matrix, bad, sorted(errors, key=_error_order))

    def encode_record(self, record: dict[str, Any], row: int | None = None) -> Encoded:
        """One record (a single `/predict`) as a (1, width) matrix: the cells judged by the same per-cell
        rules as `encode_records`, in its error order, without its column-at-a-time set-up (for one
        row that set-up costs more than the cells: ~100 of a request's ~700 µs, bench/README.md)."""
        cells = [math.nan] * self.width
        errors: list[FieldError] = []
        problems: list[tuple[int, str]] = []
        for name, value in record.items():
            col = self.index.get(name)
            if col is None:
                if name != self.schema.id_column:
                    errors.append(FieldError(str(name), "unknown feature for this model", row))
                continue
            judged = _number(value) if self._numeric[col] else self._category(col, value)
            if isinstance(judged, str):
                problems.append((col, judged))
            else:
                cells[col] = judged
        errors += [FieldError(self.names[col], reason, row) for col, reason in sorted(problems)]
        matrix = np.array([cells])
        bad = np.array([bool(errors)])
        self._check_ranges(matrix, bad, errors, [row])
        return Encoded(matrix, bad, errors)

    def encode_table(self, frame: pd.DataFrame, rows: Sequence[int]) -> Encoded:
        """A DataFrame (e.g. a CSV chunk, categories read as text) as a raw matrix, row numbers from `rows`."""
        n = len(frame)
        numbers = list(rows)
        matrix = np.full((n, self.width), np.nan)
        bad = np.zeros(n, dtype=bool)
        errors: list[FieldError] = []
        for col, spec in enumerate(self.schema.features):
            if spec.name in frame.columns:
                self._encode_column(col, frame[spec.name], matrix[:, col], bad, errors, numbers)
        self._check_ranges(matrix, bad, errors, numbers)
        return Encoded(matrix, bad, sorted(errors, key=_error_order))

    def encode_arrow(self, batch: pa.RecordBatch, rows: Sequence[int]) -> Encoded:
        """A batch of text columns (e.g. a CSV block read by pyarrow, null = missing) as a raw matrix.

        Decimal text and known categories are converted column by column in Arrow's compute kernels;
        every other cell goes through the same per-cell rules as a JSON value, so the answers and
        messages are those of `encode_records` and `encode_table`.
        """
        n = batch.num_rows
        numbers = list(rows)
        matrix = np.full((n, self.width), np.nan)
        bad = np.zeros(n, dtype=bool)
        errors: list[FieldError] = []
        present = set(batch.schema.names)
        for col, spec in enumerate(self.schema.features):
            if spec.name in present:
                self._encode_column(col, batch.column(spec.name), matrix[:, col], bad, errors, numbers)
        self._check_ranges(matrix, bad, errors, numbers)
        return Encoded(matrix, bad, sorted(errors, key=_error_order))

    def _encode_column(
        self,
        col: int,
        values: Sequence[Any] | pd.Series | pa.Array,
        out: np.ndarray,
        bad: np.ndarray,
        errors: list[FieldError],
        rows: Sequence[int | None],
    ) -> None:
        spec = self.schema.features[col]
        arrow = sys.modules.get("pyarrow")  # loaded by whoever handed over Arrow columns
        if arrow is not None and isinstance(values, arrow.Array):
            if spec.kind == "numeric":
                problems = _parse_number_texts(values, out)
            else:
                problems = self._parse_category_texts(col, values, out)
        elif spec.kind == "numeric":
            problems = _parse_numbers(values, out)
        elif isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
            problems = self._parse_category_codes(col, values, out)
        else:
            problems = self._parse_categories(col, values, out)
        for i, reason in problems:
            bad[i] = True
            errors.append(FieldError(spec.name, reason, rows[i]))

    def _parse_categories(
        self,
        col: int,
        values: Sequence[Any] | pd.Series,
        out: np.ndarray,
        positions: Sequence[int] | None = None,
    ) -> list[tuple[int, str]]:
        """Cell by cell; `positions` place the cells in `out` when they are a subset of the column."""
        if isinstance(values, pd.Series) and isinstance(values.dtype, pd.StringDtype):
            texts: Sequence[Any] = values.to_numpy(dtype=object, na_value=None)
        else:
            texts = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else values
        problems: list[tuple[int, str]] = []
        for i, value in zip(range(len(texts)) if positions is None else positions, texts, strict=True):
            if value is None:
                continue
            code = self._category(col, value)
            if isinstance(code, str):
                problems.append((i, code))
            else:
                out[i] = code
        return problems

    def _category(self, col: int, value: Any) -> float | str:
        """A cell as its category's code (NaN = missing), or the reason it is not one of the column's."""
        text = _category_text(value) if value is not None else ""
        if text is None:
            return f"expected a category (string), got {type(value).__name__}"
        if not text:
            return math.nan
        code = self._codes[col].get(text)
        return _unknown_category(self.schema.features[col], text) if code is None else code

    def _parse_category_codes(self, col: int, values: pd.Series, out: np.ndarray) -> list[tuple[int, str]]:
        """A pandas categorical column (e.g. a CSV chunk): each distinct value judged once by the per-cell
        rules, the verdicts spread over the cells by their codes."""
        distinct = values.cat.categories.tolist()
        judged = np.full(len(distinct), np.nan)
        refused: dict[int, str] = {}
        for code, problem in self._parse_categories(col, distinct, judged):
            refused[code] = problem
        codes = values.cat.codes.to_numpy()
        present = codes >= 0
        out[present] = judged[codes[present]]
        if not refused:
            return []
        cells = np.flatnonzero(np.isin(codes, list(refused)))
        return [(i, refused[code]) for i, code in zip(cells.tolist(), codes[cells].tolist(), strict=True)]

    def _parse_category_texts(self, col: int, values: pa.Array, out: np.ndarray) -> list[tuple[int, str]]:
        """Known categories by one lookup over the column; the rest cell by cell (`_category_text`)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if col not in self._category_sets:
            self._category_sets[col] = pa.array(self.schema.features[col].categories, pa.string())
        codes = pc.index_in(values, value_set=self._category_sets[col])
        out[:] = codes.cast(pa.float64()).to_numpy(zero_copy_only=False)
        unknown = pc.and_(pc.is_valid(values), pc.is_null(codes))
        return self._parse_categories(col, _cells(values, unknown), out, _indices(unknown))

    def _check_ranges(
        self, matrix: np.ndarray, bad: np.ndarray, errors: list[FieldError], rows: Sequence[int | None]
    ) -> None:
        """Finite and plausible, for every numeric cell of the matrix at once."""
        outside = implausible(matrix, self._low, self._high)
        for i, col in zip(*np.nonzero(outside), strict=True):
            spec = self.schema.features[col]
            number = float(matrix[i, col])
            if not math.isfinite(number):
                reason = (
                    "must be a finite number (NaN and infinity are not accepted; omit the field or send null)"
                )
            elif number < self._low[col]:
                reason = f"{number:g} is below the plausible minimum {spec.allowed_min:g}"
            else:
                reason = f"{number:g} is above the plausible maximum {spec.allowed_max:g}"
            bad[i] = True
            errors.append(FieldError(spec.name, reason, rows[i]))


@dataclass
class Encoded:
    """A raw matrix (NaN = missing, categories as codes), which rows are refused, and why."""

    matrix: np.ndarray
    bad: np.ndarray
    errors: list[FieldError]


def _error_order(error: FieldError) -> int:
    return error.row or 0


# NUMBER_TEXT for Arrow's regex engine (RE2): `\d` is ASCII there, so text it refuses (other digits,
# other blanks) is not refused here but read by `_number`, which decides as for any other value.
_ARROW_NUMBER_TEXT = f"^{NUMBER_TEXT.pattern}$"


def _parse_number_texts(values: pa.Array, out: np.ndarray) -> list[tuple[int, str]]:
    """A text column: plain decimal text converted in one vectorised pass, every other non-null cell
    by `_number`, cell by cell. Arrow's string-to-double is correctly rounded, as `float()` is, and
    accepts exactly NUMBER_TEXT's ASCII forms plus inf/nan spellings (no blanks): a finite result of a
    text no longer than MAX_NUMBER_TEXT is what `_number` would give. When a cell does not convert at
    all, the trimmed column is sorted out with the regular expression instead."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:  # the common column: every cell plain decimal text, unpadded
        numbers = values.cast(pa.float64())
        short = pc.less_equal(pc.utf8_length(values), MAX_NUMBER_TEXT)
        plain = pc.and_(pc.is_finite(numbers), short).fill_null(False)
    except pa.ArrowInvalid:
        text = pc.ascii_trim_whitespace(values)
        short = pc.less_equal(pc.utf8_length(text), MAX_NUMBER_TEXT)
        plain = pc.and_(pc.match_substring_regex(text, _ARROW_NUMBER_TEXT), short).fill_null(False)
        numbers = pc.if_else(plain, text, pa.scalar(None, pa.string())).cast(pa.float64())
    out[:] = pc.if_else(plain, numbers, pa.scalar(None, pa.float64())).to_numpy(zero_copy_only=False)
    rest = pc.and_(pc.is_valid(values), pc.invert(plain))
    return _parse_numbers(_cells(values, rest), out, _indices(rest))


def _indices(mask: pa.Array) -> list[int]:
    return np.flatnonzero(mask.to_numpy(zero_copy_only=False)).tolist()


def _cells(values: pa.Array, mask: pa.Array) -> list[Any]:
    """The cells of `values` where `mask` holds, as Python values (usually none or a few)."""
    return values.filter(mask).to_pylist()  # type: ignore[no-any-return]


def _parse_numbers(
    values: Sequence[Any] | pd.Series, out: np.ndarray, positions: Sequence[int] | None = None
) -> list[tuple[int, str]]:
    """Fill `out` with the numbers of a column; the cells that are not numbers come back as problems.
    `positions` place the cells in `out` when they are a subset of the column."""
    if isinstance(values, pd.Series):
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            out[:] = values.to_numpy(dtype=float, na_value=np.nan)
            return []
        values = values.to_numpy(dtype=object)
    problems: list[tuple[int, str]] = []
    for i, value in zip(range(len(values)) if positions is None else positions, values, strict=True):
        number = _number(value)
        if isinstance(number, str):
            problems.append((i, number))
        else:
            out[i] = number
    return problems


def _number(value: Any) -> float | str:
    """A cell as a float (NaN = missing), or the reason it is not a number."""
    kind = type(value)
    if kind is float:
        number: float = value
        return number
    if kind is int:
        try:
            return float(value)
        except OverflowError:
            return "must be a finite number (this integer is out of range)"
    if value is None or value is pd.NA:
        return math.nan
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return math.nan
        if len(text) <= MAX_NUMBER_TEXT and NUMBER_TEXT.fullmatch(text):
            return float(text)
        return f"expected a number, got {_shown(value)}"
    if isinstance(value, bool | np.bool_):
        return f"expected a number, got {str(bool(value)).lower()}"
    if isinstance(value, np.integer | np.floating):
        return float(value)
    return f"expected a number, got {type(value).__name__}"


def _category_text(value: Any) -> str | None:
    """A cell as category text ('' = missing), or None when it cannot be a category."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return ""
        return str(int(value)) if float(value).is_integer() else str(value)
    return None


def _unknown_category(spec: FeatureSpec, text: str) -> str:
    shown = ", ".join(spec.categories[:8]) + (", ..." if len(spec.categories) > 8 else "")
    return f"unknown category {_shown(text)}; expected one of: {shown}"


def _shown(value: str) -> str:
    """A refused value as quoted in an error: repr, cut to a readable length."""
    return repr(value if len(value) <= 80 else value[:80] + "...")
