"""Pipeline flow between weekly snapshots (DESIGN.md section 5, "Pipeline flow").

Teams with weekly exports only have each deal's current stage. Comparing two
snapshots deal by deal tells what moved in the window between their as_of
dates; comparing every consecutive pair rebuilds each deal's stage history.

A deal's status in one snapshot is one of: absent (not in the export), open
(an open stage), won or lost. A row whose stage is missing or not in the stage
model counts as absent from that snapshot (the import normally rejects such
rows). Where a frame holds a deal twice, its last row counts, as in
Store.load_deals. Amounts are compared in whole cents, a missing amount
counting 0, so the waterfall balances exactly.

Known shortcoming: a deal that was missing from one export and comes back in
a later one counts as new again in that pair of snapshots.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from sales_core.stages import StageModel

log = logging.getLogger(__name__)

BUCKETS = (
    "new",
    "advanced",
    "moved_back",
    "won",
    "lost",
    "reopened",
    "slipped",
    "amount_changed",
    "owner_changed",
    "disappeared",
)
BARS = ("new", "reopened", "amount_up", "amount_down", "won", "lost", "disappeared")
BAR_SIGN = {
    "new": 1,
    "reopened": 1,
    "amount_up": 1,
    "amount_down": -1,
    "won": -1,
    "lost": -1,
    "disappeared": -1,
}
WATERFALL = ("open_before", *BARS, "open_after")

ABSENT, OPEN, WON, LOST = "absent", "open", "won", "lost"

# How a stage event's date is known.
EXPORTED = "exported"  # the export's own date column (created_at, closed_at)
DIFFED = "diffed"  # between the as_of dates of two consecutive snapshots
FIRST_SEEN = "first_seen"  # already there in the first snapshot showing the deal

_KEPT = (
    "customer",
    "deal_name",
    "owner",
    "team",
    "stage",
    "amount",
    "expected_close",
    "closed_at",
    "created_at",
)


# ---------------------------------------------------------------- helpers


def _cents(amounts: pd.Series) -> pd.Series:
    """Amounts in whole cents (int64), a missing amount counting 0."""
    numbers = pd.to_numeric(amounts, errors="coerce").astype("float64").fillna(0.0)
    return pd.Series(np.rint(numbers.to_numpy() * 100).astype("int64"), amounts.index)


def _status(stages: pd.Series, model: StageModel) -> pd.Series:
    """absent / open / won / lost per row; missing or unknown stages are absent."""
    choices = [
        stages.isin(model.open_keys).to_numpy(),
        stages.isin([model.won_key]).to_numpy(),
        stages.isin([model.lost_key]).to_numpy(),
    ]
    status = np.select(choices, [OPEN, WON, LOST], default=ABSENT).astype(object)
    return pd.Series(status, index=stages.index, dtype=object)


def _one_row_per_deal(frame: pd.DataFrame) -> pd.DataFrame:
    """The deals of one snapshot by deal_id; a repeated deal keeps its last row."""
    rows = frame[frame["deal_id"].notna()]
    rows = rows.drop_duplicates("deal_id", keep="last")
    return rows.set_index("deal_id")


def _days(stamps: pd.Series) -> pd.Series:
    return pd.to_datetime(stamps, errors="coerce").dt.normalize()


def _same_text(left: pd.Series, right: pd.Series) -> pd.Series:
    """Equal text, where a missing value equals only another missing value."""
    both_missing = left.isna() & right.isna()
    equal = left.astype(object).eq(right.astype(object)) & left.notna()
    return both_missing | equal


def snapshot_rows(history: pd.DataFrame) -> pd.DataFrame:
    """One row per (as_of, deal_id): of several files of one as_of, the last
    imported (highest snapshot_id) holds the deal, as Store.load_deals does.
    Sorted by deal_id, then as_of."""
    rows = history[history["deal_id"].notna()]
    if "snapshot_id" in rows:
        rows = rows.sort_values("snapshot_id", kind="stable")
    rows = rows.drop_duplicates(["as_of", "deal_id"], keep="last")
    return rows.sort_values(["deal_id", "as_of"], kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------- two snapshots


@dataclass(frozen=True, eq=False)
class Flow:
    """What moved between two snapshots.

    `deals` has one row per deal in either snapshot (index deal_id): customer,
    deal_name, owner, team (as the newer snapshot shows them); stage, amount,
    expected_close, closed_at, owner and status, each _before and _after; one
    bool column per bucket (BUCKETS); `bar` (the waterfall bar the deal moves,
    or None) and `bar_amount` (its signed effect on the open amount).
    `open_amount` holds the WATERFALL figures.
    """

    from_date: date | None
    to_date: date | None
    deals: pd.DataFrame
    open_amount: dict[str, float]

    def bucket(self, name: str) -> list[str]:
        """Deal ids in one bucket, sorted."""
        return sorted(self.deals.index[self.deals[name]].tolist())

    def bar_deals(self, bar: str) -> pd.DataFrame:
        """The deals behind one waterfall bar, largest effect first."""
        rows = self.deals[self.deals["bar"] == bar]
        order = rows["bar_amount"].abs().sort_values(ascending=False, kind="stable")
        return rows.loc[order.index]

    def as_dict(self) -> dict[str, Any]:
        """The command line's JSON: id lists per bucket and the waterfall."""
        return {
            "from": _iso(self.from_date),
            "to": _iso(self.to_date),
            "deals": {name: self.bucket(name) for name in BUCKETS},
            "open_amount": dict(self.open_amount),
        }


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _side(frame: pd.DataFrame, model: StageModel, suffix: str) -> pd.DataFrame:
    rows = _one_row_per_deal(frame).reindex(columns=list(_KEPT))
    status = _status(rows["stage"], model)
    unknown = int((status == ABSENT).sum())
    if unknown:
        log.warning("%d deal rows without a known stage left out of the flow", unknown)
    rows = rows[status != ABSENT].copy()
    rows["status"] = status[status != ABSENT]
    rows["cents"] = _cents(rows["amount"])
    return rows.add_suffix(suffix)


def compare_snapshots(
    older: pd.DataFrame,
    newer: pd.DataFrame,
    model: StageModel,
    from_date: date | None = None,
    to_date: date | None = None,
) -> Flow:
    """Diff two snapshots deal by deal into buckets and an exact waterfall.

    Buckets (a deal can be in several):
    - new: absent before, present after (any stage); disappeared: the reverse
      (never counted as lost).
    - won / lost: present in both, won (lost) after and not before.
    - reopened: present in both, won or lost before, open after.
    - advanced / moved_back: open in both, stage later / earlier on the path.
    - slipped: open in both, expected_close known in both and on a later day.
    - amount_changed: open in both, amount different (to the cent).
    - owner_changed: present in both and open in at least one of them, owner
      different (a missing owner equals only a missing owner).

    Waterfall (cents, missing amount = 0): open_before = Σ amount of deals
    open before; open_after likewise after. Bars: new = Σ amount after of
    deals absent before and open after; reopened = Σ amount after of deals
    closed before and open after; amount_up / amount_down = Σ positive /
    negative (after − before) over deals open in both; won, lost,
    disappeared = Σ amount before of deals open before and won, lost or
    absent after. Then exactly:
        open_before + new + reopened + amount_up − amount_down − won − lost
        − disappeared = open_after.
    A closed deal that stays closed (won → lost, say) moves no bar.
    """
    before = _side(older, model, "_before")
    after = _side(newer, model, "_after")
    deals = before.join(after, how="outer")
    was = deals["status_before"].fillna(ABSENT)
    now = deals["status_after"].fillna(ABSENT)
    deals["status_before"], deals["status_after"] = was, now
    both = (was != ABSENT) & (now != ABSENT)
    open_both = (was == OPEN) & (now == OPEN)
    closed = {WON, LOST}

    rank = {key: position for position, key in enumerate(model.path_keys)}
    rank_before = deals["stage_before"].map(rank)
    rank_after = deals["stage_after"].map(rank)
    change = deals["cents_after"].fillna(0) - deals["cents_before"].fillna(0)
    later_close = _days(deals["expected_close_after"]) > _days(
        deals["expected_close_before"]
    )
    same_owner = _same_text(deals["owner_before"], deals["owner_after"])

    deals["new"] = (was == ABSENT) & (now != ABSENT)
    deals["disappeared"] = (was != ABSENT) & (now == ABSENT)
    deals["won"] = both & (now == WON) & (was != WON)
    deals["lost"] = both & (now == LOST) & (was != LOST)
    deals["reopened"] = both & was.isin(closed) & (now == OPEN)
    deals["advanced"] = open_both & (rank_after > rank_before)
    deals["moved_back"] = open_both & (rank_after < rank_before)
    deals["slipped"] = open_both & later_close
    deals["amount_changed"] = open_both & (change != 0)
    deals["owner_changed"] = both & ~(was.isin(closed) & now.isin(closed)) & ~same_owner

    deals["bar"], bar_cents = _bars(deals, was, now, change)
    deals["bar_amount"] = bar_cents / 100
    open_amount = _waterfall(deals, was, now, bar_cents)
    deals = _describe(deals)
    deals.index.name = "deal_id"
    return Flow(from_date, to_date, deals, open_amount)


def _bars(
    deals: pd.DataFrame, was: pd.Series, now: pd.Series, change: pd.Series
) -> tuple[pd.Series, pd.Series]:
    """Each deal's waterfall bar (or None) and its signed effect in cents."""
    before = deals["cents_before"].fillna(0).astype("int64")
    after = deals["cents_after"].fillna(0).astype("int64")
    open_both = (was == OPEN) & (now == OPEN)
    rules = [
        ((was == ABSENT) & (now == OPEN), "new", after),
        (was.isin([WON, LOST]) & (now == OPEN), "reopened", after),
        (open_both & (change > 0), "amount_up", change),
        (open_both & (change < 0), "amount_down", change),
        ((was == OPEN) & (now == WON), "won", -before),
        ((was == OPEN) & (now == LOST), "lost", -before),
        ((was == OPEN) & (now == ABSENT), "disappeared", -before),
    ]
    masks = [mask.to_numpy(dtype=bool) for mask, _, _ in rules]
    names = np.select(masks, [name for _, name, _ in rules], default="")
    effects = np.select(masks, [effect.to_numpy(dtype="int64") for *_, effect in rules])
    bar = pd.Series(names, index=deals.index, dtype=object)
    return bar.where(bar != "", None), pd.Series(effects, index=deals.index)


def _waterfall(
    deals: pd.DataFrame, was: pd.Series, now: pd.Series, bar_cents: pd.Series
) -> dict[str, float]:
    """open_before, each bar (as a positive size) and open_after, in yuan."""
    cents = {
        "open_before": int(deals.loc[was == OPEN, "cents_before"].sum()),
        "open_after": int(deals.loc[now == OPEN, "cents_after"].sum()),
    }
    for name in BARS:
        cents[name] = int(abs(bar_cents[deals["bar"] == name].sum()))
    return {name: cents[name] / 100 for name in WATERFALL}


def _describe(deals: pd.DataFrame) -> pd.DataFrame:
    """Customer, deal name, owner and team as the newest snapshot shows them."""
    for column in ("customer", "deal_name", "owner", "team"):
        newer = deals[f"{column}_after"].astype(object)
        deals[column] = newer.where(newer.notna(), deals[f"{column}_before"])
    dropped = [
        f"{name}_{side}"
        for name in ("customer", "deal_name", "team", "created_at", "cents")
        for side in ("before", "after")
    ]
    return deals.drop(columns=dropped)


def waterfall_balances(open_amount: dict[str, float]) -> bool:
    """True when the waterfall identity holds to the cent."""
    cents = {name: round(value * 100) for name, value in open_amount.items()}
    moved = sum(BAR_SIGN[name] * cents[name] for name in BARS)
    return cents["open_before"] + moved == cents["open_after"]


def stage_transitions(flow: Flow, model: StageModel) -> pd.DataFrame:
    """Counts of stage pairs between the two snapshots, for a flow chart.

    One row per (from_stage, to_stage) that occurs, never a zero count:
    kind "moved" (present in both, stage changed; backward = open in both
    and earlier on the path), "unchanged" (same stage, to_stage = from_stage),
    "new" (from_stage None) and "missing" (to_stage None: absent from the
    newer export, which is not lost). Columns: from_stage, to_stage, kind,
    count, backward.
    """
    deals = flow.deals
    present = {
        "moved": (deals["status_before"] != ABSENT)
        & (deals["status_after"] != ABSENT)
        & (deals["stage_before"] != deals["stage_after"]),
        "unchanged": deals["stage_before"].notna()
        & (deals["stage_before"] == deals["stage_after"]),
        "new": deals["new"],
        "missing": deals["disappeared"],
    }
    rows = []
    for kind, mask in present.items():
        chosen = deals[mask]
        pairs = chosen.groupby(
            [chosen["stage_before"].fillna(""), chosen["stage_after"].fillna("")],
            sort=False,
        ).size()
        for (before, after), count in pairs.items():
            rows.append(
                {
                    "from_stage": before or None,
                    "to_stage": after or None,
                    "kind": kind,
                    "count": int(count),
                }
            )
    frame = pd.DataFrame(rows, columns=["from_stage", "to_stage", "kind", "count"])
    for column in ("from_stage", "to_stage"):
        values = frame[column].astype(object)
        frame[column] = values.where(values.notna(), None)
    rank = {key: position for position, key in enumerate(model.path_keys)}
    opened = set(model.open_keys)
    frame["backward"] = [
        kind == "moved"
        and before in opened
        and after in opened
        and rank[after] < rank[before]
        for before, after, kind in zip(
            frame["from_stage"], frame["to_stage"], frame["kind"], strict=True
        )
    ]
    order = {key: position for position, key in enumerate(model.keys)}
    frame["_from"] = frame["from_stage"].map(order).fillna(-1)
    frame["_to"] = frame["to_stage"].map(order).fillna(len(order))
    frame = frame.sort_values(["_from", "_to"], kind="stable")
    return frame.drop(columns=["_from", "_to"]).reset_index(drop=True)


# ---------------------------------------------------------------- history


_EVENT_FACTS = ["stage", "created_at", "closed_at", "lost_at_stage"]
EVENT_COLUMNS = [
    "deal_id",
    "stage",
    "entered_at",
    "window_start",
    "window_end",
    "how",
    "inferred",
]


def stage_events(history: pd.DataFrame, model: StageModel) -> pd.DataFrame:
    """Each deal entering a stage, rebuilt from consecutive snapshots.

    history: deal rows of many snapshots (deal_id, as_of, stage, created_at,
    closed_at, lost_at_stage, ...; see snapshot_rows for repeats). Per deal,
    snapshots in as_of order:
    - First snapshot showing the deal: window (created_at, as_of]. The first
      path stage is entered at created_at when the export has it ("exported");
      the stage the deal holds is entered in the window ("first_seen"), and
      path stages before it are inferred. A lost deal reached the stages up
      to its lost_at_stage (inferred).
    - Later snapshot with another stage: window (previous as_of, as_of],
      the new stage is entered in it ("diffed"); stages a forward move jumped
      over are inferred (inferred = True), in the same window.
    - Won and lost are entered at closed_at when the export has it and it
      is not after the window's end ("exported").
    entered_at is the exported date, else the window's end (the day the
    snapshot shows the deal there: the stage was entered on or before it).
    Columns: EVENT_COLUMNS, sorted by deal_id and entered_at.
    """
    rows = snapshot_rows(history)
    rows = rows[rows["stage"].isin(model.keys)]
    rows = rows.reindex(columns=["deal_id", "as_of", *_EVENT_FACTS])
    previous = rows.groupby("deal_id", sort=False)[["as_of", "stage"]].shift(1)
    first = previous["as_of"].isna()
    changed = first | (rows["stage"] != previous["stage"])
    events: list[dict] = []
    moves = zip(
        rows[changed].to_dict("records"),
        previous[changed].to_dict("records"),
        first[changed],
        strict=True,
    )
    for row, before, is_first in moves:
        if is_first:
            events.extend(_first_events(row, model))
        else:
            events.extend(_move_events(row, before, model))
    frame = pd.DataFrame(events, columns=EVENT_COLUMNS)
    for column in ("entered_at", "window_start", "window_end"):
        frame[column] = pd.to_datetime(frame[column])
    frame["inferred"] = frame["inferred"].astype(bool)
    return frame.sort_values(["deal_id", "entered_at"], kind="stable").reset_index(
        drop=True
    )


def _known(value: Any) -> pd.Timestamp | None:
    return None if pd.isna(value) else pd.Timestamp(value).normalize()


def _event(deal_id, stage, start, end, how, inferred=False, at=None) -> dict:
    return {
        "deal_id": deal_id,
        "stage": stage,
        "entered_at": at if at is not None else end,
        "window_start": start,
        "window_end": end,
        "how": how,
        "inferred": inferred,
    }


def _closing(row: dict, model: StageModel, end: pd.Timestamp):
    """How and when a won or lost deal closed: its closed_at if usable."""
    closed_at = _known(row.get("closed_at"))
    closing = row["stage"] in (model.won_key, model.lost_key)
    if closing and closed_at is not None and closed_at <= end:
        return EXPORTED, closed_at
    return None, None


def _first_events(row: dict, model: StageModel) -> list[dict]:
    deal_id, stage = row["deal_id"], row["stage"]
    end = pd.Timestamp(row["as_of"]).normalize()
    created = _known(row.get("created_at"))
    start = created if created is not None and created <= end else None
    how, at = _closing(row, model, end)
    landing = _event(deal_id, stage, start, end, how or FIRST_SEEN, at=at)
    if stage == model.path_keys[0] and start is not None:
        landing.update(how=EXPORTED, entered_at=start)

    path = model.path_keys
    if stage == model.lost_key:
        lost_at = row.get("lost_at_stage")
        reached = path[: path.index(lost_at) + 1] if lost_at in model.open_keys else []
        reached = reached or path[:1]
    else:
        reached = path[: path.index(stage)]
    passed = []
    for key in reached:
        if key == path[0] and start is not None:
            passed.append(_event(deal_id, key, start, end, EXPORTED, at=start))
        else:
            passed.append(
                _event(
                    deal_id, key, start, end, FIRST_SEEN, True, at=landing["entered_at"]
                )
            )
    return [*passed, landing]


def _move_events(row: dict, previous: dict, model: StageModel) -> list[dict]:
    deal_id, stage, was = row["deal_id"], row["stage"], previous["stage"]
    start = pd.Timestamp(previous["as_of"]).normalize()
    end = pd.Timestamp(row["as_of"]).normalize()
    how, at = _closing(row, model, end)
    landing = _event(deal_id, stage, start, end, how or DIFFED, at=at)
    path = model.path_keys
    jumped: list[str] = []
    if was in model.open_keys and stage in path and path.index(stage) > path.index(was):
        jumped = path[path.index(was) + 1 : path.index(stage)]
    passed = [
        _event(deal_id, key, start, end, DIFFED, True, at=landing["entered_at"])
        for key in jumped
    ]
    return [*passed, landing]


def slip_ledger(history: pd.DataFrame, as_of: Any, model: StageModel) -> pd.DataFrame:
    """How often each open deal's expected close was pushed out, over all snapshots.

    Snapshots on or before as_of; the deals are those open in the newest of
    them. A slip is a pair of consecutive snapshots showing the deal, open in
    both, whose expected_close (known in both) moved to a later day;
    days_pushed = Σ those moves in days. Columns: deal_id, customer, owner,
    team, stage, amount, first_expected_close (the first one seen),
    expected_close (now), slips, days_pushed, snapshots (how many showed the
    deal). Sorted by slips, then days_pushed, largest first.
    """
    columns = [
        "deal_id",
        "customer",
        "owner",
        "team",
        "stage",
        "amount",
        "first_expected_close",
        "expected_close",
        "slips",
        "days_pushed",
        "snapshots",
    ]
    day = pd.Timestamp(as_of).normalize()
    rows = snapshot_rows(history[pd.to_datetime(history["as_of"]) <= day])
    if rows.empty:
        return pd.DataFrame(columns=columns)
    newest = rows["as_of"].max()
    rows = rows.copy()
    rows["open"] = rows["stage"].isin(model.open_keys)
    rows["close_day"] = _days(rows["expected_close"])
    previous = rows.groupby("deal_id", sort=False)[["open", "close_day"]].shift(1)
    pushed = (rows["close_day"] - previous["close_day"]).dt.days
    slip = rows["open"] & previous["open"].eq(True) & (pushed > 0)
    rows["slip"] = slip
    rows["pushed"] = pushed.where(slip, 0)

    per_deal = rows.groupby("deal_id", sort=False).agg(
        slips=("slip", "sum"),
        days_pushed=("pushed", "sum"),
        snapshots=("as_of", "size"),
        first_expected_close=("close_day", "first"),
    )
    now = rows[(rows["as_of"] == newest) & rows["open"]].set_index("deal_id")
    kept = ["customer", "owner", "team", "stage", "amount", "expected_close"]
    ledger = now.reindex(columns=kept).join(per_deal).reset_index()[columns]
    ledger["slips"] = ledger["slips"].astype("int64")
    ledger["days_pushed"] = ledger["days_pushed"].astype("int64")
    return ledger.sort_values(
        ["slips", "days_pushed", "deal_id"], ascending=[False, False, True]
    ).reset_index(drop=True)
