"""Command line for scheduled imports and reports, on the same core as the app.

    python -m sales_core import PATH... [--as-of DATE] [--kind KIND] [--json]
    python -m sales_core report progress --month YYYY-MM [--as-of DATE] [--json]

Bad input ends with a one-line message and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from pathlib import Path

from sales_core import service
from sales_core.errors import KongpanError
from sales_core.schema import Kind
from sales_core.store import Store

log = logging.getLogger("sales_core.cli")

EXIT_BAD_INPUT = 1
EXIT_INTERNAL = 3

# Modules that add commands: each has `add_commands(commands, reports)` that
# registers argparse subcommands whose handler is set with
# `set_defaults(handler=function(store, args) -> exit code)`.
COMMAND_MODULES: tuple[str, ...] = (
    "sales_core.cli_pipeline",
    "sales_core.cli_funnel",
    "sales_core.cli_rhythm",
    "sales_core.cli_sources",
    "sales_core.cli_playbook",
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sales_core", description="Kongpan (控盘) command line"
    )
    parser.add_argument(
        "--lang", choices=("zh", "en"), default="en", help="language of messages"
    )
    parser.add_argument(
        "--database",
        help="store URL (default: KONGPAN_DATABASE_URL or data/kongpan.db)",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    commands = parser.add_subparsers(dest="command", required=True)

    importer = commands.add_parser("import", help="import CRM exports as snapshots")
    importer.add_argument("paths", nargs="+", metavar="PATH")
    importer.add_argument("--as-of", help="the date the export describes (YYYY-MM-DD)")
    importer.add_argument("--kind", choices=[kind.value for kind in Kind])
    importer.add_argument("--profile", help="a saved column-mapping profile")
    importer.add_argument(
        "--json", action="store_true", help="one JSON object per file, one per line"
    )

    report = commands.add_parser("report", help="print a report")
    reports = report.add_subparsers(dest="report", required=True)
    progress = reports.add_parser("progress", help="month-to-date progress")
    progress.add_argument("--month", help="YYYY-MM (default: the as_of's month)")
    progress.add_argument("--as-of", help="YYYY-MM-DD (default: newest snapshot)")
    progress.add_argument("--json", action="store_true")
    progress.set_defaults(handler=_progress)
    importer.set_defaults(handler=_import)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_commands(commands, reports)
    return parser


def _import(store: Store, args: argparse.Namespace) -> int:
    as_of = service.parse_day(args.as_of)
    mapping = None
    if args.profile:
        mapping = store.profiles().get(args.profile)
        if mapping is None:
            raise KongpanError("bad_mapping", file=args.profile, column=args.profile)
    status = 0
    for path in args.paths:
        try:
            result = store.import_file(
                Path(path), kind=args.kind, as_of=as_of, mapping=mapping
            )
        except KongpanError as error:
            status = max(status, EXIT_BAD_INPUT)
            _file_failed(path, error.code, error.message(args.lang), args.json)
            continue
        except Exception as error:
            log.debug("internal error importing %s", path, exc_info=True)
            status = max(status, EXIT_INTERNAL)
            _file_failed(
                path,
                "internal_error",
                f"{path}: internal error ({type(error).__name__}): {error}",
                args.json,
            )
            continue
        if args.json:
            print(json.dumps(result.as_dict(), ensure_ascii=False, default=str))
        else:
            report = result.report
            if result.duplicate_of:
                print(f"{path}: already imported as snapshot {result.duplicate_of}")
                continue
            print(
                f"{path}: {report.kind}, as_of {report.as_of}, snapshot "
                f"{result.snapshot_id}: {report.rows_read} read, "
                f"{report.rows_imported} imported, {report.rows_rejected} rejected, "
                f"{report.blank_rows} blank"
            )
            for issue in report.rejections:
                print(f"  row {issue.row}, {issue.column or '-'}: {issue.reason}")
    return status


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return number


def _file_failed(path: str, code: str, message: str, as_json: bool) -> None:
    """One file of a batch could not be imported: say so and go on."""
    if as_json:
        print(
            json.dumps(
                {"file": path, "error": code, "message": message}, ensure_ascii=False
            )
        )
    else:
        print(message, file=sys.stderr)


def _progress(store: Store, args: argparse.Namespace) -> int:
    month = service.check_month(args.month) if args.month else None
    report = service.team_progress(store, month, service.parse_day(args.as_of))
    print_progress(report.as_dict(), args.json)
    return 0


def print_progress(figures: dict, as_json: bool, source: str | None = None) -> None:
    """A progress report (ProgressReport.as_dict()) as JSON or as short lines."""
    if as_json:
        print(json.dumps(figures, ensure_ascii=False, default=str))
        return
    team = figures["team"]
    origin = f" (source {source})" if source else ""
    print(f"Month {figures['month']}, as of {figures['as_of']}{origin}")
    print(
        f"  won {team['won_amount']:,.2f} of target {team['target'] or 0:,.2f}"
        f" (completion {team['completion']}) pace {team['pace']}"
        f" gap {team['gap']}"
    )
    forecast = team["forecast"]
    print(
        f"  forecast P10 {forecast['p10']:,.0f}  P50 {forecast['p50']:,.0f}"
        f"  P90 {forecast['p90']:,.0f}"
    )
    for rep in figures["reps"]:
        print(
            f"  {rep['owner']} ({rep['team'] or '-'}): won {rep['won_amount']:,.2f}"
            f" target {rep['target']} gap {rep['gap']}"
        )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        store = Store(args.database)
        return args.handler(store, args)
    except KongpanError as error:
        print(error.message(args.lang), file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as error:
        log.debug("internal error", exc_info=True)
        print(
            f"internal error ({type(error).__name__}): {error}; rerun with -v",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
