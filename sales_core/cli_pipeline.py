"""Command line for the pipeline: the board and the week-over-week flow.

    python -m sales_core report board [--as-of DATE] [--team T] [--rep R] [--json]
    python -m sales_core report flow --from DATE --to DATE [--json]

Both print the same figures as the Pipeline page (sales_core.pipeline_report).
"""

from __future__ import annotations

import argparse
import json

from sales_core import pipeline_report, service
from sales_core.metrics.board import BoardFilters
from sales_core.metrics.flow import BUCKETS, WATERFALL
from sales_core.store import Store


def add_commands(commands, reports) -> None:
    """Register `report board` and `report flow`."""
    board = reports.add_parser("board", help="pipeline board: open deals per stage")
    board.add_argument("--as-of", help="YYYY-MM-DD (default: newest snapshot)")
    board.add_argument("--team", action="append", default=[], help="repeatable")
    board.add_argument("--rep", action="append", default=[], help="repeatable")
    board.add_argument("--json", action="store_true")
    board.set_defaults(handler=_board)

    flow = reports.add_parser("flow", help="what moved between two snapshots")
    flow.add_argument(
        "--from",
        dest="from_date",
        required=True,
        help="the older snapshot's as_of, YYYY-MM-DD",
    )
    flow.add_argument(
        "--to",
        dest="to_date",
        required=True,
        help="the newer snapshot's as_of, YYYY-MM-DD",
    )
    flow.add_argument("--json", action="store_true")
    flow.set_defaults(handler=_flow)


def _board(store: Store, args: argparse.Namespace) -> int:
    filters = BoardFilters(teams=tuple(args.team), reps=tuple(args.rep))
    result = pipeline_report.board(store, service.parse_day(args.as_of), filters)
    figures = result.as_dict()
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
        return 0
    print(f"Pipeline board as of {figures['as_of']}")
    for stage in figures["stages"]:
        print(
            f"  {stage['stage']:<12} {stage['count']:>5} deals  "
            f"{stage['amount']:>16,.2f}  weighted {stage['weighted_amount']:,.2f}"
        )
    for name in ("idle", "overdue", "about_to_close", "waiting_untouched"):
        ids = figures[name]
        print(f"  {name}: {len(ids)}" + (f" ({', '.join(ids)})" if ids else ""))
    return 0


def _flow(store: Store, args: argparse.Namespace) -> int:
    result = pipeline_report.flow(store, args.from_date, args.to_date)
    figures = result.as_dict()
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
        return 0
    print(f"Flow {figures['from']} -> {figures['to']}")
    for name in WATERFALL:
        print(f"  {name:<12} {figures['open_amount'][name]:>16,.2f}")
    for name in BUCKETS:
        ids = figures["deals"][name]
        print(f"  {name}: {len(ids)}" + (f" ({', '.join(ids)})" if ids else ""))
    return 0
