"""Rhythm metrics on small hand-built frames; every expected value is worked
out by hand in the comment next to it. Working days are China's 2026
calendar: Oct 1–7 off, Sat Oct 10 and Sat Feb 28 are make-up working days,
Feb 15–23 off (Spring Festival)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from sales_core.metrics.rhythm import (
    action_gaps,
    action_rates,
    calendar_grid,
    daily_actions,
    idle_deals,
    month_end_months,
    month_end_share,
    month_end_won,
    overdue_next_steps,
    piled_deals,
    piling_share,
    rep_flags,
    rep_weekly_cv,
    rhythm_report,
    stage_advances,
    stage_since,
    week_ends,
    weekly_actions,
    weekly_cv,
    weekly_pipeline,
    weekly_with_median,
)

DEAL_COLUMNS = [
    "deal_id",
    "customer",
    "owner",
    "stage",
    "amount",
    "created_at",
    "expected_close",
    "closed_at",
    "next_step",
    "next_step_due",
    "last_touch_at",
]
DATE_COLUMNS = [
    "created_at",
    "expected_close",
    "closed_at",
    "next_step_due",
    "last_touch_at",
]


def deals_frame(rows: list[dict], as_of: str | None = None) -> pd.DataFrame:
    """Canonical deal rows; missing fields None/NaT; optional snapshot as_of."""
    frame = pd.DataFrame(rows).reindex(columns=DEAL_COLUMNS)
    frame["amount"] = frame["amount"].astype("float64")
    for column in DATE_COLUMNS:
        frame[column] = pd.to_datetime(frame[column], format="ISO8601")
    frame["customer"] = frame["deal_id"].map(lambda deal: f"客户{deal}")
    if as_of is not None:
        frame["as_of"] = pd.Timestamp(as_of)
    return frame


def activities_frame(per_day: dict[tuple[str, str], int]) -> pd.DataFrame:
    """{(owner, day): count} → that many follow-ups at 10:00, every other effective."""
    rows = []
    for (owner, day), count in per_day.items():
        for number in range(count):
            rows.append(
                (pd.Timestamp(day) + pd.Timedelta(hours=10), owner, number % 2 == 0)
            )
    return pd.DataFrame(rows, columns=["activity_at", "owner", "effective"])


# ---------------------------------------------------------------- CV


def test_weekly_cv_uses_the_population_standard_deviation() -> None:
    # mean 25; deviations -15 -5 5 15; population variance (225+25+25+225)/4
    # = 125, std 11.1803, CV 0.4472 (not flagged). The sample std sqrt(500/3)
    # = 12.9099 would give 0.5164 and flag it.
    assert weekly_cv([10, 20, 30, 40]) == pytest.approx(0.447214, abs=1e-6)


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ([0, 10], 1.0),  # mean 5, std 5
        ([5, 5, 5], 0.0),
        ([7], None),  # one week: no spread to speak of
        ([0, 0, 0], None),  # mean 0
        ([], None),
    ],
)
def test_weekly_cv_edge_cases(counts, expected) -> None:
    assert weekly_cv(counts) == expected


def test_rep_weekly_cv_over_eight_weeks_ending_on_the_window_end() -> None:
    """Weeks are 7-day blocks ending on `end` (Fri 2026-11-20)."""
    end = date(2026, 11, 20)
    per_day = {
        ("甲", (end - timedelta(days=7 * week)).isoformat()): 4 for week in range(1, 8)
    }
    per_day[("甲", "2026-11-16")] = 12  # the newest block, Sat Nov 14 – Fri Nov 20
    per_day[("甲", "2026-09-25")] = 50  # day 57 back: outside the 8 weeks
    start = end - timedelta(days=55)
    daily = daily_actions(activities_frame(per_day), start, end)
    weekly = weekly_actions(daily, start, end)
    assert list(weekly["actions"]) == [4, 4, 4, 4, 4, 4, 4, 12]
    # mean 40/8 = 5; deviations seven × -1 and one 7; variance (7 + 49)/8 = 7;
    # std 2.645751; CV 0.529150 > 0.5: waves
    assert rep_weekly_cv(weekly, "甲") == pytest.approx(0.529150, abs=1e-6)


def test_week_ends_cut_whole_blocks_from_the_end() -> None:
    # 20 days Nov 1–20: blocks Nov 14–20 and Nov 7–13; Nov 1–6 left over
    assert week_ends(date(2026, 11, 1), date(2026, 11, 20)) == [
        date(2026, 11, 13),
        date(2026, 11, 20),
    ]


# ---------------------------------------------------------------- month end


def test_month_end_share_counts_the_make_up_saturday() -> None:
    """February 2026's last 5 working days are Feb 24, 25, 26, 27 and the
    make-up Saturday Feb 28 (Feb 15–23 is the Spring Festival break)."""
    deals = deals_frame(
        [
            {
                "deal_id": "A",
                "owner": "甲",
                "stage": "won",
                "amount": 300,
                "closed_at": "2026-02-28",
            },  # make-up Saturday: month end
            {
                "deal_id": "B",
                "owner": "甲",
                "stage": "won",
                "amount": 100,
                "closed_at": "2026-02-24",
            },  # month end
            {
                "deal_id": "C",
                "owner": "甲",
                "stage": "won",
                "amount": 200,
                "closed_at": "2026-02-13",
            },
            {
                "deal_id": "D",
                "owner": "甲",
                "stage": "won",
                "amount": 400,
                "closed_at": "2026-02-23",
            },  # holiday Monday: not a working day
            {
                "deal_id": "E",
                "owner": "甲",
                "stage": "negotiating",
                "amount": 900,
                "closed_at": "2026-02-27",
            },  # not won
            {
                "deal_id": "F",
                "owner": "乙",
                "stage": "won",
                "amount": 50,
                "closed_at": "2026-02-28",
            },
            {
                "deal_id": "G",
                "owner": "乙",
                "stage": "won",
                "amount": 50,
                "closed_at": "2026-01-30",
            },  # January's last working day
        ]
    )
    by_month = month_end_won(deals, ["2026-01", "2026-02"])
    first = by_month[by_month["owner"] == "甲"].iloc[0]
    # won 300+100+200+400 = 1000; month end 300+100 = 400; share 0.4
    assert (first["month"], first["won"], first["month_end"]) == ("2026-02", 1000, 400)
    assert first["share"] == pytest.approx(0.4)
    assert month_end_share(by_month, "甲") == pytest.approx(0.4)
    # 乙: Jan 50 of 50 and Feb 50 of 50 at month end: (50+50)/(50+50) = 1.0
    assert month_end_share(by_month, "乙") == pytest.approx(1.0)
    assert month_end_share(by_month, "丙") is None


def test_month_end_months_are_complete_months_only() -> None:
    """February 2026 is complete only once its make-up Saturday Feb 28 passed."""
    assert month_end_months(date(2026, 2, 27), count=2) == ["2025-12", "2026-01"]
    assert month_end_months(date(2026, 2, 28), count=2) == ["2026-01", "2026-02"]
    assert month_end_months(date(2026, 3, 5)) == [
        "2025-09",
        "2025-10",
        "2025-11",
        "2025-12",
        "2026-01",
        "2026-02",
    ]


# ---------------------------------------------------------------- piling


def _history() -> pd.DataFrame:
    """Three weekly snapshots of rep 甲's deals (and one of 乙's)."""
    snapshots = {
        "2026-10-09": [("A", "quoted"), ("B", "contacted"), ("M", "quoted")],
        "2026-10-23": [("A", "quoted"), ("B", "quoted"), ("M", "negotiating")],
        "2026-11-20": [
            ("A", "quoted"),
            ("B", "quoted"),
            ("M", "quoted"),
            ("C", "lead"),
            ("D", "negotiating"),
            ("W", "won"),
            ("Z", "lead"),
        ],
    }
    created = {
        "A": "2026-09-01",
        "B": "2026-09-20",
        "M": "2026-09-01",
        "C": "2026-10-01",
        "D": "2026-09-01",
        "W": "2026-09-01",
        "Z": "2026-11-18",
    }
    frames = []
    for number, (as_of, rows) in enumerate(snapshots.items(), start=1):
        frame = deals_frame(
            [
                {
                    "deal_id": deal,
                    "owner": "乙" if deal == "Z" else "甲",
                    "stage": stage,
                    "created_at": created[deal],
                }
                for deal, stage in rows
            ],
            as_of,
        )
        frame["snapshot_id"] = number
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def test_stage_since_is_the_start_of_the_unbroken_run() -> None:
    since = stage_since(_history(), date(2026, 11, 20)).set_index("deal_id")["since"]
    assert since["A"] == date(2026, 10, 9)  # quoted in every snapshot
    assert since["B"] == date(2026, 10, 23)  # contacted → quoted on Oct 23
    assert since["M"] == date(2026, 11, 20)  # quoted, negotiating, quoted again
    assert since["C"] == date(2026, 10, 1)  # a lead since it was created
    assert since["D"] == date(2026, 11, 20)  # first seen at negotiating


def test_piling_share_of_open_deals_without_a_stage_change_in_30_days() -> None:
    as_of = date(2026, 11, 20)
    history = _history()
    deals = history[history["as_of"] == pd.Timestamp(as_of)]
    piled = piled_deals(deals, history, as_of).set_index("deal_id")
    # A: Nov 20 − Oct 9 = 42 days ≥ 30 → piled; B: 28 days; M: 0; C: Nov 20 −
    # Oct 1 = 50 → piled; D: 0 (first seen now: a lower bound); W is won.
    assert piled["days_in_stage"].to_dict() == {
        "A": 42,
        "B": 28,
        "M": 0,
        "C": 50,
        "D": 0,
        "Z": 2,
    }
    assert set(piled.index[piled["piled"]]) == {"A", "C"}
    # 甲: 2 piled of 5 open (A B M C D) = 0.4; 乙: 0 of 1
    assert piling_share(piled.reset_index(), "甲") == pytest.approx(0.4)
    assert piling_share(piled.reset_index(), "乙") == 0.0
    assert piling_share(piled.reset_index(), "丙") is None


def test_stage_advances_and_new_deals_per_week() -> None:
    history = _history()
    advances = stage_advances(history)
    # B contacted → quoted (Oct 23), M quoted → negotiating (Oct 23); M back to
    # quoted and A staying are not advances
    assert sorted(zip(advances["deal_id"], advances["advanced_on"], strict=True)) == [
        ("B", date(2026, 10, 23)),
        ("M", date(2026, 10, 23)),
    ]
    weekly = weekly_pipeline(
        history, date(2026, 11, 20), date(2026, 9, 26), date(2026, 11, 20)
    ).set_index(["owner", "week_end"])
    # blocks end on Fridays: Oct 23 holds both advances; C (created Thu Oct 1)
    # falls in the block Sep 26 – Oct 2; Z (Nov 18) in Nov 14–20 for 乙
    assert weekly.loc[("甲", date(2026, 10, 23)), "stage_advances"] == 2
    assert weekly.loc[("甲", date(2026, 10, 2)), "new_deals"] == 1
    assert weekly.loc[("乙", date(2026, 11, 20)), "new_deals"] == 1
    assert weekly["new_deals"].sum() == 2 and weekly["stage_advances"].sum() == 2


# ---------------------------------------------------------------- gaps


GAP_START, GAP_END = date(2026, 9, 28), date(2026, 10, 16)


def test_gaps_count_working_days_across_the_national_day_break() -> None:
    per_day = {
        # 甲 logs Sep 28, Sep 30, Sat Oct 3 (a holiday), Oct 13 and Oct 16.
        ("甲", "2026-09-28"): 1,
        ("甲", "2026-09-30"): 2,
        ("甲", "2026-10-03"): 1,
        ("甲", "2026-10-13"): 1,
        ("甲", "2026-10-16"): 1,
        # 乙 logs Sep 28 and Oct 16 only.
        ("乙", "2026-09-28"): 1,
        ("乙", "2026-10-16"): 1,
        # 丁 is silent for exactly 3 working days: Sat Oct 10, Oct 12, Oct 13.
        ("丁", "2026-09-28"): 1,
        ("丁", "2026-09-29"): 1,
        ("丁", "2026-09-30"): 1,
        ("丁", "2026-10-08"): 1,
        ("丁", "2026-10-09"): 1,
        ("丁", "2026-10-14"): 1,
        ("丁", "2026-10-15"): 1,
        ("丁", "2026-10-16"): 1,
    }
    daily = daily_actions(
        activities_frame(per_day), GAP_START, GAP_END, owners=["甲", "乙", "丙", "丁"]
    )
    gaps = action_gaps(daily)
    rows = sorted(gaps.itertuples(index=False, name=None))  # 丙 乙 甲 in code points
    assert rows == [
        # 丙 logged nothing: Sep 28–30 (3) + Oct 8, 9, 10, 12–16 (8) = 11
        ("丙", date(2026, 9, 28), date(2026, 10, 16), 11),
        # 乙, Sep 29 – Oct 15: Sep 29, 30, Oct 8, 9, 10, 12, 13, 14, 15 = 9
        ("乙", date(2026, 9, 29), date(2026, 10, 15), 9),
        # 甲, Oct 4 – Oct 12: Oct 8, Oct 9, Sat Oct 10 (make-up), Oct 12 = 4 > 3;
        # Sep 29 (1), Oct 1–2 (0, holidays) and Oct 14–15 (2) are short
        ("甲", date(2026, 10, 8), date(2026, 10, 12), 4),
    ]


def test_action_rates_per_working_day() -> None:
    per_day = {("甲", "2026-09-28"): 3, ("甲", "2026-10-03"): 2}
    daily = daily_actions(activities_frame(per_day), GAP_START, GAP_END)
    rates = action_rates(daily).set_index("owner").loc["甲"]
    # 5 follow-ups (the holiday Saturday's count too) over 11 working days;
    # effective: 2 of the 3 (1st and 3rd) and 1 of the 2 → 3
    assert (rates["actions"], rates["effective"], rates["working_days"]) == (5, 3, 11)
    assert rates["actions_per_working_day"] == pytest.approx(5 / 11)
    assert rates["effective_per_working_day"] == pytest.approx(3 / 11)


def test_calendar_grid_puts_days_under_their_monday() -> None:
    per_day = {("甲", "2026-09-28"): 3, ("甲", "2026-10-03"): 2}
    daily = daily_actions(activities_frame(per_day), GAP_START, GAP_END)
    grid = calendar_grid(daily, "甲")
    assert list(grid.columns) == [
        date(2026, 9, 28),
        date(2026, 10, 5),
        date(2026, 10, 12),
    ]
    assert grid.loc[0, date(2026, 9, 28)] == 3  # Monday Sep 28
    assert grid.loc[5, date(2026, 9, 28)] == 2  # Saturday Oct 3
    assert pd.isna(grid.loc[5, date(2026, 10, 12)])  # Sat Oct 17: after the window
    assert grid.sum().sum() == 5


# ---------------------------------------------------------------- idle, overdue


def test_idle_and_overdue_deals_at_their_boundaries() -> None:
    as_of = date(2026, 11, 20)
    deals = deals_frame(
        [
            # quoted: idle limit 14 days
            {
                "deal_id": "A",
                "owner": "甲",
                "stage": "quoted",
                "last_touch_at": "2026-11-06",
                "next_step_due": "2026-11-20",
            },
            {
                "deal_id": "B",
                "owner": "甲",
                "stage": "quoted",
                "last_touch_at": "2026-11-05",
                "next_step_due": "2026-11-19",
            },
            # never touched: counts from created_at; lead limit 7 days
            {
                "deal_id": "C",
                "owner": "甲",
                "stage": "lead",
                "created_at": "2026-11-12",
            },
            {
                "deal_id": "D",
                "owner": "甲",
                "stage": "won",
                "last_touch_at": "2026-01-01",
                "next_step_due": "2026-01-01",
            },
        ]
    )
    idle = idle_deals(deals, as_of)
    # A: 14 days = the limit, not idle; B: 15 > 14; C: 8 > 7; D is won
    assert list(zip(idle["deal_id"], idle["idle_days"], strict=True)) == [
        ("B", 15),
        ("C", 8),
    ]
    overdue = overdue_next_steps(deals, as_of)
    # due on as_of is not overdue; due the day before is, by 1 day
    assert list(zip(overdue["deal_id"], overdue["days_overdue"], strict=True)) == [
        ("B", 1)
    ]


# ---------------------------------------------------------------- report


def test_rep_flags_against_limits_and_team_median() -> None:
    median = {
        "idle_deals": 2.0,
        "overdue_next_steps": 1.0,
        "actions_per_working_day": 6.0,
    }
    steady = {
        "weekly_cv": 0.5,
        "month_end_share": 0.5,
        "piling_share": 0.5,
        "idle_deals": 4,
        "overdue_next_steps": 3,
        "gap_working_days": 3,
        "actions_per_working_day": 3.0,
    }
    # every figure exactly at its limit: nothing flagged (limits are "above");
    # idle limit max(2 × 2, 3) = 4, overdue max(2 × 1, 3) = 3, low < 6 / 2 = 3
    assert rep_flags(steady, median) == []
    off = {
        "weekly_cv": 0.51,
        "month_end_share": 0.6,
        "piling_share": 0.7,
        "idle_deals": 5,
        "overdue_next_steps": 4,
        "gap_working_days": 4,
        "actions_per_working_day": 2.9,
    }
    assert rep_flags(off, median) == [
        "waves",
        "month_end_rush",
        "piling_up",
        "idle_deals",
        "overdue_next_steps",
        "gaps",
        "low_activity",
    ]


def test_rhythm_report_sorts_the_most_off_rep_first_and_gives_the_cli_shape() -> None:
    start, end = GAP_START, GAP_END
    per_day = {
        ("甲", day.isoformat()): 2
        for day in (start + timedelta(days=n) for n in range(19))
    }
    per_day[("乙", "2026-09-28")] = 1
    history = _history().assign(as_of=pd.Timestamp("2026-10-16"), snapshot_id=1)
    history = history.drop_duplicates("deal_id", keep="last")
    report = rhythm_report(activities_frame(per_day), history, history, start, end, end)
    assert list(report.reps["owner"]) == ["乙", "甲"]
    # 乙 is silent from Sep 29 on: 10 working days; 1 follow-up / 11 working
    # days is below half the team median ((38/11 + 1/11) / 2 = 1.77) / 2
    assert report.rep("乙")["flags"] == ["gaps", "low_activity"]
    figures = report.as_dict()
    assert set(figures) >= {"reps", "team_median"}
    assert list(figures["reps"][0]) == [
        "owner",
        "actions",
        "effective",
        "actions_per_working_day",
        "effective_per_working_day",
        "weekly_cv",
        "month_end_share",
        "piling_share",
        "idle_deals",
        "overdue_next_steps",
        "flags",
    ]
    # 甲: 2 a day for 19 days = 38 follow-ups, 19 effective
    assert figures["reps"][1]["actions"] == 38 and figures["reps"][1]["effective"] == 19
    weekly = weekly_with_median(report, "甲")
    # 19 days hold two whole weeks (Oct 3–9, Oct 10–16): 14 a week each
    assert list(weekly["actions"]) == [14, 14]
    assert list(weekly["team_actions"]) == [7.0, 7.0]  # median of 14 and 0


def test_rhythm_report_with_no_follow_ups_or_deals_is_empty() -> None:
    empty = activities_frame({})
    history = _history().iloc[0:0]
    report = rhythm_report(empty, history, history, GAP_START, GAP_END, GAP_END)
    assert report.reps.empty
    assert report.as_dict()["reps"] == []
