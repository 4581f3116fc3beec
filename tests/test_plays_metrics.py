"""Plays judged by outcomes (metrics.plays) on hand-built deals; every expected
value is worked out by hand in the comments next to it."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from sales_core.metrics.plays import (
    compare_plays,
    customer_type_keys,
    fold_customer_type,
    play_usage,
    reached_stages,
    stage_coverage,
    win_rate_by_customer_type,
)
from sales_core.stages import default_model

MODEL = default_model()
ALIASES = {
    fold_customer_type(spelling): key
    for key, spellings in {
        "hesitant": ("hesitant", "有意向但犹豫", "有兴趣但犹豫"),
        "price_comparer": ("price_comparer", "比价型", "喜欢比价"),
    }.items()
    for spelling in spellings
}
DEAL_COLUMNS = [
    "deal_id", "customer", "owner", "stage", "amount", "lost_at_stage",
    "customer_type", "last_touch_at", "play",
]  # fmt: skip


def deals_frame(rows: list[tuple]) -> pd.DataFrame:
    """Deals from (deal_id, stage, lost_at_stage, customer_type, play) tuples."""
    frame = pd.DataFrame(
        [
            {"deal_id": deal_id, "customer": f"客户{deal_id}", "owner": "李娜",
             "stage": stage, "amount": 10000.0, "lost_at_stage": lost_at,
             "customer_type": kind, "last_touch_at": None, "play": play}
            for deal_id, stage, lost_at, kind, play in rows
        ],
        columns=DEAL_COLUMNS,
    )  # fmt: skip
    frame["last_touch_at"] = pd.to_datetime(frame["last_touch_at"])
    for column in ("stage", "lost_at_stage", "customer_type", "play"):
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return frame


def _rows(prefix, count, stage, lost_at=None, kind="有意向但犹豫", play=None):
    return [(f"{prefix}{n}", stage, lost_at, kind, play) for n in range(count)]


# The 30 deals. Play "P" is for hesitant customers and is compared at quoted.
#   A: 12 hesitant deals that used P (play column "P", some spelled 有兴趣但犹豫)
#   B: 14 hesitant deals without P
#   C:  3 price comparers that used P (another customer type: not in the cell)
#   D:  1 hesitant deal that used P with no stage (reached nothing: not in it)
THIRTY = deals_frame(
    _rows("A-won-", 4, "won", play="P")
    + _rows("A-lostneg-", 2, "lost", "negotiating", kind="有兴趣但犹豫", play="P")
    + _rows("A-lostq-", 1, "lost", "quoted", play="P")
    + _rows("A-dec-", 2, "deciding", play="P")
    + _rows("A-q-", 2, "quoted", play="P、Q")
    + _rows("A-c-", 1, "contacted", play="P")
    + _rows("B-won-", 2, "won")
    + _rows("B-lostq-", 3, "lost", "quoted")
    + _rows("B-lostneg-", 1, "lost", "negotiating")
    + _rows("B-lostunk-", 1, "lost", None)
    + _rows("B-q-", 3, "quoted")
    + _rows("B-neg-", 1, "negotiating")
    + _rows("B-lead-", 2, "lead")
    + _rows("B-c-", 1, "contacted", kind="有兴趣但犹豫")
    + _rows("C-", 2, "won", kind="喜欢比价", play="P")
    + _rows("C-lost-", 1, "lost", "quoted", kind="比价型", play="P")
    + _rows("D-", 1, None, play="P")
)
PLAYS = pd.DataFrame([{"key": "P", "customer_type": "hesitant", "stages": ("quoted",)}])


def test_the_thirty_deals_are_thirty():
    assert len(THIRTY) == 30
    assert THIRTY["deal_id"].is_unique


def test_play_column_marks_the_deals_that_used_the_play():
    usage = play_usage(THIRTY, None, {"P": [], "Q": []}, play_column="play")

    # A (12) + C (3) + D (1) name P; the two A-q deals also name Q ("P、Q").
    assert (usage["play"] == "P").sum() == 16
    assert sorted(usage.loc[usage["play"] == "Q", "deal_id"]) == ["A-q-0", "A-q-1"]
    assert set(usage["via"]) == {"column"}


def test_comparison_on_thirty_deals_matches_hand_computation():
    usage = play_usage(THIRTY, None, {"P": []}, play_column="play")
    table = compare_plays(THIRTY, usage, PLAYS, ALIASES, MODEL, min_deals=5)

    assert len(table) == 1  # one cell: (P, quoted, hesitant)
    row = table.iloc[0]
    assert (row["play"], row["stage"], row["customer_type"]) == (
        "P", "quoted", "hesitant")  # fmt: skip

    # With P, reached quoted: 4 won + 2 lost at negotiating + 1 lost at quoted
    # + 2 at deciding + 2 at quoted = 11 (A-c is still at contacted: out).
    # Reached negotiating: 4 won + 2 lost at negotiating + 2 deciding = 8.
    # conversion 8/11 = 0.727273; Wilson, z = 1.959964, z² = 3.841459:
    #   z²/n = 0.349224, denominator 1.349224
    #   centre = (0.727273 + 3.841459/22) / 1.349224 = 0.668447
    #   half = 1.959964·√(0.727273·0.272727/11 + 3.841459/484) / 1.349224
    #        = 0.234092  →  (0.4344, 0.9025)
    assert row["with_deals"] == 11 and row["with_next"] == 8
    assert row["with_conversion"] == pytest.approx(8 / 11)
    assert row["with_conversion_low"] == pytest.approx(0.4344, abs=1e-4)
    assert row["with_conversion_high"] == pytest.approx(0.9025, abs=1e-4)
    # Closed among them: 4 won + 3 lost = 7, win rate 4/7 = 0.571429:
    #   z²/n = 0.548780, denominator 1.548780, centre 0.546119, half 0.295661
    #   → (0.2505, 0.8418)
    assert row["with_closed"] == 7 and row["with_won"] == 4
    assert row["with_win_rate"] == pytest.approx(4 / 7)
    assert row["with_win_low"] == pytest.approx(0.2505, abs=1e-4)
    assert row["with_win_high"] == pytest.approx(0.8418, abs=1e-4)

    # Without P, reached quoted: 2 won + 3 lost at quoted + 1 lost at
    # negotiating + 3 at quoted + 1 at negotiating = 10 (the lost deal with no
    # lost stage, 2 leads and 1 contacted reached nothing known: out).
    # Reached negotiating: 2 won + 1 lost at negotiating + 1 negotiating = 4.
    # conversion 4/10: z²/n = 0.384146, centre 0.427753, half 0.259573
    #   → (0.1682, 0.6873)
    assert row["without_deals"] == 10 and row["without_next"] == 4
    assert row["without_conversion"] == pytest.approx(0.4)
    assert row["without_conversion_low"] == pytest.approx(0.1682, abs=1e-4)
    assert row["without_conversion_high"] == pytest.approx(0.6873, abs=1e-4)
    # Closed: 2 won + 3 + 1 lost = 6, win rate 2/6: z²/n = 0.640243,
    #   centre 0.398389, half 0.301618 → (0.0968, 0.7000)
    assert row["without_closed"] == 6 and row["without_won"] == 2
    assert row["without_win_rate"] == pytest.approx(1 / 3)
    assert row["without_win_low"] == pytest.approx(0.0968, abs=1e-4)
    assert row["without_win_high"] == pytest.approx(0.7000, abs=1e-4)

    # Smallest group 6 ≥ 5: enough deals. The intervals overlap
    # (0.4344 < 0.6873 and 0.2505 < 0.7000): no difference is flagged.
    assert not row["too_few"]
    assert not row["conversion_differs"] and not row["win_rate_differs"]


def test_too_few_deals_mark_with_the_default_minimum():
    usage = play_usage(THIRTY, None, {"P": []}, play_column="play")
    table = compare_plays(THIRTY, usage, PLAYS, ALIASES, MODEL)

    # Default minimum 10: the groups' closed deals (7 and 6) are below it.
    assert bool(table.iloc[0]["too_few"])


def test_play_with_no_stage_is_compared_at_every_stage_it_was_used():
    usage = play_usage(THIRTY, None, {"P": []}, play_column="play")
    plays = pd.DataFrame([{"key": "P", "customer_type": "hesitant", "stages": ()}])
    table = compare_plays(THIRTY, usage, plays, ALIASES, MODEL, min_deals=5)

    assert list(table["stage"]) == ["lead", "contacted", "quoted", "negotiating",
                                    "deciding"]  # fmt: skip
    lead = table.set_index("stage").loc["lead"]
    # At lead, with P: all 12 A deals reached lead, and all 12 reached
    # contacted too (the earliest of them, A-c, is at contacted): 12/12.
    assert (lead["with_deals"], lead["with_next"]) == (12, 12)
    # Without P: 13 reached lead (14 minus the lost deal with no stage);
    # 11 reached contacted (the 2 leads did not).
    assert (lead["without_deals"], lead["without_next"]) == (13, 11)
    deciding = table.set_index("stage").loc["deciding"]
    # At deciding, next is won: with P 4 won + 2 deciding reached it, 4 won.
    assert (deciding["with_deals"], deciding["with_next"]) == (6, 4)


def test_history_shows_stages_a_lost_deal_reached():
    history = pd.DataFrame(
        {"deal_id": ["B-lostunk-0", "B-lostunk-0"], "stage": ["contacted", "quoted"],
         "lost_at_stage": [None, None]}
    )  # fmt: skip
    reached = reached_stages(THIRTY, MODEL, history).set_index(THIRTY["deal_id"])

    assert reached.loc["B-lostunk-0", "quoted"]
    assert not reached.loc["B-lostunk-0", "negotiating"]
    assert not reached_stages(THIRTY, MODEL).set_index(THIRTY["deal_id"]).loc[
        "B-lostunk-0", "lead"]  # fmt: skip


def test_follow_up_keywords_mark_plays_width_and_case_folded():
    deals = deals_frame([("D1", "quoted", None, "有意向但犹豫", None),
                         ("D2", "quoted", None, "比价型", None),
                         ("D3", "lead", None, "比价型", None)])  # fmt: skip
    activities = pd.DataFrame(
        {
            "deal_id": ["D1", None, "D9", "D3"],
            "customer": ["客户D1", "客户D2", "客户D9", "客户D3"],
            "summary": ["提供案例，客户反馈待确认", "发了 ＣＡＳＥ Study",
                        "提供案例", "电话沟通"],
        }
    )  # fmt: skip
    keywords = {"hesitant_play": ["提供案例", "case study"], "other": ["不会出现"]}
    usage = play_usage(deals, activities, keywords)

    # D1 by its deal id; D2 by customer (no deal id; "ＣＡＳＥ Study" folds to
    # "case study"); D9 is no known deal; D3's text names no keyword.
    assert list(zip(usage["deal_id"], usage["play"], usage["via"], strict=True)) == [
        ("D1", "hesitant_play", "follow_up"),
        ("D2", "hesitant_play", "follow_up"),
    ]


def test_win_rate_by_customer_type_so_far():
    table = win_rate_by_customer_type(THIRTY, ALIASES, MODEL, min_deals=5)
    by_type = table.set_index("customer_type")

    assert list(table["customer_type"]) == ["hesitant", "price_comparer"]
    # Hesitant: won 4 (A) + 2 (B) = 6; lost 3 (A) + 5 (B) = 8; 27 deals.
    # 6/14 = 0.428571: z²/n = 0.274390, centre 0.443951, half 0.230143
    #   → (0.2138, 0.6741)
    hesitant = by_type.loc["hesitant"]
    assert (hesitant["deals"], hesitant["won"], hesitant["lost"]) == (27, 6, 8)
    assert hesitant["open"] == 12  # A: 2+2+1, B: 3+1+2+1, D has no stage
    assert hesitant["win_rate"] == pytest.approx(6 / 14)
    assert hesitant["win_low"] == pytest.approx(0.2138, abs=1e-4)
    assert hesitant["win_high"] == pytest.approx(0.6741, abs=1e-4)
    assert not hesitant["too_few"]
    assert hesitant["spellings"] == ["有兴趣但犹豫", "有意向但犹豫"]
    # Price comparers: 2 won, 1 lost → 2/3, (0.2077, 0.9385); 3 closed < 5.
    comparer = by_type.loc["price_comparer"]
    assert comparer["win_rate"] == pytest.approx(2 / 3)
    assert comparer["win_low"] == pytest.approx(0.2077, abs=1e-4)
    assert comparer["win_high"] == pytest.approx(0.9385, abs=1e-4)
    assert comparer["too_few"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("有意向但犹豫", "hesitant"), ("有兴趣 但犹豫", "hesitant"),
     ("ＨＥＳＩＴＡＮＴ", "hesitant"), ("喜欢比价", "price_comparer"),
     ("新类型", "新类型"), (None, None), ("  ", None)],
)  # fmt: skip
def test_customer_type_spellings_fold_onto_keys(raw, expected):
    assert customer_type_keys(pd.Series([raw], dtype=object), ALIASES)[0] == expected


def test_stage_coverage_counts_scripts_and_idle_deals():
    plays = pd.DataFrame(
        [
            {"key": "s1", "kind": "stage_sop", "stages": ("lead",), "retired": False},
            {"key": "t1", "kind": "template", "stages": ("quoted",), "retired": False},
            {"key": "o1", "kind": "objection", "stages": ("negotiating",),
             "retired": False},
            {"key": "s2", "kind": "stage_sop", "stages": ("negotiating",),
             "retired": True},
        ]
    )  # fmt: skip
    deals = deals_frame([("N1", "negotiating", None, None, None),
                         ("N2", "negotiating", None, None, None),
                         ("Q1", "quoted", None, None, None),
                         ("W1", "won", None, None, None)])  # fmt: skip
    deals["last_touch_at"] = pd.to_datetime(
        ["2026-11-01", None, "2026-11-01", "2026-10-01"])  # fmt: skip
    table = stage_coverage(plays, deals, date(2026, 11, 20), MODEL).set_index("stage")

    # Negotiating: idle limit 14 days; N1 untouched 19 days → idle; N2 has no
    # last touch and no created date → not counted. Its SOP s2 is retired and o1 is no script.
    assert table.loc["negotiating", "deals"] == 2
    assert table.loc["negotiating", "idle_deals"] == 1
    assert table.loc["negotiating", "plays"] == 1
    assert not table.loc["negotiating", "covered"]
    assert table.loc["negotiating", "stuck_without_script"]
    # Quoted: limit 14, Q1 idle 19 days, but template t1 covers it.
    assert table.loc["quoted", "covered"] and table.loc["quoted", "idle_deals"] == 1
    assert not table.loc["quoted", "stuck_without_script"]
    assert table.loc["lead", "script_keys"] == ["s1"]
    # Won has no idle limit: never idle.
    assert table.loc["won", "idle_deals"] == 0 and table.loc["won", "deals"] == 1


def test_stage_coverage_counts_a_never_touched_deal_from_its_creation():
    """Same rule as the pipeline board: no last touch → idle since created_at."""
    plays = pd.DataFrame(columns=["key", "kind", "stages", "retired"])
    deals = deals_frame([("N1", "negotiating", None, None, None),
                         ("N2", "negotiating", None, None, None)])  # fmt: skip
    deals["last_touch_at"] = pd.to_datetime([None, None])
    # N1 created 2026-11-01: 19 days before as_of > 14 → idle; N2 created
    # 2026-11-10: 10 days → not idle.
    deals["created_at"] = pd.to_datetime(["2026-11-01", "2026-11-10"])
    table = stage_coverage(plays, deals, date(2026, 11, 20), MODEL).set_index("stage")

    assert table.loc["negotiating", "idle_deals"] == 1


def test_win_rate_rows_for_unknown_and_blank_customer_types_come_last():
    deals = deals_frame([("a", "won", None, "比价型", None),
                         ("b", "lost", None, None, None),
                         ("c", "won", None, "新类型", None),
                         ("d", "lost", None, "新类型", None)])  # fmt: skip
    table = win_rate_by_customer_type(deals, ALIASES, MODEL)

    assert list(table["customer_type"]) == ["price_comparer", "新类型", None]
    # 新类型: 1 won, 1 lost → 1/2; the blank type: 0 won, 1 lost → 0/1.
    assert list(table["win_rate"]) == [1.0, 0.5, 0.0]
