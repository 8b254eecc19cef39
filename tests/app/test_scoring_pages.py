"""The scoring pages never guess silently (issue 14), in AppTest against the session's real API: a result
says whose it is and goes when the input changes, the decision is a sentence with the probability and
the threshold in the same unit, the explanation is in percentage points with engineered features
spelled out, absent features are warned about first, and a refused file is explained without a Retry."""

from __future__ import annotations

import pandas as pd
import pytest

from ml.data import generated_dataset
from tests.app.conftest import button, run_page, texts


@pytest.fixture(scope="module")
def clients() -> pd.DataFrame:
    return generated_dataset(12, seed=21).frame.drop(columns=["TARGET"])


def shown(app) -> str:
    """The page's messages with Markdown escapes removed (data is escaped before it is shown)."""
    headings = "\n".join(str(heading.value) for heading in app.subheader)
    return (headings + "\n" + texts(app)).replace("\\", "")


ALERTS = ("Warning", "Error", "Success")


def _in_order(node):
    """The page's elements as drawn, top to bottom."""
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _in_order(child)


def _upload(app, name: str, content: bytes, index: int = 0):
    return app.file_uploader[index].set_value((name, content, "text/csv")).run()


def test_the_decision_is_a_sentence_and_the_explanation_is_in_percentage_points(console_env):
    app = run_page("score")
    helps = {field.label: field.help for field in app.number_input}
    assert "days" in helps["DAYS_BIRTH"] and "negative" in helps["DAYS_BIRTH"]
    assert all(helps.values()), [label for label, text in helps.items() if not text]
    button(app, "Score this client").click().run()
    assert not app.exception
    assert "Result for the example client" in shown(app)
    metrics = {m.label: m.value for m in app.metric}
    probability, threshold = metrics["Probability of default"], metrics["Threshold"]
    assert probability.endswith("%") and threshold.endswith("%")
    sentence = f"probability of default is {'above' if float(probability[:-1]) >= float(threshold[:-1]) else 'below'}"
    decision = next(m.value for m in [*app.success, *app.error] if "probability of default is" in m.value)
    assert decision.startswith(("**Refused: ", "**Approved: ")) and sentence in decision
    assert f"{probability} probability of default" in decision and f"the {threshold} threshold" in decision
    table = next(frame.value for frame in app.dataframe if "percentage points" in frame.value.columns)
    engineered = table[table["feature"].str.contains(" — ")]
    assert len(engineered) >= 1, table
    assert not table["feature"].isin(["EXT_SOURCE_MEAN", "CREDIT_INCOME_RATIO", "CREDIT_GOODS_RATIO"]).any()
    means = table[table["feature"].str.startswith("EXT_SOURCE_MEAN")]
    assert means.empty or "mean of the three external scores" in means.iloc[0]["feature"]
    caption = next(c.value for c in app.caption if c.value.startswith("From the model's average"))
    base = float(caption.split("average ")[1].split("%")[0])
    assert base + table["percentage points"].sum() == pytest.approx(float(probability[:-1]), abs=0.1)


def test_another_client_clears_the_result_and_absent_features_are_warned_first(console_env, clients):
    frame = clients.head(2).drop(columns=["EXT_SOURCE_3"])  # absent: the file has no such column
    first, second = (str(value) for value in frame["SK_ID_CURR"])
    app = _upload(run_page("score"), "clients.csv", frame.to_csv(index=False).encode())
    app.selectbox(key="client_id").select(int(first)).run()
    button(app, "Score this client").click().run()
    assert f"Result for client {first} (SK_ID_CURR) of clients.csv" in shown(app)

    app.selectbox(key="client_id").select(int(second)).run()
    assert not app.exception
    assert "Result for" not in shown(app) and not [m for m in app.metric if m.label == "Threshold"]
    button(app, "Score this client").click().run()
    assert f"Result for client {second} (SK_ID_CURR) of clients.csv" in shown(app)
    [warning] = [w.value.replace("\\", "") for w in app.warning if "Scored without" in w.value]
    assert "EXT_SOURCE_3" in warning.split(":")[1]
    alerts = [str(node.value) for node in _in_order(app.main) if type(node).__name__ in ALERTS]
    decision = next(i for i, text in enumerate(alerts) if "probability of default is" in text)
    assert next(i for i, text in enumerate(alerts) if "Scored without" in text) < decision


def test_a_client_lacking_most_features_is_not_scored_and_told_what_to_fill_in(console_env, clients):
    few = clients[["SK_ID_CURR", "AMT_CREDIT", "AMT_ANNUITY", "CODE_GENDER"]].head(1)
    app = _upload(run_page("score"), "few.csv", few.to_csv(index=False).encode())
    button(app, "Score this client").click().run()
    assert not app.exception
    text = shown(app)
    assert "Not scored." in text and "importance" in text and "EXT_SOURCE_2" in text
    assert not any(b.label == "Retry" for b in app.button) and "HTTP 422" not in text


def test_a_new_file_clears_the_previous_result_and_a_result_names_its_file(console_env, clients):
    app = _upload(run_page("batch"), "first.csv", clients.head(5).to_csv(index=False).encode())
    button(app, "Score the file").click().run()
    assert "Results for first.csv" in shown(app)
    _upload(app, "second.csv", clients.tail(4).to_csv(index=False).encode())
    assert not app.exception
    assert "Results for" not in shown(app) and not app.dataframe
    button(app, "Score the file").click().run()
    assert "Results for second.csv" in shown(app) and len(app.dataframe[0].value) == 4


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b'{"clients": [1, 2]}\n{"id": 3}\n', "column(s) the model does not know"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "is not a CSV text file"),
    ],
)
def test_a_file_that_is_not_a_csv_of_clients_is_explained_without_retry(console_env, content, words):
    app = _upload(run_page("batch"), "clients.csv", content)
    if app.button and any(b.label == "Score the file" for b in app.button):
        button(app, "Score the file").click().run()
    assert not app.exception
    text = shown(app)
    assert words in text and "HTTP 422" not in text, text
    assert not any(b.label == "Retry" for b in app.button)
    assert not app.get("progress")


def test_a_file_lacking_columns_is_refused_in_words_or_warned_before_the_results(console_env, clients):
    app = _upload(run_page("batch"), "narrow.csv", clients.iloc[:, :10].to_csv(index=False).encode())
    button(app, "Score the file").click().run()
    assert "narrow.csv was not scored" in shown(app) and "importance" in shown(app)
    assert not app.get("progress") and not any(b.label == "Retry" for b in app.button)

    bad = clients.drop(columns=["OWN_CAR_AGE"]).astype({"AMT_CREDIT": object})
    bad.loc[bad.index[2], "AMT_CREDIT"] = "lots"  # line 4
    _upload(app, "wide.csv", bad.to_csv(index=False).encode())
    button(app, "Score the file").click().run()
    assert not app.exception
    [warning] = [w.value.replace("\\", "") for w in app.warning if "header lacks" in w.value]
    assert "OWN_CAR_AGE" in warning and "Scored without 1 of the model's features" in warning
    errors = app.dataframe[0].value
    assert list(errors.columns) == ["line", "SK_ID_CURR", "field", "reason"]
    assert errors.iloc[0]["line"] == 4 and str(errors.iloc[0]["SK_ID_CURR"]) == str(bad.iloc[2]["SK_ID_CURR"])
    assert any(b.label == "Download the rows not scored" for b in app.get("download_button"))
