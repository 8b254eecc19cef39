"""Re-scoring a whole loan book offline with a registry model: the parts both engines share, and the
local engine (chunked, memory flat in rows, with a progress bar).

A book is a CSV or Parquet file, or a directory of parts. Each chunk goes through the path the API's
CSV upload takes: lines parsed by pandas' C parser with the API's dtypes, values checked and encoded by
the model's `ColumnEncoder`, the booster's matrix built by `FeatureBuilder`, one predict call, and reason
codes for the refusals as the API gives them by default (params.yaml `reasons`). So a row scores here
exactly as it does through `POST /predict/batch`. Rows that fail validation are written, with
their line (CSV, header = line 1) or row number (Parquet, 1-based), to a separate errors CSV instead of
failing the job. The Spark engine (`ml.spark_scoring`) runs the same chunk functions in `mapInPandas`.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import shutil
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ml.config import MissingParams, ReasonParams
from ml.reasons import PathContributions, ReasonExplainer, ReasonMode, contributions, reasons_by_row
from ml.schema import FeatureSchema
from ml.scoring import BOOSTER_FILE, META_FILE, MODEL_SCORING_SUBDIR, SCHEMA_FILE, ScoringModel

SCORING_FILES = (BOOSTER_FILE, SCHEMA_FILE, META_FILE)
DEFAULT_CHUNK_ROWS = 50_000
CSV, PARQUET = "csv", "parquet"
SCORED, ERROR = "scored", "error"
_SKIPPED_LINE = re.compile(r"Skipping line (\d+): (.*)")

SCORED_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("row", pa.int64()),
        ("client_id", pa.string()),
        ("probability", pa.float64()),
        ("decision", pa.string()),
        ("risk_band", pa.string()),
        ("reasons", pa.string()),  # JSON list, as in the API's answer; null but for refusals
        ("model_name", pa.string()),
        ("model_version", pa.string()),
    ]
)
ERROR_COLUMNS = ["source", "row", "client_id", "field", "reason"]


class BookError(RuntimeError):
    """The book cannot be scored at all (no model, MLflow down, unusable input); the message says why."""


# the model -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookModel:
    """The registry version being used and where its scoring files were downloaded."""

    name: str
    version: str
    run_id: str | None
    directory: Path

    def load(self) -> ScoringModel:
        return ScoringModel.load(self.directory)

    def files(self) -> dict[str, bytes]:
        """The scoring files' bytes: what the Spark engine broadcasts to its executors."""
        return {name: (self.directory / name).read_bytes() for name in SCORING_FILES}


def _check_reachable(tracking_uri: str) -> None:
    if not tracking_uri.startswith(("http://", "https://")):
        return
    import httpx

    try:
        httpx.get(f"{tracking_uri.rstrip('/')}/health", timeout=10).raise_for_status()
    except httpx.HTTPError as exc:
        raise BookError(f"MLflow at {tracking_uri} is unreachable ({exc}); nothing was scored") from exc


def fetch_model(
    tracking_uri: str, name: str, alias: str | None, version: str | None, destination: Path
) -> BookModel:
    """Resolve `name@alias` (or `name` version `version`) and download its scoring files."""
    import mlflow.artifacts
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    _check_reachable(tracking_uri)
    wanted = f"{name} version {version}" if version else f"{name}@{alias}"
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    try:
        found = (
            client.get_model_version(name, version)
            if version
            else client.get_model_version_by_alias(name, alias)
        )
        root = client.get_model_version_download_uri(name, found.version).rstrip("/")
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=f"{root}/{MODEL_SCORING_SUBDIR.as_posix()}",
            dst_path=str(destination),
            tracking_uri=tracking_uri,
        )
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
            raise BookError(f"no model {wanted} in the registry at {tracking_uri}: {exc.message}") from exc
        raise BookError(f"MLflow at {tracking_uri} failed while fetching {wanted}: {exc.message}") from exc
    return BookModel(name, str(found.version), found.run_id, Path(local))


# the input -------------------------------------------------------------------------------------------


def list_parts(path: str | Path) -> tuple[str, list[Path]]:
    """The format and the files of a book: one file, or the CSV / Parquet parts of a directory."""
    path = Path(path)
    if path.is_dir():
        parts = sorted(
            p
            for p in path.iterdir()
            if p.is_file() and not p.name.startswith(("_", ".")) and p.stat().st_size
        )
    elif path.is_file():
        parts = [path]
    else:
        raise BookError(f"{path}: no such file or directory")
    formats = {PARQUET if p.suffix.lower() == ".parquet" else CSV for p in parts}
    if not parts:
        raise BookError(f"{path}: no data files in the directory")
    if len(formats) > 1:
        raise BookError(f"{path}: mixes CSV and Parquet parts; give one format")
    return formats.pop(), parts


def book_format(book: str) -> str:
    """CSV or Parquet: from the files of a local book, else (a cluster path) from the name's extension."""
    if Path(book).exists():
        return list_parts(book)[0]
    return PARQUET if book.rstrip("/").lower().endswith(".parquet") else CSV


def check_header(columns: Sequence[str], model: ScoringModel, missing: MissingParams, where: str) -> str:
    """Refuse the book before any work when its header cannot be this model's input, or lacks more of
    its features than params.yaml `scoring.missing` allows, as the API refuses such a file; otherwise
    the API's warning for the features it lacks ('' when it lacks none)."""
    schema = model.schema
    duplicated = sorted(name for name, count in Counter(columns).items() if count > 1)
    if duplicated:
        raise BookError(f"{where}: duplicated columns {', '.join(duplicated)}")
    known = set(schema.names()) | {schema.id_column, schema.target}
    unknown = [name for name in columns if name not in known]
    if unknown:
        raise BookError(f"{where}: unknown columns for this model: {', '.join(unknown)}")
    if not set(columns) & set(schema.names()):
        raise BookError(f"{where}: none of the model's {len(schema.features)} features is present")
    check = model.missing_check(missing)
    absent = check.absent_from(columns)
    if not absent.any():
        return ""
    share, refused = check.judge(absent)
    if refused:
        raise BookError(f"{where}: {check.refusal(absent, share)}")
    return f"{where}: {check.summary(absent, share)}"


def header_names(header: str) -> list[str]:
    return next(csv.reader([header]), [])


def csv_dtypes(schema: FeatureSchema) -> dict[str, str]:
    """The API's CSV dtypes: categories and the client id as text, numbers left to the parser."""
    dtypes = dict.fromkeys(schema.categorical_names(), "string")
    if schema.id_column:
        dtypes[schema.id_column] = "string"
    return dtypes


def parse_csv_lines(
    header: str, lines: Sequence[str], numbers: np.ndarray, dtypes: dict[str, str]
) -> tuple[pd.DataFrame, np.ndarray, list[tuple[int, str]]]:
    """Parse CSV data lines (their line numbers in `numbers`) as the API parses an upload.

    Returns the frame, the line number of each of its rows, and the malformed lines (number, reason).
    Blank lines are skipped, as pandas does.
    """
    kept = np.flatnonzero(np.fromiter((bool(line) for line in lines), dtype=bool, count=len(lines)))
    if not kept.size:
        return pd.DataFrame(), np.empty(0, dtype=np.int64), []
    text = header + "\n" + "\n".join(lines[i] for i in kept)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        frame = pd.read_csv(io.StringIO(text), dtype=dtypes, index_col=False, on_bad_lines="warn")
    kept_numbers = np.asarray(numbers)[kept]
    malformed: list[tuple[int, str]] = []
    for warning in caught:
        for match in _SKIPPED_LINE.finditer(str(warning.message)):
            malformed.append(
                (int(kept_numbers[int(match.group(1)) - 2]), f"malformed CSV line: {match.group(2)}")
            )
    bad = np.isin(kept_numbers, [number for number, _ in malformed])
    return frame, kept_numbers[~bad], malformed


# scoring one chunk ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReasonOptions:
    """Which rows get reason codes, as the API's `reasons` flag says (for refusals by default, every
    row, or none), and how they are made (params.yaml `reasons`)."""

    mode: ReasonMode = "refusals"
    params: ReasonParams = field(default_factory=ReasonParams)

    def key(self) -> str:
        return f"{self.mode}/{self.params.model_dump_json()}"


class BookScorer:
    """The model and its reason codes (the API's explainer and attributions), built once per model:
    the attributions' tables take a pass over every tree."""

    def __init__(self, model: ScoringModel, reasons: ReasonOptions) -> None:
        self.model, self.mode = model, reasons.mode
        names, params = model.feature_names(), reasons.params
        self.explainer = ReasonExplainer(names, params.excluded, params.max_reasons)
        wanted = params.method == "path" and self.mode != "none"
        self.paths = PathContributions(model.booster, len(names)) if wanted else None

    def predict(self, built: np.ndarray, threads: int) -> np.ndarray:
        """Probabilities of the booster's matrix (`threads` 0 = every core)."""
        if not len(built):
            return np.empty(0)
        return np.asarray(self.model.booster.predict(built, num_threads=threads))

    def reasons(self, built: np.ndarray, decisions: np.ndarray) -> list[str | None]:
        """Reason codes as JSON text (the API's answer) for the rows the mode wants, None for the others."""
        found = reasons_by_row(
            self.explainer,
            lambda wanted: contributions(self.model.booster, self.paths, built[wanted]),
            decisions,
            self.mode,
        )
        return [None if reasons is None else json.dumps(reasons, separators=(",", ":")) for reasons in found]


@dataclass
class ChunkResult:
    scored: pd.DataFrame  # SCORED_SCHEMA's columns but the model's name and version
    errors: pd.DataFrame  # ERROR_COLUMNS


def score_chunk(
    scorer: BookScorer,
    frame: pd.DataFrame,
    rows: np.ndarray,
    source: str,
    threads: int = 1,
    malformed: Sequence[tuple[int, str]] = (),
) -> ChunkResult:
    """Validate and score one chunk; `rows` are its line (CSV) or row (Parquet) numbers."""
    model = scorer.model
    schema = model.schema
    # The model's own ColumnEncoder, as the API's CSV upload uses it: rows numbered by position here.
    encoded = model.encoder.encode_table(frame, range(len(frame)))
    good = np.flatnonzero(~encoded.bad)
    built = model.builder.build(encoded.matrix[good])  # once, for the scores and the reasons
    probabilities = scorer.predict(built, threads)
    decisions = model.decisions(probabilities)
    ids = (
        frame[schema.id_column].astype("string").to_numpy(dtype=object, na_value=None)
        if schema.id_column in frame.columns
        else np.full(len(frame), None, dtype=object)
    )
    numbers = np.asarray(rows, dtype=np.int64)
    scored = pd.DataFrame(
        {
            "source": source,
            "row": numbers[good],
            "client_id": ids[good],
            "probability": probabilities,
            "decision": decisions,
            "risk_band": model.risk_bands(probabilities),
            "reasons": scorer.reasons(built, decisions),
        }
    )
    positions = [int(error.row or 0) for error in encoded.errors]
    errors = pd.DataFrame(
        {
            "source": source,
            "row": np.concatenate([numbers[positions], [n for n, _ in malformed]]).astype(np.int64),
            "client_id": [*ids[positions], *([None] * len(malformed))],
            "field": [error.field for error in encoded.errors] + [""] * len(malformed),
            "reason": [error.reason for error in encoded.errors] + [reason for _, reason in malformed],
        },
        columns=ERROR_COLUMNS,
    )
    return ChunkResult(scored, errors.sort_values("row", kind="stable"))


# the local engine ------------------------------------------------------------------------------------


@dataclass
class BookSummary:
    """What a run did, for the operator."""

    engine: str
    model_name: str
    model_version: str
    rows: int = 0
    scored: int = 0
    rejected: int = 0
    decisions: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    output: str = ""
    errors: str = ""
    warning: str = ""  # the features the book lacks, as the API warns of them

    def describe(self) -> str:
        shares = ", ".join(
            f"{name} {count / self.scored:.1%}"
            for name, count in sorted(self.decisions.items())
            if self.scored
        )
        return (
            f"scored {self.scored:,} of {self.rows:,} rows with {self.model_name} v{self.model_version} "
            f"({self.engine} engine, {self.seconds:.1f} s; {shares or 'no decision'}); "
            f"{self.rejected:,} rows rejected, reasons in {self.errors}; scores in {self.output}"
            + (f"\nwarning: {self.warning}" if self.warning else "")
        )


def prepare_output(path: Path, overwrite: bool) -> None:
    if path.exists() and any(path.iterdir() if path.is_dir() else [path]):
        if not overwrite:
            raise BookError(f"{path} already exists; remove it or pass --overwrite")
        shutil.rmtree(path) if path.is_dir() else path.unlink()


class _LocalWriter:
    """Scores as one Parquet part (a row group per chunk), errors as one CSV part, both streamed."""

    def __init__(self, output: Path, errors: Path, label: dict[str, str]) -> None:
        import pyarrow.parquet as pq

        output.mkdir(parents=True)
        errors.mkdir(parents=True)
        self.label = label
        self.scores = pq.ParquetWriter(output / "part-00000.parquet", SCORED_SCHEMA)
        self.errors_path = errors / "part-00000.csv"
        pd.DataFrame(columns=ERROR_COLUMNS).to_csv(self.errors_path, index=False)

    def write(self, result: ChunkResult) -> None:
        scored = result.scored.assign(**self.label)
        self.scores.write_table(pa.Table.from_pandas(scored, schema=SCORED_SCHEMA, preserve_index=False))
        if len(result.errors):
            result.errors.to_csv(self.errors_path, mode="a", header=False, index=False)

    def close(self) -> None:
        self.scores.close()


def _columns(path: Path, fmt: str) -> list[str]:
    """A part's column names: its CSV header or its Parquet schema."""
    import pyarrow.parquet as pq

    if fmt == PARQUET:
        return list(pq.read_schema(path).names)
    with open(path, encoding="utf-8-sig") as handle:
        return header_names(handle.readline().rstrip("\n"))


def _csv_chunks(
    path: Path, schema: FeatureSchema, chunk_rows: int, progress: Any
) -> Iterator[tuple[pd.DataFrame, np.ndarray, list[tuple[int, str]]]]:
    dtypes = csv_dtypes(schema)
    with open(path, encoding="utf-8-sig") as handle:
        header = handle.readline().rstrip("\n")
        progress.update(len(header) + 1)
        line = 2
        while True:
            lines = [text.rstrip("\n") for text in itertools.islice(handle, chunk_rows)]
            if not lines:
                return
            progress.update(sum(map(len, lines)) + len(lines))
            numbers = np.arange(line, line + len(lines), dtype=np.int64)
            line += len(lines)
            yield parse_csv_lines(header, lines, numbers, dtypes)


def _parquet_chunks(
    path: Path, schema: FeatureSchema, chunk_rows: int, progress: Any
) -> Iterator[tuple[pd.DataFrame, np.ndarray, list[tuple[int, str]]]]:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    row = 1
    for batch in parquet.iter_batches(batch_size=chunk_rows):
        frame = batch.to_pandas()
        progress.update(len(frame))
        yield frame, np.arange(row, row + len(frame), dtype=np.int64), []
        row += len(frame)


def score_book_local(
    book: str | Path,
    model: BookModel,
    output: Path,
    errors: Path,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    threads: int = 0,
    overwrite: bool = False,
    progress: bool | None = None,
    reasons: ReasonOptions | None = None,
    missing: MissingParams | None = None,
) -> BookSummary:
    """Score every row of `book` chunk by chunk: memory depends on `chunk_rows`, not on the book's size."""
    from tqdm.auto import tqdm

    started = time.perf_counter()
    fmt, parts = list_parts(book)
    scorer = BookScorer(model.load(), reasons or ReasonOptions())
    policy = missing or MissingParams()
    warnings = [check_header(_columns(p, fmt), scorer.model, policy, str(p)) for p in parts]
    for path in (output, errors):
        prepare_output(path, overwrite)
    summary = BookSummary("local", model.name, model.version, output=str(output), errors=str(errors))
    summary.warning = "; ".join(dict.fromkeys(w for w in warnings if w))
    decisions: Counter[str] = Counter()
    total = sum(p.stat().st_size for p in parts) if fmt == CSV else _parquet_rows(parts)
    writer = _LocalWriter(output, errors, {"model_name": model.name, "model_version": model.version})
    chunks = _csv_chunks if fmt == CSV else _parquet_chunks
    bar = tqdm(
        total=total,
        unit="B" if fmt == CSV else " rows",
        unit_scale=True,
        desc="scoring",
        disable=None if progress is None else not progress,
    )
    try:
        for path in parts:
            for frame, rows, malformed in chunks(path, scorer.model.schema, chunk_rows, bar):
                result = score_chunk(scorer, frame, rows, path.name, threads, malformed)
                writer.write(result)
                summary.rows += len(frame) + len(malformed)
                summary.scored += len(result.scored)
                summary.rejected += result.errors["row"].nunique()
                decisions.update(result.scored["decision"].tolist())
    finally:
        writer.close()
        bar.close()
    summary.decisions = dict(decisions)
    summary.seconds = time.perf_counter() - started
    return summary


def _parquet_rows(parts: list[Path]) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(p).metadata.num_rows for p in parts)


def scratch_dir() -> Path:
    """Where the model's files are downloaded for one run."""
    return Path(tempfile.mkdtemp(prefix="score-book-"))
