"""Command line for rep rhythm.

    python -m sales_core report rhythm [--rep NAME] [--from DATE] [--to DATE] [--json]

The window defaults to the 8 weeks ending at the newest deal snapshot. The
figures are the Rep rhythm page's (sales_core.rhythm_report.team_rhythm).
"""

from __future__ import annotations

import argparse
import json

from sales_core import rhythm_report, service
from sales_core.store import Store


def add_commands(commands, reports) -> None:
    """Register `report rhythm`."""
    rhythm = reports.add_parser("rhythm", help="each rep's rhythm beside the team")
    rhythm.add_argument("--rep", help="only this rep (team median still over all)")
    rhythm.add_argument(
        "--from", dest="from_date", help="YYYY-MM-DD (default: 8 weeks before --to)"
    )
    rhythm.add_argument(
        "--to", dest="to_date", help="YYYY-MM-DD (default: the newest snapshot)"
    )
    rhythm.add_argument("--json", action="store_true")
    rhythm.set_defaults(handler=_rhythm)


def _number(value: object, ratio: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:.0%}" if ratio else f"{value:.2f}"


def _rhythm(store: Store, args: argparse.Namespace) -> int:
    start = service.parse_day(args.from_date)
    end = service.parse_day(args.to_date)
    result = rhythm_report.team_rhythm(store, start, end)
    rep = rhythm_report.check_rep(result, args.rep)
    figures = result.as_dict(rep)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
        return 0
    print(
        f"Rhythm {figures['from']} .. {figures['to']} (deals as of {figures['as_of']})"
    )
    for row in [*figures["reps"], {"owner": "team median", **figures["team_median"]}]:
        print(
            f"  {row['owner']}: {row['actions']} actions "
            f"({_number(row['actions_per_working_day'])}/working day), "
            f"CV {_number(row['weekly_cv'])}, "
            f"month-end {_number(row['month_end_share'], ratio=True)}, "
            f"piling {_number(row['piling_share'], ratio=True)}, "
            f"idle {row['idle_deals']}, overdue {row['overdue_next_steps']}"
            + (f"  flags: {', '.join(row['flags'])}" if row.get("flags") else "")
        )
    links = figures["links"]
    print(
        f"  follow-ups not linked to a deal: {links['none']}, "
        f"linked to several: {links['ambiguous']}"
    )
    return 0
