"""Batch scoring in chunks, so a large CSV shows progress and each request stays small.

The API names rows by CSV line within each request (header = line 1); here they become lines of
the whole uploaded file, as a spreadsheet numbers its rows, and results are joined back onto them.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from app.api_client import describe_error

CHUNK_ROWS = 5_000
RESULT_COLUMNS = ("probability", "decision", "risk_band", "reasons")


@dataclass
class BatchOutcome:
    """Scored rows (`line`, results, then the uploaded columns), the refused lines with the client id
    and reasons, and the model's features the file's header lacked (the API's warning)."""

    scored: pd.DataFrame
    errors: pd.DataFrame
    threshold: float | None = None
    model_versions: set[str] = field(default_factory=set)
    missing_features: list[str] = field(default_factory=list)
    missing_importance: float = 0.0


def unreadable(filename: str, exc: Exception) -> str:
    """Why a file could not be read as CSV, in words (pandas' and the codec's own messages are not)."""
    if isinstance(exc, UnicodeDecodeError):
        return (
            f"{filename} is not a CSV text file: it holds binary data (a spreadsheet, an image or an archive?). "
            "Save it as CSV (comma-separated values, UTF-8 text) and upload that."
        )
    if isinstance(exc, pd.errors.EmptyDataError):
        return f"{filename} is empty: a CSV needs a header row, then one row per client."
    if isinstance(exc, pd.errors.ParserError):
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
        return (
            f"{filename} is not a well-formed CSV ({first}): every line needs as many comma-separated "
            "fields as the header."
        )
    return f"{filename} could not be read as CSV: {exc}"


def refusal_text(filename: str, body: Any) -> str:
    """Why the API would not score a file (its 4xx body), in words an operator can act on."""
    if not isinstance(body, dict):
        return f"{filename} was not scored: {body}"
    errors = [item for item in body.get("errors") or [] if isinstance(item, dict)]
    unknown = [str(item.get("field")) for item in errors if "unknown column" in str(item.get("reason"))]
    if unknown:
        shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        return (
            f"{filename} was not scored: its header names {len(unknown)} column(s) the model does not know "
            f"({shown}). Is it a file of client applications? The columns must be the model's features by "
            "name (the id and target columns are accepted too)."
        )
    detail = str(body.get("detail") or "")
    if any("absent" in str(item.get("reason")) for item in errors):
        return f"{filename} was not scored: {detail.removeprefix('Not scored: ')}."
    return f"{filename} was not scored: {describe_error(body)}"


def read_upload(content: bytes) -> pd.DataFrame:
    """The uploaded CSV as text columns, exactly as the API will parse it (no type guessing here)."""
    return pd.read_csv(io.BytesIO(content), dtype=str, keep_default_na=False)


def chunks(frame: pd.DataFrame, rows: int = CHUNK_ROWS) -> Iterator[tuple[int, bytes]]:
    """(offset of the chunk's first row, the chunk as CSV bytes with the header)."""
    for start in range(0, len(frame), rows):
        yield start, frame.iloc[start : start + rows].to_csv(index=False).encode()


def score_in_chunks(
    frame: pd.DataFrame,
    score_csv: Callable[[bytes], dict[str, Any]],
    on_progress: Callable[[int, int], None],
    rows: int = CHUNK_ROWS,
    id_column: str | None = None,
) -> BatchOutcome:
    """Send the frame chunk by chunk through `score_csv`; report (rows done, total) after each.
    Refused lines carry the client's `id_column` value when the file has that column."""
    results: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    threshold, versions = None, set[str]()
    missing: tuple[list[str], float] = ([], 0.0)
    ids = frame[id_column] if id_column and id_column in frame.columns else None
    for offset, content in chunks(frame, rows):
        answer = score_csv(content)
        threshold = answer.get("threshold", threshold)
        versions.add(str(answer.get("model_version")))
        missing = (answer.get("missing_features") or [], float(answer.get("missing_importance") or 0.0))
        results.extend(
            {**item, "line": item["row"] + offset, "reasons": reasons_text(item.get("reasons"))}
            for item in answer.get("results", [])
        )
        errors.extend(_error_line(item, offset, ids) for item in answer.get("errors", []))
        on_progress(min(offset + rows, len(frame)), len(frame))
    return BatchOutcome(_join(frame, results), pd.DataFrame(errors), threshold, versions, *missing)


def reasons_text(reasons: list[dict[str, Any]] | None) -> str:
    """Reason codes as one CSV cell: "R03 Low external credit score; R01 ..." (empty when none)."""
    return "; ".join(f"{reason['code']} {reason['text']}" for reason in reasons or [])


def _error_line(item: dict[str, Any], offset: int, ids: pd.Series | None) -> dict[str, Any]:
    line = item.get("row")
    line = None if line is None else line + offset
    out: dict[str, Any] = {"line": line}
    if ids is not None:  # the file's line 2 is the frame's first row
        out[str(ids.name)] = ids.iloc[line - 2] if line is not None and 2 <= line < len(ids) + 2 else None
    return out | {"field": item.get("field"), "reason": item.get("reason")}


def _join(frame: pd.DataFrame, results: list[dict[str, Any]]) -> pd.DataFrame:
    """The uploaded rows that were scored, with their line number and results."""
    columns = ["line", *RESULT_COLUMNS]
    scored = pd.DataFrame(results)[columns] if results else pd.DataFrame(columns=columns)
    uploaded = frame.assign(line=range(2, len(frame) + 2))
    return scored.merge(uploaded, on="line", how="left")
