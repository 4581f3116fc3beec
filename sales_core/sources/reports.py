"""Figures from a SQL source: the store's report functions on a scoped view.

Each function narrows the source to the window its figures need (the SQL
then carries that WHERE clause) and hands it to the very function the
uploaded-snapshot pages use (service.team_progress, funnel_report), so a
number means the same whichever data source the app shows. The app and the
command line call these; the connection test is `check_source`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy.engine import Engine

from sales_core import service
from sales_core.calendar import month_bounds
from sales_core.errors import KongpanError
from sales_core.funnel_report import funnel_report
from sales_core.metrics.funnel import MIN_DEALS, FunnelSummary
from sales_core.metrics.progress import ProgressReport
from sales_core.sources.profile import SourceProfile
from sales_core.sources.sql import SqlSource
from sales_core.store import safe_url

log = logging.getLogger(__name__)

WIN_RATE_DAYS = 180  # stage win rates look back this far (metrics.progress)


def progress_window(month: str, as_of: date) -> tuple[date, date]:
    """The days progress_report reads: the month (deals won in it, or expected
    to close in it) and the WIN_RATE_DAYS up to as_of (closed deals behind the
    stage win rates): [min(month start, as_of − 179 days), max(month end, as_of)].
    """
    start, end = month_bounds(month)
    return min(start, as_of - timedelta(days=WIN_RATE_DAYS - 1)), max(end, as_of)


def source_progress(
    source: SqlSource,
    month: str | None = None,
    as_of: date | None = None,
    teams: tuple[str, ...] = (),
) -> ProgressReport:
    """Team progress (service.team_progress) over the source, window pushed down."""
    as_of = service.resolve_as_of(source, month, as_of)
    month = month or f"{as_of:%Y-%m}"
    start, end = progress_window(month, as_of)
    return service.team_progress(source.scoped(start, end, teams), month, as_of)


def source_funnel(
    source: SqlSource,
    start: date,
    end: date,
    by: str = "owner",
    teams: tuple[str, ...] = (),
    min_deals: int = MIN_DEALS,
) -> FunnelSummary:
    """The funnel of deals created in [start, end] (funnel_report), window in SQL."""
    return funnel_report(
        source.scoped(start, end, teams), start, end, by=by, min_deals=min_deals
    )


@dataclass(frozen=True)
class SourceCheck:
    """A connection test that passed: where, which database, rows per table."""

    source_id: str
    title: str
    url: str  # password hidden
    dialect: str
    as_of: date
    rows: dict[str, int] = field(default_factory=dict)
    teams: list[str] = field(default_factory=list)


def check_source(profile: SourceProfile, engine: Engine | None = None) -> SourceCheck:
    """Connect, reflect every table of the profile, count its rows.

    Raises KongpanError with a message for a person: no URL, wrong user or
    password, unreachable host, missing database, missing table or column
    (naming the profile key). The URL's password is never shown.
    """
    source = SqlSource(profile, engine=engine)
    try:
        rows = source.count_rows()
        reps = source.load_reps()
        teams = sorted({str(team) for team in reps["team"].dropna()})
    finally:
        if engine is None:
            source.dispose()
    log.info("source %s answers: %s", profile.id, rows)
    return SourceCheck(
        source_id=profile.id,
        title=profile.title,
        url=safe_url(source.url),
        dialect=source.engine.dialect.name,
        as_of=source.as_of,
        rows=rows,
        teams=teams,
    )


def open_source(profile: SourceProfile) -> SqlSource:
    """A source whose tables are already checked, or the KongpanError why not."""
    source = SqlSource(profile)
    try:
        source.tables()
    except KongpanError:
        source.dispose()
        raise
    return source
