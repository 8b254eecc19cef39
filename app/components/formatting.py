"""Numbers and text as the pages show them."""

from __future__ import annotations

import re

_MARKDOWN = re.compile(r"([\\`*_\[\]<>#|~$])")


def metric_value(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def plain(text: str) -> str:
    """Text from data (a file name, a client id, an API message) shown as is inside Markdown."""
    return _MARKDOWN.sub(r"\\\1", text)
