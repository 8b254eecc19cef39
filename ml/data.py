"""Loading client data: the real `application_train.csv`, any CSV with a target column, or the generator."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

CSV_HEADER_LINES = 1
_PARSER_LINE = re.compile(r"line (\d+)")


class DataError(ValueError):
    """The data cannot be read or used; the message says where and why."""


@dataclass(frozen=True)
class Dataset:
    frame: pd.DataFrame
    target: str
    id_column: str | None
    source: str
    data_hash: str


def csv_line(index: int) -> int:
    """The 1-based CSV line number of the row at positional index `index` (header on line 1)."""
    return index + 1 + CSV_HEADER_LINES


def frame_hash(frame: pd.DataFrame) -> str:
    """A content hash of a DataFrame (values and column names), stable across runs."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def file_hash(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_csv(path: str | Path) -> pd.DataFrame:
    """Read a CSV; malformed lines raise DataError naming the line."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    try:
        frame = pd.read_csv(path, low_memory=False)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path}: the file is empty") from exc
    except pd.errors.ParserError as exc:
        match = _PARSER_LINE.search(str(exc))
        where = f"line {match.group(1)}" if match else "a line"
        raise DataError(f"{path}: malformed CSV at {where}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a UTF-8 text file ({exc.reason})") from exc
    if frame.empty:
        raise DataError(f"{path}: the file has a header but no rows")
    return frame


def load_dataset(
    path: str | Path, target: str, id_column: str | None = None, positive_label: str | None = None
) -> Dataset:
    """Load any CSV holding `target` (and optionally an id column); no other column is assumed.

    `positive_label` is the target value that means default (`bad`, `2`, ...): the target becomes 1
    there and 0 for the one other value. A text target without it is refused with the way forward.
    """
    frame = read_csv(path)
    if target not in frame.columns:
        raise DataError(f"{path}: target column {target!r} not found; columns are {list(frame.columns)[:20]}")
    if id_column and id_column not in frame.columns:
        raise DataError(f"{path}: id column {id_column!r} not found")
    if positive_label is not None:
        frame[target] = binary_target(frame[target], positive_label, f"{path}: target {target!r}")
    elif not pd.api.types.is_numeric_dtype(frame[target]):
        shown = ", ".join(map(repr, _labels(frame[target])[:5]))
        raise DataError(
            f"{path}: target {target!r} holds text ({shown}); pass --positive-label VALUE, the value "
            "that means default (e.g. --positive-label bad)"
        )
    return Dataset(frame, target, id_column, source=str(path), data_hash=file_hash(path))


def _labels(series: pd.Series) -> list[str]:
    return sorted(series.dropna().astype(str).str.strip().unique())


def binary_target(series: pd.Series, positive_label: str, what: str) -> pd.Series:
    """1 where `series` is `positive_label`, 0 for its one other value, missing stays missing."""
    labels = _labels(series)
    positive = str(positive_label).strip()
    if positive not in labels or len(labels) != 2:
        raise DataError(
            f"{what} has the values {labels[:10]}: --positive-label {positive_label!r} must be one of "
            "exactly two values (the other one means no default)"
        )
    text = series.astype(str).str.strip()
    return (text == positive).astype(float).where(series.notna())


def generated_dataset(rows: int, seed: int) -> Dataset:
    """The generator's data as a Dataset (target TARGET, id SK_ID_CURR)."""
    from ml.generate import generate_applications  # SciPy's special functions: not for the API's start-up

    frame = generate_applications(rows, seed)
    return Dataset(
        frame,
        "TARGET",
        "SK_ID_CURR",
        source=f"generated(rows={rows}, seed={seed})",
        data_hash=frame_hash(frame),
    )
