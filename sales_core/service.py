"""The figures a page or the command line asks for, from the store.

Each function loads the canonical frames once and hands them to the one
metric function behind the figure, so the page and the command line can
never disagree about a number.
"""

from __future__ import annotations

from datetime import date

from sales_core.calendar import month_bounds
from sales_core.errors import KongpanError
from sales_core.metrics.progress import ProgressReport, progress_report
from sales_core.stages import StageModel, default_model
from sales_core.store import Store


def parse_day(text: str | None) -> date | None:
    """A YYYY-MM-DD argument, or a clear error naming the value."""
    if text is None or text == "":
        return None
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise KongpanError("bad_date", value=text) from None


def check_month(text: str) -> str:
    """A YYYY-MM argument, normalized, or a clear error naming the value."""
    try:
        year, month = (int(part) for part in str(text).strip().split("-"))
        return f"{date(year, month, 1):%Y-%m}"
    except ValueError:
        raise KongpanError("bad_month", value=text) from None


def resolve_as_of(store: Store, month: str | None, as_of: date | None) -> date:
    """The as_of a report uses: given, else the newest snapshot in or before the month.

    Never the machine clock: with no snapshot there is no as_of.
    """
    if as_of is not None:
        return as_of
    limit = month_bounds(month)[1] if month else None
    newest = store.latest_as_of(limit)
    if newest is None:
        raise KongpanError("no_snapshot", as_of=limit or "-")
    return newest


def team_progress(
    store: Store,
    month: str | None = None,
    as_of: date | None = None,
    model: StageModel | None = None,
) -> ProgressReport:
    """Month-to-date progress for the team and each rep (metrics.progress)."""
    as_of = resolve_as_of(store, month, as_of)
    month = month or f"{as_of:%Y-%m}"
    deals = store.load_deals(as_of)
    targets = store.load_targets(month)
    return progress_report(deals, targets, month, as_of, model or default_model())
