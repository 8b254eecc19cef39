"""Stability of a whole loan book against the champion's reference, counted by Spark.

For books too big for pandas: every statistic is a count, so one Spark aggregation over the book gives
them all (and the same aggregation over the reference sample gives the expected side):
- score PSI over the reference's score deciles, and CSI per feature (numbers over the reference's
  deciles, categories one bin each; missing and unseen values are bins of their own);
- missing shares and out-of-range counts against the model's plausible ranges, as the drift check
  counts them (a non-finite number is missing and out of range).
The result is the drift check's `DriftResult`, so the JSON summary, the files in `reports/` and the
MLflow monitoring run are exactly what `python -m ml drift` leaves and the console shows. Evidently's
HTML widgets are built on a sample of the book; the digest on top holds the full-book figures.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ml.config import DriftParams
from ml.drift.compare import CATEGORICAL, NUMERICAL, PREDICTION, ColumnDrift, ColumnQuality, DriftResult
from ml.schema import FeatureSchema

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

DECILES = np.linspace(0.1, 0.9, 9)
SIGNIFICANT_SHIFT = 0.25  # PSI / CSI: below 0.1 stable, 0.1-0.25 moderate, above 0.25 a significant shift
EMPTY_SHARE = 1e-4  # an empty bin counts as this share, so PSI stays finite
SAMPLE_ROWS = 5_000
SHOWN_CATEGORIES = 10


@dataclass(frozen=True)
class Bins:
    """One column's bins, fixed on the reference: upper edges for numbers, labels for categories."""

    name: str
    kind: str  # NUMERICAL or CATEGORICAL
    edges: tuple[float, ...] = ()
    categories: tuple[str, ...] = ()
    allowed: tuple[float | None, float | None] = (None, None)

    @property
    def size(self) -> int:
        """Bins counted: the value bins, then missing, then (categories) unseen."""
        return len(self.edges) + 2 if self.kind == NUMERICAL else len(self.categories) + 2


def decile_edges(values: np.ndarray) -> tuple[float, ...]:
    finite = values[np.isfinite(values)]
    return tuple(np.unique(np.quantile(finite, DECILES)).tolist()) if finite.size else ()


def reference_bins(reference: pd.DataFrame, schema: FeatureSchema) -> list[Bins]:
    """Bins of every feature and of the score, from the reference sample and the model's schema."""
    bins = []
    for spec in schema.features:
        if spec.kind == "categorical":
            bins.append(Bins(spec.name, CATEGORICAL, categories=tuple(spec.categories)))
        else:
            values = pd.to_numeric(reference[spec.name], errors="coerce").to_numpy(
                dtype=float, na_value=np.nan
            )
            bins.append(
                Bins(spec.name, NUMERICAL, decile_edges(values), allowed=(spec.allowed_min, spec.allowed_max))
            )
    return bins


def score_bins(reference: pd.DataFrame) -> Bins:
    return Bins(PREDICTION, NUMERICAL, decile_edges(reference[PREDICTION].to_numpy(dtype=float)))


def _count_columns(spec: Bins, column: Column) -> list[Column]:
    """Count expressions, in `Bins.size` order, plus the out-of-range count for numbers."""
    from pyspark.sql import functions as F  # noqa: N812

    if spec.kind == CATEGORICAL:
        text = column.cast("string")
        known = F.lit(False) if not spec.categories else text.isin(list(spec.categories))
        return [
            *(F.count_if(text == category) for category in spec.categories),
            F.count_if(text.isNull()),
            F.count_if(text.isNotNull() & ~known),
        ]
    number = column.cast("double")
    finite = number.isNotNull() & ~F.isnan(number) & (F.abs(number) != float("inf"))
    lows = [None, *spec.edges]
    highs = [*spec.edges, None]
    counts = []
    for low, high in zip(lows, highs, strict=True):
        inside = finite
        if low is not None:
            inside = inside & (number > low)
        if high is not None:
            inside = inside & (number <= high)
        counts.append(F.count_if(inside))
    counts.append(F.count_if(~finite))
    outside = number.isNotNull() & ~F.isnan(number) & (F.abs(number) == float("inf"))
    low, high = spec.allowed
    if low is not None:
        outside = outside | (finite & (number < low))
    if high is not None:
        outside = outside | (finite & (number > high))
    return [*counts, F.count_if(outside)]


@dataclass
class Counts:
    """A column's counts: every bin (value bins, missing, then unseen for categories) for PSI, and the
    missing, unseen and out-of-range rows for data quality."""

    bins: np.ndarray
    missing: int
    unseen: int = 0
    out_of_range: int = 0


def count_bins(frame: DataFrame, specs: list[Bins]) -> tuple[int, dict[str, Counts]]:
    """Rows, and the counts of every column in `specs`, in one Spark aggregation over `frame`."""
    from pyspark.sql import functions as F  # noqa: N812

    expressions = [F.count(F.lit(1))]
    for spec in specs:
        expressions += _count_columns(spec, F.col(spec.name))
    values = list(frame.agg(*expressions).first())
    rows, position, counts = int(values[0]), 1, {}
    for spec in specs:
        if spec.kind == NUMERICAL:
            chunk = np.array(values[position : position + spec.size + 1], dtype=np.int64)
            counts[spec.name] = Counts(chunk[:-1], int(chunk[-2]), out_of_range=int(chunk[-1]))
            position += spec.size + 1
        else:
            chunk = np.array(values[position : position + spec.size], dtype=np.int64)
            counts[spec.name] = Counts(chunk, int(chunk[-2]), unseen=int(chunk[-1]))
            position += spec.size
    return rows, counts


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two count vectors over the same bins."""
    e = np.maximum(expected / max(expected.sum(), 1), EMPTY_SHARE)
    a = np.maximum(actual / max(actual.sum(), 1), EMPTY_SHARE)
    return float(np.sum((a - e) * np.log(a / e)))


def _unseen_categories(frame: DataFrame, specs: list[Bins]) -> dict[str, list[str]]:
    from pyspark.sql import functions as F  # noqa: N812

    categorical = [s for s in specs if s.kind == CATEGORICAL]
    if not categorical:
        return {}
    expressions = []
    for spec in categorical:
        text = F.col(spec.name).cast("string")
        unseen = F.when(text.isNotNull() & ~text.isin(list(spec.categories) or [""]), text)
        expressions.append(F.slice(F.array_sort(F.collect_set(unseen)), 1, SHOWN_CATEGORIES).alias(spec.name))
    row = frame.agg(*expressions).first()
    return {spec.name: list(row[spec.name]) for spec in categorical}


def compare_book(
    spark: SparkSession,
    book: DataFrame,
    scores: DataFrame,
    reference: pd.DataFrame,
    schema: FeatureSchema,
    params: DriftParams,
    sample_rows: int = SAMPLE_ROWS,
) -> DriftResult:
    """PSI, CSI and data quality of `book` (features) and `scores` (probability) against the reference."""
    specs = reference_bins(reference, schema)
    score_spec = score_bins(reference)
    ref_frame = spark.createDataFrame(
        reference[[*schema.names(), PREDICTION]].astype({n: "string" for n in schema.categorical_names()})
    )
    ref_rows, ref_counts = count_bins(ref_frame, [*specs, score_spec])
    rows, counts = count_bins(book, specs)
    _, score_counts = count_bins(scores.withColumnRenamed("probability", PREDICTION), [score_spec])
    unseen = _unseen_categories(book, specs)
    columns, quality = [], {}
    for spec in specs:
        value = psi(ref_counts[spec.name].bins, counts[spec.name].bins)
        columns.append(
            ColumnDrift(spec.name, spec.kind, "csi", value, SIGNIFICANT_SHIFT, value > SIGNIFICANT_SHIFT)
        )
        current = counts[spec.name]
        quality[spec.name] = ColumnQuality(
            missing_reference=ref_counts[spec.name].missing / max(ref_rows, 1),
            missing_current=current.missing / max(rows, 1),
            out_of_range=current.out_of_range,
            allowed_range=spec.allowed if spec.kind == NUMERICAL else None,
            new_categories=unseen.get(spec.name, []),
            new_category_rows=current.unseen,
        )
    score_psi = psi(ref_counts[PREDICTION].bins, score_counts[PREDICTION].bins)
    columns.append(
        ColumnDrift(PREDICTION, NUMERICAL, "psi", score_psi, SIGNIFICANT_SHIFT, score_psi > SIGNIFICANT_SHIFT)
    )
    from pyspark.sql import functions as F  # noqa: N812

    current_mean = scores.agg(F.avg("probability")).first()[0]
    return DriftResult(
        columns=columns,
        quality=quality,
        rows_reference=ref_rows,
        rows_current=rows,
        ignored_columns=sorted(c for c in book.columns if c not in schema.names()),
        threshold=params.threshold,
        prediction_means=(float(reference[PREDICTION].mean()), float(current_mean or np.nan)),
        snapshot=_evidently_on_sample(book, reference, schema, params, sample_rows, rows),
    )


def _evidently_on_sample(
    book: DataFrame,
    reference: pd.DataFrame,
    schema: FeatureSchema,
    params: DriftParams,
    sample_rows: int,
    rows: int,
) -> Any:
    """Evidently's report on a random sample of the book (its widgets need the rows in pandas)."""
    from ml.drift.compare import compare

    fraction = min(1.0, 1.2 * sample_rows / max(rows, 1))
    current = book.select(*schema.names()).sample(fraction=fraction, seed=42).limit(sample_rows).toPandas()
    ref = reference.sample(n=min(sample_rows, len(reference)), random_state=42)
    return compare(ref[schema.names()], current, schema, params).snapshot


def read_book_features(spark: SparkSession, book: str, fmt: str, schema: FeatureSchema) -> DataFrame:
    """The book's features as Spark columns: numbers as doubles (an unparseable one is missing), text as text."""
    from pyspark.sql import functions as F  # noqa: N812
    from pyspark.sql.types import DoubleType, StringType, StructField, StructType

    numeric = {spec.name for spec in schema.features if spec.kind == "numeric"}
    if fmt == "parquet":
        frame = spark.read.parquet(book)
    else:
        header = spark.read.text(book).first()["value"].lstrip("\ufeff")
        from ml.score_book import header_names

        names = header_names(header)
        types = StructType([StructField(n, DoubleType() if n in numeric else StringType()) for n in names])
        frame = spark.read.csv(book, header=True, schema=types, mode="PERMISSIVE")
    present = [name for name in schema.names() if name in frame.columns]
    return frame.select(
        *[F.col(n).cast("double" if n in numeric else "string").alias(n) for n in present],
        *[
            F.lit(None).cast("double" if n in numeric else "string").alias(n)
            for n in schema.names()
            if n not in present
        ],
    )


def download_reference(tracking_uri: str, run_id: str) -> pd.DataFrame:
    """The training sample (features, target, score) kept with the model's run."""
    from mlflow.tracking import MlflowClient

    from ml.drift.check import REFERENCE_ARTIFACT

    with tempfile.TemporaryDirectory() as tmp:
        path = MlflowClient(tracking_uri).download_artifacts(run_id, REFERENCE_ARTIFACT, tmp)
        return pd.read_parquet(Path(path))


def book_report(
    result: DriftResult,
    reports_dir: Path,
    reference: dict[str, Any],
    current: dict[str, Any],
    tracking_uri: str | None,
    experiment: str,
) -> tuple[dict[str, Any], dict[str, Path]]:
    """Write the summary JSON and HTML as the drift check does (and log them to MLflow's monitoring run)."""
    from ml.drift.report import (
        build_summary,
        finish_mlflow_run,
        new_report_id,
        render_html,
        start_mlflow_run,
        write_report,
    )

    report_id = new_report_id()
    run_id = start_mlflow_run(tracking_uri, experiment, report_id) if tracking_uri else None
    summary = build_summary(result, report_id, reference, current, run_id)
    paths = write_report(reports_dir, summary, render_html(result, summary))
    if run_id and tracking_uri:
        finish_mlflow_run(tracking_uri, run_id, summary, paths)
    return summary, paths
