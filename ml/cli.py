"""Command line: `python -m ml <command>` (or `credit-scoring <command>`); a thin layer over ml/.

Exit codes: 0 success, 1 error, 2 usage, 4 invalid data, 5 promotion refused by the quality gate.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
    return Registry(settings.model_name, settings.mlflow_tracking_uri, _params(args).gate)


def _dataset(args: argparse.Namespace, params: Params):
    from ml.data import generated_dataset, load_dataset

    if args.data:
        return load_dataset(args.data, args.target or params.data.target, args.id_column)
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
    from ml.generate import generate_applications
    from ml.production import make_production_batch

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
    return EXIT_OK if report.ok else EXIT_INVALID_DATA


def cmd_train(args: argparse.Namespace) -> int:
    from ml.train import train_model

    params, settings = _params(args), _settings(args)
    result = train_model(_dataset(args, params), params, settings, quiet=args.quiet)
    summary: dict[str, Any] = {
        "run_id": result.run_id,
        "model_uri": result.model_uri,
        "threshold": result.threshold,
        "best_iteration": result.best_iteration,
        "metrics": {k: round(v, 5) for k, v in result.metrics.items() if k.startswith("test_")},
    }
    if args.register or args.promote:
        registry = _registry(args)
        summary["version"] = registry.register(result.model_uri, result.run_id)
        if args.promote:
            event, verdict = registry.promote(
                summary["version"], args.promote, args.reason or "trained by CLI"
            )
            summary["promoted"] = event.alias
    _print_json(summary)
    return EXIT_OK


def cmd_register(args: argparse.Namespace) -> int:
    registry = _registry(args)
    version = registry.register(f"runs:/{args.run_id}/model", args.run_id)
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

    registry = _registry(args)
    current = registry.version_for("champion")
    if current:
        print(f"champion already set: {registry.name} v{current}")
        return EXIT_OK
    params, settings = _params(args), _settings(args)
    print(f"no champion for {registry.name}: training a demo model on {args.rows} generated rows")
    result = train_model(generated_dataset(args.rows, params.data.seed), params, settings, quiet=args.quiet)
    version = registry.register(result.model_uri, result.run_id)
    registry.promote(version, "champion", "bootstrap: first demo model", force=False)
    print(f"{registry.name} v{version} is champion (test AUC {result.metrics['test_roc_auc']:.4f})")
    return EXIT_OK


# parser ----------------------------------------------------------------------------------------------


def _add_data_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        help="CSV to use (application_train.csv or any CSV with a target column); default: generated data",
    )
    parser.add_argument("--target", help="target column of --data (default from params.yaml: TARGET)")
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
    ]
    parsers = {}
    for name, handler, help_text in commands:
        parsers[name] = sub.add_parser(name, help=help_text, description=help_text)
        parsers[name].set_defaults(handler=handler)

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
    return parser


def main(argv: list[str] | None = None) -> int:
    from ml.data import DataError
    from ml.registry import GateRefusedError, RegistryError
    from ml.train import InvalidDataError

    args = build_parser().parse_args(argv)
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
    except (RegistryError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
