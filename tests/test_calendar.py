"""Working days, counted by hand from a month calendar and the official schedule.

The counts below are reasoned out day by day; the `holidays` package is the
thing under test, so none of the expected numbers is computed from it.
"""

from __future__ import annotations

from datetime import date, timedelta

import holidays

from sales_core.calendar import (
    is_working_day,
    last_working_days,
    month_bounds,
    month_pace,
    schedule_published,
    working_days,
)


def test_october_2026_national_day_and_make_up_saturday():
    # October 2026 (Oct 1 is a Thursday):
    #   Mo Tu We Th Fr Sa Su
    #             1  2  3  4      1-7 National Day / Mid-Autumn holiday
    #    5  6  7  8  9 10 11      10 (Sat) is a make-up working day
    #   12 13 14 15 16 17 18
    #   19 20 21 22 23 24 25
    #   26 27 28 29 30 31
    # Weekdays: 4 full weeks (1-28) = 20, plus Thu 29 and Fri 30 = 22.
    # Holidays on weekdays: 1, 2, 5, 6, 7 = 5. Make-up Saturday 10: +1.
    # Working days: 22 - 5 + 1 = 18
    #   (8, 9, 10, 12-16, 19-23, 26-30 = 3 + 5 + 5 + 5).
    pace = month_pace("2026-10", date(2026, 10, 31))
    assert pace.total == 18
    assert pace.elapsed == 18
    assert pace.schedule_published is True
    assert working_days(date(2026, 10, 1), date(2026, 10, 10)) == [
        date(2026, 10, 8),
        date(2026, 10, 9),
        date(2026, 10, 10),
    ]


def test_make_up_saturday_is_a_working_day():
    assert is_working_day(date(2026, 10, 10)) is True  # Saturday, make-up day
    assert is_working_day(date(2026, 2, 14)) is True  # Saturday, make-up day
    assert is_working_day(date(2026, 2, 28)) is True  # Saturday, make-up day
    assert is_working_day(date(2026, 10, 11)) is False  # plain Sunday
    assert is_working_day(date(2026, 10, 17)) is False  # plain Saturday
    assert is_working_day(date(2026, 10, 5)) is False  # Monday in the holiday
    assert is_working_day(date(2026, 10, 8)) is True  # Thursday after it


def test_february_2026_spring_festival():
    # February 2026 (Feb 1 is a Sunday):
    #   Mo Tu We Th Fr Sa Su
    #                      1
    #    2  3  4  5  6  7  8
    #    9 10 11 12 13 14 15      14 (Sat) make-up working day
    #   16 17 18 19 20 21 22      15-23 Spring Festival off
    #   23 24 25 26 27 28         28 (Sat) make-up working day
    # Weekdays: 2-27 holds 4 full weeks = 20.
    # Holidays on weekdays: 16, 17, 18, 19, 20, 23 = 6. Make-up: 14, 28 = +2.
    # Working days: 20 - 6 + 2 = 16
    #   (2-6, 9-13, 14, 24-27, 28 = 5 + 5 + 1 + 4 + 1).
    pace = month_pace("2026-02", date(2026, 2, 28))
    assert pace.total == 16
    assert pace.elapsed == 16
    # Up to the 15th: 2-6, 9-13 and Saturday 14 = 11.
    assert month_pace("2026-02", date(2026, 2, 15)).elapsed == 11


def test_2027_without_published_schedule_counts_statutory_dates_only():
    # October 2027 (Oct 1 is a Friday):
    #   Mo Tu We Th Fr Sa Su
    #                 1  2  3     1-3 National Day; the package moves the
    #    4  5  6  7  8  9 10      weekend days 2, 3 to Mon 4 and Tue 5
    #   11 12 13 14 15 16 17
    #   18 19 20 21 22 23 24
    #   25 26 27 28 29 30 31
    # Weekdays: 1-28 = 20, plus Fri 29 = 21.
    # Statutory holidays on weekdays the package lists: 1, 4, 5 = 3.
    # No make-up days are known for 2027 yet. Working days: 21 - 3 = 18.
    assert schedule_published(2027) is False
    pace = month_pace("2027-10", date(2027, 10, 31))
    assert pace.total == 18
    assert pace.schedule_published is False

    # The same count from the package's own list, as a cross-check.
    listed = holidays.country_holidays("CN", years=2027)
    start, end = month_bounds("2027-10")
    days = [start + timedelta(n) for n in range((end - start).days + 1)]
    weekdays = [day for day in days if day.weekday() < 5]
    assert len(weekdays) == 21
    assert len([day for day in weekdays if day in listed]) == 3


def test_pace_mid_month():
    # Working days of October 2026 up to Monday the 12th: 8, 9, 10 (make-up
    # Saturday) and 12 = 4 of 18.
    pace = month_pace("2026-10", date(2026, 10, 12))
    assert (pace.elapsed, pace.total) == (4, 18)
    assert pace.pace == 4 / 18
    # During the holiday nothing has elapsed yet.
    assert month_pace("2026-10", date(2026, 10, 7)).elapsed == 0


def test_pace_outside_the_month():
    assert month_pace("2026-10", date(2026, 9, 30)).elapsed == 0
    assert month_pace("2026-10", date(2026, 9, 30)).pace == 0.0
    after = month_pace("2026-10", date(2026, 11, 15))
    assert (after.elapsed, after.total, after.pace) == (18, 18, 1.0)


def test_month_bounds_and_last_working_days():
    assert month_bounds("2026-02") == (date(2026, 2, 1), date(2026, 2, 28))
    assert month_bounds("2028-02") == (date(2028, 2, 1), date(2028, 2, 29))
    # Last 5 working days of October 2026: Mon 26 to Fri 30.
    assert last_working_days("2026-10", 5) == [date(2026, 10, d) for d in range(26, 31)]
    # Last 3 of February 2026: Thu 26, Fri 27 and the make-up Saturday 28.
    assert last_working_days("2026-02", 3) == [
        date(2026, 2, 26),
        date(2026, 2, 27),
        date(2026, 2, 28),
    ]
