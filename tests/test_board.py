"""The pipeline board's rules on hand-picked dates: idle (both sides of the
limit day), overdue next steps, about to close, waiting untouched, stage
totals, filters and sorting. as_of is Friday 2026-11-27 throughout."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from sales_core.metrics.board import (
    BoardFilters,
    filter_deals,
    flag_open_deals,
    pipeline_board,
    sort_deals,
    stage_totals,
)
from sales_core.stages import default_model

MODEL = default_model()
AS_OF = date(2026, 11, 27)

COLUMNS = [
    "deal_id",
    "customer",
    "owner",
    "team",
    "stage",
    "amount",
    "created_at",
    "expected_close",
    "next_step",
    "next_step_due",
    "last_touch_at",
    "source",
    "intent",
    "industry",
]
DATES = ["created_at", "expected_close", "next_step_due", "last_touch_at"]


def deals_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows).reindex(columns=COLUMNS)
    frame["amount"] = frame["amount"].astype("float64")
    for column in DATES:
        frame[column] = pd.to_datetime(frame[column], format="ISO8601")
    return frame


def flags(rows: list[dict]) -> pd.DataFrame:
    return flag_open_deals(deals_frame(rows), AS_OF, MODEL).set_index("deal_id")


# ---------------------------------------------------------------- idle


def test_idle_starts_the_day_after_the_stage_limit():
    table = flags(
        [
            # lead: limit 7 days
            {
                "deal_id": "LEAD_ON_LIMIT",
                "stage": "lead",
                "last_touch_at": "2026-11-20",
            },
            {"deal_id": "LEAD_PAST", "stage": "lead", "last_touch_at": "2026-11-19"},
            # contacted: limit 10 days
            {
                "deal_id": "CONT_ON_LIMIT",
                "stage": "contacted",
                "last_touch_at": "2026-11-17",
            },
            {
                "deal_id": "CONT_PAST",
                "stage": "contacted",
                "last_touch_at": "2026-11-16",
            },
            # the time of day does not matter: 11-20 late evening is still 7 days
            {
                "deal_id": "LATE_EVENING",
                "stage": "lead",
                "last_touch_at": "2026-11-20 23:59",
            },
            # deciding: limit 21 days; touched today
            {"deal_id": "TODAY", "stage": "deciding", "last_touch_at": "2026-11-27"},
        ]
    )
    # as_of − last touch: 11-27 − 11-20 = 7 (= limit, not idle); − 11-19 = 8 (> 7)
    assert table.loc["LEAD_ON_LIMIT", "days_idle"] == 7
    assert not table.loc["LEAD_ON_LIMIT", "idle"]
    assert table.loc["LEAD_PAST", "days_idle"] == 8
    assert table.loc["LEAD_PAST", "idle"]
    # 11-27 − 11-17 = 10 (= limit 10, not idle); − 11-16 = 11 (idle)
    assert not table.loc["CONT_ON_LIMIT", "idle"]
    assert table.loc["CONT_PAST", "idle"]
    assert not table.loc["LATE_EVENING", "idle"]
    assert table.loc["TODAY", "days_idle"] == 0
    assert not table.loc["TODAY", "idle"]


def test_idle_falls_back_to_created_at_and_ignores_closed_deals():
    table = flags(
        [
            {"deal_id": "NEVER_TOUCHED", "stage": "lead", "created_at": "2026-11-01"},
            {"deal_id": "NO_DATES", "stage": "lead"},
            {"deal_id": "WON", "stage": "won", "last_touch_at": "2026-01-01"},
            {"deal_id": "LOST", "stage": "lost", "last_touch_at": "2026-01-01"},
            {"deal_id": "UNKNOWN_STAGE", "stage": None, "last_touch_at": "2026-01-01"},
        ]
    )
    # no touch recorded: 11-27 − created 11-01 = 26 days > 7
    assert table.loc["NEVER_TOUCHED", "days_idle"] == 26
    assert table.loc["NEVER_TOUCHED", "idle"]
    # nothing known: not flagged, shown as unknown
    assert pd.isna(table.loc["NO_DATES", "days_idle"])
    assert not table.loc["NO_DATES", "idle"]
    # only open deals are on the board
    assert list(table.index) == ["NEVER_TOUCHED", "NO_DATES"]


# ---------------------------------------------------------------- overdue


def test_overdue_next_step_is_due_strictly_before_as_of():
    table = flags(
        [
            {"deal_id": "YESTERDAY", "stage": "quoted", "next_step_due": "2026-11-26"},
            {"deal_id": "TODAY", "stage": "quoted", "next_step_due": "2026-11-27"},
            {
                "deal_id": "TODAY_EARLY",
                "stage": "quoted",
                "next_step_due": "2026-11-27 08:00",
            },
            {"deal_id": "MONTH_AGO", "stage": "quoted", "next_step_due": "2026-10-27"},
            {"deal_id": "NO_DUE", "stage": "quoted"},
        ]
    )
    assert table["next_step_overdue"].to_dict() == {
        "YESTERDAY": True,
        "TODAY": False,
        "TODAY_EARLY": False,
        "MONTH_AGO": True,
        "NO_DUE": False,
    }
    # 11-27 − 10-27 = 31 days
    assert table.loc["MONTH_AGO", "days_overdue"] == 31
    assert table.loc["TODAY", "days_overdue"] == 0


# ---------------------------------------------------------------- closing lists


def test_about_to_close_and_waiting_untouched_boundaries():
    table = flags(
        [
            {
                "deal_id": "DECIDING_FAR",
                "stage": "deciding",
                "expected_close": "2027-03-01",
                "last_touch_at": "2026-11-26",
            },
            {
                "deal_id": "IN_14_DAYS",
                "stage": "quoted",
                "expected_close": "2026-12-11",
                "last_touch_at": "2026-11-20",
            },
            {
                "deal_id": "IN_15_DAYS",
                "stage": "quoted",
                "expected_close": "2026-12-12",
                "last_touch_at": "2026-11-01",
            },
            {
                "deal_id": "TODAY",
                "stage": "lead",
                "expected_close": "2026-11-27",
                "last_touch_at": "2026-11-21",
            },
            {
                "deal_id": "PAST",
                "stage": "quoted",
                "expected_close": "2026-11-26",
                "last_touch_at": "2026-11-01",
            },
            {"deal_id": "NO_DATE", "stage": "quoted", "last_touch_at": "2026-11-01"},
        ]
    )
    # 12-11 − 11-27 = 14 days (in), 12-12 = 15 (out), 11-26 = −1 (past, out)
    assert table["about_to_close"].to_dict() == {
        "DECIDING_FAR": True,
        "IN_14_DAYS": True,
        "IN_15_DAYS": False,
        "TODAY": True,
        "PAST": False,
        "NO_DATE": False,
    }
    # untouched 7 days: IN_14_DAYS touched 11-20 (7 days ago: listed);
    # TODAY touched 11-21 (6 days: not); DECIDING_FAR touched yesterday
    assert table["waiting_untouched"].to_dict() == {
        "DECIDING_FAR": False,
        "IN_14_DAYS": True,
        "IN_15_DAYS": False,
        "TODAY": False,
        "PAST": False,
        "NO_DATE": False,
    }


# ---------------------------------------------------------------- totals


def test_stage_totals_count_amount_and_weighted_amount():
    open_deals = flags(
        [
            {"deal_id": "L1", "stage": "lead", "amount": 10000},
            {"deal_id": "L2", "stage": "lead", "amount": None},
            {
                "deal_id": "Q1",
                "stage": "quoted",
                "amount": 30000,
                "last_touch_at": "2026-11-01",
            },
            {"deal_id": "W", "stage": "won", "amount": 99999},
        ]
    ).reset_index()
    totals = stage_totals(open_deals, MODEL).set_index("stage")

    assert list(totals.index) == MODEL.open_keys  # every open stage, in order
    # lead: 2 deals, 10000 + 0 (missing) = 10000, × 5% = 500
    assert totals.loc["lead", ["count", "amount"]].tolist() == [2, 10000]
    assert totals.loc["lead", "weighted_amount"] == pytest.approx(500)
    # quoted: 30000 × 30% = 9000; idle (26 days > 14)
    assert totals.loc["quoted", "weighted_amount"] == pytest.approx(9000)
    assert totals.loc["quoted", "idle"] == 1
    assert totals.loc["deciding", ["count", "amount", "weighted_amount"]].tolist() == [
        0,
        0,
        0,
    ]
    # the team's own rates replace the defaults: 10000 × 0.2 = 2000
    with_rates = stage_totals(open_deals, MODEL, {"lead": 0.2}).set_index("stage")
    assert with_rates.loc["lead", "weighted_amount"] == pytest.approx(2000)


# ---------------------------------------------------------------- filters, sort


FILTER_ROWS = [
    {
        "deal_id": "A",
        "stage": "lead",
        "amount": 5000,
        "team": "华东组",
        "owner": "张伟",
        "source": "官网",
        "intent": "A",
        "industry": "物流",
    },
    {
        "deal_id": "B",
        "stage": "quoted",
        "amount": 50000,
        "team": "华南组",
        "owner": "李娜",
        "source": "展会",
        "intent": "B",
        "industry": "医疗",
    },
    {
        "deal_id": "C",
        "stage": "quoted",
        "amount": None,
        "team": "华东组",
        "owner": "王强",
        "source": "官网",
        "intent": "A",
        "industry": "医疗",
    },
]


@pytest.mark.parametrize(
    ("filters", "kept"),
    [
        (BoardFilters(), ["A", "B", "C"]),
        (BoardFilters(teams=("华东组",)), ["A", "C"]),
        (BoardFilters(reps=("李娜", "王强")), ["B", "C"]),
        (BoardFilters(sources=("官网",), industries=("医疗",)), ["C"]),
        (BoardFilters(intents=("B",)), ["B"]),
        (BoardFilters(min_amount=5000), ["A", "B"]),  # C has no amount
        (BoardFilters(max_amount=4999.99), []),
        (BoardFilters(min_amount=1000, max_amount=10000), ["A"]),
    ],
)
def test_filters(filters, kept):
    assert list(filter_deals(deals_frame(FILTER_ROWS), filters)["deal_id"]) == kept


def test_sorting_puts_missing_values_last():
    table = flags(FILTER_ROWS).reset_index()
    assert list(sort_deals(table, "amount")["deal_id"]) == ["B", "A", "C"]
    assert list(sort_deals(table, "customer")["deal_id"]) == ["A", "B", "C"]


def test_board_applies_filters_before_totals_and_lists_ids():
    rows = [
        *FILTER_ROWS,
        {
            "deal_id": "D",
            "stage": "deciding",
            "amount": 1000,
            "team": "华南组",
            "next_step_due": "2026-11-01",
            "last_touch_at": "2026-10-01",
        },
    ]
    board = pipeline_board(
        deals_frame(rows), AS_OF, MODEL, filters=BoardFilters(teams=("华南组",))
    )
    figures = board.as_dict()

    assert figures["as_of"] == "2026-11-27"
    stages = {row["stage"]: (row["count"], row["amount"]) for row in figures["stages"]}
    assert stages["quoted"] == (1, 50000.0)  # B only; C is 华东组
    assert stages["deciding"] == (1, 1000.0)
    # D: 57 days untouched > 21, due 11-01, deciding, untouched ≥ 7 days
    assert figures["idle"] == ["D"]
    assert figures["overdue"] == ["D"]
    assert figures["about_to_close"] == ["D"]
    assert figures["waiting_untouched"] == ["D"]
