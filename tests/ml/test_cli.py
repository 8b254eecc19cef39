"""The CLI end to end against a real MLflow server."""

import json

from mlflow.tracking import MlflowClient

from ml.cli import EXIT_GATE_REFUSED, EXIT_INVALID_DATA, EXIT_OK, main
from ml.registry import Registry


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_generate_and_make_batch(tmp_path, capsys):
    data, batch = tmp_path / "train.csv", tmp_path / "batch.csv"
    code, out, _ = run_cli(capsys, "generate", "--rows", "1000", "--seed", "3", "-o", str(data))
    assert code == EXIT_OK and "1000 rows" in out and data.exists()
    code, out, _ = run_cli(capsys, "make-batch", "--input", str(data), "--intensity", "0.5", "-o", str(batch))
    assert code == EXIT_OK and batch.exists()


def test_train_register_promote_list_history(mlflow_server, tmp_path, model_name, capsys):
    data = tmp_path / "any.csv"
    assert run_cli(capsys, "generate", "--rows", "20000", "--seed", "12", "-o", str(data))[0] == EXIT_OK
    frame = (
        __import__("pandas").read_csv(data).rename(columns={"TARGET": "defaulted", "SK_ID_CURR": "client"})
    )
    frame.to_csv(data, index=False)
    base = ["--tracking-uri", mlflow_server.url, "--model-name", model_name]
    code, out, _ = run_cli(
        capsys,
        *base,
        "train",
        "--data",
        str(data),
        "--target",
        "defaulted",
        "--id-column",
        "client",
        "--promote",
        "champion",
        "--reason",
        "cli test",
        "--quiet",
    )
    assert code == EXIT_OK, out
    summary = json.loads(out)
    assert summary["version"] == "1" and summary["promoted"] == "champion"
    tags = MlflowClient(mlflow_server.url).get_model_version(model_name, "1").tags
    assert tags["validation_report"] == "validation_report.html"  # a CSV with another target name too

    code, out, _ = run_cli(capsys, *base, "list")
    assert code == EXIT_OK and "champion" in out and out.splitlines()[1].split()[0] == "1"
    code, out, _ = run_cli(capsys, *base, "history", "--json")
    assert json.loads(out)[0]["why"] == "cli test"

    registry = Registry(model_name, mlflow_server.url)
    registry.register(summary["model_uri"], summary["run_id"])
    code, _, err = run_cli(capsys, *base, "rollback", "--reason", "nothing before")
    assert code == 1 and "no previous champion" in err
    code, out, _ = run_cli(capsys, *base, "gate", "2")
    assert code == EXIT_OK and json.loads(out)["passed"]


def test_gate_refusal_exit_code(mlflow_server, weak_run, model_name, capsys):
    registry = Registry(model_name, mlflow_server.url)
    version = registry.register(weak_run.model_uri, weak_run.run_id)
    base = ["--tracking-uri", mlflow_server.url, "--model-name", model_name]
    code, _, err = run_cli(capsys, *base, "promote", version, "--reason", "weak")
    assert code == EXIT_GATE_REFUSED and "below the minimum" in err
    assert registry.version_for("champion") is None


def test_bootstrap_trains_only_when_there_is_no_champion(mlflow_server, model_name, capsys):
    base = ["--tracking-uri", mlflow_server.url, "--model-name", model_name]
    code, out, _ = run_cli(capsys, *base, "bootstrap", "--rows", "20000", "--quiet")
    assert code == EXIT_OK and "is champion" in out
    code, out, _ = run_cli(capsys, *base, "bootstrap", "--rows", "20000", "--quiet")
    assert code == EXIT_OK and "champion already set" in out


def test_a_text_target_needs_and_takes_positive_label(mlflow_server, tmp_path, model_name, capsys):
    """A public credit CSV's target is text (good / bad): refused with the flag to use, then trained."""
    data = tmp_path / "german.csv"
    assert run_cli(capsys, "generate", "--rows", "5000", "--seed", "4", "-o", str(data))[0] == EXIT_OK
    frame = __import__("pandas").read_csv(data)
    frame["risk"] = frame.pop("TARGET").map({0: "good", 1: "bad"})
    frame.to_csv(data, index=False)
    options = ["--data", str(data), "--target", "risk", "--id-column", "SK_ID_CURR"]

    code, _, err = run_cli(capsys, "validate", *options)
    assert code == EXIT_INVALID_DATA and "--positive-label" in err and "'bad'" in err
    code, _, err = run_cli(capsys, "validate", *options, "--positive-label", "risky")
    assert code == EXIT_INVALID_DATA and "['bad', 'good']" in err
    code, out, _ = run_cli(capsys, "validate", *options, "--positive-label", "bad")
    assert code == EXIT_OK, out

    base = ["--tracking-uri", mlflow_server.url, "--model-name", model_name]
    code, out, _ = run_cli(capsys, *base, "train", *options, "--positive-label", "bad", "--quiet")
    assert code == EXIT_OK, out
    assert json.loads(out)["metrics"]["test_roc_auc"] > 0.6  # "bad" learned as default (inverted: < 0.4)
