"""Scoring an uploaded CSV: checked line by line for structure, parsed in chunks with pandas, every
chunk validated by the model's `ColumnEncoder` (the same rules as JSON) and scored in one predict call.

Rows are reported by CSV line number (header = line 1, one record per line). The structural check
runs before pandas because pandas' C parser silently truncates a value at a NUL byte and fills a
line with too few fields with missing values; both are refused here with their line number.
"""

from __future__ import annotations

import csv
import re
import warnings
from collections import Counter
from collections.abc import Iterator
from typing import IO

import numpy as np
import pandas as pd

from api.model_holder import LoadedModel
from api.scoring import InputError, ReasonMode, Scored, TooLargeError, check_header, score_encoded
from ml.config import MissingParams
from ml.data import csv_line
from ml.schema import FieldError

_PARSER_LINE = re.compile(r"line (\d+)")
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
) -> Scored:
    """Score every valid row of the CSV in `stream`; raise InputError for an unusable file, or for a
    header lacking more of the model's features than the `missing` policy allows."""
    schema = served.model.schema
    header = _read_header(stream)
    _check_lines(stream, len(header), max_rows)
    known = set(schema.names())
    ignored = {schema.id_column, schema.target}
    unknown = [name for name in header if name not in known and name not in ignored]
    if unknown:
        raise InputError([FieldError(name, "unknown column for this model", 1) for name in unknown[:100]])
    absent = check_header(served, header, missing or MissingParams(policy="score"))
    categorical = {
        name: "string" for name in header if name in known and schema.spec(name).kind == "categorical"
    }
    if schema.id_column in header:
        categorical[schema.id_column] = "string"
    total = Scored([], [], [], [], [], [])
    try:
        for chunk in _chunks(stream, chunk_rows, categorical):
            total.extend(_score_chunk(served, chunk, total.total, strict, reasons))
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
    if total.total == 0:
        raise InputError([FieldError("", "the CSV has a header but no rows", 2)], "empty CSV")
    total.absent = absent
    return total


def _chunks(stream: IO[bytes], chunk_rows: int, dtypes: dict[str, str]) -> Iterator[pd.DataFrame]:
    with warnings.catch_warnings():
        # A line with more fields than the header would otherwise silently become an index: refuse it.
        warnings.simplefilter("error", pd.errors.ParserWarning)
        yield from pd.read_csv(
            stream, chunksize=chunk_rows, dtype=dtypes, encoding="utf-8-sig", index_col=False
        )


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


def _check_lines(stream: IO[bytes], width: int, max_rows: int) -> None:
    """Refuse, with the line number, what pandas would silently get wrong: a NUL byte, a line with
    fewer fields than the header, a blank line before the last record; and more than `max_rows` rows.

    A line with a quote is counted with the csv module (a quoted field may hold commas); a record
    spanning lines (a quoted newline) is left to pandas, as it would be counted wrongly here.
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
        if fields is not None and fields < width:
            raise _malformed(number, f"{fields} fields where the header has {width}")
    stream.seek(0)


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


def _score_chunk(
    served: LoadedModel, chunk: pd.DataFrame, offset: int, strict: bool, reasons: ReasonMode
) -> Scored:
    lines = csv_line(offset) + np.arange(len(chunk))
    encoded = served.model.encoder.encode_table(chunk, lines.tolist())
    ids = served.model.schema.id_column
    client_ids = chunk[ids].tolist() if ids in chunk.columns else [None] * len(chunk)
    return score_encoded(served, encoded, lines, client_ids, strict, reasons)
