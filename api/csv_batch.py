"""Scoring an uploaded CSV: checked for structure, parsed in blocks (pandas' C parser by default; pyarrow's
multi-threaded reader with CSV_READER=pyarrow where installed), every block validated by the model's
`ColumnEncoder` (the same rules as JSON) straight into the raw matrix and scored in one predict call.

Rows are reported by CSV line number (header = line 1, one record per line). The structural check
runs before parsing because a parser refuses a line with the wrong number of fields without its line
number (pandas silently filled a short one) and C parsers cut a value at a NUL byte; both are
refused here with their line number: a vectorised pass finds whether the file has such a fault,
and only then does the line-by-line check run to name it.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections import Counter
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import pyarrow as pa

from api.core.config import CsvReader
from api.model_holder import LoadedModel
from api.scoring import InputError, Scored, TooLargeError, check_header, score_encoded
from ml.config import MissingParams
from ml.data import csv_line
from ml.reasons import ReasonMode
from ml.schema import FeatureSchema, FieldError

# pandas' default missing-value markers: the pyarrow reader reads them as missing too, as pandas does
MISSING_TEXTS = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
]  # fmt: skip
_PARSER_LINE = re.compile(r"line (\d+)")
MIN_BLOCK_BYTES = 64 * 1024
SCAN_BLOCK_BYTES = 8 * 1024 * 1024
MAX_HEADER_BYTES = 256 * 1024
MAX_COLUMNS = 2_000
MAX_LINE_BYTES = 1024 * 1024


def score_csv(
    served: LoadedModel,
    stream: IO[bytes],
    strict: bool,
    chunk_rows: int,
    max_rows: int,
    reasons: ReasonMode = "none",
    missing: MissingParams | None = None,
    reader: CsvReader = "pandas",
) -> Scored:
    """Score every valid row of the CSV in `stream`; raise InputError for an unusable file, or for a
    header lacking more of the model's features than the `missing` policy allows. `reader` "pyarrow"
    (where installed) parses on every core; "pandas" is the default (CSV_READER, docs/api.md)."""
    schema = served.model.schema
    header = _read_header(stream)
    rows = _scan(stream, len(header), max_rows)
    if rows is None:
        rows = _check_lines(stream, len(header), max_rows)  # a structural fault, named by its line
    known = set(schema.names())
    ignored = {schema.id_column, schema.target}
    unknown = [name for name in header if name not in known and name not in ignored]
    if unknown:
        raise InputError([FieldError(name, "unknown column for this model", 1) for name in unknown[:100]])
    absent = check_header(served, header, missing or MissingParams(policy="score"))
    arrow = _arrow_csv() if reader == "pyarrow" else None
    blocks = (
        _arrow_blocks(arrow, stream, header, chunk_rows, rows, max_rows)
        if arrow is not None
        else _pandas_blocks(stream, header, schema, chunk_rows)
    )
    total = Scored([], [], [], [], [], [])
    for block in blocks:
        total.extend(_score_block(served, block, total.total, strict, reasons))
    if total.total == 0:
        raise InputError([FieldError("", "the CSV has a header but no rows", 2)], "empty CSV")
    total.absent = absent
    return total


def _arrow_csv() -> Any:
    """pyarrow's CSV module, imported at the first upload rather than at start-up; None where pyarrow
    is not installed: the API image leaves it out (~110 MB over its size budget, bench/README.md).

    Not the default reader: about a sixth faster end to end, but its parser aborts the process where an
    allocation can fail (a memory ulimit: the replica would die, not answer 503)."""
    try:
        import pyarrow.csv
    except ImportError:
        return None
    return pyarrow.csv


def _arrow_blocks(
    pa_csv: Any, stream: IO[bytes], header: list[str], chunk_rows: int, rows: int, max_rows: int
) -> Iterator[pa.RecordBatch]:
    """Blocks of about `chunk_rows` records, every column as text (the encoder judges the values);
    pyarrow parses and converts each block on every core. Empty cells and pandas' missing markers are
    null, as `pd.read_csv` read them, so a CSV means the same whichever reader reads it."""
    import pyarrow as pa

    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    options = {
        "read_options": pa_csv.ReadOptions(
            block_size=max(MIN_BLOCK_BYTES, size * chunk_rows // max(rows, 1)), use_threads=True
        ),
        "parse_options": pa_csv.ParseOptions(newlines_in_values=True),
        "convert_options": pa_csv.ConvertOptions(
            column_types=dict.fromkeys(header, pa.string()),
            null_values=MISSING_TEXTS,
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    }
    try:
        yield from pa_csv.open_csv(stream, **options)
    except pa.ArrowInvalid as exc:
        stream.seek(0)
        _check_lines(stream, len(header), max_rows)  # a line-numbered answer for a structural fault
        text = str(exc)
        if "UTF8" in text or "UTF-8" in text:
            raise InputError([FieldError("", f"not UTF-8 text: {text}")], "malformed CSV") from exc
        raise InputError([FieldError("", f"malformed CSV: {text}")], "malformed CSV") from exc
    except pa.ArrowMemoryError as exc:
        raise MemoryError("parsing the CSV ran out of memory") from exc


def _pandas_blocks(
    stream: IO[bytes], header: list[str], schema: FeatureSchema, chunk_rows: int
) -> Iterator[pd.DataFrame]:
    """Chunks read by pandas' C parser. Categorical columns are read as pandas categories: the parser
    hashes their texts in C and the encoder maps each distinct text once, not every cell."""
    known = set(schema.names())
    text = [name for name in header if name in known and schema.spec(name).kind == "categorical"]
    dtypes: dict[str, str] = dict.fromkeys(text, "category")
    if schema.id_column in header:
        dtypes[schema.id_column] = "string"
    try:
        with warnings.catch_warnings():
            # A line with more fields than the header would otherwise silently become an index: refuse it.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            yield from pd.read_csv(
                stream, chunksize=chunk_rows, dtype=dtypes, encoding="utf-8-sig", index_col=False
            )
    except pd.errors.ParserWarning as exc:
        raise InputError([FieldError("", f"malformed CSV: {exc}")], "malformed CSV") from exc
    except pd.errors.ParserError as exc:
        if "out of memory" in str(exc):
            raise MemoryError("parsing the CSV ran out of memory") from exc
        match = _PARSER_LINE.search(str(exc))
        line = int(match.group(1)) if match else None
        raise InputError([FieldError("", f"malformed CSV: {exc}", line)], "malformed CSV") from exc
    except UnicodeDecodeError as exc:
        raise InputError([FieldError("", f"not UTF-8 text: {exc.reason}")], "malformed CSV") from exc


def _read_header(stream: IO[bytes]) -> list[str]:
    """Column names from the first line (then rewind), so an unknown column fails before any parsing."""
    first = stream.readline(MAX_HEADER_BYTES + 1)
    stream.seek(0)
    if len(first) > MAX_HEADER_BYTES:
        raise TooLargeError(
            [FieldError("", f"the header line is longer than {MAX_HEADER_BYTES} bytes", 1)],
            "CSV header too large",
        )
    if not first.strip():
        raise InputError([FieldError("", "the CSV is empty (no header line)", 1)], "empty CSV")
    try:
        names = next(csv.reader([first.decode("utf-8-sig")]))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError([FieldError("", f"unreadable CSV header: {exc}", 1)], "malformed CSV") from exc
    if len(names) > MAX_COLUMNS:
        raise TooLargeError(
            [FieldError("", f"{len(names)} columns; at most {MAX_COLUMNS}", 1)], "CSV header too large"
        )
    duplicated = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicated:
        raise InputError([FieldError(name, "duplicated column", 1) for name in duplicated], "malformed CSV")
    return names


def _scan(stream: IO[bytes], width: int, max_rows: int) -> int | None:
    """The number of records when a vectorised pass finds nothing `_check_lines` would refuse, else None
    (the caller then runs `_check_lines`, which names the line). Per block of whole lines: no NUL byte,
    no line over MAX_LINE_BYTES, every line after the header `width` fields (commas counted at C speed;
    a line with a quote counted as `_check_lines` counts it), at most `max_rows` of them. A blank line
    has one field, so it too sends the file to `_check_lines`, which tells a trailing one from one
    between records; so does a one-column file, where that test cannot tell."""
    if width < 2:
        return None
    try:
        return _count_records(stream, width, max_rows)
    finally:
        stream.seek(0)


def _count_records(stream: IO[bytes], width: int, max_rows: int) -> int | None:
    """`_scan`'s pass over the stream, block by block of whole lines."""
    records, carry, header = 0, b"", True
    while True:
        block = stream.read(SCAN_BLOCK_BYTES)
        data = carry + block
        if not data:
            return records
        cut = data.rfind(b"\n") + 1 if block else len(data)
        if cut == 0:
            return None  # no line end in a whole block: a line over MAX_LINE_BYTES
        lines = _scan_lines(data[:cut], width, header)
        if lines is None:
            return None
        records, carry, header = records + lines, data[cut:], False
        if records > max_rows:
            return None


def _scan_lines(data: bytes, width: int, header: bool) -> int | None:
    """How many lines `data` (whole lines) holds when each passes `_scan`'s checks, else None."""
    if b"\x00" in data:
        return None
    text = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(text == ord("\n"))
    if data[-1:] != b"\n":
        ends = np.append(ends, len(data))
    starts = np.concatenate(([0], ends[:-1] + 1))
    if np.any(ends - starts >= MAX_LINE_BYTES):
        return None
    fields = np.add.reduceat(text == ord(","), starts, dtype=np.int32) + 1
    quoted = np.unique(np.searchsorted(ends, np.flatnonzero(text == ord('"'))))
    for line in quoted.tolist():
        fields[line] = _field_count(data[starts[line] : ends[line] + 1]) or width
    if np.any(fields[int(header) :] != width):
        return None
    return len(ends) - int(header)


def _check_lines(stream: IO[bytes], width: int, max_rows: int) -> int:
    """Refuse, with the line number, what the parser would get wrong or refuse without saying where:
    a NUL byte, a line with fewer or more fields than the header, a blank line before the last record;
    and more than `max_rows` rows. Returns the number of records.

    A line with a quote is counted with the csv module (a quoted field may hold commas); a record
    spanning lines (a quoted newline) is left to the parser, as it would be counted wrongly here.
    """
    blank_at = None
    rows = 0
    number = 0
    while line := stream.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(line) > MAX_LINE_BYTES:
            raise TooLargeError(
                [FieldError("", f"a line longer than {MAX_LINE_BYTES} bytes", number)], "CSV line too large"
            )
        if b"\x00" in line:
            raise _malformed(number, "a NUL byte (\\x00) in the line; CSV text cannot contain one")
        if number == 1:
            continue
        if not line.strip():
            blank_at = blank_at or number
            continue
        if blank_at is not None:
            raise _malformed(blank_at, "an empty line between records (one record per line)")
        rows += 1
        if rows > max_rows:
            raise TooLargeError(
                [FieldError("", f"more than {max_rows} rows; split the file", number)], "CSV too large"
            )
        fields = _field_count(line)
        if fields is not None and fields != width:
            raise _malformed(number, f"{fields} fields where the header has {width}")
    stream.seek(0)
    return rows


def _field_count(line: bytes) -> int | None:
    """Fields in one CSV line, or None when a quoted field continues on the next line."""
    if b'"' not in line:
        return line.count(b",") + 1
    if line.count(b'"') % 2:
        return None
    try:
        return len(next(csv.reader([line.decode("utf-8", errors="replace")])))
    except csv.Error:
        return None


def _malformed(line: int, reason: str) -> InputError:
    return InputError([FieldError("", f"malformed CSV: {reason}", line)], f"malformed CSV at line {line}")


def _score_block(
    served: LoadedModel, block: pa.RecordBatch | pd.DataFrame, offset: int, strict: bool, reasons: ReasonMode
) -> Scored:
    lines = csv_line(offset) + np.arange(len(block))
    encoder, ids = served.model.encoder, served.model.schema.id_column
    if isinstance(block, pd.DataFrame):
        encoded = encoder.encode_table(block, lines.tolist())
        client_ids = block[ids].tolist() if ids in block.columns else [None] * len(block)
    else:
        encoded = encoder.encode_arrow(block, lines.tolist())
        client_ids = block.column(ids).to_pylist() if ids in block.schema.names else [None] * len(block)
    return score_encoded(served, encoded, lines, client_ids, strict, reasons)
