"""Rep rhythm from the store: the one loader behind the page and the CLI.

`team_rhythm` resolves the window (default: the 8 weeks ending at the newest
deal snapshot), loads follow-ups, the deal snapshot and the deal history
once, links the follow-ups to their deals (sales_core.linking) and hands
everything to metrics.rhythm.rhythm_report.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd

from sales_core.errors import KongpanError
from sales_core.linking import LinkResult, link_activities
from sales_core.metrics.rhythm import WEEKS, RhythmReport, rhythm_report
from sales_core.stages import StageModel, default_model
from sales_core.store import Store

log = logging.getLogger(__name__)

WINDOW_DAYS = 7 * WEEKS


@dataclass(frozen=True)
class TeamRhythm:
    """The rhythm report and how the window's follow-ups linked to deals.

    unlinked / ambiguous: the window's follow-ups that link to no deal or to
    several (with their candidate deal ids), as sales_core.linking found.
    """

    report: RhythmReport
    link_counts: dict[str, int]
    unlinked: pd.DataFrame
    ambiguous: pd.DataFrame

    def as_dict(self, rep: str | None = None) -> dict[str, Any]:
        """The command line's JSON: {reps: [...], team_median: {...}} and context.

        With `rep`, only that rep's row is listed; the team median stays the
        median over every rep. Also: from, to, as_of, months (month-end rush
        scope) and links (follow-ups in the window by how they linked).
        """
        figures = self.report.as_dict()
        if rep is not None:
            figures["reps"] = [row for row in figures["reps"] if row["owner"] == rep]
        return figures | {"links": dict(self.link_counts)}


def resolve_window(
    store: Store, start: date | None = None, end: date | None = None
) -> tuple[date, date, date]:
    """(start, end, as_of) of a rhythm report.

    end defaults to the newest deal snapshot; as_of is the newest snapshot on
    or before end; start defaults to the 8 weeks ending at end
    (end − 55 days). Raises KongpanError when start is after end or no deal
    snapshot is that early.
    """
    end = end or store.latest_as_of()
    if end is None:
        raise KongpanError("no_snapshot", as_of="-")
    as_of = store.latest_as_of(end)
    if as_of is None:
        raise KongpanError("no_snapshot", as_of=end)
    start = start or end - timedelta(days=WINDOW_DAYS - 1)
    if start > end:
        raise KongpanError("bad_period", start=start, end=end)
    return start, end, as_of


def link_followups(
    store: Store, start: date | None = None, end: date | None = None
) -> LinkResult:
    """Follow-ups with activity_at in [start, end] linked to the deal history."""
    return link_activities(store.load_activities(start, end), store.load_deal_history())


def team_rhythm(
    store: Store,
    start: date | None = None,
    end: date | None = None,
    model: StageModel | None = None,
    history: pd.DataFrame | None = None,
) -> TeamRhythm:
    """Every rep's rhythm over the window, with team medians and flags.

    The window's follow-ups are linked to the deal history so the page can
    list the ones that link to no deal or to several. `history` is
    Store.load_deal_history(), loaded here unless the caller holds it (the
    page caches it per data version, so a new window reloads only the
    window's follow-ups and one deal snapshot).
    """
    model = model or default_model()
    start, end, as_of = resolve_window(store, start, end)
    if history is None:
        history = store.load_deal_history()
    links = link_activities(store.load_activities(start, end), history)
    deals = store.load_deals(as_of)
    report = rhythm_report(links.activities, deals, history, start, end, as_of, model)
    log.info("rhythm %s..%s (as_of %s): %d reps", start, end, as_of, len(report.reps))
    return TeamRhythm(report, links.counts(), links.unlinked, links.ambiguous)


def check_rep(rhythm: TeamRhythm, rep: str | None) -> str | None:
    """The rep name if the report has that rep, else a clear error listing them."""
    if rep is None:
        return None
    names = list(rhythm.report.reps["owner"])
    if rep not in names:
        raise KongpanError("unknown_rep", rep=rep, reps=", ".join(names) or "-")
    return rep
