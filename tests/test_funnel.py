"""Funnel leakage metrics on small hand-built frames and cases C16 and C18.

Every expected number is worked out by hand in the comment beside it. The
frames use the default stage model: lead → contacted → quoted → negotiating
→ deciding → won, with lost off the path.
"""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import date
from decimal import Decimal, getcontext
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sales_core.cli import main
from sales_core.errors import KongpanError
from sales_core.export import to_csv_bytes, to_xlsx_bytes
from sales_core.funnel_report import (
    conversion_heatmap,
    current_figure,
    deal_list,
    funnel_figure,
    win_rate_figure,
)
from sales_core.ingest.parse import parse_file
from sales_core.metrics.funnel import (
    UNKNOWN,
    Z_95,
    closed_deals_behind,
    cohort,
    compare_conversion,
    compare_win_rates,
    deals_behind,
    funnel_stages,
    intervals_apart,
    lost_reasons_by_stage,
    place_deals,
    results,
    stage_counts,
    stage_mask,
    summarize_funnel,
    time_in_stage,
    wilson_interval,
)
from sales_core.stages import default_model

MODEL = default_model()
CASES_DIR = Path(__file__).resolve().parent / "cases"
PATH = ["lead", "contacted", "quoted", "negotiating", "deciding", "won"]
START, END = date(2026, 1, 1), date(2026, 3, 31)

DEAL_COLUMNS = [
    "deal_id", "deal_name", "customer", "owner", "team", "stage", "amount",
    "currency", "win_probability", "created_at", "expected_close", "closed_at",
    "lost_reason", "lost_at_stage", "source", "intent", "industry",
    "customer_type", "product", "next_step", "next_step_due", "last_touch_at",
    "note",
]  # fmt: skip
DATE_COLUMNS = [
    "created_at", "expected_close", "closed_at", "next_step_due", "last_touch_at"
]  # fmt: skip


def deals_frame(rows: list[dict]) -> pd.DataFrame:
    """A canonical deals frame: missing fields None/NaN/NaT, dates datetime64."""
    frame = pd.DataFrame(rows).reindex(columns=DEAL_COLUMNS)
    frame = frame.astype({"amount": "float64", "win_probability": "float64"})
    for column in DATE_COLUMNS:
        frame[column] = pd.to_datetime(frame[column], format="ISO8601")
    for column in (
        "deal_id",
        "stage",
        "lost_at_stage",
        "owner",
        "team",
        "customer",
        "lost_reason",
        "source",
    ):
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return frame


def deal(number: int, stage: str, owner: str = "甲", **fields) -> dict:
    """A deal created on 2 Jan + number days (all inside January)."""
    return {"deal_id": f"D{number:02d}", "stage": stage, "owner": owner,
            "created_at": f"2026-01-{1 + number:02d}", **fields}  # fmt: skip


def twenty_deals() -> pd.DataFrame:
    """Twenty deals created in January 2026, the period being Jan–Mar 2026.

    Open: D01–D03 lead, D04–D05 contacted, D06–D07 quoted, D08 negotiating,
    D09 deciding. Won: D10–D13 (D13 closes in April, after the period).
    Lost at: D14 lead, D15 contacted, D16 and D17 quoted, D18 negotiating,
    D19 deciding; D20 lost at an unknown stage (closes in April).
    """
    rows = [deal(n, "lead") for n in (1, 2, 3)]
    rows += [deal(n, "contacted") for n in (4, 5)]
    rows += [deal(n, "quoted", "乙") for n in (6, 7)]
    rows += [deal(8, "negotiating", "乙"), deal(9, "deciding", "乙")]
    won = [
        (10, "2026-01-12", "2026-02-11", 10_000),  # cycle 30 days
        (11, "2026-01-12", "2026-02-21", 20_000),  # cycle 40 days
        (12, "2026-01-12", "2026-03-13", 30_000),  # cycle 60 days
        (13, "2026-01-12", "2026-04-10", 40_000),
    ]  # closed after the period
    for number, created, closed, amount in won:
        rows.append(
            deal(number, "won", "乙", amount=amount, closed_at=closed)
            | {"created_at": created}
        )
    lost = [
        (14, "lead", "联系不上"),
        (15, "contacted", "预算取消"),
        (16, "quoted", "价格太高"),
        (17, "quoted", "价格太高"),
        (18, "negotiating", "选择了竞品"),
        (19, "deciding", None),
    ]
    for number, at, reason in lost:
        rows.append(
            deal(
                number,
                "lost",
                "甲",
                lost_at_stage=at,
                lost_reason=reason,
                closed_at="2026-03-01",
            )
        )
    rows.append(deal(20, "lost", "甲", lost_reason="价格太高", closed_at="2026-04-02"))
    return deals_frame(rows)


@pytest.fixture
def twenty() -> pd.DataFrame:
    return twenty_deals()


def _by_stage(stages: pd.DataFrame, column: str) -> dict:
    return dict(zip(stages["stage"], stages[column], strict=True))


# ---------------------------------------------------------------- the funnel


def test_twenty_deals_reached_conversion_and_leakage_by_hand(twenty) -> None:
    stages = funnel_stages(place_deals(twenty, MODEL), MODEL)
    assert list(stages["stage"]) == [*PATH, UNKNOWN]
    # reached(k) = deals whose furthest stage is k or later:
    #   lead: all 20
    #   contacted: open D04–D09 (6) + won D10–D13 (4) + lost D15–D19 (5) = 15
    #   quoted: open D06–D09 (4) + won 4 + lost D16–D19 (4) = 12
    #   negotiating: open D08, D09 (2) + won 4 + lost D18, D19 (2) = 8
    #   deciding: open D09 + won 4 + lost D19 = 6;  won: 4
    assert _by_stage(stages, "reached") == {
        "lead": 20, "contacted": 15, "quoted": 12, "negotiating": 8,
        "deciding": 6, "won": 4, UNKNOWN: None,
    }  # fmt: skip
    # conversion = reached(next) / reached: 15/20, 12/15, 8/12, 6/8, 4/6
    conversion = _by_stage(stages, "conversion")
    assert conversion["lead"] == pytest.approx(0.75)
    assert conversion["contacted"] == pytest.approx(0.8)
    assert conversion["quoted"] == pytest.approx(2 / 3)
    assert conversion["negotiating"] == pytest.approx(0.75)
    assert conversion["deciding"] == pytest.approx(2 / 3)
    assert conversion["won"] is None and conversion[UNKNOWN] is None
    assert _by_stage(stages, "converted_to_next")["quoted"] == 8
    # lost here: D14 lead, D15 contacted, D16+D17 quoted, D18, D19; D20 unknown
    assert _by_stage(stages, "lost_here") == {
        "lead": 1, "contacted": 1, "quoted": 2, "negotiating": 1, "deciding": 1,
        "won": 0, UNKNOWN: 1,
    }  # fmt: skip
    # leakage = lost here / reached: 1/20, 1/15, 2/12, 1/8, 1/6, 0/4;
    # unknown bucket: 1 / reached(lead) = 1/20
    leakage = _by_stage(stages, "leakage")
    expected = {
        "lead": 1 / 20,
        "contacted": 1 / 15,
        "quoted": 2 / 12,
        "negotiating": 1 / 8,
        "deciding": 1 / 6,
        "won": 0.0,
        UNKNOWN: 1 / 20,
    }
    for key, value in expected.items():
        assert leakage[key] == pytest.approx(value), key


def test_every_drop_is_open_or_lost_at_that_stage(twenty) -> None:
    stages = funnel_stages(place_deals(twenty, MODEL), MODEL).set_index("stage")
    # reached(k) − reached(k+1) = open at k + lost at k (+ the unknown bucket,
    # which only reached the first stage): 20−15 = 3 open + 1 lost + 1 unknown
    opened = twenty["stage"].value_counts()
    for here, after in zip(PATH, PATH[1:], strict=False):
        drop = stages.loc[here, "reached"] - stages.loc[after, "reached"]
        unknown = stages.loc[UNKNOWN, "lost_here"] if here == "lead" else 0
        assert drop == opened.get(here, 0) + stages.loc[here, "lost_here"] + unknown


def test_open_deals_are_never_lost(twenty) -> None:
    placed = place_deals(twenty, MODEL)
    opened = placed["stage"].isin(MODEL.open_keys)
    for key in [*MODEL.open_keys, UNKNOWN]:
        assert not (stage_mask(placed, "lost_here", key, MODEL) & opened).any()
    # An open deal with a stray lost_at_stage and lost_reason is still open.
    stray = deals_frame([deal(1, "quoted", lost_at_stage="quoted", lost_reason="x")])
    stages = funnel_stages(place_deals(stray, MODEL), MODEL)
    assert sum(stages["lost_here"]) == 0
    assert _by_stage(stages, "reached")["quoted"] == 1


def test_unknown_lost_stage_is_in_the_bucket_and_no_stage_leakage() -> None:
    frame = deals_frame(
        [
            deal(1, "lost"),
            deal(2, "lost", lost_at_stage="won"),  # not an open stage
            deal(3, "lost", lost_at_stage="quoted"),
            deal(4, "contacted"),
        ]
    )
    stages = funnel_stages(place_deals(frame, MODEL), MODEL)
    # D01 and D02 have no known lost stage: bucket of 2, reached lead only;
    # D03 lost at quoted; D04 open at contacted.
    assert _by_stage(stages, "lost_here") == {
        "lead": 0, "contacted": 0, "quoted": 1, "negotiating": 0, "deciding": 0,
        "won": 0, UNKNOWN: 2,
    }  # fmt: skip
    assert _by_stage(stages, "reached")["lead"] == 4
    assert _by_stage(stages, "reached")["contacted"] == 2  # D03, D04
    assert _by_stage(stages, "leakage")["lead"] == 0.0
    assert _by_stage(stages, "leakage")[UNKNOWN] == pytest.approx(2 / 4)
    bucket = deals_behind(place_deals(frame, MODEL), "lost_here", UNKNOWN)
    assert list(bucket["deal_id"]) == ["D01", "D02"]


def test_history_fills_the_last_stage_and_how_far_a_deal_got() -> None:
    frame = deals_frame(
        [
            deal(1, "lost", closed_at="2026-02-20"),  # history: contacted, quoted
            deal(2, "contacted"),  # history: quoted, then moved back to contacted
            deal(3, "lost", closed_at="2026-02-20"),  # only an inferred event
            deal(4, "lost", closed_at="2026-02-20"),  # only an assumed (exported) entry
        ]
    )
    events = pd.DataFrame(
        {
            "deal_id": ["D01", "D01", "D02", "D02", "D03", "D04"],
            "stage": [
                "contacted",
                "quoted",
                "quoted",
                "contacted",
                "negotiating",
                "lead",
            ],
            "entered_at": pd.to_datetime(
                [
                    "2026-01-09",
                    "2026-01-23",
                    "2026-01-10",
                    "2026-01-30",
                    "2026-02-01",
                    "2026-01-05",
                ]
            ),
            "inferred": [False, False, False, False, True, False],
            "how": ["diffed", "diffed", "diffed", "diffed", "diffed", "exported"],
        }
    )
    placed = place_deals(frame, MODEL, events).set_index("deal_id")
    # D01: last stage seen before the loss is quoted → lost at quoted.
    assert placed.loc["D01", "lost_stage"] == "quoted"
    assert placed.loc["D01", "furthest"] == PATH.index("quoted")
    # D02 is at contacted now but reached quoted earlier.
    assert placed.loc["D02", "furthest"] == PATH.index("quoted")
    # D03's only event is inferred and D04's only an assumed entry: unknown.
    assert placed.loc["D03", "lost_stage"] is None
    assert placed.loc["D04", "lost_stage"] is None
    assert placed.loc["D03", "furthest"] == 0


def test_time_in_stage_uses_finished_timed_visits_only() -> None:
    frame = deals_frame(
        [
            deal(1, "won", closed_at="2026-02-20"),
            deal(2, "quoted"),
            deal(3, "won", closed_at="2026-03-01"),
            deal(4, "lost", closed_at="2026-03-01"),  # lost stage unknown
            deal(5, "lost", lost_at_stage="contacted", closed_at="2026-01-25"),
        ]
    )
    events = pd.DataFrame(
        {
            "deal_id": [
                "D01",
                "D01",
                "D01",
                "D02",
                "D02",
                "D03",
                "D03",
                "D04",
                "D05",
                "D05",
            ],
            "stage": [
                "lead",
                "contacted",
                "quoted",
                "lead",
                "quoted",
                "lead",
                "quoted",
                "lead",
                "lead",
                "contacted",
            ],
            "entered_at": pd.to_datetime(
                [
                    "2026-01-01",
                    "2026-01-11",
                    "2026-02-10",  # D01: 10 d lead, 30 contacted
                    "2026-01-01",
                    "2026-01-21",  # D02: 20 d lead, quoted still open
                    "2026-01-01",
                    "2026-02-01",  # D03: lead ends at an inferred entry
                    "2026-01-01",  # D04: lost 1 Mar, stage unknown: not 59 d in lead
                    "2026-01-01",
                    "2026-01-05",  # D05: 4 d lead, 20 d contacted, lost there
                ]
            ),
            "inferred": [
                False,
                False,
                False,
                False,
                False,
                False,
                True,
                False,
                False,
                False,
            ],
            "how": [
                "exported",
                "diffed",
                "diffed",
                "exported",
                "diffed",
                "exported",
                "diffed",
                "exported",
                "exported",
                "diffed",
            ],
        }
    )
    timing = time_in_stage(place_deals(frame, MODEL, events), events, MODEL)
    timing = timing.set_index("stage")
    # lead: D01 10, D02 20, D05 4 days (D03's end is a guess, D04's loss
    # stage unknown) → median 10
    assert timing.loc["lead", "visits"] == 3
    assert timing.loc["lead", "median_days"] == pytest.approx(10.0)
    # contacted: D01 11 Jan → 10 Feb = 30 days; D05 5 → 25 Jan = 20 → median 25
    assert timing.loc["contacted", "visits"] == 2
    assert timing.loc["contacted", "median_days"] == pytest.approx(25.0)
    # quoted: D01 10 Feb → won 20 Feb = 10; D02 still there; D03 start inferred
    assert timing.loc["quoted", "visits"] == 1
    assert timing.loc["quoted", "median_days"] == pytest.approx(10.0)
    assert timing.loc["negotiating", "median_days"] is None


def test_without_history_time_in_stage_is_empty(twenty) -> None:
    timing = time_in_stage(place_deals(twenty, MODEL), None, MODEL)
    assert list(timing["stage"]) == MODEL.open_keys
    assert timing["visits"].tolist() == [0] * 5


def test_lost_reasons_are_split_by_lost_stage(twenty) -> None:
    reasons = lost_reasons_by_stage(place_deals(twenty, MODEL), MODEL)
    rows = {(r.stage, r.reason): (r.deals, r.share) for r in reasons.itertuples()}
    # quoted: D16 and D17 both 价格太高; D20 (价格太高) is in the unknown bucket;
    # D19 at deciding gave no reason.
    assert rows[("quoted", "价格太高")] == (2, 1.0)
    assert rows[(UNKNOWN, "价格太高")] == (1, 1.0)
    assert rows[("deciding", None)] == (1, 1.0)
    assert reasons["deals"].sum() == 7
    assert list(reasons["stage"]) == [
        "lead",
        "contacted",
        "quoted",
        "negotiating",
        "deciding",
        UNKNOWN,
    ]


def test_cohort_is_deals_created_in_the_period() -> None:
    frame = deals_frame(
        [
            {"deal_id": "a", "stage": "lead", "created_at": "2025-12-31 23:59"},
            {"deal_id": "b", "stage": "lead", "created_at": "2026-01-01 00:00"},
            {"deal_id": "c", "stage": "lead", "created_at": "2026-03-31 18:00"},
            {"deal_id": "d", "stage": "lead", "created_at": "2026-04-01"},
            {"deal_id": "e", "stage": "lead", "created_at": None},
        ]
    )
    assert list(cohort(frame, START, END)["deal_id"]) == ["b", "c"]
    summary = summarize_funnel(frame, START, END)
    assert summary.cohort_size == 2 and summary.undated == 1


def test_period_and_group_field_are_checked(twenty) -> None:
    with pytest.raises(KongpanError) as error:
        summarize_funnel(twenty, END, START)
    assert error.value.code == "bad_period"
    with pytest.raises(KongpanError) as error:
        summarize_funnel(twenty, START, END, by="amount")
    assert error.value.code == "bad_group_field"


# ---------------------------------------------------------------- results


def test_results_of_deals_closed_in_the_period(twenty) -> None:
    figures = results(twenty, START, END, MODEL)
    # closed in Jan–Mar: won D10–D12 (D13 closes in April); lost D14–D19 (D20
    # closes in April) → win rate 3/9, churn 6/9
    assert (figures.won, figures.lost, figures.closed) == (3, 6, 9)
    assert figures.win_rate == pytest.approx(1 / 3)
    assert figures.churn == pytest.approx(2 / 3)
    # average won amount (10,000 + 20,000 + 30,000) / 3 = 20,000
    assert figures.avg_won_amount == pytest.approx(20_000)
    # cycles 30, 40, 60 days → median 40
    assert figures.median_cycle_days == pytest.approx(40.0)
    # velocity = open 9 × 20,000 × 1/3 / 40 = 1,500 per day
    assert figures.open == 9
    assert figures.velocity == pytest.approx(1_500)


def test_results_with_nothing_closed_are_none_not_nan() -> None:
    figures = results(deals_frame([deal(1, "lead")]), START, END, MODEL)
    assert figures.closed == 0
    assert figures.win_rate is None and figures.churn is None
    assert figures.avg_won_amount is None and figures.median_cycle_days is None
    assert figures.velocity is None
    json.dumps(figures.as_dict(), allow_nan=False)


# ---------------------------------------------------------------- intervals


def _wilson_textbook(successes: int, trials: int, z: float) -> tuple[float, float]:
    """Wilson (1927) in its other textbook form, in 50-digit decimals:
    (x + z²/2)/(n + z²) ± z·√n/(n + z²) · √(p̂q̂ + z²/4n)."""
    getcontext().prec = 50
    x, n, z = Decimal(successes), Decimal(trials), Decimal(repr(z))
    p = x / n
    centre = (x + z * z / 2) / (n + z * z)
    half = z * n.sqrt() / (n + z * z) * (p * (1 - p) + z * z / (4 * n)).sqrt()
    return float(centre - half), float(centre + half)


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    [
        # Newcombe (1998), Statistics in Medicine 17:857–872, Table I, method 3
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_the_textbook(successes, trials, low, high) -> None:
    got_low, got_high = wilson_interval(successes, trials)
    assert got_low == pytest.approx(low, abs=5e-5)
    assert got_high == pytest.approx(high, abs=5e-5)
    want_low, want_high = _wilson_textbook(successes, trials, Z_95)
    assert abs(got_low - max(want_low, 0.0)) < 1e-9
    assert abs(got_high - want_high) < 1e-9


def test_wilson_z_and_edges() -> None:
    assert abs(Z_95 - 1.959963984540054) < 1e-12
    assert wilson_interval(0, 0) == (None, None)
    low, high = wilson_interval(5, 5)
    assert high == 1.0 and 0 < low < 1


def test_intervals_apart_only_when_they_do_not_overlap() -> None:
    assert intervals_apart(0.1, 0.2, 0.3, 0.4) == "below"
    assert intervals_apart(0.5, 0.6, 0.3, 0.4) == "above"
    assert intervals_apart(0.1, 0.3, 0.3, 0.4) is None  # touching ends overlap
    assert intervals_apart(None, None, 0.3, 0.4) is None


def _closed_deals(owner: str, won: int, lost: int, start: int) -> list[dict]:
    rows = []
    for number in range(won + lost):
        stage = "won" if number < won else "lost"
        rows.append(
            {
                "deal_id": f"{owner}{start + number:03d}",
                "stage": stage,
                "owner": owner,
                "created_at": "2026-01-05",
                "closed_at": "2026-02-05",
                "lost_at_stage": "quoted",
            }
        )
    return rows


def test_win_rate_groups_flag_only_apart_intervals_and_mark_too_few() -> None:
    # 弱: 2 of 40 won; 好: 30 of 60; 少: 1 of 5 (too few); 中: 12 of 30.
    frame = deals_frame(
        _closed_deals("弱", 2, 38, 0)
        + _closed_deals("好", 30, 30, 0)
        + _closed_deals("少", 1, 4, 0)
        + _closed_deals("中", 12, 18, 0)
    )
    groups = compare_win_rates(frame, START, END, "owner").set_index("key")
    assert list(groups.index) == ["好", "弱", "中", "少"]  # most closed first
    weak = groups.loc["弱"]
    # 弱 2/40 = 0.05, Wilson [0.0138, 0.1650]; rest 43/95 = 0.4526,
    # Wilson [0.3561, 0.5529]: apart, below → flagged
    assert weak["win_rate"] == pytest.approx(0.05)
    assert (weak["low"], weak["high"]) == pytest.approx(wilson_interval(2, 40))
    assert (weak["rest_won"], weak["rest_closed"]) == (43, 95)
    assert (weak["rest_low"], weak["rest_high"]) == pytest.approx(
        wilson_interval(43, 95)
    )
    assert weak["direction"] == "below" and bool(weak["flagged"])
    # 中 12/30 = 0.4 against 33/105: intervals overlap → not flagged
    assert not groups.loc["中", "flagged"]
    # 少 has 5 closed deals, under the minimum of 10: too few, never flagged
    assert groups.loc["少", "too_few"] and not groups.loc["少", "flagged"]
    assert not groups.loc["好", "too_few"]


def test_conversion_by_group_flags_the_weak_rep_at_the_stage() -> None:
    # 弱 quotes 30 deals and only 3 go on; 好 quotes 60 and 42 go on. Both
    # move every lead on to quoted, so they differ only at quoted.
    rows = []
    for owner, quoted, onward in (("弱", 30, 3), ("好", 60, 42)):
        for number in range(quoted):
            stage = "negotiating" if number < onward else "quoted"
            rows.append(
                {
                    "deal_id": f"{owner}{number:03d}",
                    "stage": stage,
                    "owner": owner,
                    "created_at": "2026-01-05",
                }
            )
    placed = place_deals(deals_frame(rows), MODEL)
    cells = compare_conversion(placed, "owner", MODEL).set_index(["key", "stage"])
    weak = cells.loc[("弱", "quoted")]
    # 3/30 = 0.1 against 42/60 = 0.7: Wilson [0.0346, 0.2562] vs [0.5737, 0.8012]
    assert (weak["reached"], weak["converted"]) == (30, 3)
    assert weak["conversion"] == pytest.approx(0.1)
    assert (weak["rest_reached"], weak["rest_converted"]) == (60, 42)
    assert weak["flagged"] and weak["direction"] == "below"
    assert cells.loc[("好", "quoted"), "direction"] == "above"
    assert not cells.loc[("弱", "lead"), "flagged"]  # 30/30 vs 60/60
    # negotiating: 弱 reached 3 (< 10): too few, not flagged
    assert cells.loc[("弱", "negotiating"), "too_few"]
    assert not cells.loc[("弱", "negotiating"), "flagged"]
    flagged = cells[cells["flagged"]].index.tolist()
    assert flagged == [("好", "quoted"), ("弱", "quoted")]


def test_minimum_is_configurable() -> None:
    frame = deals_frame(_closed_deals("弱", 2, 38, 0) + _closed_deals("好", 30, 30, 0))
    groups = compare_win_rates(frame, START, END, "owner", min_deals=50)
    assert groups.set_index("key").loc["弱", "too_few"]  # 40 < 50
    assert not groups.set_index("key").loc["好", "too_few"]  # 60 ≥ 50


def test_a_missing_group_value_is_its_own_group() -> None:
    frame = deals_frame(
        _closed_deals("甲", 1, 1, 0)
        + [{"deal_id": "x", "stage": "won", "owner": None, "closed_at": "2026-02-01"}]
    )
    groups = compare_win_rates(frame, START, END, "owner")
    assert groups["key"].tolist() == ["甲", None]
    behind = closed_deals_behind(frame, "won", START, END, "owner", None)
    assert behind["deal_id"].tolist() == ["x"]


# ---------------------------------------------------------------- drill-down


def test_every_number_opens_exactly_its_deals(twenty) -> None:
    placed = place_deals(twenty, MODEL)
    stages = funnel_stages(placed, MODEL)
    for row in stages.itertuples():
        if row.stage != UNKNOWN:
            assert len(deals_behind(placed, "reached", row.stage)) == row.reached
        assert len(deals_behind(placed, "lost_here", row.stage)) == row.lost_here
        if row.converted_to_next is not None:
            behind = deals_behind(placed, "converted", row.stage)
            assert len(behind) == row.converted_to_next
    assert deals_behind(placed, "lost_here", "quoted")["deal_id"].tolist() == [
        "D16",
        "D17",
    ]
    figures = results(twenty, START, END, MODEL)
    for measure in ("won", "lost", "closed", "open"):
        behind = closed_deals_behind(twenty, measure, START, END)
        assert len(behind) == getattr(figures, measure)
    cells = compare_conversion(placed, "owner", MODEL)
    for cell in cells.itertuples():
        behind = deals_behind(placed, "reached", cell.stage, "owner", cell.key)
        assert len(behind) == cell.reached


def test_summary_json_has_the_issue_shape(twenty) -> None:
    figures = summarize_funnel(twenty, START, END, by="owner").as_dict()
    assert set(figures) == {"stages", "results", "groups"}
    assert [set(s) for s in figures["stages"]] == [
        {"stage", "reached", "converted_to_next", "conversion", "lost_here", "leakage"}
    ] * 7
    assert set(figures["results"]) == {
        "win_rate",
        "avg_won_amount",
        "median_cycle_days",
        "churn",
        "velocity",
    }
    assert figures["groups"] and all(
        set(g)
        == {"key", "won", "lost", "win_rate", "low", "high", "flagged", "too_few"}
        for g in figures["groups"]
    )
    text = json.dumps(figures, ensure_ascii=False, allow_nan=False)
    assert json.loads(text)["stages"][0] == {
        "stage": "lead",
        "reached": 20,
        "converted_to_next": 15,
        "conversion": 0.75,
        "lost_here": 1,
        "leakage": 0.05,
    }


# ---------------------------------------------------------------- properties


_stages = st.sampled_from([*MODEL.keys, None])
_lost_at = st.sampled_from([*MODEL.open_keys, None, "won"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_stages, _lost_at), min_size=0, max_size=40))
def test_funnel_invariants_hold_for_any_frame(rows) -> None:
    frame = deals_frame(
        [
            {
                "deal_id": f"P{n:03d}",
                "stage": stage,
                "lost_at_stage": lost_at,
                "created_at": "2026-01-05",
            }
            for n, (stage, lost_at) in enumerate(rows)
        ]
    )
    placed = place_deals(frame, MODEL)
    stages = funnel_stages(placed, MODEL)
    reached = [value for value in stages["reached"] if value is not None]
    assert reached == sorted(reached, reverse=True)  # never grows down the path
    assert reached[0] == len(frame)
    lost = int(frame["stage"].eq("lost").sum())
    assert sum(stages["lost_here"]) == lost  # every lost deal once, bucket included
    opened = placed["stage"].isin(MODEL.open_keys)
    for key in [*MODEL.open_keys, UNKNOWN]:
        assert not (stage_mask(placed, "lost_here", key, MODEL) & opened).any()
    for value in [*stages["conversion"], *stages["leakage"]]:
        assert value is None or (0.0 <= value <= 1.0 and math.isfinite(value))


# ---------------------------------------------------------------- C16


def _case(case_id: str):
    spec = json.loads((CASES_DIR / f"{case_id}.expected.json").read_text("utf-8"))
    path = CASES_DIR / spec["input"]
    return spec, parse_file(path.read_bytes(), path.name)


def _zh(keys) -> list[str]:
    return [MODEL.name(key, "zh") for key in keys]


def _figure_values(figure) -> list:
    """Every text, hovertext and customdata value of every trace."""
    values = []
    for trace in figure.to_plotly_json()["data"]:
        for name in ("text", "hovertext", "customdata"):
            found = trace.get(name)
            if found is None:
                continue
            values.extend(np.asarray(found, dtype=object).ravel().tolist())
    return values


def _assert_clean(figure) -> None:
    for value in _figure_values(figure):
        assert value is not None
        if isinstance(value, float):
            assert math.isfinite(value)
        text = str(value).lower()
        assert "nan" not in text and "inf" not in text, value
    for trace in figure.to_plotly_json()["data"]:
        lengths = trace.get("x") if trace["type"] == "funnel" else trace.get("y")
        assert all(value >= 0 for value in lengths)


def test_c16_stages_with_zero_deals_and_a_negative_amount() -> None:
    spec, parsed = _case("C16")
    expect = spec["expect"]
    assert parsed.report.rows_imported == expect["rows_imported"] == len(parsed.frame)
    issues = [(i.row, i.column, i.kind, str(i.severity)) for i in parsed.report.issues]
    for wanted in expect["issues"]:
        assert (
            wanted["row"],
            wanted["column"],
            wanted["kind"],
            wanted["severity"],
        ) in issues
    deals = parsed.frame

    counts = stage_counts(deals, MODEL)
    by_name = dict(zip(_zh(counts["stage"]), counts["deals"], strict=True))
    assert by_name == expect["deal_count_by_current_stage"]
    assert _zh(counts["stage"]) == spec["stage_order"]  # zeros kept, in order
    negotiating = counts.set_index("stage").loc["negotiating"]
    # 30,000 (F-1608); the −2,000 of F-1609 is left out and flagged
    assert negotiating["amount"] == 30_000 and negotiating["negative_amounts"] == 1

    for lang in ("zh", "en"):
        figure = current_figure(counts, lang)
        bar = figure.data[0]
        assert list(bar.x) == [MODEL.name(key, lang) for key in MODEL.keys]
        assert "⚠1" in bar.text[MODEL.keys.index("negotiating")]
        _assert_clean(figure)

    placed = place_deals(deals, MODEL)
    stages = funnel_stages(placed, MODEL)
    figure = funnel_figure(stages, "zh")
    assert list(figure.data[0].y) == _zh(MODEL.path_keys)
    _assert_clean(figure)


def test_c16_one_owner_with_an_empty_first_stage() -> None:
    spec, parsed = _case("C16")
    wanted = spec["expect"]["owner_filter_赵六"]
    mine = parsed.frame[parsed.frame["owner"] == "赵六"]
    counts = stage_counts(mine, MODEL)
    by_name = dict(zip(_zh(counts["stage"]), counts["deals"], strict=True))
    assert by_name == wanted["deal_count_by_current_stage"]
    # percent of the first stage: the first stage is empty, so null, never NaN
    first = counts.set_index("stage").loc[MODEL.keys[0], "share_of_first"]
    assert first is wanted["percent_of_first_stage"] is None
    assert counts["share_of_first"].map(lambda value: value is None).all()

    stages = funnel_stages(place_deals(mine, MODEL), MODEL)
    # 赵六's one deal is at negotiating: reached 1,1,1,1,0,0; deciding → won is 0/0
    assert _by_stage(stages, "reached") == {
        "lead": 1,
        "contacted": 1,
        "quoted": 1,
        "negotiating": 1,
        "deciding": 0,
        "won": 0,
        UNKNOWN: None,
    }
    assert _by_stage(stages, "conversion")["deciding"] is None
    summary = json.dumps(
        summarize_funnel(
            mine.assign(created_at=pd.Timestamp("2026-01-05")), START, END
        ).as_dict(),
        allow_nan=False,
    )
    deciding = json.loads(summary)["stages"][4]
    assert deciding["stage"] == "deciding" and deciding["conversion"] is None
    funnel = funnel_figure(stages, "zh")
    assert funnel.data[0].text[-1] == "0 · —"  # won: 0 deals, 0/0 shown as —
    for figure in (funnel, current_figure(counts, "zh")):
        _assert_clean(figure)
        figure.to_json()  # renders without exception


def test_c16_negative_amount_issue_keeps_the_raw_text() -> None:
    spec, parsed = _case("C16")
    wanted = spec["expect"]["issues"][0]
    raws = [i.raw for i in parsed.report.issues if i.kind == "negative_amount"]
    assert raws == [wanted["raw"]]


# ---------------------------------------------------------------- C18


def test_c18_text_is_stored_exactly_as_typed() -> None:
    spec, parsed = _case("C18")
    frame = parsed.frame
    for cell in spec["expect"]["cells_after_import"]:
        value = frame.loc[frame["row"] == cell["row"], cell["field"]].iloc[0]
        assert value == cell["value"], cell


def test_c18_csv_writes_a_whole_float_amount_without_decimals() -> None:
    frame = pd.DataFrame({"amount": [-500.0, 12_000.0]})
    assert to_csv_bytes(frame).decode("utf-8-sig").split() == [
        "amount",
        "-500",
        "12000",
    ]


def test_c18_formula_like_text_exports_safely() -> None:
    spec, parsed = _case("C18")
    expect = spec["expect"]
    frame = parsed.frame
    assert parsed.report.rows_imported == expect["rows_imported"]
    stored = frame.set_index("deal_id")

    placed = place_deals(frame, MODEL)
    rows = deals_behind(placed, "reached", "lead")
    assert len(rows) == 5
    table = deal_list(rows, "zh")
    before = table.copy()

    book = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(table)))
    sheet = book.active
    header = [cell.value for cell in sheet[1]]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    cells = {
        (row[0].value, name): cell
        for row in sheet.iter_rows(min_row=2)
        for name, cell in zip(header, row, strict=True)
    }
    customer, note, amount = "客户", "备注", "金额"
    assert cells[("X-1801", customer)].value == expect["cells_after_import"][0]["value"]
    assert cells[("X-1801", customer)].data_type == "s"
    assert cells[("X-1804", note)].value == "=1+1"
    assert cells[("X-1804", note)].data_type == "s"
    assert cells[("X-1802", customer)].value == "@星辰传媒"
    assert (
        cells[("X-1804", amount)].value
        == expect["xlsx_export"]["amount_cell_X-1804_is_number"]
    )
    assert cells[("X-1804", amount)].data_type == "n"

    text = to_csv_bytes(table).decode("utf-8-sig")
    records = list(csv.DictReader(io.StringIO(text)))
    starts = tuple(expect["csv_export"]["text_fields_starting_with"])
    prefix = expect["csv_export"]["are_prefixed_with"]
    by_id = {record["商机编号"]: record for record in records}
    for record in records:
        for name, value in record.items():
            if name in (customer, note, "商机名称"):
                assert not value.startswith(starts) or value.startswith(prefix)
    assert (
        by_id["X-1801"][customer] == prefix + expect["cells_after_import"][0]["value"]
    )
    assert by_id["X-1802"][note] == "'+1 追加需求"
    assert by_id["X-1803"][note] == prefix + stored.loc["X-1803", "note"]
    assert by_id["X-1803"][note].startswith("'-已电话沟通")
    assert by_id["X-1804"][note] == "'=1+1"
    assert (
        by_id["X-1804"][amount]
        == expect["csv_export"]["numeric_negative_amount_written_as"]
    )
    pd.testing.assert_frame_equal(table, before)  # export left the text alone


# ---------------------------------------------------------------- CLI


def test_cli_report_funnel_on_the_twenty_deals(tmp_path, store_url, capsys) -> None:
    columns = ["deal_id", "stage", "owner", "amount", "created_at", "closed_at",
               "lost_at_stage", "lost_reason"]  # fmt: skip
    path = tmp_path / "deals_2026-04-30.csv"
    twenty_deals()[columns].to_csv(path, index=False, date_format="%Y-%m-%d")
    assert main(["--database", store_url, "import", str(path)]) == 0
    capsys.readouterr()

    args = ["--database", store_url, "report", "funnel", "--from", "2026-01-01",
            "--to", "2026-03-31"]  # fmt: skip
    assert main([*args, "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    stages = {row["stage"]: row for row in figures["stages"]}
    assert [stages[key]["reached"] for key in PATH] == [20, 15, 12, 8, 6, 4]
    assert stages[UNKNOWN]["lost_here"] == 1
    assert figures["results"] == {
        "win_rate": pytest.approx(1 / 3), "avg_won_amount": 20_000.0,
        "median_cycle_days": 40.0, "churn": pytest.approx(2 / 3),
        "velocity": 1_500.0,
    }  # fmt: skip
    assert {group["key"] for group in figures["groups"]} == {"甲", "乙"}

    assert main(args) == 0
    assert "quoted" in capsys.readouterr().out
    assert main([*args[:5], "2026-04-01", "--to", "2026-03-31"]) == 1
    assert "after its end" in capsys.readouterr().err
    assert main([*args[:5], "2026-13-01", "--to", "2026-03-31"]) == 1
    assert "not a date" in capsys.readouterr().err


def test_chart_labels_from_exports_are_escaped() -> None:
    frame = deals_frame(_closed_deals("<b>甲</b>", 3, 9, 0))
    groups = compare_win_rates(frame, START, END, "owner")
    figure = win_rate_figure(groups, 0.25, "en")
    assert list(figure.data[0].y) == ["&lt;b&gt;甲&lt;/b&gt;"]
    cells = compare_conversion(place_deals(frame, MODEL), "owner", MODEL)
    assert list(conversion_heatmap(cells, "en").data[0].y) == ["&lt;b&gt;甲&lt;/b&gt;"]
