"""Numbers as the pages show them."""

from __future__ import annotations


def metric_value(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
