"""The demo data set: deterministic, canonical, and shaped as promised.

Every shape is measured here straight from the frames, with the formulas of
DESIGN.md section 5, not by asking the generator what it meant to do.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from sales_core.calendar import is_working_day, last_working_days
from sales_core.demo import (
    CUSTOMER_TYPES,
    DEMO_AS_OF,
    LEAVER_REP,
    LOST_REASONS,
    PILER_REP,
    RUSHER_REP,
    STEADY_REP,
    SUCCESSOR_REP,
    WAVE_REP,
    WEAK_REP,
    DemoData,
    build_demo,
)
from sales_core.schema import Kind, field_names
from sales_core.stages import default_model

CLOSED = ("won", "lost")
COMPLETE_MONTHS = ("2026-06", "2026-07", "2026-08", "2026-09", "2026-10")


@pytest.fixture(scope="module")
def demo() -> DemoData:
    return build_demo()


@pytest.fixture(scope="module")
def final(demo: DemoData) -> pd.DataFrame:
    return demo.snapshots[-1][1]


def _month_end_shares(deals: pd.DataFrame, owner: str) -> dict[str, float]:
    """Per complete month: share of the rep's won amount in its last 5 working days."""
    won = deals[(deals["stage"] == "won") & (deals["owner"] == owner)]
    shares = {}
    for month in COMPLETE_MONTHS:
        in_month = won[won["closed_at"].dt.strftime("%Y-%m") == month]
        total = in_month["amount"].sum()
        if total > 0:
            ends = pd.to_datetime(last_working_days(month, 5))
            shares[month] = in_month.loc[
                in_month["closed_at"].isin(ends), "amount"
            ].sum()
            shares[month] /= total
    return shares


def _weekly_activity_cv(activities: pd.DataFrame, owner: str, weeks: int = 8) -> float:
    """Coefficient of variation of the rep's counts in 7-day windows to DEMO_AS_OF."""
    stamps = activities.loc[activities["owner"] == owner, "activity_at"]
    end = pd.Timestamp(DEMO_AS_OF) + pd.Timedelta(days=1)
    counts = np.array(
        [
            stamps.between(end - pd.Timedelta(days=7 * (week + 1)), end, "left").sum()
            - stamps.between(end - pd.Timedelta(days=7 * week), end, "left").sum()
            for week in range(weeks)
        ]
    )
    return float(counts.std() / counts.mean())


def _reached(deals: pd.DataFrame, stage: str) -> int:
    """Deals that reached `stage`: now at it or later, or lost at it or later."""
    path = default_model().path_keys
    rank = {key: position for position, key in enumerate(path)}
    now = deals["stage"].map(rank).fillna(-1)
    lost_at = deals["lost_at_stage"].map(rank).fillna(-1)
    return int(((now >= rank[stage]) | (lost_at >= rank[stage])).sum())


def _wilson(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    share = successes / trials
    centre = share + z * z / (2 * trials)
    spread = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials**2))
    scale = 1 + z * z / trials
    return (centre - spread) / scale, (centre + spread) / scale


def _open(deals: pd.DataFrame) -> pd.DataFrame:
    return deals[~deals["stage"].isin(CLOSED)]


def test_same_seed_builds_identical_frames(demo: DemoData) -> None:
    again = build_demo()
    assert [as_of for as_of, _ in again.snapshots] == [
        as_of for as_of, _ in demo.snapshots
    ]
    for (_, first), (_, second) in zip(demo.snapshots, again.snapshots, strict=True):
        pd.testing.assert_frame_equal(first, second)
    pd.testing.assert_frame_equal(demo.activities, again.activities)
    pd.testing.assert_frame_equal(demo.targets, again.targets)
    pd.testing.assert_frame_equal(demo.reps, again.reps)


def test_another_seed_builds_other_deals(final: pd.DataFrame) -> None:
    other = build_demo(seed=7).snapshots[-1][1]
    assert not other["customer"].head(50).equals(final["customer"].head(50))


def test_snapshots_are_weekly_fridays_ending_on_as_of(demo: DemoData) -> None:
    dates = [as_of for as_of, _ in demo.snapshots]
    assert dates[-1] == DEMO_AS_OF
    assert 22 <= len(dates) <= 28
    assert all(day.weekday() == 4 for day in dates)
    assert all(
        b - a == timedelta(days=7) for a, b in zip(dates[:-1], dates[1:], strict=True)
    )
    assert dates[0] <= date(2026, 6, 12)


def test_counts_are_in_range(demo: DemoData, final: pd.DataFrame) -> None:
    distinct = set().union(*(set(frame["deal_id"]) for _, frame in demo.snapshots))
    assert 1_300 <= len(distinct) <= 1_700
    assert 8_000 <= len(demo.activities) <= 15_000
    assert 12 <= len(demo.reps) <= 15
    assert demo.reps["team"].nunique() == 3
    assert final["customer"].nunique() > 1_000


def test_deal_frames_use_canonical_columns_and_types(demo: DemoData) -> None:
    model = default_model()
    for as_of, frame in demo.snapshots:
        assert list(frame.columns) == field_names(Kind.DEALS), as_of
        assert frame["deal_id"].is_unique
        assert set(frame["stage"]) <= set(model.keys)
        assert set(frame["lost_at_stage"].dropna()) <= set(model.open_keys)
        assert (frame["currency"] == "CNY").all()
        assert frame["win_probability"].isna().all()
        assert frame["amount"].dtype == float
        for column in ("created_at", "expected_close", "closed_at", "last_touch_at"):
            assert frame[column].dtype.kind == "M"
            assert (
                frame[column].dropna() == frame[column].dropna().dt.normalize()
            ).all()
    final = demo.snapshots[-1][1]
    assert final["deal_id"].str.fullmatch(r"D2026-\d{5}").all()
    assert final["customer"].str.endswith("公司").all()
    assert set(final["customer_type"]) == set(CUSTOMER_TYPES)
    assert set(final["intent"]) == {"A", "B", "C"}
    assert (
        final["note"].map(lambda value: value is None or isinstance(value, str)).all()
    )


def test_amounts_look_like_real_deals(final: pd.DataFrame) -> None:
    amounts = final["amount"].dropna()
    assert 20_000 <= amounts.median() <= 200_000
    assert amounts.min() >= 10_000
    assert (amounts >= 1_000_000).sum() >= 2
    open_leads = final[final["stage"] == "lead"]
    assert open_leads["amount"].isna().any()


def test_win_rate_and_lost_reasons(final: pd.DataFrame) -> None:
    closed = final[final["stage"].isin(CLOSED)]
    win_rate = (closed["stage"] == "won").mean()
    assert 0.2 <= win_rate <= 0.35
    lost = closed[closed["stage"] == "lost"]
    assert set(lost["lost_reason"]) == set(LOST_REASONS)
    unknown = lost["lost_at_stage"].isna().sum()
    assert 0 < unknown < 0.15 * len(lost)
    assert closed["closed_at"].notna().all()
    assert _open(final)["closed_at"].isna().all()


def test_projection_never_shows_the_future(demo: DemoData) -> None:
    for as_of, frame in demo.snapshots:
        stamp = pd.Timestamp(as_of)
        assert (frame["created_at"] <= stamp).all()
        assert (frame["closed_at"].dropna() <= stamp).all()
        assert (frame["last_touch_at"].dropna() <= stamp).all()


def test_closed_deals_stay_closed(demo: DemoData) -> None:
    for (_, older), (_, newer) in zip(
        demo.snapshots[:-1], demo.snapshots[1:], strict=True
    ):
        closed = older[older["stage"].isin(CLOSED)].set_index("deal_id")
        later = newer.set_index("deal_id").reindex(closed.index)
        assert later["stage"].equals(closed["stage"])
        assert later["closed_at"].equals(closed["closed_at"])


def test_snapshots_show_pipeline_flow(demo: DemoData) -> None:
    slipped = owner_changes = vanished = 0
    for (_, older), (_, newer) in zip(
        demo.snapshots[:-1], demo.snapshots[1:], strict=True
    ):
        pair = older.merge(newer, on="deal_id", how="left", suffixes=("", "_new"))
        vanished += int(pair["stage_new"].isna().sum())
        kept = pair[pair["stage_new"].notna()]
        slipped += int((kept["expected_close_new"] > kept["expected_close"]).sum())
        owner_changes += int((kept["owner_new"] != kept["owner"]).sum())
    assert slipped >= 50
    assert owner_changes >= 10
    assert 1 <= vanished <= 5


def test_leaver_left_in_september_and_deals_moved(demo: DemoData) -> None:
    reps = demo.reps.set_index("name")
    assert reps["left_on"].notna().sum() == 1
    assert not reps.at[LEAVER_REP, "active"]
    assert reps.at[LEAVER_REP, "left_on"].month == 9
    before = dict(demo.snapshots)[date(2026, 9, 11)].set_index("deal_id")
    final = demo.snapshots[-1][1].set_index("deal_id")
    assert _open(final.reset_index()).query("owner == @LEAVER_REP").empty
    theirs = before.index[before["owner"] == LEAVER_REP].intersection(final.index)
    assert (final.loc[theirs, "owner"] == SUCCESSOR_REP).sum() >= 5


def test_rusher_wins_in_the_last_five_working_days(final: pd.DataFrame) -> None:
    shares = _month_end_shares(final, RUSHER_REP)
    assert len(shares) >= 4
    assert sum(share > 0.6 for share in shares.values()) >= len(shares) - 1


def test_piler_sits_on_open_deals(demo: DemoData, final: pd.DataFrame) -> None:
    month_ago = dict(demo.snapshots)[DEMO_AS_OF - timedelta(days=35)]
    earlier = month_ago.set_index("deal_id")["stage"]

    def piled_share(owner: str) -> float:
        deals = _open(final[final["owner"] == owner])
        unchanged = deals["stage"].to_numpy() == earlier.reindex(deals["deal_id"])
        return float(np.mean(unchanged))

    assert piled_share(PILER_REP) >= 0.6
    others = [name for name in final["owner"].unique() if name != PILER_REP]
    shares = [
        piled_share(name)
        for name in others
        if len(_open(final[final["owner"] == name]))
    ]
    assert np.median(shares) < 0.3

    piler_open = _open(final[final["owner"] == PILER_REP])
    piled = piler_open[piler_open["deal_id"].map(earlier) == piler_open["stage"]]
    recent = demo.activities[
        demo.activities["activity_at"] > pd.Timestamp(DEMO_AS_OF - timedelta(days=30))
    ]
    touches = recent["deal_id"].isin(piled["deal_id"]).sum()
    assert touches / len(piled) < 1.0


def test_steady_rep_keeps_an_even_rhythm(demo: DemoData, final: pd.DataFrame) -> None:
    assert _weekly_activity_cv(demo.activities, STEADY_REP) < 0.3
    shares = _month_end_shares(final, STEADY_REP)
    assert sum(share < 0.5 for share in shares.values()) >= len(shares) - 1
    won = final[(final["stage"] == "won") & (final["owner"] == STEADY_REP)]
    in_months = won[won["closed_at"].dt.strftime("%Y-%m").isin(COMPLETE_MONTHS)]
    ends = pd.to_datetime([d for m in COMPLETE_MONTHS for d in last_working_days(m, 5)])
    overall = in_months.loc[in_months["closed_at"].isin(ends), "amount"].sum()
    assert overall / in_months["amount"].sum() < 0.5


def test_wave_rep_runs_hot_and_cold(demo: DemoData) -> None:
    assert _weekly_activity_cv(demo.activities, WAVE_REP) > 0.5


def test_weak_rep_loses_deals_after_quoting(final: pd.DataFrame) -> None:
    weak = final[final["owner"] == WEAK_REP]
    team = final[(final["team"] == weak["team"].iloc[0]) & (final["owner"] != WEAK_REP)]
    weak_quoted, weak_on = _reached(weak, "quoted"), _reached(weak, "negotiating")
    team_quoted, team_on = _reached(team, "quoted"), _reached(team, "negotiating")
    assert weak_quoted >= 80
    assert weak_on / weak_quoted < team_on / team_quoted - 0.2
    assert _wilson(weak_on, weak_quoted)[1] < _wilson(team_on, team_quoted)[0]


def test_activities_frame_is_canonical(demo: DemoData, final: pd.DataFrame) -> None:
    activities = demo.activities
    assert list(activities.columns) == field_names(Kind.ACTIVITIES)
    assert activities["activity_at"].dtype.kind == "M"
    assert activities["effective"].dtype == bool
    assert set(activities["kind"]) == {"call", "visit", "message", "email", "meeting"}
    assert activities["activity_at"].max() < pd.Timestamp(
        DEMO_AS_OF + timedelta(days=1)
    )
    assert (activities["activity_at"].dt.hour > 0).all()
    working = activities["activity_at"].dt.date.map(is_working_day)
    assert working.mean() > 0.9
    known = set().union(*(set(frame["deal_id"]) for _, frame in demo.snapshots))
    assert set(activities["deal_id"]) <= known


def test_targets_cover_every_rep_and_month(demo: DemoData, final: pd.DataFrame) -> None:
    targets = demo.targets
    assert list(targets.columns) == ["owner", "team", "month", "target"]
    active = demo.reps.loc[demo.reps["active"], "name"]
    months = sorted(targets["month"].unique())
    assert months[-1] == "2026-11" and len(months) >= 6
    for name in active:
        assert sorted(targets.loc[targets["owner"] == name, "month"]) == months
    assert (targets["target"] > 0).all()

    november = targets[targets["month"] == "2026-11"].set_index("owner")["target"]
    won = final[(final["stage"] == "won") & (final["closed_at"] >= "2026-11-01")]
    mtd = won.groupby("owner")["amount"].sum().reindex(november.index, fill_value=0)
    completion = mtd / november
    assert (completion > 0.75).sum() >= 3
    assert (completion < 0.5).sum() >= 3
