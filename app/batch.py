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

CHUNK_ROWS = 5_000
RESULT_COLUMNS = ("probability", "decision", "risk_band", "reasons")


@dataclass
class BatchOutcome:
    """Scored rows (`line`, results, then the uploaded columns) and the refused lines with reasons."""

    scored: pd.DataFrame
    errors: pd.DataFrame
    threshold: float | None = None
    model_versions: set[str] = field(default_factory=set)


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
) -> BatchOutcome:
    """Send the frame chunk by chunk through `score_csv`; report (rows done, total) after each."""
    results: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    threshold, versions = None, set[str]()
    for offset, content in chunks(frame, rows):
        answer = score_csv(content)
        threshold = answer.get("threshold", threshold)
        versions.add(str(answer.get("model_version")))
        results.extend(
            {**item, "line": item["row"] + offset, "reasons": reasons_text(item.get("reasons"))}
            for item in answer.get("results", [])
        )
        errors.extend(_error_line(item, offset) for item in answer.get("errors", []))
        on_progress(min(offset + rows, len(frame)), len(frame))
    return BatchOutcome(_join(frame, results), pd.DataFrame(errors), threshold, versions)


def reasons_text(reasons: list[dict[str, Any]] | None) -> str:
    """Reason codes as one CSV cell: "R03 Low external credit score; R01 ..." (empty when none)."""
    return "; ".join(f"{reason['code']} {reason['text']}" for reason in reasons or [])


def _error_line(item: dict[str, Any], offset: int) -> dict[str, Any]:
    line = item.get("row")
    return {
        "line": None if line is None else line + offset,
        "field": item.get("field"),
        "reason": item.get("reason"),
    }


def _join(frame: pd.DataFrame, results: list[dict[str, Any]]) -> pd.DataFrame:
    """The uploaded rows that were scored, with their line number and results."""
    columns = ["line", *RESULT_COLUMNS]
    scored = pd.DataFrame(results)[columns] if results else pd.DataFrame(columns=columns)
    uploaded = frame.assign(line=range(2, len(frame) + 2))
    return scored.merge(uploaded, on="line", how="left")
