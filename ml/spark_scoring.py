"""The Spark engine of `score-book`: the same chunk functions as the local engine, run by `mapInPandas`.

The model's three scoring files are broadcast once; each Python worker loads them once and keeps the
model (with its reason-code explainer) for every task it runs, then validates and scores its partition
batch by batch through `ml.score_book.score_chunk`, so scores and reasons are the API's to the last
bit. CSV books are read as text lines (Spark's `_metadata` says each line's file and block) and parsed
by pandas with the API's dtypes; a line count per block, done in the JVM, turns a line's place in its
block into its line number.
Parquet books are read by Spark, rows numbered with `_metadata.row_index`.

Scores and errors come out of one pass: the pass is persisted to disk and written twice, filtered.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import numpy as np
import pandas as pd

from ml.config import MissingParams
from ml.score_book import (
    CSV,
    ERROR,
    ERROR_COLUMNS,
    SCORED,
    BookError,
    BookModel,
    BookScorer,
    BookSummary,
    ReasonOptions,
    check_header,
    csv_dtypes,
    header_names,
    parse_csv_lines,
    score_chunk,
)
from ml.scoring import ScoringModel

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

MAP_OUTPUT_DDL = (
    "kind string, source string, row long, client_id string, probability double, decision string, "
    "risk_band string, reasons string, field string, reason string"
)
_MODELS: dict[str, BookScorer] = {}  # per Python worker: model and reason settings -> the loaded model


def spark_session(master: str | None = None, app_name: str = "score-book") -> SparkSession:
    """The session: `master` when given, else spark-submit's (which defaults to local[*])."""
    from pyspark.sql import SparkSession

    # Local workers must run this interpreter (it has the project's dependencies), not `python3`.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    # py4j narrates every connection at INFO, even from finalizers at exit, after streams are closed.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    builder = (
        builder.config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.showConsoleProgress", "true")
        .config("spark.sql.session.timeZone", "UTC")
    )
    return builder.getOrCreate()


def _key(model: BookModel, reasons: ReasonOptions) -> str:
    return f"{model.name}/{model.version}/{model.run_id}/{reasons.key()}"


def _file_name(path: str) -> str:
    return unquote(path.rsplit("/", 1)[-1])


def _model(key: str, files: Any, reasons: ReasonOptions) -> BookScorer:
    """The broadcast model, loaded once per Python worker process."""
    scorer = _MODELS.get(key)
    if scorer is None:
        with tempfile.TemporaryDirectory(prefix="score-book-model-") as tmp:
            for name, content in files.value.items():
                Path(tmp, name).write_bytes(content)
            scorer = BookScorer(ScoringModel.load(tmp), reasons)
        _MODELS[key] = scorer
    return scorer


def _as_pass(result: Any) -> Iterator[pd.DataFrame]:
    """A chunk's scores and errors as rows of the single pass schema."""
    scored, errors = result.scored, result.errors
    if len(scored):
        yield scored.assign(kind=SCORED, field=None, reason=None)
    if len(errors):
        yield errors.assign(kind=ERROR, probability=np.nan, decision=None, risk_band=None, reasons=None)


class CsvScorer:
    """`mapInPandas` function for CSV text lines (`value`, `path`, `block`)."""

    def __init__(
        self, key: str, files: Any, reasons: ReasonOptions, header: str, dtypes: dict[str, str], offsets: Any
    ) -> None:
        self.key, self.files, self.reasons = key, files, reasons
        self.header, self.dtypes, self.offsets = header, dtypes, offsets

    def __call__(self, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        model = _model(self.key, self.files, self.reasons)
        seen: dict[tuple[str, int], int] = {}
        for batch in batches:
            # A batch holds consecutive lines of one or more blocks: score each block's run of lines.
            keys = list(zip(batch["path"], batch["block"], strict=True))
            starts = [0] + [i for i in range(1, len(keys)) if keys[i] != keys[i - 1]] + [len(keys)]
            for begin, end in itertools.pairwise(starts):
                path, block = keys[begin]
                before = seen.get((path, block), 0)
                seen[(path, block)] = before + end - begin
                first = self.offsets.value[(path, block)] + before + 1
                numbers = np.arange(first, first + end - begin, dtype=np.int64)
                lines = batch["value"].iloc[begin:end].tolist()
                if numbers[0] == 1:
                    if lines[0].lstrip("\ufeff") != self.header:
                        raise BookError(f"{_file_name(path)}: its header differs from the book's first file")
                    lines, numbers = lines[1:], numbers[1:]
                frame, rows, malformed = parse_csv_lines(self.header, lines, numbers, self.dtypes)
                yield from _as_pass(score_chunk(model, frame, rows, _file_name(path), 1, malformed))


class ParquetScorer:
    """`mapInPandas` function for Parquet rows (features, `path`, `row_index`)."""

    def __init__(self, key: str, files: Any, reasons: ReasonOptions) -> None:
        self.key, self.files, self.reasons = key, files, reasons

    def __call__(self, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        model = _model(self.key, self.files, self.reasons)
        for batch in batches:
            for path, part in batch.groupby("path", sort=False):
                frame = part.drop(columns=["path", "row_index"]).reset_index(drop=True)
                rows = part["row_index"].to_numpy(dtype=np.int64) + 1
                yield from _as_pass(score_chunk(model, frame, rows, _file_name(path), 1))


def _csv_pass(
    spark: SparkSession,
    book: str,
    model: BookModel,
    files: Any,
    reasons: ReasonOptions,
    missing: MissingParams,
) -> tuple[DataFrame, str]:
    from pyspark.sql import functions as F  # noqa: N812

    lines = spark.read.text(book).select(
        "value",
        F.col("_metadata.file_path").alias("path"),
        F.col("_metadata.file_block_start").alias("block"),
    )
    first = lines.where(F.col("block") == 0).limit(1).collect()
    if not first:
        raise BookError(f"{book}: no data")
    header = first[0]["value"].lstrip("\ufeff")
    scoring = model.load()
    warning = check_header(header_names(header), scoring, missing, book)
    # Lines before each block (in the JVM, no Python): a line's number = lines before its block + its place.
    counts = sorted(
        (row["path"], row["block"], row["count"]) for row in lines.groupBy("path", "block").count().collect()
    )
    offsets, before, current = {}, 0, None
    for path, block, count in counts:
        before = 0 if path != current else before
        current = path
        offsets[(path, block)] = before
        before += count
    offsets_broadcast = spark.sparkContext.broadcast(offsets)
    scorer = CsvScorer(
        _key(model, reasons), files, reasons, header, csv_dtypes(scoring.schema), offsets_broadcast
    )
    return lines.mapInPandas(scorer, MAP_OUTPUT_DDL), warning


def _parquet_pass(
    spark: SparkSession,
    book: str,
    model: BookModel,
    files: Any,
    reasons: ReasonOptions,
    missing: MissingParams,
) -> tuple[DataFrame, str]:
    from pyspark.sql import functions as F  # noqa: N812

    rows = spark.read.parquet(book)
    scoring = model.load()
    schema = scoring.schema
    warning = check_header(rows.columns, scoring, missing, book)
    wanted = [name for name in rows.columns if name in {*schema.names(), schema.id_column}]
    return rows.select(
        *wanted, F.col("_metadata.file_path").alias("path"), F.col("_metadata.row_index").alias("row_index")
    ).mapInPandas(ParquetScorer(_key(model, reasons), files, reasons), MAP_OUTPUT_DDL), warning


def score_book_spark(
    spark: SparkSession,
    book: str,
    fmt: str,
    model: BookModel,
    output: str,
    errors: str,
    overwrite: bool = False,
    reasons: ReasonOptions | None = None,
    missing: MissingParams | None = None,
) -> BookSummary:
    """Score every row of `book` on the cluster; scores to Parquet under `output`, errors to CSV under `errors`."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F  # noqa: N812

    started = time.perf_counter()
    files = spark.sparkContext.broadcast(model.files())
    make_pass = _csv_pass if fmt == CSV else _parquet_pass
    scored, warning = make_pass(
        spark, book, model, files, reasons or ReasonOptions(), missing or MissingParams()
    )
    both = scored.persist(StorageLevel.DISK_ONLY)
    mode = "overwrite" if overwrite else "errorifexists"
    try:
        both.where(F.col("kind") == SCORED).select(
            "source",
            "row",
            "client_id",
            "probability",
            "decision",
            "risk_band",
            "reasons",
            F.lit(model.name).alias("model_name"),
            F.lit(model.version).alias("model_version"),
        ).write.mode(mode).parquet(output)
        bad = both.where(F.col("kind") == ERROR).select(*ERROR_COLUMNS)
        bad.orderBy("source", "row").coalesce(1).write.mode(mode).option("header", True).csv(errors)
        decisions = {
            row["decision"]: row["count"]
            for row in both.where(F.col("kind") == SCORED).groupBy("decision").count().collect()
        }
        rejected = bad.select("source", "row").distinct().count()
    except Exception as exc:
        raise _clear(exc) from exc
    finally:
        both.unpersist()
        files.unpersist()
    scored = sum(decisions.values())
    return BookSummary(
        "spark",
        model.name,
        model.version,
        rows=scored + rejected,
        scored=scored,
        rejected=rejected,
        decisions=decisions,
        seconds=time.perf_counter() - started,
        output=output,
        errors=errors,
        warning=warning,
    )


def _clear(exc: Exception) -> Exception:
    """A Spark failure as one line for the operator: the Python error raised in a worker, if any."""
    text = str(exc)
    for line in reversed(text.splitlines()):
        if "BookError:" in line:
            return BookError(line.split("BookError:", 1)[1].strip())
        if "AnalysisException" in line or "already exists" in line:
            return BookError(line.strip())
    if "already exists" in text:
        return BookError(f"the output already exists; remove it or pass --overwrite ({text.splitlines()[0]})")
    return exc


def pyfunc_udf(spark: SparkSession, tracking_uri: str, name: str, alias: str) -> Any:
    """MLflow's own Spark UDF on the registered model: columns in, struct(probability, decision) out.

    The other way to score on Spark (e.g. from a notebook); it has no per-row error file.
    """
    import mlflow.artifacts
    import mlflow.pyfunc
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    version = client.get_model_version_by_alias(name, alias)
    uri = client.get_model_version_download_uri(name, version.version)
    # Downloaded here with an explicit tracking URI: no process-wide MLflow setting is changed.
    local = mlflow.artifacts.download_artifacts(
        artifact_uri=uri, dst_path=tempfile.mkdtemp(prefix="pyfunc-udf-"), tracking_uri=tracking_uri
    )
    return mlflow.pyfunc.spark_udf(
        spark, local, result_type="probability double, decision string", env_manager="local"
    )
