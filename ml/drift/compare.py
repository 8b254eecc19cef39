"""The drift check: a reference sample against current data, column by column, with Evidently.

One Evidently pass, a `ValueDrift` per column, with Evidently's default method for each column type
(Wasserstein / Jensen-Shannon above 1,000 reference rows, K-S / chi-square / Z below). That is what
`DataDriftPreset` computes too, but the preset tests every column three times (its count metric, its
per-column metrics and its rendered table), so this is the same verdict for a third of the work.
Column types are fixed once, from the model's schema and the reference, so a log whose integers came
back as floats is tested with the same method as the training data; text becomes pandas categoricals
(a small code per cell instead of a Python object per cell). Nothing here reads or writes files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ml.artifacts import SCORE_COLUMN
from ml.config import DriftParams
from ml.data import csv_line
from ml.schema import FeatureSchema, implausible

PREDICTION = SCORE_COLUMN  # the score column, as the training run's reference sample has it
NUMERICAL, CATEGORICAL = "num", "cat"  # Evidently's ColumnType values
MISSING_JUMP = 0.05  # a missing share this much above the reference's is a data-quality issue
SHOWN_LINES = 10
SHOWN_CATEGORIES = 10


class DriftInputError(ValueError):
    """The two datasets cannot be compared; the message names the problem."""


@dataclass(frozen=True)
class ColumnDrift:
    """Evidently's verdict on one column (`method` is None when the column could not be tested)."""

    column: str
    kind: str
    method: str | None
    score: float | None
    threshold: float | None
    drifted: bool
    note: str | None = None


@dataclass(frozen=True)
class ColumnQuality:
    """Data-quality figures of one column of the current data, next to the reference's."""

    missing_reference: float
    missing_current: float
    out_of_range: int = 0
    allowed_range: tuple[float | None, float | None] | None = None
    new_categories: list[str] = field(default_factory=list)
    new_category_rows: int = 0

    def issues(self, column: str, rows: int) -> list[str]:
        found = []
        if self.missing_current - self.missing_reference > MISSING_JUMP:
            found.append(
                f"{column}: {self.missing_current:.1%} missing (reference {self.missing_reference:.1%})"
            )
        if self.out_of_range and self.allowed_range:
            low, high = self.allowed_range
            found.append(f"{column}: {self.out_of_range} of {rows} values outside [{low:g}, {high:g}]")
        if self.new_categories:
            shown = ", ".join(map(repr, self.new_categories[:SHOWN_CATEGORIES]))
            more = ", ..." if len(self.new_categories) > SHOWN_CATEGORIES else ""
            found.append(f"{column}: {self.new_category_rows} rows with unseen categories {shown}{more}")
        return found


@dataclass
class DriftResult:
    """Everything one check found; `snapshot` is Evidently's run, kept for the HTML report."""

    columns: list[ColumnDrift]  # the features, then the model's score when both sides have one
    quality: dict[str, ColumnQuality]
    rows_reference: int
    rows_current: int
    ignored_columns: list[str]
    threshold: float
    prediction_means: tuple[float, float] | None = None
    snapshot: Any = None

    @property
    def prediction(self) -> ColumnDrift | None:
        return next((c for c in self.columns if c.column == PREDICTION), None)

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    @property
    def drift_share(self) -> float:
        return len(self.drifted_columns) / len(self.columns) if self.columns else 0.0

    @property
    def dataset_drift(self) -> bool:
        return self.drift_share > self.threshold

    @property
    def quality_score(self) -> float:
        """Share of current cells without a quality problem (unseen category, out of range, extra missing)."""
        cells = self.rows_current * len(self.quality)
        if not cells:
            return 1.0
        bad = sum(
            q.out_of_range
            + q.new_category_rows
            + max(0.0, q.missing_current - q.missing_reference) * self.rows_current
            for q in self.quality.values()
        )
        return max(0.0, 1.0 - bad / cells)

    def quality_issues(self) -> list[str]:
        return [issue for name, q in self.quality.items() for issue in q.issues(name, self.rows_current)]


# inputs ----------------------------------------------------------------------------------------------


def _check_columns(reference: pd.DataFrame, current: pd.DataFrame, schema: FeatureSchema) -> None:
    for label, frame in (("reference", reference), ("current", current)):
        absent = [name for name in schema.names() if name not in frame.columns]
        if absent:
            shown = ", ".join(absent[:SHOWN_LINES]) + (", ..." if len(absent) > SHOWN_LINES else "")
            raise DriftInputError(
                f"mismatched columns: the {label} data lacks {len(absent)} of the model's "
                f"{len(schema.features)} features ({shown})"
            )


def _check_rows(reference: pd.DataFrame, current: pd.DataFrame, min_rows: int) -> None:
    for label, frame in (("reference", reference), ("current", current)):
        if len(frame) == 0:
            raise DriftInputError(f"the {label} data has no rows")
        if len(frame) < min_rows:
            raise DriftInputError(
                f"the {label} data has {len(frame)} rows; the statistical tests need at least "
                f"{min_rows} (drift.min_rows)"
            )


def _where(mask: np.ndarray, csv_offset: int | None) -> str:
    """Where the flagged rows are: CSV line numbers when the frame came from a CSV (its first row being
    data row `csv_offset`), else 1-based row numbers."""
    positions = np.flatnonzero(mask)
    shown = [
        int(i) + 1 if csv_offset is None else csv_line(int(i) + csv_offset) for i in positions[:SHOWN_LINES]
    ]
    more = f" and {positions.size - SHOWN_LINES} more" if positions.size > SHOWN_LINES else ""
    return f"{'rows' if csv_offset is None else 'CSV lines'} {', '.join(map(str, shown))}{more}"


def _numbers(
    series: pd.Series, name: str, label: str, csv_offset: int | None
) -> tuple[pd.Series, str | None]:
    """The column as float64; the problem (with line numbers) when some values are not numbers."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return series.astype("float64"), None
    parsed = pd.to_numeric(series, errors="coerce").astype("float64")
    bad = (series.notna() & parsed.isna() & (series.astype(str).str.strip() != "")).to_numpy()
    if not bad.any():
        return parsed, None
    return (
        parsed,
        f"{label} column {name}: {int(bad.sum())} values are not numbers ({_where(bad, csv_offset)})",
    )


def _category_text(value: Any) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _categorical(series: pd.Series) -> pd.Categorical:
    """The column as a categorical of text labels (1, 1.0 and "1" are one category), hashing each cell once."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    if not len(uniques):
        return pd.Categorical.from_codes(codes, categories=pd.Index([], dtype=object))
    texts = np.array([_category_text(value) for value in uniques], dtype=object)
    labels, inverse = np.unique(texts, return_inverse=True)
    return pd.Categorical.from_codes(np.where(codes < 0, -1, inverse[codes]), categories=labels)


def feature_kinds(reference: pd.DataFrame, schema: FeatureSchema) -> dict[str, str]:
    """Evidently's column type per feature: text is categorical; for numbers Evidently's own rule on the
    reference (floats numerical, integers categorical when 10 distinct values or fewer)."""
    from evidently.core.datasets import infer_column_type

    kinds = {}
    for spec in schema.features:
        if spec.kind == "categorical":
            kinds[spec.name] = CATEGORICAL
            continue
        series = reference[spec.name]
        if not pd.api.types.is_numeric_dtype(series):
            series = pd.to_numeric(series, errors="coerce")
        kind = infer_column_type(series).value
        kinds[spec.name] = kind if kind in (NUMERICAL, CATEGORICAL) else NUMERICAL
    return kinds


@dataclass
class _Prepared:
    reference: dict[str, Any] = field(default_factory=dict)
    current: dict[str, Any] = field(default_factory=dict)
    quality: dict[str, ColumnQuality] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _prepare_numeric(
    out: _Prepared,
    name: str,
    kind: str,
    ref: pd.Series,
    cur: pd.Series,
    schema: FeatureSchema,
    csv_offset: int | None,
) -> None:
    ref_series, problem = _numbers(ref, name, "reference", None)
    cur_series, cur_problem = _numbers(cur, name, "current", csv_offset)
    out.problems += [p for p in (problem, cur_problem) if p]
    spec = schema.spec(name)
    ref_values, cur_values = ref_series.to_numpy(), cur_series.to_numpy()
    outside = implausible(cur_values, *spec.bounds)
    ref_values = np.where(np.isfinite(ref_values), ref_values, np.nan)
    cur_values = np.where(np.isfinite(cur_values), cur_values, np.nan)
    out.quality[name] = ColumnQuality(
        missing_reference=float(np.isnan(ref_values).mean()),
        missing_current=float(np.isnan(cur_values).mean()),
        out_of_range=int(outside.sum()),
        allowed_range=(spec.allowed_min, spec.allowed_max),
    )
    if kind == NUMERICAL:
        out.reference[name], out.current[name] = ref_values, cur_values
    else:
        _add_categorical(out, name, _categorical(pd.Series(ref_values)), _categorical(pd.Series(cur_values)))


def _prepare_categorical(
    out: _Prepared, name: str, ref: pd.Series, cur: pd.Series, schema: FeatureSchema
) -> None:
    ref_cat, cur_cat = _categorical(ref), _categorical(cur)
    known = set(schema.spec(name).categories) | set(
        ref_cat.categories[np.unique(ref_cat.codes[ref_cat.codes >= 0])]
    )
    counts = np.bincount(cur_cat.codes[cur_cat.codes >= 0], minlength=len(cur_cat.categories))
    unseen = [
        (label, int(n))
        for label, n in zip(cur_cat.categories, counts, strict=True)
        if n and label not in known
    ]
    out.quality[name] = ColumnQuality(
        missing_reference=float((ref_cat.codes < 0).mean()),
        missing_current=float((cur_cat.codes < 0).mean()),
        new_categories=sorted(label for label, _ in unseen),
        new_category_rows=sum(n for _, n in unseen),
    )
    _add_categorical(out, name, ref_cat, cur_cat)


def _add_categorical(out: _Prepared, name: str, ref: pd.Categorical, cur: pd.Categorical) -> None:
    """Both sides with the same categories, so Evidently compares like with like."""
    categories = ref.categories.union(cur.categories)
    out.reference[name] = ref.set_categories(categories)
    out.current[name] = cur.set_categories(categories)


def prepare(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    schema: FeatureSchema,
    kinds: dict[str, str],
    csv_offset: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, ColumnQuality]]:
    """Both frames reduced to the features (+ score) with one dtype per column, and the quality figures.

    `csv_offset`: the current frame was read from a CSV from this data row on, so problems are
    reported by CSV line.
    """
    out = _Prepared()
    for name in schema.names():
        ref, cur = reference[name], current[name]
        if schema.spec(name).kind == "categorical":
            _prepare_categorical(out, name, ref, cur, schema)
        else:
            _prepare_numeric(out, name, kinds[name], ref, cur, schema, csv_offset)
    if out.problems:
        raise DriftInputError("unparseable values in the data:\n" + "\n".join(out.problems))
    if PREDICTION in reference.columns and PREDICTION in current.columns:
        for target, frame, label in (
            (out.reference, reference, "reference"),
            (out.current, current, "current"),
        ):
            values, problem = _numbers(
                frame[PREDICTION], PREDICTION, label, csv_offset if label == "current" else None
            )
            if problem:
                raise DriftInputError(problem)
            target[PREDICTION] = values.to_numpy()
    return pd.DataFrame(out.reference), pd.DataFrame(out.current), out.quality


# the check -------------------------------------------------------------------------------------------


def _method(name: str, kind: str, params: DriftParams) -> str | None:
    if name in params.per_column_method:
        return params.per_column_method[name]
    return params.num_method if kind == NUMERICAL else params.cat_method


def _run_evidently(
    reference: pd.DataFrame, current: pd.DataFrame, kinds: dict[str, str], params: DriftParams
) -> tuple[Any, dict[str, ColumnDrift]]:
    """One `ValueDrift` per column in one Report; Evidently's own tests give each verdict."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift

    numerical = [c for c in reference.columns if kinds[c] == NUMERICAL]
    definition = DataDefinition(
        numerical_columns=numerical,
        categorical_columns=[c for c in reference.columns if kinds[c] == CATEGORICAL],
        text_columns=[],
        datetime_columns=[],
    )
    metrics = [ValueDrift(column=c, method=_method(c, kinds[c], params)) for c in reference.columns]
    snapshot = Report(metrics, include_tests=True).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    data = snapshot.dict()
    failed = {test["metric_config"]["metric_id"] for test in data["tests"] if test["status"] == "FAIL"}
    verdicts = {}
    for metric in data["metrics"]:
        config = metric["config"]
        score = float(metric["value"])
        verdicts[config["column"]] = ColumnDrift(
            column=config["column"],
            kind=kinds[config["column"]],
            method=config.get("method"),
            score=score if np.isfinite(score) else None,
            threshold=config.get("threshold"),
            drifted=metric["id"] in failed,
        )
    return snapshot, verdicts


def compare(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    schema: FeatureSchema,
    params: DriftParams,
    csv_offset: int | None = None,
) -> DriftResult:
    """Test every feature of `schema` (and the score, when both sides have one) for drift.

    Raises DriftInputError when the inputs cannot be compared; a column with no values in the current
    data counts as drifted, one with no values in the reference is left out.
    """
    _check_columns(reference, current, schema)
    _check_rows(reference, current, params.min_rows)
    kinds = feature_kinds(reference, schema)
    ref, cur, quality = prepare(reference, current, schema, kinds, csv_offset)
    kinds[PREDICTION] = NUMERICAL
    empty_ref = [c for c in ref.columns if ref[c].isna().all()]
    empty_cur = [c for c in cur.columns if cur[c].isna().all() and c not in empty_ref]
    tested = [c for c in ref.columns if c not in empty_ref and c not in empty_cur]
    snapshot, verdicts = _run_evidently(ref[tested], cur[tested], kinds, params)
    for name in empty_cur:
        verdicts[name] = ColumnDrift(
            name, kinds[name], None, None, None, True, "no values in the current data"
        )
    columns = [verdicts[name] for name in [*schema.names(), PREDICTION] if name in verdicts]
    means = (float(ref[PREDICTION].mean()), float(cur[PREDICTION].mean())) if PREDICTION in verdicts else None
    ignored = sorted(
        {*empty_ref, *(c for c in current.columns if c not in schema.names() and c != PREDICTION)}
    )
    return DriftResult(
        columns=columns,
        quality=quality,
        rows_reference=len(ref),
        rows_current=len(cur),
        ignored_columns=ignored,
        threshold=params.threshold,
        prediction_means=means,
        snapshot=snapshot,
    )
