"""Command line: `python -m ml <command>` (or `credit-scoring <command>`); a thin layer over ml/.

Exit codes: 0 success, 1 error, 2 usage, 3 drift found (`drift`), 4 invalid data, 5 promotion refused
by the quality gate.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from ml.cli_compare import add_commands as add_compare_commands
from ml.cli_outcomes import add_commands as add_outcome_commands
from ml.config import Params, Settings, get_settings, load_params

EXIT_OK, EXIT_ERROR, EXIT_INVALID_DATA, EXIT_GATE_REFUSED = 0, 1, 4, 5


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if args.tracking_uri:
        overrides["mlflow_tracking_uri"] = args.tracking_uri
    if args.model_name:
        overrides["model_name"] = args.model_name
    return get_settings().model_copy(update=overrides)


def _params(args: argparse.Namespace) -> Params:
    return load_params(args.params)


def _registry(args: argparse.Namespace):
    from ml.registry import Registry

    settings = _settings(args)
    return Registry(
        settings.model_name, settings.mlflow_tracking_uri, _params(args).gate, settings.database_url
    )


def _dataset(args: argparse.Namespace, params: Params):
    from ml.data import generated_dataset, load_dataset

    if args.data:
        return load_dataset(args.data, args.target or params.data.target, args.id_column, args.positive_label)
    return generated_dataset(
        args.rows or params.data.rows, args.seed if args.seed is not None else params.data.seed
    )


# commands --------------------------------------------------------------------------------------------


def cmd_generate(args: argparse.Namespace) -> int:
    from ml.generate import generate_applications

    params = _params(args)
    frame = generate_applications(
        args.rows or params.data.rows, args.seed if args.seed is not None else params.data.seed
    )
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.output, index=False)
    print(
        f"wrote {len(frame)} rows x {frame.shape[1]} columns to {args.output} (default rate {frame.TARGET.mean():.2%})"
    )
    return EXIT_OK


def cmd_make_batch(args: argparse.Namespace) -> int:
    from ml.data import read_csv
    from ml.drift.batches import make_production_batch
    from ml.generate import generate_applications

    frame = read_csv(args.input) if args.input else generate_applications(args.rows, args.seed)
    batch = make_production_batch(frame, args.intensity, seed=args.seed, target=args.target)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    batch.to_csv(args.output, index=False)
    print(f"wrote production batch of {len(batch)} rows (drift intensity {args.intensity}) to {args.output}")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from ml.validate import validate_frame

    params = _params(args)
    dataset = _dataset(args, params)
    report = validate_frame(dataset.frame, dataset.target, dataset.id_column, params.validation)
    print(report.describe())
    if args.report_out:
        Path(args.report_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.report_out).write_text(report.describe() + "\n")
    return EXIT_OK if report.ok else EXIT_INVALID_DATA


def cmd_train(args: argparse.Namespace) -> int:
    from ml.train import train_model

    params, settings = _params(args), _settings(args)
    dataset = _dataset(args, params)
    result = train_model(dataset, params, settings, quiet=args.quiet)
    summary: dict[str, Any] = {
        "run_id": result.run_id,
        "model_uri": result.model_uri,
        "threshold": result.threshold,
        "best_iteration": result.best_iteration,
        "metrics": {k: round(v, 5) for k, v in result.metrics.items() if k.startswith("test_")},
    }
    if args.model_out:
        from ml.pipeline import save_model_dir

        save_model_dir(result, dataset, params, settings, Path(args.model_out))
        summary["model_out"] = args.model_out
    if args.register or args.promote:
        from ml.validation_report import register_version

        registry = _registry(args)
        summary["version"] = register_version(registry, result.model_uri, result.run_id, params)
        if args.promote:
            event, _ = registry.promote(summary["version"], args.promote, args.reason or "trained by CLI")
            summary["promoted"] = event.alias
    _print_json(summary)
    return EXIT_OK


def cmd_register(args: argparse.Namespace) -> int:
    from ml.validation_report import register_version

    registry = _registry(args)
    version = register_version(registry, f"runs:/{args.run_id}/model", args.run_id, _params(args))
    print(f"registered run {args.run_id} as {registry.name} version {version}")
    return EXIT_OK


def cmd_promote(args: argparse.Namespace) -> int:
    from ml.registry import as_dict

    event, verdict = _registry(args).promote(args.version, args.alias, args.reason, args.who, args.force)
    _print_json({"event": as_dict(event), "gate": as_dict(verdict) if verdict else None})
    return EXIT_OK


def cmd_gate(args: argparse.Namespace) -> int:
    from ml.registry import as_dict

    verdict = _registry(args).check_gate(args.version)
    _print_json(as_dict(verdict))
    return EXIT_OK if verdict.passed else EXIT_GATE_REFUSED


def cmd_rollback(args: argparse.Namespace) -> int:
    from ml.registry import as_dict

    _print_json(as_dict(_registry(args).rollback(args.reason, args.who)))
    return EXIT_OK


def cmd_archive(args: argparse.Namespace) -> int:
    from ml.registry import as_dict

    _print_json(as_dict(_registry(args).archive(args.version, args.reason, args.who)))
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    from ml.registry import as_dict

    versions = _registry(args).list_versions()
    if args.json:
        _print_json([as_dict(v) for v in versions])
        return EXIT_OK
    print(f"{'version':>7}  {'aliases':<22} {'test AUC':>8}  {'threshold':>9}  created")
    for v in versions:
        aliases = ",".join(v.aliases) + (" (archived)" if v.archived else "")
        auc, threshold = v.metrics.get("test_roc_auc"), v.metrics.get("threshold")
        print(
            f"{v.version:>7}  {aliases:<22} {auc if auc is None else f'{auc:.4f}':>8}  "
            f"{threshold if threshold is None else f'{threshold:.4f}':>9}  {v.created}"
        )
    return EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    from ml.registry import as_dict

    events = _registry(args).history()
    if args.json:
        _print_json([as_dict(e) for e in events])
        return EXIT_OK
    for e in events:
        forced = " (forced)" if e.forced else ""
        print(
            f"{e.when}  {e.action:<8} {e.alias or '-':<10} v{e.previous or '-'} -> v{e.version}{forced}  by {e.who}: {e.why}"
        )
    return EXIT_OK


def cmd_bootstrap(args: argparse.Namespace) -> int:
    """Make sure the registry has a champion: train a demo model on generated data when it has none."""
    from ml.data import generated_dataset
    from ml.train import train_model
    from ml.validation_report import register_version

    registry = _registry(args)
    current = registry.version_for("champion")
    if current:
        print(f"champion already set: {registry.name} v{current}")
        return EXIT_OK
    params, settings = _params(args), _settings(args)
    print(f"no champion for {registry.name}: training a demo model on {args.rows} generated rows")
    result = train_model(generated_dataset(args.rows, params.data.seed), params, settings, quiet=args.quiet)
    version = register_version(registry, result.model_uri, result.run_id, params)
    registry.promote(version, "champion", "bootstrap: first demo model", force=False)
    print(f"{registry.name} v{version} is champion (test AUC {result.metrics['test_roc_auc']:.4f})")
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    """Write a version's validation report (HTML + Markdown) to a file."""
    from ml.validation_report import write_report

    output = Path(
        args.output or Path(_params(args).drift.reports_dir) / f"validation_report_v{args.version}.html"
    )
    for path in write_report(_registry(args), args.version, _params(args), output):
        print(f"wrote {path}")
    return EXIT_OK


def cmd_fairness(args: argparse.Namespace) -> int:
    """Approval rate per protected group and time window of the inference log."""
    from ml.fairness import live_approval_rates, read_decisions

    params = _params(args)
    url = args.database_url or os.environ.get("DATABASE_URL")
    last_n = args.last_n or params.fairness.live_rows
    window = args.window or params.fairness.live_window
    log = read_decisions(url, params.fairness.protected, last_n, args.since, args.until)
    rates = live_approval_rates(log, params.fairness, window)
    if args.json:
        _print_json(rates.to_dict(orient="records"))
        return EXIT_OK
    if rates.empty:
        print(
            f"no scored rows with a protected attribute ({', '.join(params.fairness.protected)}) in the log"
        )
        return EXIT_OK
    print(f"{len(log)} scored rows; approval rate per group and {window} window")
    print(f"{'window':<26} {'attribute':<14} {'group':<14} {'rows':>7} {'approved':>9} {'ratio':>6}")
    for row in rates.itertuples():
        flag = "" if row.gated else "  (too few rows: not in the ratio)"
        ratio = "" if row.approval_ratio != row.approval_ratio else f"{row.approval_ratio:.2f}"
        print(
            f"{row.window:<26} {row.attribute:<14} {row.group:<14} {row.rows:>7} "
            f"{row.approval_rate:>9.1%} {ratio:>6}{flag}"
        )
    return EXIT_OK


def cmd_prepare_data(args: argparse.Namespace) -> int:
    from ml.pipeline import prepare_data

    params = _params(args)
    rows = args.rows or params.data.rows
    seed = args.seed if args.seed is not None else params.data.seed
    size = prepare_data(Path(args.output), args.source, rows, seed)
    origin = args.source or f"the generator ({rows} rows, seed {seed})"
    print(f"wrote {args.output} ({size} bytes) from {origin}")
    return EXIT_OK


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ml.pipeline import evaluate_model_dir

    metrics = evaluate_model_dir(
        Path(args.model_dir), _params(args).cost, Path(args.metrics_out), Path(args.plots_dir)
    )
    _print_json(metrics)
    return EXIT_OK


def cmd_version_data(args: argparse.Namespace) -> int:
    from ml.data_version import DataVersioningError, record_dvc_hash, version_with_dvc

    try:
        data_hash = version_with_dvc(args.path, args.repo)
    except DataVersioningError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if args.run_id:
        record_dvc_hash(args.run_id, data_hash, _settings(args).mlflow_tracking_uri)
    _print_json({"path": args.path, "dvc_data_hash": data_hash, "run_id": args.run_id})
    return EXIT_OK


def _moment(text: str) -> datetime:
    """An ISO date or time for --since / --until (naive means UTC)."""
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date/time: {text!r}") from exc


def _reports_dir(args: argparse.Namespace, params: Params) -> Path:
    return Path(args.reports_dir or params.drift.reports_dir)


def cmd_drift(args: argparse.Namespace) -> int:
    """Exit 0 no drift, 3 drift (share above drift.threshold), 1 error (nothing written)."""
    from mlflow.exceptions import MlflowException

    from ml.drift.check import run_check

    params, settings = _params(args), _settings(args)
    try:
        outcome = run_check(
            params,
            settings,
            _reports_dir(args, params),
            reference_path=args.reference,
            current_path=args.current,
            database_url=args.database_url,
            last_n=args.last_n,
            since=args.since,
            until=args.until,
            reference_rows=args.reference_rows,
            report_id=args.report_id,
        )
    except (ValueError, OSError, RuntimeError, MlflowException) as exc:
        print(f"drift check failed: {exc}", file=sys.stderr)
        return EXIT_ERROR
    summary = outcome.summary
    if args.markdown:
        from ml.drift.report import markdown_summary

        with open(args.markdown, "a", encoding="utf-8") as handle:
            handle.write(markdown_summary(summary))
    if args.json:
        _print_json(summary)
        return outcome.exit_code
    verdict = "DRIFT" if summary["dataset_drift"] else "no drift"
    print(
        f"drift check {summary['report_id']}: {summary['n_drifted']} of {summary['n_columns']} columns drifted "
        f"(share {summary['drift_share']:.1%}, threshold {summary['threshold']:.1%}): {verdict}"
    )
    if summary["drifted_columns"]:
        print("drifted: " + ", ".join(summary["drifted_columns"]))
    print(f"data quality score {summary['data_quality']['score']:.4f}")
    for issue in summary["data_quality"]["issues"]:
        print(f"  {issue}")
    if summary.get("stability"):
        from ml.stability import digest

        print("stability: " + "\n".join(digest(summary["stability"])))
    print(f"report: {outcome.paths['html']} (and latest.html), summary: {outcome.paths['json']}")
    print(f"retrain trigger: {'present' if outcome.trigger else 'none'}")
    print(f"mlflow run: {summary['mlflow_run_id'] if outcome.mlflow_logged else 'not logged'}")
    return outcome.exit_code


def cmd_retrain_if_drift(args: argparse.Namespace) -> int:
    """Exit 0 (nothing to do, or retrained), 5 when --promote was asked and the gate refused."""
    from ml.retrain import retrain_if_drift

    params, settings = _params(args), _settings(args)
    outcome = retrain_if_drift(
        params,
        settings,
        _reports_dir(args, params),
        args.data,
        args.current,
        args.promote,
        args.who,
        dvc_repo=args.dvc_repo,
    )
    _print_json(outcome)
    refused = args.promote and outcome["action"] == "retrained" and not outcome["gate"]["passed"]
    return EXIT_GATE_REFUSED if refused else EXIT_OK


def _book_stability(args: argparse.Namespace, settings: Settings, spark: Any, fmt: str, model: Any) -> None:
    """PSI / CSI / data quality of the scored book against the model's reference, as a drift report."""
    from ml.spark_stability import book_report, compare_book, download_reference, read_book_features

    params = _params(args)
    schema = model.load().schema
    reference = download_reference(settings.mlflow_tracking_uri, model.run_id)
    result, stability = compare_book(
        spark,
        read_book_features(spark, args.book, fmt, schema),
        spark.read.parquet(args.output),
        reference,
        schema,
        params.drift,
        params.stability,
    )
    described = f"{model.name} v{model.version} training sample"
    summary, paths = book_report(
        result,
        stability,
        _reports_dir(args, params),
        {
            "source": "champion",
            "model_name": model.name,
            "model_version": model.version,
            "run_id": model.run_id,
            "description": described,
        },
        {
            "source": "book",
            "path": args.book,
            "description": f"loan book {args.book} (Evidently widgets on a sample)",
        },
        settings.mlflow_tracking_uri,
        settings.monitoring_experiment_name,
    )
    shifted = [name for name, column in summary["columns"].items() if column["drifted"]]
    print(
        f"stability: score PSI {summary['prediction_drift']['score']:.4f}; {len(shifted)} of "
        f"{summary['n_columns']} columns shifted (PSI/CSI above {params.stability.act:g}){': ' + ', '.join(shifted) if shifted else ''}; "
        f"report {paths['html']}"
    )


def cmd_score_book(args: argparse.Namespace) -> int:
    """Exit 0 when the book was scored (rejected rows are in the errors file), 1 when it could not be."""
    import shutil

    from ml.score_book import (
        BookError,
        ReasonOptions,
        book_format,
        fetch_model,
        score_book_local,
        scratch_dir,
    )

    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # a down MLflow fails now, not in minutes
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    settings = _settings(args)
    if args.stability and args.engine != "spark":
        print("score-book failed: --stability needs --engine spark", file=sys.stderr)
        return EXIT_ERROR
    errors = args.errors or f"{args.output.rstrip('/')}_errors"
    workdir = scratch_dir()
    try:
        model = fetch_model(
            settings.mlflow_tracking_uri,
            settings.model_name,
            None if args.version else args.alias or settings.model_alias,
            args.version,
            workdir,
        )
        params = _params(args)
        reasons, missing = ReasonOptions(args.reasons, params.reasons), params.scoring.missing
        if args.engine == "local":
            summary = score_book_local(
                args.book,
                model,
                Path(args.output),
                Path(errors),
                args.chunk_rows,
                overwrite=args.overwrite,
                reasons=reasons,
                missing=missing,
            )
        else:
            from ml.spark_scoring import score_book_spark, spark_session

            spark = spark_session(args.master)
            fmt = args.format or book_format(args.book)
            summary = score_book_spark(
                spark, args.book, fmt, model, args.output, errors, args.overwrite, reasons, missing
            )
            if args.stability:
                _book_stability(args, settings, spark, fmt, model)
    except BookError as exc:
        print(f"score-book failed: {exc}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        _print_json(summary.__dict__)
    else:
        print(summary.describe())
    return EXIT_OK


# parser ----------------------------------------------------------------------------------------------


def _add_data_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        help="CSV to use (application_train.csv or any CSV with a target column); default: generated data",
    )
    parser.add_argument("--target", help="target column of --data (default from params.yaml: TARGET)")
    parser.add_argument(
        "--positive-label",
        metavar="VALUE",
        help="the target value that means default, for a target that is not 0/1 (e.g. bad or 2)",
    )
    parser.add_argument("--id-column", help="id column of --data, excluded from features (e.g. SK_ID_CURR)")
    parser.add_argument("--rows", type=int, help="rows to generate when no --data is given")
    parser.add_argument("--seed", type=int, help="generator seed")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ml", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--params", default=None, help="params file (default: params.yaml)")
    parser.add_argument("--tracking-uri", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI)")
    parser.add_argument("--model-name", help="registered model name (default: $MODEL_NAME or credit-scoring)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands: list[tuple[str, Callable[[argparse.Namespace], int], str]] = [
        ("generate", cmd_generate, "generate Home-Credit-schema data"),
        ("make-batch", cmd_make_batch, "make a production batch with controlled drift"),
        ("validate", cmd_validate, "validate a dataset (exit 4 when invalid)"),
        ("train", cmd_train, "train, evaluate and log a model to MLflow"),
        ("register", cmd_register, "register a run's model as a new version"),
        ("promote", cmd_promote, "point an alias at a version (champion passes the quality gate)"),
        ("gate", cmd_gate, "show the quality gate's verdict for a version (exit 5 when refused)"),
        ("rollback", cmd_rollback, "put the previous champion back"),
        ("archive", cmd_archive, "archive a version (it loses its aliases)"),
        ("list", cmd_list, "list versions with aliases and key metrics"),
        ("history", cmd_history, "show every alias move with who / when / why"),
        ("bootstrap", cmd_bootstrap, "train and promote a demo champion when the registry has none"),
        ("drift", cmd_drift, "check data drift against the reference (exit 0 none, 3 drift, 1 error)"),
        ("retrain-if-drift", cmd_retrain_if_drift, "when the retrain trigger is set: train, register, gate"),
        ("prepare-data", cmd_prepare_data, "write the pipeline's training CSV: import --source or generate"),
        ("evaluate", cmd_evaluate, "evaluate a `train --model-out` directory into metrics.json and plots"),
        ("version-data", cmd_version_data, "dvc add + dvc push a data file; print (and tag) its DVC hash"),
        ("report", cmd_report, "write a version's validation report (HTML and Markdown)"),
        ("fairness", cmd_fairness, "approval rate per protected group and window of the inference log"),
        (
            "score-book",
            cmd_score_book,
            "score a whole loan book (CSV/Parquet) to Parquet, locally or on Spark",
        ),
    ]
    parsers = {}
    for name, handler, help_text in commands:
        parsers[name] = sub.add_parser(name, help=help_text, description=help_text)
        parsers[name].set_defaults(handler=handler)

    add_outcome_commands(sub)
    add_compare_commands(sub)

    p = parsers["generate"]
    p.add_argument("--rows", type=int, help="rows (default from params.yaml; the real file has 307511)")
    p.add_argument("--seed", type=int)
    p.add_argument("--output", "-o", default="data/application_train.csv")

    p = parsers["make-batch"]
    p.add_argument("--input", help="CSV to drift (default: freshly generated rows)")
    p.add_argument("--rows", type=int, default=20_000, help="rows to generate when no --input")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--intensity", type=float, default=1.0, help="0 = no drift, 1 = the reference drift")
    p.add_argument("--target", default="TARGET", help="target column to shift (if present)")
    p.add_argument("--output", "-o", default="data/production_batch.csv")

    _add_data_args(parsers["validate"])
    _add_data_args(parsers["train"])
    p = parsers["train"]
    p.add_argument("--register", action="store_true", help="register the model as a new version")
    p.add_argument(
        "--promote", choices=["champion", "challenger"], help="register and point this alias at it"
    )
    p.add_argument("--reason", help="why (recorded with the promotion)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--model-out", help="also save the scoring model and its test split here (for `evaluate`)")
    parsers["validate"].add_argument("--report-out", help="also write the report to this file")

    parsers["register"].add_argument("--run-id", required=True)

    p = parsers["promote"]
    p.add_argument("version")
    p.add_argument("--alias", default="champion", choices=["champion", "challenger"])
    p.add_argument("--reason", default="", help="why (recorded in the history)")
    p.add_argument("--who", help="who (default: the current user)")
    p.add_argument("--force", action="store_true", help="override a refused gate (needs --reason)")

    parsers["gate"].add_argument("version")
    for name in ("rollback", "archive"):
        parsers[name].add_argument("--reason", default="")
        parsers[name].add_argument("--who")
    parsers["archive"].add_argument("version")
    for name in ("list", "history"):
        parsers[name].add_argument("--json", action="store_true")
    p = parsers["bootstrap"]
    p.add_argument("--rows", type=int, default=50_000)
    p.add_argument("--quiet", action="store_true")

    p = parsers["drift"]
    p.add_argument("--reference", help="reference CSV/Parquet (default: the champion's training sample)")
    p.add_argument("--current", help="current CSV/Parquet (default: the inference log)")
    p.add_argument("--database-url", help="inference log database (default: $DATABASE_URL, else SQLite)")
    p.add_argument(
        "--last-n", type=int, help="most recent rows to check (default for the log: drift.current_rows)"
    )
    p.add_argument("--since", type=_moment, help="inference log window start (ISO, UTC)")
    p.add_argument("--until", type=_moment, help="inference log window end, excluded (ISO, UTC)")
    p.add_argument("--reference-rows", type=int, help="sample the reference down to this many rows")
    p.add_argument("--reports-dir", help="where reports and the trigger go (default: drift.reports_dir)")
    p.add_argument("--report-id", help="id to give the report (default: time + random suffix)")
    p.add_argument("--json", action="store_true", help="print the JSON summary")
    p.add_argument("--markdown", help="append a Markdown digest to this file (e.g. $GITHUB_STEP_SUMMARY)")

    p = parsers["retrain-if-drift"]
    p.add_argument("--data", help="labelled training CSV (default: reference sample + the trigger's batch)")
    p.add_argument("--current", help="labelled current batch to add to the reference sample")
    p.add_argument("--reports-dir", help="where the trigger is (default: drift.reports_dir)")
    p.add_argument("--promote", action="store_true", help="make the candidate champion if the gate passes")
    p.add_argument("--who", help="who (recorded with the alias moves; default: the current user)")
    p.add_argument(
        "--dvc-repo",
        help="first version the batch (--current/--data) with DVC in this repository (dvc add + push) "
        "and tag the run and version with its hash",
    )

    p = parsers["report"]
    p.add_argument("version")
    p.add_argument(
        "--output", "-o", help="HTML file (default: <reports_dir>/validation_report_v<VERSION>.html)"
    )

    p = parsers["fairness"]
    p.add_argument("--database-url", help="inference log database (default: $DATABASE_URL, else SQLite)")
    p.add_argument("--last-n", type=int, help="most recent rows (default: fairness.live_rows)")
    p.add_argument("--since", type=_moment, help="window start (ISO, UTC)")
    p.add_argument("--until", type=_moment, help="window end, excluded (ISO, UTC)")
    p.add_argument(
        "--window", help="pandas frequency of the windows, e.g. 1h (default: fairness.live_window)"
    )
    p.add_argument("--json", action="store_true")

    p = parsers["prepare-data"]
    p.add_argument("--source", default="", help="CSV to import, e.g. application_train.csv (empty: generate)")
    p.add_argument("--rows", type=int, help="rows to generate (default from params.yaml)")
    p.add_argument("--seed", type=int, help="generator seed (default from params.yaml)")
    p.add_argument("--output", "-o", default="data/application_train.csv")

    p = parsers["evaluate"]
    p.add_argument("--model-dir", default="model", help="directory written by `train --model-out`")
    p.add_argument("--metrics-out", default="metrics.json")
    p.add_argument("--plots-dir", default="plots", help="where the ROC / PR / confusion plot data go")

    p = parsers["version-data"]
    p.add_argument("path", help="file or directory inside the DVC repository")
    p.add_argument("--repo", default=".", help="the DVC repository (default: the current directory)")
    p.add_argument("--run-id", help="also tag this MLflow run with the hash (tag dvc_data_hash)")
    p = parsers["score-book"]
    p.add_argument("book", help="CSV or Parquet file, or a directory of parts (on Spark: any Hadoop path)")
    p.add_argument("--output", "-o", required=True, help="directory for the scores (Parquet)")
    p.add_argument("--errors", help="directory for the rejected rows (CSV; default: OUTPUT_errors)")
    p.add_argument("--engine", choices=["local", "spark"], default="local")
    p.add_argument("--master", help="Spark master (default: local[*], or the cluster's under spark-submit)")
    p.add_argument("--format", choices=["csv", "parquet"], help="the book's format (default: from its files)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--alias", help="registry alias to score with (default: $MODEL_ALIAS or champion)")
    which.add_argument("--version", help="registry version to score with")
    p.add_argument("--chunk-rows", type=int, default=50_000, help="rows per chunk (local engine)")
    p.add_argument(
        "--reasons",
        choices=["refusals", "all", "none"],
        default="refusals",
        help="which rows get reason codes, as the API's ?reasons= (default: the refusals)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing output directories")
    p.add_argument("--json", action="store_true", help="print the run summary as JSON")
    p.add_argument(
        "--stability",
        action="store_true",
        help="also compute score PSI, feature CSI and data quality vs the model's reference (Spark engine) "
        "and write them as a drift report",
    )
    p.add_argument("--reports-dir", help="where the stability report goes (default: drift.reports_dir)")
    return parser


def main(argv: list[str] | None = None) -> int:
    from ml.data import DataError
    from ml.data_version import DataVersioningError
    from ml.registry import GateRefusedError, RegistryError
    from ml.train import InvalidDataError

    args = build_parser().parse_args(argv)
    # stdout is for results (JSON with --json / train); MLflow's run links go to our stderr log instead.
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    try:
        return args.handler(args)
    except InvalidDataError as exc:
        print(f"invalid data, training refused:\n{exc}", file=sys.stderr)
        return EXIT_INVALID_DATA
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID_DATA
    except GateRefusedError as exc:
        print(f"promotion refused by the quality gate: {exc}", file=sys.stderr)
        return EXIT_GATE_REFUSED
    except (RegistryError, DataVersioningError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
