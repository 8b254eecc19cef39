"""CLI commands for outcomes and performance: `outcomes import`, `performance`, `make-outcomes`."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from ml.config import get_settings, load_params

EXIT_OK, EXIT_ERROR, EXIT_INVALID_DATA = 0, 1, 4


def _database_url(args: argparse.Namespace) -> str | None:
    import os

    return args.database_url or os.environ.get("DATABASE_URL")


def cmd_outcomes_import(args: argparse.Namespace) -> int:
    from ml.outcomes import OutcomesInputError, csv_chunks, import_outcomes, json_chunks

    path = Path(args.file)
    try:
        if path.suffix.lower() == ".json":
            chunks = json_chunks(json.loads(path.read_text()))
            result = import_outcomes(_database_url(args), chunks, args.strict)
        else:
            with path.open("rb") as stream:
                result = import_outcomes(_database_url(args), csv_chunks(stream), args.strict)
    except OutcomesInputError as exc:
        print(f"refused: {exc.message}", file=sys.stderr)
        for error in exc.errors[:20]:
            print(f"  line {error.row}: {error.field}: {error.reason}", file=sys.stderr)
        return EXIT_INVALID_DATA
    summary = result.as_dict()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(
            f"{summary['rows']} rows: {summary['stored']} new, {summary['corrected']} corrected, "
            f"{summary['unchanged']} already known, {summary['rejected']} refused"
        )
        for error in result.errors[:20]:
            print(f"  line {error.row}: {error.field}: {error.reason}")
    return EXIT_OK


def cmd_performance(args: argparse.Namespace) -> int:
    from ml.performance import mlflow_training_lookup, performance_markdown, performance_report

    params = load_params(args.params)
    settings = get_settings()
    tracking_uri = args.tracking_uri or settings.mlflow_tracking_uri
    model_name = args.model_name or settings.model_name
    report = performance_report(
        _database_url(args),
        params.performance,
        params.cost,
        mlflow_training_lookup(tracking_uri, model_name),
        model_name=model_name,
        since=args.since,
        until=args.until,
        maturity_days=args.maturity_days,
    )
    digest = performance_markdown(report)
    if args.markdown:
        with open(args.markdown, "a", encoding="utf-8") as out:
            out.write(digest + "\n")
    print(json.dumps(report, indent=2, default=str) if args.json else digest)
    return EXIT_OK


def cmd_make_outcomes(args: argparse.Namespace) -> int:
    from ml.data import read_csv
    from ml.outcomes import outcomes_for_batch

    batch = read_csv(args.batch)
    if args.target not in batch or args.id_column not in batch:
        print(f"error: {args.batch} needs the columns {args.target} and {args.id_column}", file=sys.stderr)
        return EXIT_INVALID_DATA
    observed = args.observed_at or datetime.now(UTC).date()
    frame = outcomes_for_batch(_database_url(args), batch, args.target, args.id_column, observed)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.output, index=False)
    print(
        f"wrote {len(frame)} outcomes (bad rate {frame['defaulted'].mean():.2%}) for the approved decisions "
        f"of {args.batch} to {args.output}; load them with `python -m ml outcomes import {args.output}`"
    )
    return EXIT_OK


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register the outcome commands on the main parser's subcommands."""
    database = {"help": "decision log database (default: $DATABASE_URL, else SQLite inference_log.db)"}

    p = sub.add_parser("outcomes", help="record outcomes of scored clients", description="Outcomes store.")
    actions = p.add_subparsers(dest="outcomes_action", required=True)
    p = actions.add_parser(
        "import",
        help="import outcomes from a CSV or JSON file (request_id,row or client_id; defaulted; observed_at)",
    )
    p.add_argument("file")
    p.add_argument("--database-url", **database)
    p.add_argument("--strict", action="store_true", help="store nothing if any row is refused")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_outcomes_import)

    help_text = "realized performance per version and cohort, and the estimate before outcomes"
    p = sub.add_parser("performance", help=help_text, description=help_text)
    p.add_argument("--database-url", **database)
    p.add_argument("--since", type=_moment, help="one cohort: decisions from this time (ISO, UTC)")
    p.add_argument("--until", type=_moment, help="one cohort: decisions before this time (ISO, UTC)")
    p.add_argument("--maturity-days", type=int, help="override performance.maturity_days")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--markdown", help="append the Markdown digest to this file (e.g. $GITHUB_STEP_SUMMARY)")
    p.set_defaults(handler=cmd_performance)

    help_text = "write outcomes for the approved decisions of a scored batch, from its target column"
    p = sub.add_parser("make-outcomes", help=help_text, description=help_text)
    p.add_argument("--batch", default="data/production_batch.csv", help="the batch the API scored")
    p.add_argument("--database-url", **database)
    p.add_argument("--target", default="TARGET")
    p.add_argument("--id-column", default="SK_ID_CURR")
    p.add_argument("--observed-at", type=date.fromisoformat, help="observation date (default: today)")
    p.add_argument("--output", "-o", default="data/outcomes.csv")
    p.set_defaults(handler=cmd_make_outcomes)
