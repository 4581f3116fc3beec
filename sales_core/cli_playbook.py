"""Command line for the playbook: look up plays and judge them by outcomes.

    python -m sales_core playbook find [--type T] [--stage S] [--text Q]
                                      [--tag TAG] [--kind K] [--json]
    python -m sales_core playbook suggest [--type T] [--stage S] [--json]
    python -m sales_core report plays [--as-of DATE] [--min-deals N]
                                      [--play-column NAME] [--json]

The same functions as the Playbook page (sales_core.playbook).
"""

from __future__ import annotations

import argparse
import json

from sales_core import playbook, service
from sales_core.cli import positive_int
from sales_core.metrics.plays import MIN_DEALS
from sales_core.store import Store


def add_commands(commands, reports) -> None:
    """Register `playbook find`, `playbook suggest` and `report plays`."""
    book = commands.add_parser("playbook", help="look up the play library")
    actions = book.add_subparsers(dest="playbook_action", required=True)

    find = actions.add_parser("find", help="plays matching every filter given")
    find.add_argument("--type", help="customer type (any spelling, e.g. 比价型)")
    find.add_argument("--stage", help="stage key or name (e.g. quoted, 已报价)")
    find.add_argument("--text", help="words to find, Chinese or English")
    find.add_argument("--tag", help="a tag the play carries")
    find.add_argument("--kind", choices=playbook.KINDS)
    find.add_argument("--json", action="store_true")
    find.set_defaults(handler=_find)

    suggest = actions.add_parser("suggest", help="the play for a type and stage")
    suggest.add_argument("--type", help="customer type (any spelling)")
    suggest.add_argument("--stage", help="stage key or name")
    suggest.add_argument("--json", action="store_true")
    suggest.set_defaults(handler=_suggest)

    plays = reports.add_parser("plays", help="plays judged by outcomes")
    plays.add_argument("--as-of", help="YYYY-MM-DD (default: newest snapshot)")
    plays.add_argument(
        "--min-deals",
        type=positive_int,
        default=MIN_DEALS,
        help=f"fewer deals in a group is 'too few' ({MIN_DEALS})",
    )
    plays.add_argument(
        "--play-column",
        choices=playbook.PLAY_COLUMNS,
        help="a deals column where the team writes the play used",
    )
    plays.add_argument("--json", action="store_true")
    plays.set_defaults(handler=_report)


def _find(store: Store, args: argparse.Namespace) -> int:
    found = playbook.find_plays(store, customer_type=args.type, stage=args.stage,
                                tag=args.tag, text=args.text, kind=args.kind,
                                lang=args.lang)  # fmt: skip
    if args.json:
        print(json.dumps([play.as_dict() for play in found], ensure_ascii=False))
        return 0
    for play in found:
        print(f"{play.key}  [{play.kind}]  {play.title}")
    print(f"{len(found)} plays")
    return 0


def _suggest(store: Store, args: argparse.Namespace) -> int:
    play = playbook.suggested_play(store, args.type, args.stage, args.lang)
    if args.json:
        print(json.dumps(play.as_dict() if play else None, ensure_ascii=False))
        return 0
    if play is None:
        print("no play fits")
        return 0
    print(f"{play.key}  {play.title}")
    for number, step in enumerate(play.steps, start=1):
        print(f"  {number}. {step}")
    return 0


def _report(store: Store, args: argparse.Namespace) -> int:
    report = playbook.plays_report(store, service.parse_day(args.as_of),
                                   args.min_deals, args.play_column)  # fmt: skip
    figures = report.as_dict()
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, default=str))
        return 0
    print(f"Plays judged by outcomes, as of {figures['as_of']} "
          f"(too few below {figures['min_deals']} deals)")  # fmt: skip
    for play in figures["plays"]:
        print(f"  {play['play']:<34} used on {play['deals_using']:>4} deals, "
              f"{play['cells']} cells, {play['cells_enough_deals']} with enough "
              f"deals, {play['cells_differ']} differ")  # fmt: skip
    return 0
