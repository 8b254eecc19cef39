"""Scoring an uploaded CSV: read in chunks with pandas, validate whole columns at once, one predict per chunk.

The same rules as `RecordEncoder` (unknown columns, types, categories, finiteness, plausible ranges),
vectorised, because a per-cell Python loop over 100,000 rows would cost seconds. Rows are reported
by CSV line number (header = line 1, one record per line).
"""

from __future__ import annotations

import csv
import re
import warnings
from collections.abc import Iterator
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from api.model_holder import LoadedModel
from api.scoring import InputError, Scored, decide, predict_many
from ml.data import csv_line
from ml.schema import FeatureSpec, FieldError

_PARSER_LINE = re.compile(r"line (\d+)")


def score_csv(served: LoadedModel, stream: BinaryIO, strict: bool, chunk_rows: int) -> Scored:
    """Score every valid row of the CSV in `stream`; raise InputError for an unusable file."""
    schema = served.model.schema
    header = _read_header(stream)
    known = set(schema.names())
    ignored = {schema.id_column, schema.target}
    unknown = [name for name in header if name not in known and name not in ignored]
    if unknown:
        raise InputError([FieldError(name, "unknown column for this model", 1) for name in unknown])
    categorical = {
        name: "string" for name in header if name in known and schema.spec(name).kind == "categorical"
    }
    if schema.id_column in header:
        categorical[schema.id_column] = "string"
    total = Scored([], [], [], [], [], [])
    try:
        for chunk in _chunks(stream, chunk_rows, categorical):
            part = _score_chunk(served, chunk, total.total)
            if strict and part.errors:
                raise InputError(
                    part.errors, f"rows invalid (strict mode); first at line {part.errors[0].row}"
                )
            total.extend(part)
    except pd.errors.ParserWarning as exc:
        raise InputError([FieldError("", f"malformed CSV: {exc}")], "malformed CSV") from exc
    except pd.errors.ParserError as exc:
        match = _PARSER_LINE.search(str(exc))
        line = int(match.group(1)) if match else None
        raise InputError([FieldError("", f"malformed CSV: {exc}", line)], "malformed CSV") from exc
    except UnicodeDecodeError as exc:
        raise InputError([FieldError("", f"not UTF-8 text: {exc.reason}")], "malformed CSV") from exc
    if total.total == 0:
        raise InputError([FieldError("", "the CSV has a header but no rows", 2)], "empty CSV")
    return total


def _chunks(stream: BinaryIO, chunk_rows: int, dtypes: dict[str, str]) -> Iterator[pd.DataFrame]:
    with warnings.catch_warnings():
        # A line with more fields than the header would otherwise silently become an index: refuse it.
        warnings.simplefilter("error", pd.errors.ParserWarning)
        yield from pd.read_csv(
            stream, chunksize=chunk_rows, dtype=dtypes, encoding="utf-8-sig", index_col=False
        )


def _read_header(stream: BinaryIO) -> list[str]:
    """Column names from the first line (then rewind), so an unknown column fails before any parsing."""
    first = stream.readline()
    stream.seek(0)
    if not first.strip():
        raise InputError([FieldError("", "the CSV is empty (no header line)", 1)], "empty CSV")
    try:
        names = next(csv.reader([first.decode("utf-8-sig")]))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError([FieldError("", f"unreadable CSV header: {exc}", 1)], "malformed CSV") from exc
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise InputError([FieldError(name, "duplicated column", 1) for name in duplicated], "malformed CSV")
    return names


def _score_chunk(served: LoadedModel, chunk: pd.DataFrame, offset: int) -> Scored:
    schema = served.model.schema
    n = len(chunk)
    raw = np.full((n, len(schema.features)), np.nan)
    bad = np.zeros(n, dtype=bool)
    errors: list[FieldError] = []
    lines = csv_line(offset) + np.arange(n)
    for col, spec in enumerate(schema.features):
        if spec.name not in chunk.columns:
            continue
        series = chunk[spec.name]
        if spec.kind == "categorical":
            problems = _encode_categories(spec, series, raw[:, col])
        else:
            problems = _encode_numbers(spec, series, raw[:, col])
        for index, reason in problems:
            bad[index] = True
            errors.append(FieldError(spec.name, reason, int(lines[index])))
    errors.sort(key=lambda error: error.row or 0)
    good = np.flatnonzero(~bad)
    probabilities = predict_many(served, raw[good]) if len(good) else np.empty(0)
    decisions, bands = decide(served, probabilities)
    ids = schema.id_column
    return Scored(
        rows=lines[good].tolist(),
        probabilities=probabilities.tolist(),
        decisions=decisions,
        bands=bands,
        features=[MatrixFeatures(served, raw[good])],
        client_ids=chunk[ids].iloc[good].tolist() if ids in chunk.columns else [None] * len(good),
        errors=errors,
        rejected=int(bad.sum()),
        total=n,
    )


def _encode_categories(spec: FeatureSpec, series: pd.Series, out: np.ndarray) -> list[tuple[int, str]]:
    codes = pd.Categorical(series, categories=spec.categories).codes
    present = series.notna().to_numpy()
    out[:] = np.where(codes < 0, np.nan, codes)
    unknown = np.flatnonzero(present & (codes < 0))
    shown = ", ".join(spec.categories[:8]) + (", ..." if len(spec.categories) > 8 else "")
    values = series.to_numpy()
    return [(i, f"unknown category {values[i]!r}; expected one of: {shown}") for i in unknown.tolist()]


def _encode_numbers(spec: FeatureSpec, series: pd.Series, out: np.ndarray) -> list[tuple[int, str]]:
    problems: list[tuple[int, str]] = []
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        numbers = series.to_numpy(dtype=float, na_value=np.nan)
    else:
        numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        not_numbers = np.flatnonzero(series.notna().to_numpy() & np.isnan(numbers))
        values = series.to_numpy()
        problems += [(i, f"expected a number, got {values[i]!r}") for i in not_numbers.tolist()]
    with np.errstate(invalid="ignore"):
        infinite = np.flatnonzero(np.isinf(numbers))
        below = (
            np.flatnonzero(numbers < spec.allowed_min) if spec.allowed_min is not None else np.empty(0, int)
        )
        above = (
            np.flatnonzero(numbers > spec.allowed_max) if spec.allowed_max is not None else np.empty(0, int)
        )
    problems += [
        (i, "must be a finite number (NaN and infinity are not accepted)") for i in infinite.tolist()
    ]
    problems += [
        (i, f"{numbers[i]:g} is below the plausible minimum {spec.allowed_min:g}")
        for i in below.tolist()
        if not np.isinf(numbers[i])
    ]
    problems += [
        (i, f"{numbers[i]:g} is above the plausible maximum {spec.allowed_max:g}")
        for i in above.tolist()
        if not np.isinf(numbers[i])
    ]
    out[:] = numbers
    return problems


class MatrixFeatures:
    """Scored rows as feature dicts for the inference log, built only when iterated (in the log's thread)."""

    def __init__(self, served: LoadedModel, raw: np.ndarray) -> None:
        self.raw = raw
        self.names = served.model.schema.names()
        self.categories = [
            spec.categories if spec.kind == "categorical" else None for spec in served.model.schema.features
        ]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        columns = list(zip(self.names, self.categories, strict=True))
        for values in self.raw.tolist():
            yield {
                name: (categories[int(value)] if categories else value)
                for (name, categories), value in zip(columns, values, strict=True)
                if value == value  # not NaN
            }
