"""CLI command `compare-live`: the champion vs challenger report over a window of the decision log."""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime, timedelta

from ml.config import get_settings, load_params

EXIT_OK = 0


def cmd_compare_live(args: argparse.Namespace) -> int:
    from ml.compare_live import compare_live, report_markdown

    settings = get_settings()
    model_name = args.model_name or settings.model_name
    if args.if_challenger:
        from ml.registry import CHALLENGER, Registry

        registry = Registry(model_name, args.tracking_uri or settings.mlflow_tracking_uri)
        if registry.version_for(CHALLENGER) is None:
            print(f"{model_name} has no challenger: no shadow comparison")
            return EXIT_OK
    since = args.since
    if args.hours is not None:
        since = datetime.now(UTC) - timedelta(hours=args.hours)
    report = compare_live(
        args.database_url or os.environ.get("DATABASE_URL"),
        model_name,
        since,
        args.until,
        args.last_n,
        load_params(args.params).stability,
    )
    digest = report_markdown(report)
    if args.markdown:
        with open(args.markdown, "a", encoding="utf-8") as out:
            out.write(digest + "\n")
    print(json.dumps(report, indent=2, default=str) if args.json else digest)
    return EXIT_OK


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register `compare-live` on the main parser's subcommands."""
    help_text = "champion vs challenger on live traffic: swap set, refusal rates, score PSI, outcomes"
    p = sub.add_parser("compare-live", help=help_text, description=help_text)
    p.add_argument("--database-url", help="decision log database (default: $DATABASE_URL, else SQLite)")
    p.add_argument("--since", type=_moment, help="window start (ISO, UTC)")
    p.add_argument("--until", type=_moment, help="window end, excluded (ISO, UTC)")
    p.add_argument("--hours", type=float, help="window: the last N hours (instead of --since)")
    p.add_argument("--last-n", type=int, help="at most the N most recent shadowed decisions")
    p.add_argument(
        "--if-challenger", action="store_true", help="do nothing unless the registry has a challenger"
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--markdown", help="append the Markdown digest to this file (e.g. $GITHUB_STEP_SUMMARY)")
    p.set_defaults(handler=cmd_compare_live)
