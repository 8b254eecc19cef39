"""The feature schema: the one description of a model's inputs shared by training, the API and drift.

It is inferred from the training data, stored next to the booster in the model artifact, and used
to turn raw client records (dicts from JSON, rows from a CSV, DataFrames) into the booster's numeric
input, so serving never depends on pandas category dtypes matching the training run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from ml.domain import KNOWN_RANGES

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


class RecordEncoder:
    """Fast dict → row encoder with per-field validation, built once per model version.

    Used on the API's hot path: plain Python over a precomputed lookup, no pandas.
    """

    def __init__(self, schema: FeatureSchema) -> None:
        self.schema = schema
        self.width = len(schema.features)
        self._index = {spec.name: i for i, spec in enumerate(schema.features)}
        self._specs = schema.features
        self._codes = [
            {category: float(code) for code, category in enumerate(spec.categories)}
            for spec in schema.features
        ]

    def encode(self, record: dict[str, Any], out: np.ndarray, row: int | None = None) -> list[FieldError]:
        """Fill `out` (a preallocated NaN row) from `record`; return the problems found (empty when fine)."""
        errors: list[FieldError] = []
        for name, value in record.items():
            col = self._index.get(name)
            if col is None:
                if name != self.schema.id_column:
                    errors.append(FieldError(name, "unknown feature for this model", row))
                continue
            if value is None:
                continue
            spec = self._specs[col]
            if spec.kind == "categorical":
                error = self._encode_category(spec, col, value, out)
            else:
                error = self._encode_number(spec, col, value, out)
            if error:
                errors.append(FieldError(name, error, row))
        return errors

    def _encode_category(self, spec: FeatureSpec, col: int, value: Any, out: np.ndarray) -> str | None:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            return f"expected a category (string), got {type(value).__name__}"
        text = value if isinstance(value, str) else _number_to_category(value)
        if text == "":
            return None
        code = self._codes[col].get(text)
        if code is None:
            shown = ", ".join(spec.categories[:8]) + (", ..." if len(spec.categories) > 8 else "")
            return f"unknown category {text!r}; expected one of: {shown}"
        out[col] = code
        return None

    @staticmethod
    def _encode_number(spec: FeatureSpec, col: int, value: Any, out: np.ndarray) -> str | None:
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, str):
            if value.strip() == "":
                return None
            try:
                value = float(value)
            except ValueError:
                return f"expected a number, got {value!r}"
        if not isinstance(value, int | float):
            return f"expected a number, got {type(value).__name__}"
        number = float(value)
        if not math.isfinite(number):
            return "must be a finite number (NaN and infinity are not accepted; omit the field or send null)"
        if spec.allowed_min is not None and number < spec.allowed_min:
            return f"{number:g} is below the plausible minimum {spec.allowed_min:g}"
        if spec.allowed_max is not None and number > spec.allowed_max:
            return f"{number:g} is above the plausible maximum {spec.allowed_max:g}"
        out[col] = number
        return None


def _number_to_category(value: int | float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
