"""Command line for SQL data sources (data/sources/*.toml).

    python -m sales_core source list
    python -m sales_core source check NAME [--json]
    python -m sales_core source progress NAME [--month YYYY-MM] [--as-of DATE]
                                              [--team TEAM]... [--json]

`check` is the app's connection test (sources.check_source); `progress` gives
the Team progress figures read from the CRM database
(sources.source_progress), the same numbers the Data sources page shows.
"""

from __future__ import annotations

import argparse
import json

from sales_core import service
from sales_core.cli import print_progress
from sales_core.errors import KongpanError
from sales_core.sources import (
    SqlSource,
    check_source,
    find_profile,
    load_profile,
    profile_paths,
    source_progress,
)
from sales_core.store import Store


def add_commands(commands, reports) -> None:
    """Register `source list`, `source check` and `source progress`."""
    source = commands.add_parser("source", help="SQL data sources (CRM databases)")
    actions = source.add_subparsers(dest="source_command", required=True)
    listing = actions.add_parser("list", help="the profiles in data/sources")
    listing.set_defaults(handler=_list)
    check = actions.add_parser("check", help="test a source's connection and tables")
    check.add_argument("name", help="profile file name without .toml")
    check.add_argument("--json", action="store_true")
    check.set_defaults(handler=_check)
    progress = actions.add_parser("progress", help="month-to-date progress")
    progress.add_argument("name", help="profile file name without .toml")
    progress.add_argument("--month", help="YYYY-MM (default: the source's as_of month)")
    progress.add_argument("--as-of", help="YYYY-MM-DD (default: the source's as_of)")
    progress.add_argument(
        "--team",
        action="append",
        default=[],
        help="only this team (repeat for several)",
    )
    progress.add_argument("--json", action="store_true")
    progress.set_defaults(handler=_progress)


def _list(store: Store, args: argparse.Namespace) -> int:
    for source_id, path in profile_paths().items():
        try:
            title = load_profile(path).title
        except KongpanError as error:
            title = f"unreadable: {error.message(args.lang)}"
        print(f"{source_id}: {title}")
    return 0


def _check(store: Store, args: argparse.Namespace) -> int:
    check = check_source(find_profile(args.name))
    if args.json:
        print(
            json.dumps(
                {
                    "source": check.source_id,
                    "url": check.url,
                    "dialect": check.dialect,
                    "as_of": check.as_of.isoformat(),
                    "rows": check.rows,
                    "teams": check.teams,
                },
                ensure_ascii=False,
            )
        )
        return 0
    print(
        f"{check.title}: connected to {check.url} ({check.dialect}), "
        f"as of {check.as_of}"
    )
    for table, rows in check.rows.items():
        print(f"  {table}: {rows} rows")
    return 0


def _progress(store: Store, args: argparse.Namespace) -> int:
    month = service.check_month(args.month) if args.month else None
    source = SqlSource(find_profile(args.name))
    try:
        report = source_progress(
            source, month, service.parse_day(args.as_of), tuple(args.team)
        )
    finally:
        source.dispose()
    print_progress(report.as_dict(), args.json, source=args.name)
    return 0
