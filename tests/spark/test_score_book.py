"""`score-book`: Spark and local engines score exactly as the API does, and report bad rows by line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from ml.cli import main
from ml.score_book import BookError, ReasonOptions, score_book_local
from ml.spark_scoring import score_book_spark
from tests.servers import free_port
from tests.spark.conftest import BAD_VALUES, BOOK_ROWS, bad_lines, read_errors, read_scores


def test_spark_scores_equal_the_api_to_the_last_bit(spark_scored, served_api, book_csv, champion):
    with served_api.client(timeout=120) as client:
        response = client.post(
            "/predict/batch", files={"file": ("book.csv", book_csv.read_bytes(), "text/csv")}
        )
    assert response.status_code == 200, response.text
    body = response.json()
    api = pd.DataFrame(body["results"]).sort_values("row").reset_index(drop=True)
    ours = spark_scored.scores

    assert len(ours) == len(api) == BOOK_ROWS - len(BAD_VALUES)
    assert ours["row"].tolist() == api["row"].tolist()
    assert np.array_equal(ours["probability"].to_numpy(), api["probability"].to_numpy())  # exact, not close
    assert ours["decision"].tolist() == api["decision"].tolist()
    assert ours["risk_band"].tolist() == api["risk_band"].tolist()
    # Reason codes as the API gives them by default: for refusals, nothing for the others.
    refused = api["decision"] == "refuse"
    assert refused.sum() > 100 and api.loc[refused, "reasons"].map(len).min() > 0
    assert ours["reasons"].map(lambda text: None if text is None else json.loads(text)).tolist() == [
        reasons if isinstance(reasons, list) else None for reasons in api["reasons"]
    ]
    assert set(ours["model_version"]) == {champion.version} == {body["model_version"]}
    assert ours["client_id"].iloc[0] == "100002"
    # The same rows are rejected, for the same fields, at the same lines.
    api_errors = sorted((e["row"], e["field"]) for e in body["errors"])
    assert sorted(zip(spark_scored.errors["row"], spark_scored.errors["field"], strict=True)) == api_errors


def test_bad_rows_go_to_the_error_file_with_their_line(spark_scored, local_scored):
    for scored in (spark_scored, local_scored):
        errors = scored.errors
        assert errors["row"].tolist() == bad_lines().tolist()
        reasons = dict(zip(errors["field"], errors["reason"], strict=True))
        assert reasons["AMT_CREDIT"] == "-5 is below the plausible minimum 0"
        assert reasons["NAME_CONTRACT_TYPE"].startswith("unknown category 'Bogus loans'")
        assert reasons["DAYS_BIRTH"] == "expected a number, got 'yesterday'"
        assert scored.summary.rejected == len(BAD_VALUES)
        assert scored.summary.scored == BOOK_ROWS - len(BAD_VALUES)


def test_local_engine_equals_spark(spark_scored, local_scored):
    local, remote = local_scored.scores, spark_scored.scores
    assert np.array_equal(local["probability"].to_numpy(), remote["probability"].to_numpy())
    assert local.drop(columns="probability").equals(remote.drop(columns="probability"))
    assert local_scored.errors.equals(spark_scored.errors)


def test_reason_modes_follow_the_api_flag(champion, book_csv, book_model, local_scored, tmp_path):
    """--reasons all: every row has its reasons (a refusal's as by default); none: no row has any."""
    every = score_book_local(
        book_csv, book_model, tmp_path / "all", tmp_path / "all-errors", reasons=ReasonOptions("all")
    )
    assert every.scored == BOOK_ROWS - len(BAD_VALUES)
    reasons = read_scores(tmp_path / "all")["reasons"]
    assert reasons.notna().all()
    refused = local_scored.scores["decision"] == "refuse"
    assert reasons[refused].tolist() == local_scored.scores.loc[refused, "reasons"].tolist()
    assert local_scored.scores.loc[~refused, "reasons"].isna().all()

    out = tmp_path / "none"
    args = ["--tracking-uri", champion.tracking_uri, "score-book", str(book_csv), "-o", str(out)]
    assert main([*args, "--reasons", "none", "--json"]) == 0
    scores = read_scores(out)
    assert scores["reasons"].isna().all()
    assert scores["probability"].equals(local_scored.scores["probability"])


def test_parquet_book_and_split_csv_blocks_keep_row_numbers(
    spark, book_frame, book_csv, book_model, spark_scored, tmp_path
):
    """Parquet rows are numbered from 1; CSV parts split into many blocks keep their line numbers."""
    parquet_dir = tmp_path / "book-parquet"
    parquet_dir.mkdir()
    typed = book_frame.copy()
    typed["DAYS_BIRTH"] = typed["DAYS_BIRTH"].astype(
        str
    )  # one text value in a number column, as Parquet allows
    typed["NAME_CONTRACT_TYPE"] = typed["NAME_CONTRACT_TYPE"].astype(str)
    typed.infer_objects().to_parquet(parquet_dir / "part-0.parquet", index=False)
    summary = score_book_spark(
        spark, str(parquet_dir), "parquet", book_model, str(tmp_path / "p-scores"), str(tmp_path / "p-errors")
    )
    parquet = read_scores(tmp_path / "p-scores")
    assert summary.scored == BOOK_ROWS - len(BAD_VALUES)
    assert np.array_equal(parquet["probability"].to_numpy(), spark_scored.scores["probability"].to_numpy())
    assert (parquet["row"] + 1).tolist() == spark_scored.scores["row"].tolist()  # rows vs CSV lines
    assert read_errors(tmp_path / "p-errors")["row"].tolist() == (bad_lines() - 1).tolist()

    # A directory of two CSV parts (lines 2-1501 and 1502-3001 of the book, each with its header), one
    # with a malformed line (a field too many), read in 8 blocks of 128 KB: bad lines in the first,
    # the fourth block of the first part and the last block of the second.
    lines = book_csv.read_text().splitlines()
    lines[41] += ",extra"
    parts = tmp_path / "parts"
    parts.mkdir()
    (parts / "part-0.csv").write_text("\n".join(lines[:1501]) + "\n")
    (parts / "part-1.csv").write_text("\n".join([lines[0], *lines[1501:]]) + "\n")
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(128 * 1024))
    try:
        assert spark.read.text(str(parts)).rdd.getNumPartitions() == 8
        score_book_spark(
            spark, str(parts), "csv", book_model, str(tmp_path / "s-scores"), str(tmp_path / "s-errors")
        )
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    errors = read_errors(tmp_path / "s-errors")
    in_parts = [("part-0.csv", line) if line <= 1501 else ("part-1.csv", line - 1500) for line in bad_lines()]
    assert list(zip(errors["source"], errors["row"], strict=True)) == sorted([*in_parts, ("part-0.csv", 42)])
    assert errors.loc[errors["row"] == 42, "reason"].item().startswith("malformed CSV line: expected")
    scores = read_scores(tmp_path / "s-scores")
    kept = spark_scored.scores[spark_scored.scores["row"] != 42]
    assert np.array_equal(scores["probability"].to_numpy(), kept["probability"].to_numpy())
    assert scores["row"].tolist() == [line if line <= 1501 else line - 1500 for line in kept["row"]]

    local = score_book_local(
        parts, book_model, tmp_path / "l-scores", tmp_path / "l-errors", chunk_rows=1_000
    )
    assert local.rejected == len(BAD_VALUES) + 1
    assert read_errors(tmp_path / "l-errors").equals(errors)
    assert (
        read_scores(tmp_path / "l-scores")
        .drop(columns="probability")
        .equals(scores.drop(columns="probability"))
    )


def test_absent_features_follow_the_apis_policy(spark, served_api, book_frame, book_model, tmp_path):
    """A book lacking the model's most important columns is refused as the API refuses the same file
    (params.yaml scoring.missing); one lacking a minor column is scored with the API's warning."""
    model = book_model.load()
    order = np.argsort(-model.importance)
    names = np.asarray(model.encoder.names)
    most = names[order[: np.searchsorted(np.cumsum(model.importance[order]), 0.6) + 1]].tolist()
    bad_columns = {column for column, _ in BAD_VALUES.values()}
    minor = [n for n in names[order][model.importance[order] > 0] if n not in bad_columns][-1]
    for dropped, refused in ((most, True), ([minor], False)):
        book = tmp_path / f"lacking-{len(dropped)}.csv"
        book_frame.drop(columns=dropped).to_csv(book, index=False)
        with served_api.client(timeout=120) as client:
            answer = client.post("/predict/batch", files={"file": (book.name, book.read_bytes(), "text/csv")})
        assert answer.status_code == (422 if refused else 200), answer.text
        expected = answer.json()["detail" if refused else "warning"]
        for engine in ("local", "spark"):
            out = tmp_path / f"{engine}-{len(dropped)}"
            if refused:
                with pytest.raises(BookError) as caught:
                    score(engine, spark, book, book_model, out)
                assert str(caught.value) == f"{book}: {expected}"
                assert not out.exists()
            else:
                summary = score(engine, spark, book, book_model, out)
                assert summary.warning == f"{book}: {expected}"
                assert summary.scored == BOOK_ROWS - len(BAD_VALUES)


def score(engine: str, spark, book, book_model, out):
    if engine == "local":
        return score_book_local(book, book_model, out / "scores", out / "errors")
    return score_book_spark(spark, str(book), "csv", book_model, str(out / "scores"), str(out / "errors"))


@pytest.mark.parametrize("engine", ["local", "spark"])
def test_a_missing_alias_fails_with_a_clear_message(engine, champion, book_csv, tmp_path, capsys):
    code = main(
        [
            "--tracking-uri",
            champion.tracking_uri,
            "score-book",
            str(book_csv),
            "-o",
            str(tmp_path / "out"),
            "--engine",
            engine,
            "--alias",
            "challenger",
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "score-book failed: no model credit-scoring@challenger in the registry" in err
    assert not (tmp_path / "out").exists()


def test_an_unreachable_mlflow_fails_with_a_clear_message(book_csv, tmp_path, capsys):
    uri = f"http://127.0.0.1:{free_port()}"
    code = main(["--tracking-uri", uri, "score-book", str(book_csv), "-o", str(tmp_path / "out")])
    assert code == 1
    err = capsys.readouterr().err
    assert f"score-book failed: MLflow at {uri} is unreachable" in err
    assert "Traceback" not in err


def test_existing_output_is_kept_unless_overwrite(champion, book_csv, local_scored, tmp_path, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("previous run")
    args = ["--tracking-uri", champion.tracking_uri, "score-book", str(book_csv), "-o", str(tmp_path / "out")]
    assert main(args) == 1
    assert "already exists; remove it or pass --overwrite" in capsys.readouterr().err
    assert main([*args, "--overwrite", "--json"]) == 0
    assert read_scores(tmp_path / "out")["probability"].equals(local_scored.scores["probability"])


def test_mlflow_spark_udf_scores_a_small_frame_like_the_book(
    spark, champion, book_model, book_frame, spark_scored
):
    from pyspark.sql import functions as F  # noqa: N812

    from ml.spark_scoring import pyfunc_udf

    schema = book_model.load().schema
    sample = book_frame.iloc[100:140].infer_objects()
    udf = pyfunc_udf(spark, champion.tracking_uri, champion.name, "champion")
    # The model's signature takes numbers as doubles and categories as text.
    columns = [
        F.col(spec.name).cast("double" if spec.kind == "numeric" else "string").alias(spec.name)
        for spec in schema.features
    ]
    scored = (
        spark.createDataFrame(sample).select(udf(F.struct(*columns)).alias("out")).select("out.*").toPandas()
    )
    expected = spark_scored.scores.set_index("row").loc[np.arange(100, 140) + 2]
    assert np.array_equal(scored["probability"].to_numpy(), expected["probability"].to_numpy())
    assert scored["decision"].tolist() == expected["decision"].tolist()
