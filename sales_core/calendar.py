"""Working days from the `holidays` package: China by default.

Chinese public holidays move weekends around: a holiday week is paid back
with make-up Saturdays or Sundays (调休). The package carries those make-up
days for the years whose official schedule it knows; for a later year it
knows only the statutory dates, and `schedule_published` says so.
"""

from __future__ import annotations

import calendar as _month_calendar
import os
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import holidays

DEFAULT_COUNTRY = os.environ.get("KONGPAN_HOLIDAY_COUNTRY", "CN")


@lru_cache(maxsize=32)
def _country_calendar(country: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, years=year)


def is_working_day(day: date, country: str = DEFAULT_COUNTRY) -> bool:
    """True on a working day: not a public holiday, and a weekday or make-up day."""
    return _country_calendar(country, day.year).is_working_day(day)


def working_days(start: date, end: date, country: str = DEFAULT_COUNTRY) -> list[date]:
    """The working days in [start, end], both ends included."""
    days = []
    day = start
    while day <= end:
        if is_working_day(day, country):
            days.append(day)
        day += timedelta(days=1)
    return days


def schedule_published(year: int, country: str = DEFAULT_COUNTRY) -> bool:
    """Whether the installed calendar knows `year`'s official holiday schedule.

    For China this means the year has make-up working days or substituted
    days off; a year with neither is only the statutory dates, and working-day
    counts for it may be off by the days the State Council moves later.
    """
    if country != "CN":
        return True
    calendar = _country_calendar(country, year)
    if any(day.year == year for day in calendar.weekend_workdays):
        return True
    return any("substitut" in name.lower() for name in calendar.values())


def month_bounds(month: str) -> tuple[date, date]:
    """First and last day of a 'YYYY-MM' month."""
    year, number = (int(part) for part in month.split("-"))
    last = _month_calendar.monthrange(year, number)[1]
    return date(year, number, 1), date(year, number, last)


@dataclass(frozen=True)
class MonthPace:
    """How far through its working days a month is on `as_of`."""

    month: str
    as_of: date
    elapsed: int
    total: int
    schedule_published: bool

    @property
    def pace(self) -> float:
        return self.elapsed / self.total if self.total else 0.0


def month_pace(month: str, as_of: date, country: str = DEFAULT_COUNTRY) -> MonthPace:
    """Working days elapsed and in total for `month` as of `as_of`.

    Pace = working days in [month start, min(as_of, month end)] / working days
    in the whole month; as_of before the month gives 0 elapsed, after it all.
    """
    start, end = month_bounds(month)
    total = len(working_days(start, end, country))
    elapsed = (
        len(working_days(start, min(as_of, end), country)) if as_of >= start else 0
    )
    return MonthPace(
        month, as_of, elapsed, total, schedule_published(start.year, country)
    )


def last_working_days(
    month: str, count: int, country: str = DEFAULT_COUNTRY
) -> list[date]:
    """The last `count` working days of a month, in date order."""
    start, end = month_bounds(month)
    return working_days(start, end, country)[-count:]
