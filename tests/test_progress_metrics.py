"""Progress metrics on small hand-built frames; every expected value is worked
out by hand in the comments next to it."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from sales_core.metrics.progress import (
    Forecast,
    _exact_quantiles,
    completion,
    expected_by_now,
    forecast_deals,
    forecast_range,
    gap,
    key_deals,
    mtd_won,
    progress_report,
    stage_win_rates,
)
from sales_core.stages import default_model

MODEL = default_model()
AS_OF = date(2026, 10, 12)  # 4 of October 2026's 18 working days have passed

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
    for column in ("stage", "lost_at_stage", "owner", "team", "customer"):
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return frame


def targets_frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["owner", "team", "month", "target"])


# ---------------------------------------------------------------- mtd won


def closed(deal_id: str, stage: str | None, amount, closed_at) -> dict:
    return {"deal_id": deal_id, "stage": stage, "amount": amount,
            "closed_at": closed_at}  # fmt: skip


def test_mtd_won_counts_won_deals_closed_from_month_start_to_as_of():
    deals = deals_frame(
        [
            closed("W1", "won", 1000, "2026-10-01"),  # counts: the month's 1st day
            closed("W2", "won", 2000, "2026-09-30"),  # no: September
            closed("W3", "won", 4000, "2026-10-13"),  # no: after as_of (10-12)
            closed("W4", "lost", 8000, "2026-10-05"),  # no: lost
            closed("W5", "won", None, "2026-10-10"),  # counts 0: no amount
            closed("W6", "won", 16000, "2026-10-12 15:30"),  # counts: as_of day
            closed("W7", "won", 32000, None),  # no: no close date, month unknown
            closed("W8", None, 64000, "2026-10-03"),  # no: stage unknown
        ]
    )
    # 1000 (W1) + 0 (W5) + 16000 (W6) = 17000
    assert mtd_won(deals, "2026-10", AS_OF) == 17000.0
    # After the month, as_of is capped at Oct 31: W1 + W3 + W6 = 21000
    assert mtd_won(deals, "2026-10", date(2026, 11, 5)) == 21000.0
    # Before the month nothing is won yet.
    assert mtd_won(deals, "2026-10", date(2026, 9, 30)) == 0.0
    # September up to the 30th: W2 only.
    assert mtd_won(deals, "2026-09", date(2026, 10, 12)) == 2000.0
    # An empty frame is 0.
    assert mtd_won(deals.iloc[0:0], "2026-10", AS_OF) == 0.0


def test_completion_expected_and_gap():
    assert completion(30000, 120000) == 0.25
    assert completion(0, 50000) == 0.0
    assert completion(30000, 0) is None
    assert completion(30000, None) is None
    assert completion(30000, float("nan")) is None
    # target 90000 at pace 4/18: 90000 × 4 / 18 = 20000
    assert expected_by_now(90000, 4 / 18) == pytest.approx(20000)
    assert expected_by_now(90000, 0.0) == 0.0
    # 30000 won against 33333.33 expected: 3333.33 behind
    assert gap(30000, 100000 / 3) == pytest.approx(-3333.3333, abs=1e-3)
    assert gap(30000, 20000) == 10000


# ---------------------------------------------------------------- win rates


def test_stage_win_rates_from_closed_deals_in_the_window():
    deals = deals_frame(
        [
            {"deal_id": "A", "stage": "won", "closed_at": "2026-10-01"},
            # 2026-10-12 − 180 days = 2026-04-15: the window is (04-15, 10-12]
            {"deal_id": "B", "stage": "won", "closed_at": "2026-04-16"},  # in
            {"deal_id": "C", "stage": "won", "closed_at": "2026-04-15"},  # out
            {"deal_id": "D", "stage": "lost", "lost_at_stage": "quoted",
             "closed_at": "2026-09-01"},
            {"deal_id": "E", "stage": "lost", "lost_at_stage": "deciding",
             "closed_at": "2026-08-01"},
            {"deal_id": "F", "stage": "lost", "lost_at_stage": None,
             "closed_at": "2026-07-01"},  # unknown: reached only "lead"
            {"deal_id": "G", "stage": "lost", "lost_at_stage": "quoted",
             "closed_at": "2026-10-13"},  # after as_of: out
            {"deal_id": "H", "stage": "negotiating"},  # still open: ignored
        ]
    )  # fmt: skip
    # In the window: won A, B (2); lost D at quoted, E at deciding, F unknown.
    # Stage (rank, default p): lost deals that reached it -> p
    #   lead (0, .05):        D, E, F -> (2 + 10×.05) / (2 + 3 + 10) = 2.5/15
    #   contacted (1, .10):   D, E    -> (2 + 1) / (2 + 2 + 10) = 3/14
    #   quoted (2, .30):      D, E    -> (2 + 3) / 14 = 5/14
    #   negotiating (3, .50): E       -> (2 + 5) / (2 + 1 + 10) = 7/13
    #   deciding (4, .70):    E       -> (2 + 7) / 13 = 9/13
    rates = stage_win_rates(deals, AS_OF, MODEL)
    assert rates == pytest.approx(
        {
            "lead": 2.5 / 15,
            "contacted": 3 / 14,
            "quoted": 5 / 14,
            "negotiating": 7 / 13,
            "deciding": 9 / 13,
            "won": 1.0,
            "lost": 0.0,
        }
    )
    # Without smoothing: lead 2/5, deciding 2/3.
    raw = stage_win_rates(deals, AS_OF, MODEL, prior_weight=0)
    assert raw["lead"] == pytest.approx(2 / 5)
    assert raw["deciding"] == pytest.approx(2 / 3)
    # No closed deals in the window: the defaults.
    none = stage_win_rates(deals, date(2025, 1, 1), MODEL)
    assert none["quoted"] == pytest.approx(0.30)
    assert none["deciding"] == pytest.approx(0.70)
    # A 30-day window keeps A (10-01) and nothing lost:
    #   deciding = (1 + 7) / (1 + 10) = 8/11
    assert stage_win_rates(deals, AS_OF, MODEL, window_days=30)[
        "deciding"
    ] == pytest.approx(8 / 11)


# ---------------------------------------------------------------- forecast


def test_forecast_exact_three_deals():
    # Totals 0, 100, ..., 700, each with probability 1/8:
    #   P(≤0) = 1/8 ≥ .1 -> P10 = 0; P(≤300) = 4/8 ≥ .5 -> P50 = 300;
    #   P(≤600) = 7/8 < .9, P(≤700) = 1 -> P90 = 700; mean 700 / 2 = 350.
    outcomes = [(100, 0.5), (200, 0.5), (400, 0.5)]
    assert forecast_range(0, outcomes) == Forecast(350, 0, 300, 700)
    assert forecast_range(1000, outcomes) == Forecast(1350, 1000, 1300, 1700)


def test_forecast_sure_and_impossible_deals_and_missing_amounts():
    # p = 1 adds 500 for sure; p = 0 and a missing amount add nothing.
    # Left: 100 at .5 -> totals 500, 600 each 1/2; mean 550.
    outcomes = [(500, 1.0), (9999, 0.0), (float("nan"), 0.7), (100, 0.5)]
    assert forecast_range(0, outcomes) == Forecast(550, 500, 500, 600)
    # Nothing open: the month-end total is the MTD won.
    assert forecast_range(42.0, []) == Forecast(42.0, 42.0, 42.0, 42.0)


def test_forecast_monte_carlo_matches_the_exact_binomial():
    # 20 deals of 100 at p = .5 (more than 16: simulated). Total = 100 × Bin(20, .5).
    # Binomial CDF: P(≤6) = .0577, P(≤7) = .1316 -> P10 = 700;
    #   P(≤9) = .4119, P(≤10) = .5881 -> P50 = 1000;
    #   P(≤12) = .8684, P(≤13) = .9423 -> P90 = 1300. Mean 20 × 100 × .5 = 1000.
    cdf = np.cumsum([math.comb(20, k) / 2**20 for k in range(21)])
    assert cdf[6] < 0.1 <= cdf[7] and cdf[9] < 0.5 <= cdf[10]
    assert cdf[12] < 0.9 <= cdf[13]
    forecast = forecast_range(0, [(100, 0.5)] * 20)
    assert forecast == Forecast(1000, 700, 1000, 1300)


def test_forecast_monte_carlo_close_to_exact_and_seeded():
    # 24 deals with amounts on a 100 grid: the exact distribution (equal totals
    # merged) stays small, so the simulation can be checked against it.
    amounts = [100.0 * (1 + i % 6) for i in range(24)]  # 100..600, 4 each
    probs = [0.1 + 0.035 * i for i in range(24)]  # 0.1 .. 0.905
    outcomes = list(zip(amounts, probs, strict=True))
    exact_mean = sum(a * p for a, p in outcomes)
    exact = _exact_quantiles(np.array(amounts), np.array(probs), (0.1, 0.5, 0.9))

    forecast = forecast_range(500, outcomes, seed=7)
    assert forecast.mean == pytest.approx(500 + exact_mean)
    simulated = [forecast.p10 - 500, forecast.p50 - 500, forecast.p90 - 500]
    # Totals move in steps of 100; 20,000 runs land within one step.
    for got, want in zip(simulated, exact, strict=True):
        assert abs(got - want) <= 100
    # The median of a sum of 24 deals sits near its mean.
    assert abs(forecast.p50 - forecast.mean) <= 200
    # Each quantile is a total that can happen: a multiple of 100 above mtd.
    assert all(value % 100 == 0 for value in simulated)
    # Same seed, same answer; another seed may differ but stays close.
    assert forecast_range(500, outcomes, seed=7) == forecast
    other = forecast_range(500, outcomes, seed=8)
    assert abs(other.p50 - forecast.p50) <= 100


# ---------------------------------------------------------------- deal lists


def test_forecast_deals_rule_p_and_weighted():
    deals = deals_frame(
        [
            # in: open, expected this month (after as_of)
            {"deal_id": "F1", "stage": "quoted", "amount": 1000,
             "expected_close": "2026-10-20"},
            # in: expected earlier this month, still open (overdue within month)
            {"deal_id": "F2", "stage": "deciding", "amount": None,
             "expected_close": "2026-10-02"},
            # out: overdue from September
            {"deal_id": "F3", "stage": "quoted", "amount": 5000,
             "expected_close": "2026-09-30"},
            # out: expected next month
            {"deal_id": "F4", "stage": "quoted", "amount": 5000,
             "expected_close": "2026-11-01"},
            # out: no expected close
            {"deal_id": "F5", "stage": "quoted", "amount": 5000},
            # out: already won / lost / unknown stage
            {"deal_id": "F6", "stage": "won", "amount": 5000,
             "expected_close": "2026-10-20"},
            {"deal_id": "F7", "stage": "lost", "amount": 5000,
             "expected_close": "2026-10-20"},
            {"deal_id": "F8", "stage": None, "amount": 5000,
             "expected_close": "2026-10-20"},
        ]
    )  # fmt: skip
    rates = {"quoted": 0.4}  # deciding missing: its default .70 is used
    rows = forecast_deals(deals, "2026-10", AS_OF, MODEL, rates)
    assert rows["deal_id"].tolist() == ["F1", "F2"]  # by weighted: 400, then 0
    assert rows["p"].tolist() == pytest.approx([0.4, 0.7])
    assert rows["weighted"].tolist() == pytest.approx([400.0, 0.0])
    assert rows["amount_missing"].tolist() == [False, True]
    # After the month ends it is settled: nothing left to forecast.
    assert forecast_deals(deals, "2026-10", date(2026, 11, 2), MODEL, rates).empty


def test_key_deals_largest_open_in_month():
    deals = deals_frame(
        [
            {"deal_id": "K1", "stage": "lead", "amount": 300,
             "expected_close": "2026-10-25"},
            {"deal_id": "K2", "stage": "quoted", "amount": 900,
             "expected_close": "2026-10-05"},
            {"deal_id": "K3", "stage": "deciding", "amount": None,
             "expected_close": "2026-10-15"},
            {"deal_id": "K4", "stage": "won", "amount": 5000,
             "expected_close": "2026-10-15"},
            {"deal_id": "K5", "stage": "quoted", "amount": 700,
             "expected_close": "2026-11-03"},
            {"deal_id": "K6", "stage": "negotiating", "amount": 600,
             "expected_close": "2026-10-31"},
        ]
    )  # fmt: skip
    rows = key_deals(deals, "2026-10", AS_OF)
    # Open and expected in October: K2 900, K6 600, K1 300, K3 missing (last).
    assert rows["deal_id"].tolist() == ["K2", "K6", "K1", "K3"]
    # days_to_close from 2026-10-12: 10-05 -> -7, 10-31 -> 19, 10-25 -> 13, 10-15 -> 3
    assert rows["days_to_close"].tolist() == [-7, 19, 13, 3]
    assert key_deals(deals, "2026-10", AS_OF, limit=2)["deal_id"].tolist() == [
        "K2",
        "K6",
    ]


# ---------------------------------------------------------------- report


def six_deals() -> pd.DataFrame:
    return deals_frame(
        [
            {"deal_id": "D1", "customer": "甲公司", "owner": "张三", "team": "华东",
             "stage": "won", "amount": 30000, "closed_at": "2026-10-09"},
            {"deal_id": "D2", "customer": "乙公司", "owner": "张三", "team": "华东",
             "stage": "quoted", "amount": 50000, "expected_close": "2026-10-20"},
            {"deal_id": "D3", "customer": "丙公司", "owner": "李四", "team": "华东",
             "stage": "won", "amount": 20000, "closed_at": "2026-09-28"},
            {"deal_id": "D4", "customer": "丁公司", "owner": "李四", "team": "华东",
             "stage": "lost", "amount": 40000, "closed_at": "2026-10-05",
             "lost_at_stage": "negotiating"},
            {"deal_id": "D5", "customer": "戊公司", "owner": "李四", "team": "华东",
             "stage": "negotiating", "amount": 60000,
             "expected_close": "2026-10-30"},
            {"deal_id": "D6", "customer": "己公司", "owner": "李四", "team": "华东",
             "stage": "won", "amount": None, "closed_at": "2026-10-08"},
        ]
    )  # fmt: skip


def six_targets() -> pd.DataFrame:
    return targets_frame(
        [
            ("张三", "华东", "2026-10", 90000.0),
            ("李四", "华东", "2026-10", 36000.0),
            (None, "华东", "2026-10", 150000.0),  # the team's own target
            ("张三", "华东", "2026-09", 99999.0),  # another month: ignored
        ]
    )


def test_progress_report_on_six_deals():
    report = progress_report(six_deals(), six_targets(), "2026-10", AS_OF, MODEL)
    # Win rates (window up to 10-12): won D1, D3, D6 (3); lost D4 at
    # negotiating. quoted: (3 + 10×.3) / (3 + 1 + 10) = 6/14 = 3/7;
    # negotiating: (3 + 10×.5) / 14 = 8/14 = 4/7.
    # Team won: D1 30000 + D6 (no amount) 0 = 30000 (D3 closed in September).
    # Team target: the team row, 150000. Completion 30000 / 150000 = .2.
    # Pace 4/18 = .2222; expected 150000 × 4/18 = 33333.33; gap -3333.33.
    # Forecast: open in October D2 50000 at 3/7, D5 60000 at 4/7:
    #   neither 4/7×3/7 = 12/49 -> 30000;   D2 only 3/7×3/7 = 9/49 -> 80000;
    #   D5 only 4/7×4/7 = 16/49 -> 90000;   both 3/7×4/7 = 12/49 -> 140000.
    #   CDF 12/49 = .245, 21/49 = .429, 37/49 = .755, 1:
    #   P10 30000, P50 90000, P90 140000;
    #   mean 30000 + 50000×3/7 + 60000×4/7 = 30000 + 390000/7 = 85714.29.
    # Reps (pace 4/18):
    #   李四 won 0 (D6 has no amount), target 36000, completion 0,
    #       expected 36000×4/18 = 8000, gap -8000.
    #   张三 won 30000, target 90000, completion .3333,
    #       expected 90000×4/18 = 20000, gap +10000.
    #   Most behind first: 李四, then 张三.
    # Key deals: D5 60000 (10-30), D2 50000 (10-20).
    assert report.as_dict() == {
        "month": "2026-10",
        "as_of": "2026-10-12",
        "team": {
            "won_amount": 30000.0,
            "target": 150000.0,
            "completion": 0.2,
            "working_days_elapsed": 4,
            "working_days_total": 18,
            "pace": 0.2222,
            "expected_by_now": 33333.33,
            "gap": -3333.33,
            "schedule_published": True,
            "forecast": {
                "mean": 85714.29,
                "p10": 30000.0,
                "p50": 90000.0,
                "p90": 140000.0,
            },
        },
        "reps": [
            {
                "owner": "李四",
                "team": "华东",
                "won_amount": 0.0,
                "target": 36000.0,
                "completion": 0.0,
                "expected_by_now": 8000.0,
                "gap": -8000.0,
            },
            {
                "owner": "张三",
                "team": "华东",
                "won_amount": 30000.0,
                "target": 90000.0,
                "completion": 0.3333,
                "expected_by_now": 20000.0,
                "gap": 10000.0,
            },
        ],
        "key_deals": [
            {
                "deal_id": "D5",
                "customer": "戊公司",
                "owner": "李四",
                "stage": "negotiating",
                "amount": 60000.0,
                "expected_close": "2026-10-30",
            },
            {
                "deal_id": "D2",
                "customer": "乙公司",
                "owner": "张三",
                "stage": "quoted",
                "amount": 50000.0,
                "expected_close": "2026-10-20",
            },
        ],
    }
    # Each rep's own P50: 张三 30000 + D2 (50000 at 3/7): P(not won) = 4/7 ≥ .5
    # -> 30000. 李四 0 + D5 (60000 at 4/7): P(not won) = 3/7 < .5 -> 60000.
    assert [rep.forecast_p50 for rep in report.reps] == [60000.0, 30000.0]


def test_progress_report_team_target_falls_back_to_rep_targets():
    deals = six_deals()
    # 王五 has an open deal this month but no target.
    extra = deals_frame(
        [{"deal_id": "D7", "owner": "王五", "team": "华南", "stage": "lead",
          "amount": 1000, "expected_close": "2026-10-28"}]
    )  # fmt: skip
    deals = pd.concat([deals, extra], ignore_index=True)
    targets = six_targets()
    targets = targets[targets["owner"].notna()]  # no team row this time
    report = progress_report(deals, targets, "2026-10", AS_OF, MODEL)
    # Team target = 90000 + 36000 = 126000; completion 30000/126000 = .2381.
    result = report.as_dict()
    assert result["team"]["target"] == 126000.0
    assert result["team"]["completion"] == 0.2381
    # 王五 has no target: listed after the reps with one, from his deals' team.
    assert [rep["owner"] for rep in result["reps"]] == ["李四", "张三", "王五"]
    assert result["reps"][2] == {
        "owner": "王五",
        "team": "华南",
        "won_amount": 0.0,
        "target": None,
        "completion": None,
        "expected_by_now": None,
        "gap": None,
    }


def test_progress_report_without_targets():
    report = progress_report(six_deals(), None, "2026-10", AS_OF, MODEL)
    team = report.as_dict()["team"]
    assert (team["target"], team["completion"], team["gap"]) == (None, None, None)
    assert team["won_amount"] == 30000.0
    # Reps come from their deals: 张三 (won D1, open D2), 李四 (won D6, open D5);
    # no targets, so by won amount: 张三 30000, 李四 0.
    assert [rep.owner for rep in report.reps] == ["张三", "李四"]
