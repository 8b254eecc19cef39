"""Validation of a training dataset before any model sees it.

Every problem names its column, what is wrong and the CSV line numbers of the offending rows, so a
person can open the file and fix it. Errors stop training; warnings only drop a column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ml.config import ValidationParams
from ml.data import csv_line
from ml.domain import KNOWN_RANGES
from ml.schema import MAX_CATEGORIES

SHOWN_LINES = 10
NUMERIC_SHARE = 0.95  # an object column this numeric is a numeric column with bad values


@dataclass(frozen=True)
class Issue:
    severity: Literal["error", "warning"]
    column: str
    problem: str
    lines: tuple[int, ...] = ()
    count: int = 0

    def describe(self) -> str:
        text = f"[{self.severity}] {self.column}: {self.problem}"
        if self.count:
            shown = ", ".join(map(str, self.lines[:SHOWN_LINES]))
            more = f" and {self.count - SHOWN_LINES} more" if self.count > SHOWN_LINES else ""
            text += f" ({self.count} rows; CSV lines {shown}{more})"
        return text


@dataclass
class ValidationReport:
    rows: int
    columns: int
    issues: list[Issue] = field(default_factory=list)
    dropped_columns: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [issue for issue in self.issues if issue.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def describe(self) -> str:
        head = f"{self.rows} rows, {self.columns} columns: " + (
            "valid" if self.ok else f"{len(self.errors)} error(s)"
        )
        return "\n".join([head, *(issue.describe() for issue in self.issues)])


def _lines(mask: np.ndarray) -> tuple[tuple[int, ...], int]:
    positions = np.flatnonzero(mask)
    return tuple(csv_line(int(i)) for i in positions[:SHOWN_LINES]), int(positions.size)


def _issue(severity: Literal["error", "warning"], column: str, problem: str, mask: np.ndarray) -> Issue:
    lines, count = _lines(mask)
    return Issue(severity, column, problem, lines, count)


def _check_target(series: pd.Series, name: str) -> list[Issue]:
    issues = []
    missing = series.isna().to_numpy()
    if missing.any():
        issues.append(_issue("error", name, "target is missing", missing))
    values = pd.to_numeric(series, errors="coerce")
    bad = (~series.isna() & ~values.isin([0, 1])).to_numpy()
    if bad.any():
        issues.append(
            _issue("error", name, "target must be 0 or 1 (for text labels pass --positive-label VALUE)", bad)
        )
    present = set(values[values.isin([0, 1])].astype(int).unique())
    if not issues and present != {0, 1}:
        issues.append(
            Issue("error", name, f"target needs both classes 0 and 1; found only {sorted(present)}")
        )
    return issues


def _check_ids(series: pd.Series, name: str) -> list[Issue]:
    duplicated = series.duplicated(keep="first").to_numpy()
    return [_issue("error", name, "duplicate id", duplicated)] if duplicated.any() else []


def _check_numeric_text(series: pd.Series, name: str) -> list[Issue]:
    """An object column whose values are nearly all numbers holds typos, not categories."""
    present = series.dropna()
    if present.empty:
        return []
    parsed = pd.to_numeric(present, errors="coerce")
    if parsed.notna().mean() < NUMERIC_SHARE:
        return []
    bad = series.notna() & pd.to_numeric(series, errors="coerce").isna()
    return [_issue("error", name, "value is not a number", bad.to_numpy())]


def _check_numeric(series: pd.Series, name: str) -> list[Issue]:
    values = series.to_numpy(dtype=float, na_value=np.nan)
    issues = []
    infinite = np.isinf(values)
    if infinite.any():
        issues.append(_issue("error", name, "value is infinite", infinite))
    if name in KNOWN_RANGES:
        low, high = KNOWN_RANGES[name]
        outside = np.isfinite(values) & ((values < low) | (values > high))
        if outside.any():
            issues.append(
                _issue("error", name, f"value outside the plausible range [{low:g}, {high:g}]", outside)
            )
    return issues


def validate_frame(
    frame: pd.DataFrame, target: str, id_column: str | None, params: ValidationParams
) -> ValidationReport:
    """Check schema, dtypes, ranges, null rates and target values; list every problem found."""
    report = ValidationReport(rows=len(frame), columns=frame.shape[1])
    if target not in frame.columns:
        report.issues.append(Issue("error", target, "target column is missing"))
        return report
    if len(frame) < params.min_rows:
        report.issues.append(
            Issue("error", "<dataset>", f"{len(frame)} rows; at least {params.min_rows} needed")
        )
    report.issues += _check_target(frame[target], target)
    if id_column:
        if id_column in frame.columns:
            report.issues += _check_ids(frame[id_column], id_column)
        else:
            report.issues.append(Issue("error", id_column, "id column is missing"))
    for name in frame.columns:
        if name in (target, id_column):
            continue
        series = frame[name]
        null_rate = float(series.isna().mean())
        if null_rate > params.max_null_rate:
            report.issues.append(Issue("warning", name, f"{null_rate:.1%} missing; column dropped"))
            report.dropped_columns.append(name)
        elif pd.api.types.is_numeric_dtype(series):
            report.issues += _check_numeric(series, name)
        else:
            text_issues = _check_numeric_text(series, name)
            report.issues += text_issues
            if not text_issues and series.nunique() > MAX_CATEGORIES:
                report.issues.append(
                    Issue("warning", name, f"{series.nunique()} distinct text values; column dropped")
                )
                report.dropped_columns.append(name)
    if len(report.dropped_columns) == frame.shape[1] - 1 - bool(id_column):
        report.issues.append(Issue("error", "<dataset>", "no usable feature column left"))
    return report
