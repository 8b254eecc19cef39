"""Spark fixtures: one local[2] SparkSession, one API on the session champion, one book scored per engine.

The books are generated clients with known bad rows, so every test compares the same rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.generate import generate_applications
from ml.score_book import BookModel, BookSummary, fetch_model, score_book_local
from tests.api.conftest import Api, api_env, launch_api
from tests.utils import Champion

BOOK_ROWS = 3_000
# 0-based data rows made invalid; CSV line = index + 2 (header is line 1).
BAD_VALUES = {
    5: ("AMT_CREDIT", -5.0),
    17: ("NAME_CONTRACT_TYPE", "Bogus loans"),
    1_203: ("EXT_SOURCE_2", 1.7),
    2_999: ("DAYS_BIRTH", "yesterday"),
}


@dataclass(frozen=True)
class ScoredBook:
    output: Path
    summary: BookSummary
    scores: pd.DataFrame  # sorted by source, row
    errors: pd.DataFrame


def read_scores(directory: Path) -> pd.DataFrame:
    return pd.read_parquet(directory).sort_values(["source", "row"]).reset_index(drop=True)


def read_errors(directory: Path) -> pd.DataFrame:
    parts = sorted(directory.glob("part-*.csv"))
    assert parts, f"no errors file in {directory}"
    frame = pd.concat([pd.read_csv(p, dtype={"client_id": "string"}) for p in parts], ignore_index=True)
    return frame.sort_values(["source", "row", "field"]).reset_index(drop=True)


@pytest.fixture(scope="session")
def spark():
    from ml.spark_scoring import spark_session

    # The JVM's settings at its launch: no web UI to start and keep up to date for a test run.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PYSPARK_SUBMIT_ARGS", "--conf spark.ui.enabled=false pyspark-shell")
        session = spark_session("local[2]", "tests")
    session.conf.set("spark.sql.shuffle.partitions", "2")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def book_frame(book_model: BookModel) -> pd.DataFrame:
    """Generated clients, valid for the champion but for the rows of BAD_VALUES."""
    frame = generate_applications(BOOK_ROWS, seed=23).drop(columns=["TARGET"])
    for spec in book_model.load().schema.features:
        if spec.kind == "categorical":  # rare categories the training sample never saw
            unseen = frame[spec.name].notna() & ~frame[spec.name].isin(spec.categories)
            frame.loc[unseen, spec.name] = spec.categories[0]
    frame = frame.astype(object)
    for index, (column, value) in BAD_VALUES.items():
        frame.loc[index, column] = value
    return frame


@pytest.fixture(scope="session")
def book_csv(book_frame: pd.DataFrame, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("book") / "book.csv"
    book_frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def book_model(champion: Champion, tmp_path_factory) -> BookModel:
    return fetch_model(
        champion.tracking_uri, champion.name, "champion", None, tmp_path_factory.mktemp("model")
    )


@pytest.fixture(scope="session")
def served_api(champion: Champion, tmp_path_factory) -> Iterator[Api]:
    workdir = tmp_path_factory.mktemp("spark-api")
    running = launch_api(workdir, api_env(champion.tracking_uri, workdir))
    yield running
    running.server.stop()


@pytest.fixture(scope="session")
def spark_scored(spark, book_csv: Path, book_model: BookModel, tmp_path_factory) -> ScoredBook:
    from ml.spark_scoring import score_book_spark

    out = tmp_path_factory.mktemp("spark-out")
    summary = score_book_spark(
        spark, str(book_csv), "csv", book_model, str(out / "scores"), str(out / "errors")
    )
    return ScoredBook(out / "scores", summary, read_scores(out / "scores"), read_errors(out / "errors"))


@pytest.fixture(scope="session")
def local_scored(book_csv: Path, book_model: BookModel, tmp_path_factory) -> ScoredBook:
    out = tmp_path_factory.mktemp("local-out")
    summary = score_book_local(book_csv, book_model, out / "scores", out / "errors", chunk_rows=700)
    return ScoredBook(out / "scores", summary, read_scores(out / "scores"), read_errors(out / "errors"))


def bad_lines() -> np.ndarray:
    return np.array(sorted(index + 2 for index in BAD_VALUES))
