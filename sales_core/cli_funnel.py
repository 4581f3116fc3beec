"""Command line for funnel leakage, on the same function as the Funnel page.

    python -m sales_core report funnel --from DATE --to DATE [--by FIELD]
        [--as-of DATE] [--team TEAM] [--min-deals N] [--json]

The cohort is the deals created from --from to --to (both included); results
and group win rates count the deals closed in that period. `--json` prints
{stages, results, groups} (sales_core.metrics.funnel.FunnelSummary.as_dict).
"""

from __future__ import annotations

import argparse
import json

from sales_core import funnel_report, service
from sales_core.cli import positive_int
from sales_core.errors import KongpanError
from sales_core.i18n import percent
from sales_core.metrics.funnel import GROUP_FIELDS, MIN_DEALS
from sales_core.store import Store


def add_commands(commands, reports) -> None:
    """Register `report funnel`."""
    funnel = reports.add_parser(
        "funnel", help="where deals drop, why, and for whom (cohort funnel)"
    )
    funnel.add_argument(
        "--from",
        dest="from_date",
        required=True,
        help="first creation day of the cohort, YYYY-MM-DD",
    )
    funnel.add_argument(
        "--to",
        dest="to_date",
        required=True,
        help="last creation day of the cohort, YYYY-MM-DD",
    )
    funnel.add_argument(
        "--by",
        default="owner",
        choices=GROUP_FIELDS,
        help="compare groups by this field (default: owner)",
    )
    funnel.add_argument("--as-of", help="YYYY-MM-DD (default: newest snapshot)")
    funnel.add_argument("--team", help="only this team's deals")
    funnel.add_argument(
        "--min-deals",
        type=positive_int,
        default=MIN_DEALS,
        help=f"fewer deals are marked too few (default {MIN_DEALS})",
    )
    funnel.add_argument("--json", action="store_true")
    funnel.set_defaults(handler=_funnel)


def _day(text: str):
    day = service.parse_day(text)
    if day is None:
        raise KongpanError("bad_date", value=text)
    return day


def _funnel(store: Store, args: argparse.Namespace) -> int:
    summary = funnel_report.funnel_report(
        store,
        _day(args.from_date),
        _day(args.to_date),
        by=args.by,
        as_of=service.parse_day(args.as_of),
        team=args.team,
        min_deals=max(args.min_deals, 0),
    )
    figures = summary.as_dict()
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
        return 0
    print(
        f"Funnel of deals created {summary.start} .. {summary.end}: "
        f"{summary.cohort_size} deals"
    )
    for stage in figures["stages"]:
        reached = "-" if stage["reached"] is None else stage["reached"]
        print(
            f"  {stage['stage']:<12} reached {reached:>6}  "
            f"to next {percent(stage['conversion']):>6}  "
            f"lost here {stage['lost_here']:>5} ({percent(stage['leakage'])})"
        )
    results = figures["results"]
    print(
        f"Closed in the period: win rate {percent(results['win_rate'])}, "
        f"churn {percent(results['churn'])}, avg won {results['avg_won_amount']}, "
        f"median cycle {results['median_cycle_days']} days, "
        f"velocity {results['velocity']} per day"
    )
    print(f"Win rate by {summary.by} (95% Wilson interval):")
    for group in figures["groups"]:
        mark = (
            " FLAGGED" if group["flagged"] else " too few" if group["too_few"] else ""
        )
        print(
            f"  {group['key']}: {percent(group['win_rate'])} "
            f"[{percent(group['low'])}, {percent(group['high'])}] "
            f"won {group['won']} lost {group['lost']}{mark}"
        )
    return 0
