"""Validation: each kind of bad input gives its own clear error, with CSV line numbers."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.cli import EXIT_INVALID_DATA, main
from ml.config import ValidationParams
from ml.data import DataError, load_dataset
from ml.generate import generate_applications
from ml.validate import validate_frame

PARAMS = ValidationParams(max_null_rate=0.99, min_rows=100)


@pytest.fixture
def frame() -> pd.DataFrame:
    return generate_applications(500, seed=2)


def problems(frame: pd.DataFrame, id_column: str | None = "SK_ID_CURR") -> list[str]:
    return [issue.describe() for issue in validate_frame(frame, "TARGET", id_column, PARAMS).errors]


def test_clean_data_is_valid(frame):
    report = validate_frame(frame, "TARGET", "SK_ID_CURR", PARAMS)
    assert report.ok, report.describe()


def test_missing_target_column(frame):
    assert problems(frame.drop(columns=["TARGET"])) == ["[error] TARGET: target column is missing"]


def test_bad_target_values_name_their_lines(frame):
    frame["TARGET"] = frame["TARGET"].astype(float)
    frame.loc[[3, 40], "TARGET"] = 2
    frame.loc[7, "TARGET"] = np.nan
    found = problems(frame)
    assert any("target must be 0 or 1" in p and "CSV lines 5, 42" in p for p in found), found
    assert any("target is missing" in p and "CSV lines 9" in p for p in found), found


def test_single_class_target(frame):
    frame["TARGET"] = 0
    assert any("both classes" in p for p in problems(frame))


def test_duplicate_ids(frame):
    frame.loc[10, "SK_ID_CURR"] = frame.loc[2, "SK_ID_CURR"]
    assert any("duplicate id" in p and "CSV lines 12" in p for p in problems(frame))


def test_out_of_range_and_infinite_values(frame):
    frame.loc[4, "EXT_SOURCE_2"] = 1.7
    frame.loc[5, "AMT_CREDIT"] = -100.0
    frame.loc[6, "AMT_INCOME_TOTAL"] = np.inf
    found = problems(frame)
    assert any(
        p.startswith("[error] EXT_SOURCE_2: value outside the plausible range") and "lines 6" in p
        for p in found
    )
    assert any(p.startswith("[error] AMT_CREDIT: value outside") and "lines 7" in p for p in found)
    assert any(p.startswith("[error] AMT_INCOME_TOTAL: value is infinite") and "lines 8" in p for p in found)


def test_text_in_a_numeric_column(frame):
    frame["AMT_ANNUITY"] = frame["AMT_ANNUITY"].astype(object)
    frame.loc[20, "AMT_ANNUITY"] = "twelve"
    assert any("AMT_ANNUITY: value is not a number" in p and "CSV lines 22" in p for p in problems(frame))


def test_too_few_rows(frame):
    assert any("at least 100 needed" in p for p in problems(frame.head(50)))


def test_empty_columns_are_dropped_with_a_warning(frame):
    frame["EMPTY"] = np.nan
    report = validate_frame(frame, "TARGET", "SK_ID_CURR", PARAMS)
    assert report.ok and "EMPTY" in report.dropped_columns
    assert any(issue.severity == "warning" and issue.column == "EMPTY" for issue in report.issues)


def test_malformed_csv_names_the_line(tmp_path: Path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b,TARGET\n1,2,0\n3,4,1,9,9\n5,6,0\n")
    with pytest.raises(DataError, match="line 3"):
        load_dataset(path, "TARGET")


def test_loader_checks_target_and_id(tmp_path: Path, frame):
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match="target column 'default'"):
        load_dataset(path, "default")
    with pytest.raises(DataError, match="id column 'client'"):
        load_dataset(path, "TARGET", "client")
    with pytest.raises(DataError, match="no such file"):
        load_dataset(tmp_path / "missing.csv", "TARGET")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty"):
        load_dataset(tmp_path / "empty.csv", "TARGET")


def test_cli_refuses_invalid_data_with_the_report(tmp_path: Path, frame, capsys):
    frame.loc[3, "TARGET"] = 5
    path = tmp_path / "invalid.csv"
    frame.to_csv(path, index=False)
    code = main(
        [
            "--tracking-uri",
            "http://127.0.0.1:9",
            "train",
            "--data",
            str(path),
            "--id-column",
            "SK_ID_CURR",
            "--quiet",
        ]
    )
    assert code == EXIT_INVALID_DATA
    err = capsys.readouterr().err
    assert "training refused" in err and "target must be 0 or 1" in err and "CSV lines 5" in err
    assert main(["validate", "--data", str(path), "--id-column", "SK_ID_CURR"]) == EXIT_INVALID_DATA
