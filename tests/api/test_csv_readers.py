"""Both CSV readers (pandas by default and in the API image; pyarrow with CSV_READER=pyarrow) give the
same answer."""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime

import pytest

from api import csv_batch
from api.model_holder import LoadedModel
from api.scoring import InputError
from ml.generate import generate_applications
from ml.scoring import ScoringModel


def _served(model: ScoringModel) -> LoadedModel:
    return LoadedModel(model, "m", "1", "champion", None, "cache", datetime.now(UTC))


def _csv() -> bytes:
    frame = generate_applications(600, seed=8).drop(columns=["TARGET"])
    frame["DAYS_BIRTH"] = frame["DAYS_BIRTH"].astype(object)
    frame.loc[5, "DAYS_BIRTH"] = "yesterday"
    frame.loc[7, "CODE_GENDER"] = "Q"
    frame.loc[9, "AMT_CREDIT"] = 1e30
    return frame.to_csv(index=False).encode()


def _score(model: ScoringModel, content: bytes, reader: str):
    return csv_batch.score_csv(_served(model), io.BytesIO(content), False, 250, 10_000, reader=reader)


def test_pyarrow_and_pandas_read_a_csv_alike(champion_model: ScoringModel) -> None:
    content = _csv()
    by_arrow = _score(champion_model, content, "pyarrow")
    by_pandas = _score(champion_model, content, "pandas")
    assert by_arrow.rows == by_pandas.rows and by_arrow.probabilities == by_pandas.probabilities
    assert by_arrow.errors == by_pandas.errors and [e.row for e in by_arrow.errors] == [7, 9, 11]
    assert by_arrow.client_ids == by_pandas.client_ids and by_arrow.total == 600


@pytest.mark.parametrize("reader", ["pyarrow", "pandas"])
def test_a_line_with_too_many_fields_is_refused_with_its_line(
    champion_model: ScoringModel, reader: str
) -> None:
    content = b"AMT_CREDIT,AMT_ANNUITY\n1000,20\n1000,20,5\n"
    with pytest.raises(InputError) as refused:
        _score(champion_model, content, reader)
    assert refused.value.errors[0].row == 3 and "3 fields" in refused.value.errors[0].reason


GOOD = [
    b"A,B\n1,2\n3,4\n",
    b"A,B\r\n1,2\r\n3,4",  # CRLF, no newline after the last record
    b'A,B\n"x,y",2\n"say ""hi""",4\n',  # quoted commas and quotes
    b'A,B\n1,"two\nlines"\n3,4\n',  # a record over two lines: left to the parser, as by _check_lines
    b"A,B\n" + b"1,2\n" * 30_000,  # several scan blocks (patched smaller below)
]
FAULTY = [
    b"A,B\n1,2\n3\n",  # short line
    b"A,B\n1,2,3\n",  # long line
    b"A,B\n1,\x002\n",  # NUL byte
    b"A,B\n1,2\n\n3,4\n",  # blank line between records
    b"A,B\n1,2\n\n",  # a trailing blank line: fine, but only the line check can tell
    b"A\n1\n2\n",  # one column: only the line check can tell a blank line
    b"A,B\n" + b"1,2\n" * 11,  # over max_rows (10)
]


@pytest.mark.parametrize("content", GOOD + FAULTY)
def test_the_vectorised_scan_counts_what_the_line_check_counts_or_defers_to_it(
    content: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`_scan` must never pass a file `_check_lines` refuses, nor count its records differently; it
    answers the ordinary files itself (None sends a file to `_check_lines`)."""
    monkeypatch.setattr(csv_batch, "SCAN_BLOCK_BYTES", 4096)
    width = content.split(b"\n", 1)[0].count(b",") + 1
    max_rows = 10 if content.count(b"\n") < 20 else 100_000
    scanned = csv_batch._scan(io.BytesIO(content), width, max_rows)
    try:
        checked: int | None = csv_batch._check_lines(io.BytesIO(content), width, max_rows)
    except InputError:
        checked = None
    if content in GOOD:
        assert scanned is not None and scanned == checked, (scanned, checked)
    else:
        assert scanned is None


def test_the_vectorised_scan_never_passes_what_the_line_check_refuses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """2,000 generated files of odd cells (quotes, quoted newlines, NUL, blanks, stray commas, blank
    lines, CRLF), scanned in blocks of a few bytes so that lines straddle them."""
    rng = random.Random(18)
    cells = [b"a", b"12", b"", b'"x,y"', b'"q""r"', b" ", b'"two\nlines"', b"\x00", b'"', b"a,b"]
    weights = [10, 10, 5, 2, 1, 1, 0.3, 0.1, 0.1, 0.2]
    passed = 0
    for _ in range(2_000):
        width = rng.choice([2, 3, 5])
        lines = [b",".join(b"h%d" % i for i in range(width))]
        for _ in range(rng.randint(0, 8)):
            fields = width if rng.random() < 0.9 else rng.choice([1, width + 1])
            lines.append(b",".join(rng.choices(cells, weights)[0] for _ in range(fields)))
        end = rng.choice([b"\n", b"\r\n"])
        content = end.join(lines) + rng.choice([end, b""])
        monkeypatch.setattr(csv_batch, "SCAN_BLOCK_BYTES", rng.choice([64, 8 * 1024 * 1024]))
        scanned = csv_batch._scan(io.BytesIO(content), width, 5)
        if scanned is None:
            continue
        passed += 1
        assert csv_batch._check_lines(io.BytesIO(content), width, 5) == scanned, content
    assert passed > 500  # most files are answered by the scan itself
