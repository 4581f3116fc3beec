"""Pipeline flow between snapshots: buckets, the exact waterfall, stage events
and the slip ledger, on small hand-built frames (the arithmetic is in the
comments), plus a hypothesis property test of the identity and the buckets."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from sales_core.metrics.flow import (
    BAR_SIGN,
    BARS,
    BUCKETS,
    compare_snapshots,
    slip_ledger,
    snapshot_rows,
    stage_events,
    stage_transitions,
    waterfall_balances,
)
from sales_core.stages import default_model

MODEL = default_model()
WEEK_1, WEEK_2 = date(2026, 11, 13), date(2026, 11, 20)

COLUMNS = [
    "deal_id",
    "customer",
    "owner",
    "team",
    "stage",
    "amount",
    "expected_close",
    "closed_at",
    "created_at",
    "lost_at_stage",
]
DATES = ["expected_close", "closed_at", "created_at"]


def snapshot(rows: list[dict], as_of: date | None = None) -> pd.DataFrame:
    """A deals frame with canonical types; `as_of` adds the snapshot date."""
    frame = pd.DataFrame(rows).reindex(columns=COLUMNS)
    frame["amount"] = frame["amount"].astype("float64")
    for column in DATES:
        frame[column] = pd.to_datetime(frame[column], format="ISO8601")
    for column in ("stage", "owner", "lost_at_stage"):
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    if as_of is not None:
        frame["as_of"] = pd.Timestamp(as_of)
    return frame


def deal(deal_id, stage, amount, owner="张伟", close=None, **extra) -> dict:
    return {
        "deal_id": deal_id,
        "customer": f"客户{deal_id}",
        "stage": stage,
        "amount": amount,
        "owner": owner,
        "expected_close": close,
        **extra,
    }


# ---------------------------------------------------------------- buckets


def test_every_bucket_on_a_hand_built_pair_of_snapshots():
    older = snapshot(
        [
            deal("ADV", "lead", 1000, close="2026-12-01"),
            deal("BACK", "negotiating", 2000),
            deal("WIN", "deciding", 3000),
            deal("LOSE", "quoted", 4000),
            deal("GONE", "contacted", 5000),
            deal("REOPEN", "lost", 6000),
            deal("SLIP", "quoted", 7000, close="2026-11-30"),
            deal("UP", "quoted", 8000),
            deal("DOWN", "quoted", 9000),
            deal("MOVE", "lead", 100, owner="张伟"),
            deal("STILL", "won", 500),
        ]
    )
    newer = snapshot(
        [
            deal("ADV", "quoted", 1000, close="2026-12-01"),
            deal("BACK", "contacted", 2000),
            deal("WIN", "won", 3500),  # won at a new amount: the older amount counts
            deal("LOSE", "lost", 4000),
            deal("REOPEN", "negotiating", 6600),
            deal("SLIP", "quoted", 7000, close="2026-12-15"),
            deal("UP", "quoted", 8250.5),
            deal("DOWN", "quoted", 8000),
            deal("MOVE", "lead", 100, owner="李娜"),
            deal("STILL", "won", 500),
            deal("NEW", "contacted", 10000),
        ]
    )
    flow = compare_snapshots(older, newer, MODEL, WEEK_1, WEEK_2)

    assert flow.as_dict()["deals"] == {
        "new": ["NEW"],
        "advanced": ["ADV"],
        "moved_back": ["BACK"],
        "won": ["WIN"],
        "lost": ["LOSE"],
        "reopened": ["REOPEN"],
        "slipped": ["SLIP"],
        "amount_changed": ["DOWN", "UP"],
        "owner_changed": ["MOVE"],
        "disappeared": ["GONE"],
    }
    # open before: ADV 1000 + BACK 2000 + WIN 3000 + LOSE 4000 + GONE 5000
    #   + SLIP 7000 + UP 8000 + DOWN 9000 + MOVE 100 = 39100
    # open after: ADV 1000 + BACK 2000 + REOPEN 6600 + SLIP 7000 + UP 8250.5
    #   + DOWN 8000 + MOVE 100 + NEW 10000 = 42950.5
    # 39100 + 10000 + 6600 + 250.5 − 1000 − 3000 − 4000 − 5000 = 42950.5
    assert flow.open_amount == {
        "open_before": 39100.0,
        "new": 10000.0,
        "reopened": 6600.0,
        "amount_up": 250.5,
        "amount_down": 1000.0,
        "won": 3000.0,
        "lost": 4000.0,
        "disappeared": 5000.0,
        "open_after": 42950.5,
    }
    assert waterfall_balances(flow.open_amount)
    assert flow.as_dict()["from"] == "2026-11-13"
    assert list(flow.bar_deals("amount_down").index) == ["DOWN"]
    assert flow.deals.loc["WIN", "bar_amount"] == -3000.0


def test_disappeared_is_never_lost_and_a_closed_deal_that_vanishes_moves_no_bar():
    older = snapshot([deal("K-09", "contacted", 19000), deal("OLD", "won", 800)])
    newer = snapshot([deal("OTHER", "lead", 1)])
    flow = compare_snapshots(older, newer, MODEL)

    assert flow.bucket("disappeared") == ["K-09", "OLD"]
    assert flow.bucket("lost") == []
    # only the open one leaves the open amount: 19000
    assert flow.open_amount["disappeared"] == 19000.0
    assert flow.deals.loc["OLD", "bar"] is None


def test_missing_amount_counts_zero_and_rows_without_a_known_stage_count_absent():
    older = snapshot(
        [
            deal("A", "quoted", None),
            deal("B", None, 700),  # unknown stage: as if not in this export
            deal("C", "lead", 300),
        ]
    )
    newer = snapshot(
        [deal("A", "quoted", 250), deal("B", "lead", 700), deal("C", "mystery", 300)]
    )
    flow = compare_snapshots(older, newer, MODEL)

    assert flow.bucket("amount_changed") == ["A"]  # 0 → 250
    assert flow.bucket("new") == ["B"]
    assert flow.bucket("disappeared") == ["C"]
    # 300 + 700 (new) + 250 (up) − 300 (gone) = 950 = A 250 + B 700
    assert flow.open_amount["open_before"] == 300.0
    assert flow.open_amount["open_after"] == 950.0
    assert waterfall_balances(flow.open_amount)


def test_a_deal_repeated_in_one_snapshot_counts_once_with_its_last_row():
    older = snapshot([deal("A", "lead", 100), deal("A", "quoted", 200)])
    newer = snapshot([deal("A", "quoted", 200)])
    flow = compare_snapshots(older, newer, MODEL)

    assert flow.open_amount["open_before"] == 200.0
    assert not any(flow.bucket(name) for name in BUCKETS)


def test_slipped_needs_both_close_dates_and_an_open_deal_in_both():
    older = snapshot(
        [
            deal("LATER", "lead", 1, close="2026-11-20"),
            deal("SAME_DAY", "lead", 1, close="2026-11-20 09:00"),
            deal("EARLIER", "lead", 1, close="2026-11-20"),
            deal("NO_DATE", "lead", 1, close=None),
            deal("WON", "lead", 1, close="2026-11-20"),
        ]
    )
    newer = snapshot(
        [
            deal("LATER", "lead", 1, close="2026-11-21"),
            deal("SAME_DAY", "lead", 1, close="2026-11-20 18:00"),  # same day
            deal("EARLIER", "lead", 1, close="2026-11-19"),
            deal("NO_DATE", "lead", 1, close="2026-12-31"),
            deal("WON", "won", 1, close="2026-12-31"),
        ]
    )
    assert compare_snapshots(older, newer, MODEL).bucket("slipped") == ["LATER"]


def test_owner_change_of_a_deal_closed_in_both_snapshots_is_not_listed():
    older = snapshot(
        [
            deal("A", "won", 1, owner="王强"),
            deal("B", "quoted", 1, owner=None),
            deal("C", "quoted", 1, owner="王强"),
        ]
    )
    newer = snapshot(
        [
            deal("A", "won", 1, owner="李娜"),
            deal("B", "won", 1, owner="李娜"),
            deal("C", "quoted", 1, owner="王强"),
        ]
    )
    assert compare_snapshots(older, newer, MODEL).bucket("owner_changed") == ["B"]


def test_stage_transitions_never_hold_a_zero_count():
    older = snapshot(
        [
            deal("A", "lead", 1),
            deal("B", "lead", 1),
            deal("C", "negotiating", 1),
            deal("D", "quoted", 1),
        ]
    )
    newer = snapshot(
        [
            deal("A", "contacted", 1),
            deal("B", "contacted", 1),
            deal("C", "quoted", 1),
            deal("E", "lead", 1),
        ]
    )
    moves = stage_transitions(compare_snapshots(older, newer, MODEL), MODEL)

    rows = {
        (r.from_stage, r.to_stage, r.kind): (r.count, r.backward)
        for r in moves.itertuples()
    }
    assert rows == {
        (None, "lead", "new"): (1, False),
        ("lead", "contacted", "moved"): (2, False),
        ("quoted", None, "missing"): (1, False),
        ("negotiating", "quoted", "moved"): (1, True),
    }
    assert (moves["count"] > 0).all()


# ---------------------------------------------------------------- stage events


def history(*weeks: tuple[date, list[dict]]) -> pd.DataFrame:
    frames = [
        snapshot(rows, as_of).assign(snapshot_id=number)
        for number, (as_of, rows) in enumerate(weeks, start=1)
    ]
    return pd.concat(frames, ignore_index=True)


def events_of(frame: pd.DataFrame, deal_id: str) -> list[tuple]:
    rows = frame[frame["deal_id"] == deal_id]
    return [
        (
            r.stage,
            None if pd.isna(r.entered_at) else r.entered_at.date().isoformat(),
            None if pd.isna(r.window_start) else r.window_start.date().isoformat(),
            r.window_end.date().isoformat(),
            r.how,
            r.inferred,
        )
        for r in rows.itertuples()
    ]


def test_stage_events_mark_jumped_stages_inferred_and_use_export_dates():
    week_3 = date(2026, 11, 27)
    frame = history(
        (
            WEEK_1,
            [
                deal("J", "lead", 1, created_at="2026-11-02"),
                deal("Q", "quoted", 1, created_at=None),
            ],
        ),
        (
            WEEK_2,
            [
                deal("J", "negotiating", 1, created_at="2026-11-02"),
                deal("Q", "quoted", 1),
            ],
        ),
        (
            week_3,
            [
                deal("J", "won", 1, created_at="2026-11-02", closed_at="2026-11-25"),
                deal("Q", "lost", 1, closed_at="2026-11-30"),
            ],
        ),
    )
    events = stage_events(frame, MODEL)

    assert events_of(events, "J") == [
        # created_at is the export's own date for the first stage
        ("lead", "2026-11-02", "2026-11-02", "2026-11-13", "exported", False),
        # lead → negotiating between 11-13 and 11-20: contacted, quoted jumped
        ("contacted", "2026-11-20", "2026-11-13", "2026-11-20", "diffed", True),
        ("quoted", "2026-11-20", "2026-11-13", "2026-11-20", "diffed", True),
        ("negotiating", "2026-11-20", "2026-11-13", "2026-11-20", "diffed", False),
        # won on its closed_at, inside the window; deciding was jumped over
        ("deciding", "2026-11-25", "2026-11-20", "2026-11-27", "diffed", True),
        ("won", "2026-11-25", "2026-11-20", "2026-11-27", "exported", False),
    ]
    assert events_of(events, "Q") == [
        # no created_at: lead and contacted are inferred, quoted seen on 11-13
        ("lead", "2026-11-13", None, "2026-11-13", "first_seen", True),
        ("contacted", "2026-11-13", None, "2026-11-13", "first_seen", True),
        ("quoted", "2026-11-13", None, "2026-11-13", "first_seen", False),
        # closed_at 11-30 is after the snapshot (11-27): the window's end is used
        ("lost", "2026-11-27", "2026-11-20", "2026-11-27", "diffed", False),
    ]


def test_stage_events_for_moves_back_reopening_and_a_deal_first_seen_lost():
    frame = history(
        (
            WEEK_1,
            [
                deal("B", "negotiating", 1),
                deal(
                    "L",
                    "lost",
                    1,
                    lost_at_stage="contacted",
                    created_at="2026-10-01",
                    closed_at="2026-11-10",
                ),
            ],
        ),
        (WEEK_2, [deal("B", "quoted", 1), deal("L", "quoted", 1)]),
    )
    events = stage_events(frame, MODEL)

    assert events_of(events, "B")[-1] == (
        "quoted",
        "2026-11-20",
        "2026-11-13",
        "2026-11-20",
        "diffed",
        False,
    )
    assert events_of(events, "L") == [
        ("lead", "2026-10-01", "2026-10-01", "2026-11-13", "exported", False),
        ("contacted", "2026-11-10", "2026-10-01", "2026-11-13", "first_seen", True),
        ("lost", "2026-11-10", "2026-10-01", "2026-11-13", "exported", False),
        # reopened straight into quoted: nothing inferred on the way back
        ("quoted", "2026-11-20", "2026-11-13", "2026-11-20", "diffed", False),
    ]


def test_snapshot_rows_keep_the_last_imported_file_of_an_as_of():
    frame = history((WEEK_1, [deal("A", "lead", 1)]), (WEEK_1, [deal("A", "won", 2)]))
    rows = snapshot_rows(frame)
    assert len(rows) == 1
    assert rows.loc[0, "stage"] == "won"


# ---------------------------------------------------------------- slip ledger


def test_slip_ledger_counts_pushes_across_all_snapshots():
    week_3, week_4 = date(2026, 11, 27), date(2026, 12, 4)
    frame = history(
        (
            WEEK_1,
            [
                deal("P", "lead", 1, close="2026-11-30"),
                deal("W", "quoted", 1, close="2026-11-30"),
            ],
        ),
        (
            WEEK_2,
            [
                deal("P", "lead", 1, close="2026-12-10"),
                deal("W", "won", 1, close="2026-12-30"),
            ],
        ),
        (
            week_3,
            [
                deal("P", "contacted", 1, close="2026-12-05"),
                deal("W", "won", 1, close="2026-12-30"),
            ],
        ),
        (
            week_4,
            [
                deal("P", "contacted", 1, close="2026-12-31"),
                deal("N", "lead", 1, close="2027-01-01"),
            ],
        ),
    )
    ledger = slip_ledger(frame, week_4, MODEL).set_index("deal_id")

    # P: 11-30 → 12-10 (+10), → 12-05 (earlier, no slip), → 12-31 (+26)
    assert ledger.loc["P", "slips"] == 2
    assert ledger.loc["P", "days_pushed"] == 36
    assert ledger.loc["P", "first_expected_close"] == pd.Timestamp("2026-11-30")
    assert ledger.loc["N", "slips"] == 0
    assert "W" not in ledger.index  # won: not an open deal
    assert list(ledger.index) == ["P", "N"]
    # as of week 2 only the first push has happened
    assert slip_ledger(frame, WEEK_2, MODEL).set_index("deal_id").loc["P", "slips"] == 1


# ---------------------------------------------------------------- property test

STAGES = [*MODEL.keys, None]
OWNERS = ["张伟", "李娜", None]


def _side():
    return st.one_of(
        st.none(),
        st.fixed_dictionaries(
            {
                "stage": st.sampled_from(STAGES),
                "cents": st.one_of(st.none(), st.integers(0, 10**11)),
                "close": st.one_of(st.none(), st.integers(0, 60)),
                "owner": st.sampled_from(OWNERS),
            }
        ),
    )


def _frame(sides: dict[str, dict | None]) -> pd.DataFrame:
    base = date(2026, 11, 1)
    rows = [
        deal(
            deal_id,
            side["stage"],
            None if side["cents"] is None else side["cents"] / 100,
            owner=side["owner"],
            close=None
            if side["close"] is None
            else (base + timedelta(days=side["close"])).isoformat(),
        )
        for deal_id, side in sides.items()
        if side is not None
    ]
    return snapshot(rows)


def _status(side: dict | None) -> str:
    if side is None or side["stage"] is None:
        return "absent"
    if side["stage"] in MODEL.open_keys:
        return "open"
    return side["stage"]  # won or lost


def _expected_buckets(before: dict | None, after: dict | None) -> set[str]:
    """The buckets a deal's change implies, rule by rule (compare_snapshots doc)."""
    was, now = _status(before), _status(after)
    buckets = set()
    if was == "absent" and now != "absent":
        buckets.add("new")
    if was != "absent" and now == "absent":
        buckets.add("disappeared")
    if was == "absent" or now == "absent":
        return buckets
    if now == "won" and was != "won":
        buckets.add("won")
    if now == "lost" and was != "lost":
        buckets.add("lost")
    if was in ("won", "lost") and now == "open":
        buckets.add("reopened")
    if not (was in ("won", "lost") and now in ("won", "lost")) and (
        before["owner"] != after["owner"]
    ):
        buckets.add("owner_changed")
    if was == now == "open":
        rank_before = MODEL.rank(before["stage"])
        rank_after = MODEL.rank(after["stage"])
        if rank_after > rank_before:
            buckets.add("advanced")
        if rank_after < rank_before:
            buckets.add("moved_back")
        if None not in (before["close"], after["close"]) and (
            after["close"] > before["close"]
        ):
            buckets.add("slipped")
        if (before["cents"] or 0) != (after["cents"] or 0):
            buckets.add("amount_changed")
    return buckets


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([f"D{n:02d}" for n in range(14)]),
        st.tuples(_side(), _side()),
        max_size=14,
    )
)
def test_waterfall_balances_to_the_cent_and_deals_land_in_the_implied_buckets(pairs):
    older = _frame({deal_id: pair[0] for deal_id, pair in pairs.items()})
    newer = _frame({deal_id: pair[1] for deal_id, pair in pairs.items()})
    flow = compare_snapshots(older, newer, MODEL)
    cents = {name: round(value * 100) for name, value in flow.open_amount.items()}

    # the identity, in whole cents
    assert (
        cents["open_before"]
        + cents["new"]
        + cents["reopened"]
        + cents["amount_up"]
        - cents["amount_down"]
        - cents["won"]
        - cents["lost"]
        - cents["disappeared"]
        == cents["open_after"]
    )
    assert waterfall_balances(flow.open_amount)

    # both ends summed straight from the generated deals
    def open_cents(side_of: int) -> int:
        return sum(
            (pair[side_of]["cents"] or 0)
            for pair in pairs.values()
            if _status(pair[side_of]) == "open"
        )

    assert cents["open_before"] == open_cents(0)
    assert cents["open_after"] == open_cents(1)

    # every deal in exactly the buckets its change implies
    flags = flow.deals[list(BUCKETS)].to_dict("index")
    for deal_id, (before, after) in pairs.items():
        actual = {name for name, flag in flags.get(deal_id, {}).items() if flag}
        assert actual == _expected_buckets(before, after), (deal_id, before, after)

    # each bar is the sum of its deals' effects, all from the matching bucket
    # (a deal moves at most one bar: `bar` holds one name)
    effects = flow.deals.groupby("bar")["bar_amount"].sum()
    for name in BARS:
        effect = round(effects.get(name, 0.0) * 100)
        assert BAR_SIGN[name] * effect == cents[name]
        bucket = "amount_changed" if name.startswith("amount") else name
        members = flow.deals.index[flow.deals["bar"] == name]
        assert flow.deals.loc[members, bucket].all()
