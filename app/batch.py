"""Batch scoring in chunks, so a large CSV shows progress and each request stays small.

The API numbers rows from 1 within each request; here they become row numbers of the whole file
(1 = the first data row), and the results are joined back onto the uploaded rows.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

CHUNK_ROWS = 5_000
RESULT_COLUMNS = ("probability", "decision", "risk_band")


@dataclass
class BatchOutcome:
    """Scored rows (the upload plus result columns) and the rows the API refused, with reasons."""

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
    threshold, versions = None, set()
    for offset, content in chunks(frame, rows):
        answer = score_csv(content)
        threshold = answer.get("threshold", threshold)
        for item in answer.get("results", []):
            results.append({**item, "row": item["row"] + offset})
            versions.add(str(item.get("model_version", answer.get("model_version"))))
        errors.extend({**item, "row": item["row"] + offset} for item in answer.get("errors", []))
        on_progress(min(offset + rows, len(frame)), len(frame))
    return BatchOutcome(_join(frame, results), pd.DataFrame(errors), threshold, versions)


def _join(frame: pd.DataFrame, results: list[dict[str, Any]]) -> pd.DataFrame:
    """The uploaded rows that were scored, with their row number and results."""
    columns = ["row", *RESULT_COLUMNS]
    scored = pd.DataFrame(results, columns=columns) if results else pd.DataFrame(columns=columns)
    uploaded = frame.assign(row=range(1, len(frame) + 1))
    return scored[columns].merge(uploaded, on="row", how="left")
