"""Funnel leakage and results (DESIGN.md section 5, "Funnel" and "Results").

Which stage do deals leak from, why, and is it everyone or one rep? The
funnel follows a cohort (deals created in a period) down the stage path;
results count deals closed in the period. Every rate that compares a group
with the rest of the team carries a 95% Wilson interval, and a difference is
flagged only when the two intervals do not overlap.

Dates compare by calendar day: "in [a, b]" means on a day from a to b, both
included. Nothing here reads the clock, a file or the store.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from sales_core.errors import KongpanError
from sales_core.metrics.common import is_missing, json_value, on_days
from sales_core.stages import StageModel, default_model

MIN_DEALS = 10  # a group with fewer deals behind a rate is marked "too few"
Z_95 = NormalDist().inv_cdf(0.975)  # 1.959963984540054
UNKNOWN = "unknown"  # the bucket of lost deals whose last stage is not known
_NONE = "\u2400none"  # stands for a missing group key or reason while grouping
GROUP_FIELDS = ("owner", "team", "source", "intent", "industry", "customer_type")
STAGE_MEASURES = ("reached", "converted", "lost_here")
RESULT_MEASURES = ("won", "lost", "closed", "open")
EVENT_COLUMNS = ["deal_id", "stage", "entered_at"]


# The columns of the stage table, in the order `report funnel --json` gives.
STAGE_COLUMNS = (
    "stage",
    "reached",
    "converted_to_next",
    "conversion",
    "lost_here",
    "leakage",
)


# ---------------------------------------------------------------- helpers


def _text(values: pd.Series) -> pd.Series:
    """Text values as objects, None where missing or blank."""
    plain = values.astype(object)
    blank = plain.isna() | plain.map(lambda value: str(value).strip() == "")
    return plain.where(~blank, None)


def _ratio(part: float, whole: float) -> float | None:
    """part / whole, or None when whole is 0 (never 0/0 or NaN)."""
    return float(part) / float(whole) if whole else None


def check_period(start: date, end: date) -> None:
    """A period runs forward: start on or before end."""
    if start > end:
        raise KongpanError("bad_period", start=start, end=end)


def check_group_field(by: str) -> None:
    """Groups are compared by one of GROUP_FIELDS."""
    if by not in GROUP_FIELDS:
        raise KongpanError("bad_group_field", value=by, choices=", ".join(GROUP_FIELDS))


# ---------------------------------------------------------------- intervals


def wilson_interval(
    successes: int, trials: int, z: float = Z_95
) -> tuple[float | None, float | None]:
    """The Wilson score interval for successes / trials (95% with the default z).

        p = successes / trials
        centre = (p + z²/2n) / (1 + z²/n)
        half   = z / (1 + z²/n) × √(p(1 − p)/n + z²/4n²)
        (low, high) = (centre − half, centre + half), kept inside [0, 1]

    (None, None) when there are no trials: nothing is known.
    """
    if trials <= 0:
        return None, None
    n = float(trials)
    p = successes / n
    shrink = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / shrink
    half = z / shrink * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def intervals_apart(
    low: float | None,
    high: float | None,
    other_low: float | None,
    other_high: float | None,
) -> str | None:
    """'below' or 'above' when [low, high] and the other interval do not overlap.

    None when they overlap (touching ends overlap) or either one is unknown.
    """
    if any(is_missing(bound) for bound in (low, high, other_low, other_high)):
        return None
    if high < other_low:
        return "below"
    if low > other_high:
        return "above"
    return None


def _compare(
    table: pd.DataFrame, hits: str, trials: str, min_deals: int
) -> pd.DataFrame:
    """Rates, intervals and flags for each row against the rest of the team.

    `table` holds a group's `hits` and `trials` plus the totals over everyone
    (`total_hits`, `total_trials`); the rest = totals − the group. Adds rate,
    low, high, rest_rate, rest_low, rest_high, too_few (trials < min_deals),
    direction ('below'/'above' when the intervals do not overlap) and flagged
    (direction known and not too few).
    """
    table = table.copy()
    table["rest_hits"] = table["total_hits"] - table[hits]
    table["rest_trials"] = table["total_trials"] - table[trials]
    rows = []
    for record in table.itertuples(index=False):
        mine = int(getattr(record, hits)), int(getattr(record, trials))
        rest = int(record.rest_hits), int(record.rest_trials)
        low, high = wilson_interval(*mine)
        rest_low, rest_high = wilson_interval(*rest)
        direction = intervals_apart(low, high, rest_low, rest_high)
        too_few = mine[1] < min_deals
        rows.append(
            {
                "rate": _ratio(*mine),
                "low": low,
                "high": high,
                "rest_rate": _ratio(*rest),
                "rest_low": rest_low,
                "rest_high": rest_high,
                "too_few": too_few,
                "direction": direction,
                "flagged": direction is not None and not too_few,
            }
        )
    extra = pd.DataFrame(
        rows,
        index=table.index,
        columns=[
            "rate",
            "low",
            "high",
            "rest_rate",
            "rest_low",
            "rest_high",
            "too_few",
            "direction",
            "flagged",
        ],
    )
    table = pd.concat([table, extra], axis=1)
    table["too_few"] = table["too_few"].astype(bool)
    table["flagged"] = table["flagged"].astype(bool)
    return table.drop(columns=["total_hits", "total_trials"])


# ---------------------------------------------------------------- cohort


def cohort(deals: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """The funnel's cohort: deals whose created_at falls on a day in [start, end].

    Deals without created_at belong to no cohort (count them with `undated`).
    """
    return deals[on_days(deals["created_at"], start, end)]


def undated(deals: pd.DataFrame) -> int:
    """Deals without created_at, which no cohort can hold."""
    return int(pd.to_datetime(deals["created_at"], errors="coerce").isna().sum())


def _observed(events: pd.DataFrame | None) -> pd.DataFrame:
    """Stage events that were seen, not inferred (an `inferred` column is optional)."""
    if events is None or events.empty:
        return pd.DataFrame(columns=EVENT_COLUMNS)
    if "inferred" in events:
        events = events[~events["inferred"].fillna(False).astype(bool)]
    return events


def _timed(events: pd.DataFrame) -> pd.Series:
    """Mask: the event's entered_at is a real time, not a bound or a guess.

    Unknown: entered_at missing, `inferred` true, or `how` = 'first_seen' (the
    stage a deal already held in the first snapshot showing it).
    """
    timed = pd.to_datetime(events["entered_at"], errors="coerce").notna()
    if "inferred" in events:
        timed &= ~events["inferred"].fillna(False).astype(bool)
    if "how" in events:
        timed &= events["how"].astype(object).ne("first_seen")
    return timed


def _history_places(
    deal_ids: pd.Series, events: pd.DataFrame | None, model: StageModel
) -> tuple[pd.Series, pd.Series]:
    """Per deal: the furthest path rank its history shows, and its last open stage.

    Both from events that are not inferred (inferred ones are guesses). The
    last open stage is the one entered latest (an unknown time counts as
    earliest; ties go to the later stage on the path), among events a
    snapshot showed: with a `how` column, 'exported' entries (assumed at
    created_at) do not count for it.
    """
    nothing = pd.Series(np.nan, index=deal_ids.index)
    known = _observed(events)
    known = known[known["stage"].isin(model.path_keys)].copy()
    if known.empty:
        return nothing, nothing.astype(object)
    rank = {key: position for position, key in enumerate(model.path_keys)}
    known["rank"] = known["stage"].map(rank)
    furthest = known.groupby("deal_id")["rank"].max()
    held = known[known["stage"].isin(model.open_keys)].copy()
    if "how" in held:
        # 'exported' open-stage events are entries assumed at created_at, not
        # a snapshot showing the deal there: no evidence of where it was lost.
        held = held[held["how"].astype(object).ne("exported")]
    held["when"] = pd.to_datetime(held["entered_at"], errors="coerce")
    held = held.sort_values(["deal_id", "when", "rank"], na_position="first")
    last = held.drop_duplicates("deal_id", keep="last").set_index("deal_id")["stage"]
    return deal_ids.map(furthest), deal_ids.map(last).astype(object)


def place_deals(
    deals: pd.DataFrame,
    model: StageModel | None = None,
    events: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Each deal's place in the funnel: how far it got, and where it was lost.

    Adds to a copy of `deals`:
    - outcome: 'won', 'lost', 'open' (an open stage) or 'unknown' (no stage).
    - lost_stage (lost deals only): lost_at_stage when it names an open
      stage, else the open stage the history entered last, else None, which
      is the "unknown stage" bucket.
    - furthest: path rank (0 = first stage, won = last) of the furthest stage
      the deal is known to have reached = the largest of its current stage
      (open or won), its lost_stage and every stage in its history; at least
      0, since every deal enters at the first stage. A deal that reached a
      stage passed every stage before it, so reached(k+1) ⊆ reached(k).
    Open deals are never lost; a lost deal in the unknown bucket reached only
    the first stage unless its history shows more. `events` is optional stage
    history: deal_id, stage, entered_at, and optionally inferred and how, as
    metrics.flow.stage_events rebuilds it from snapshots; inferred events are
    ignored here.
    """
    model = model or default_model()
    rank = {key: position for position, key in enumerate(model.path_keys)}
    placed = deals.copy()
    stage = placed["stage"].astype(object)
    is_won = stage.eq(model.won_key)
    is_lost = stage.eq(model.lost_key)
    is_open = stage.isin(model.open_keys)
    placed["outcome"] = np.select(
        [is_won, is_lost, is_open], ["won", "lost", "open"], "unknown"
    )

    history_rank, history_last = _history_places(placed["deal_id"], events, model)
    own = placed["lost_at_stage"].astype(object)
    own = own.where(own.isin(model.open_keys) & is_lost)
    lost_stage = own.where(own.notna(), history_last.where(is_lost))
    placed["lost_stage"] = lost_stage.where(lost_stage.notna(), None).astype(object)

    candidates = pd.concat(
        [stage.map(rank).where(~is_lost), lost_stage.map(rank), history_rank], axis=1
    )
    furthest = candidates.max(axis=1).fillna(0).clip(lower=0)
    placed["furthest"] = furthest.astype("int64")
    return placed


# ---------------------------------------------------------------- funnel


def stage_mask(
    placed: pd.DataFrame, measure: str, stage: str, model: StageModel
) -> pd.Series:
    """The deals behind one number of the stage table (placed by place_deals).

    - reached k: furthest ≥ rank(k).
    - converted k (k before won): furthest ≥ rank(k) + 1, i.e. reached the next.
    - lost_here k: lost with lost_stage = k; for k = UNKNOWN, lost with no
      known stage. Nobody is lost at won.
    """
    if measure == "lost_here":
        lost = placed["outcome"].eq("lost")
        if stage == UNKNOWN:
            return lost & placed["lost_stage"].isna()
        return lost & placed["lost_stage"].eq(stage)
    position = model.path_keys.index(stage)
    if measure == "reached":
        return placed["furthest"] >= position
    if measure == "converted":
        if stage == model.won_key:
            return pd.Series(False, index=placed.index)
        return placed["furthest"] >= position + 1
    raise ValueError(f"unknown funnel measure {measure!r}")


def funnel_stages(
    placed: pd.DataFrame, model: StageModel | None = None
) -> pd.DataFrame:
    """The stage table of a cohort: one row per path stage, then the unknown bucket.

    For each stage k on the path (open stages, then won):
        reached(k)           = deals whose furthest stage is k or later
        converted_to_next(k) = reached(k+1)               (None for won)
        conversion(k)        = reached(k+1) / reached(k)  (None for won or 0/0)
        lost_here(k)         = lost deals whose lost stage is k
        leakage(k)           = lost_here(k) / reached(k)  (None when 0/0)
    Last row, stage = UNKNOWN: lost deals whose last stage is not known; they
    are in no stage's leakage. reached, converted_to_next and conversion are
    None there, and leakage = unknown lost / reached(first stage).
    """
    model = model or default_model()
    path = model.path_keys
    rows = []
    for position, key in enumerate(path):
        reached = int(stage_mask(placed, "reached", key, model).sum())
        last = position == len(path) - 1
        converted = (
            None if last else int(stage_mask(placed, "converted", key, model).sum())
        )
        lost_here = int(stage_mask(placed, "lost_here", key, model).sum())
        rows.append(
            {
                "stage": key,
                "reached": reached,
                "converted_to_next": converted,
                "conversion": None if last else _ratio(converted, reached),
                "lost_here": lost_here,
                "leakage": _ratio(lost_here, reached),
            }
        )
    unknown = int(stage_mask(placed, "lost_here", UNKNOWN, model).sum())
    entered = rows[0]["reached"] if rows else 0
    rows.append(
        {
            "stage": UNKNOWN,
            "reached": None,
            "converted_to_next": None,
            "conversion": None,
            "lost_here": unknown,
            "leakage": _ratio(unknown, entered),
        }
    )
    return pd.DataFrame(rows, columns=list(STAGE_COLUMNS), dtype=object)


def lost_reasons_by_stage(
    placed: pd.DataFrame, model: StageModel | None = None
) -> pd.DataFrame:
    """Lost deals counted by (lost stage, lost reason).

    Columns: stage (open stage key or UNKNOWN), reason (None when not given),
    deals, share = deals / lost deals at that stage. Stages in path order,
    the unknown bucket last; reasons by count, most first.
    """
    model = model or default_model()
    lost = placed[placed["outcome"].eq("lost")]
    columns = ["stage", "reason", "deals", "share"]
    if lost.empty:
        return pd.DataFrame(columns=columns)
    stage = lost["lost_stage"].where(lost["lost_stage"].notna(), UNKNOWN)
    reason = _text(lost["lost_reason"]).fillna(_NONE)
    counts = (
        pd.DataFrame({"stage": stage.to_numpy(), "reason": reason.to_numpy()})
        .groupby(["stage", "reason"])
        .size()
        .rename("deals")
        .reset_index()
    )
    counts["share"] = counts["deals"] / counts.groupby("stage")["deals"].transform(
        "sum"
    )
    order = {key: position for position, key in enumerate([*model.open_keys, UNKNOWN])}
    counts["_order"] = counts["stage"].map(order)
    counts = counts.sort_values(
        ["_order", "deals", "reason"], ascending=[True, False, True]
    )
    counts["reason"] = (
        counts["reason"].astype(object).where(counts["reason"] != _NONE, None)
    )
    return counts.drop(columns="_order").reset_index(drop=True)[columns]


def time_in_stage(
    placed: pd.DataFrame,
    events: pd.DataFrame | None,
    model: StageModel | None = None,
) -> pd.DataFrame:
    """Median days in each open stage, for the deals in `placed`.

    A visit to stage k lasts from entering k to the deal's next event
    (entering any other stage, or closed_at when it was won or lost). A visit
    counts only when both ends are real times (see _timed): a stage jumped
    over between two snapshots, or held before the first one, has no
    measured length. A visit that ends in a loss counts only when k is the
    deal's known lost stage (place_deals): otherwise the deal may have moved
    on before it was lost. Visits still going on at as_of are left out, so
    the median is of finished visits only. Columns: stage, visits,
    median_days (None without visits).
    """
    model = model or default_model()
    columns = ["stage", "visits", "median_days"]
    timeline = _timeline(placed, events, model)
    timeline = timeline.sort_values(["deal_id", "entered_at", "order"], kind="stable")
    by_deal = timeline.groupby("deal_id")
    following = by_deal["entered_at"].shift(-1)
    next_timed = by_deal["timed"].shift(-1).astype("boolean").fillna(False)
    days = (following - timeline["entered_at"]).dt.total_seconds() / 86400.0
    usable = timeline["timed"].astype(bool) & next_timed.astype(bool) & days.notna()
    ends_lost = by_deal["stage"].shift(-1).eq(model.lost_key)
    lost_stage = timeline["deal_id"].map(
        placed.drop_duplicates("deal_id").set_index("deal_id")["lost_stage"]
    )
    usable &= ~ends_lost | timeline["stage"].eq(lost_stage)
    spells = pd.DataFrame({"stage": timeline["stage"], "days": days})[usable]
    rows = []
    for key in model.open_keys:
        mine = spells.loc[spells["stage"].eq(key), "days"]
        rows.append(
            {
                "stage": key,
                "visits": len(mine),
                "median_days": float(mine.median()) if len(mine) else None,
            }
        )
    return pd.DataFrame(rows, columns=columns, dtype=object)


def _timeline(
    placed: pd.DataFrame, events: pd.DataFrame | None, model: StageModel
) -> pd.DataFrame:
    """Events of the placed deals with a `timed` flag, plus each close.

    Columns deal_id, stage, entered_at, timed, order (stage order in the
    model); a won or lost deal's close at closed_at is added when the events
    do not already hold it at that time.
    """
    ids = set(placed["deal_id"])
    parts = []
    if events is not None and not events.empty:
        mine = events[events["deal_id"].isin(ids)]
        parts.append(
            pd.DataFrame(
                {
                    "deal_id": mine["deal_id"].to_numpy(),
                    "stage": mine["stage"].astype(object).to_numpy(),
                    "entered_at": pd.to_datetime(mine["entered_at"], errors="coerce"),
                    "timed": _timed(mine).to_numpy(),
                }
            )
        )
    closed = placed[placed["outcome"].isin(["won", "lost"])]
    parts.append(
        pd.DataFrame(
            {
                "deal_id": closed["deal_id"].to_numpy(),
                "stage": closed["stage"].astype(object).to_numpy(),
                "entered_at": pd.to_datetime(
                    closed["closed_at"], errors="coerce"
                ).to_numpy(),
                "timed": pd.to_datetime(closed["closed_at"], errors="coerce")
                .notna()
                .to_numpy(),
            }
        )
    )
    timeline = pd.concat(
        [part.reset_index(drop=True) for part in parts], ignore_index=True
    )
    timeline["entered_at"] = pd.to_datetime(timeline["entered_at"])
    timeline["timed"] = timeline["timed"].astype(bool)
    order = {key: position for position, key in enumerate(model.keys)}
    timeline["order"] = timeline["stage"].map(order)
    return timeline.drop_duplicates(["deal_id", "stage", "entered_at"])


def stage_counts(deals: pd.DataFrame, model: StageModel | None = None) -> pd.DataFrame:
    """Deals by their current stage: every stage of the model, zeros included.

    Columns: stage (all model stages in order; an UNKNOWN row only when some
    deal has no stage), deals, amount = Σ amount of deals with amount ≥ 0,
    negative_amounts = deals whose amount is below 0 (left out of amount and
    flagged, so a bad row cannot shrink a bar unseen), share_of_first = deals
    / deals at the first stage (None when the first stage has none).
    """
    model = model or default_model()
    stage = deals["stage"].astype(object)
    amount = pd.to_numeric(deals["amount"], errors="coerce")
    keys = list(model.keys)
    if stage.isna().any() or (~stage.isin(keys) & stage.notna()).any():
        keys.append(UNKNOWN)
    stage = stage.where(stage.isin(model.keys), UNKNOWN)
    first = int(stage.eq(model.keys[0]).sum())
    rows = []
    for key in keys:
        mine = stage.eq(key)
        count = int(mine.sum())
        rows.append(
            {
                "stage": key,
                "deals": count,
                "amount": float(amount[mine & (amount >= 0)].sum()),
                "negative_amounts": int((mine & (amount < 0)).sum()),
                "share_of_first": _ratio(count, first),
            }
        )
    return pd.DataFrame(rows).astype({"share_of_first": object})


# ---------------------------------------------------------------- results


def closed_mask(
    deals: pd.DataFrame, start: date, end: date, model: StageModel
) -> pd.Series:
    """Won or lost deals whose closed_at falls on a day in [start, end]."""
    closed = deals["stage"].isin([model.won_key, model.lost_key])
    return closed & on_days(deals["closed_at"], start, end)


def result_mask(
    deals: pd.DataFrame, measure: str, start: date, end: date, model: StageModel
) -> pd.Series:
    """The deals behind a result: won, lost or closed in the period, or open now."""
    if measure == "open":
        return deals["stage"].isin(model.open_keys)
    closed = closed_mask(deals, start, end, model)
    if measure == "closed":
        return closed
    if measure == "won":
        return closed & deals["stage"].eq(model.won_key)
    if measure == "lost":
        return closed & deals["stage"].eq(model.lost_key)
    raise ValueError(f"unknown result measure {measure!r}")


@dataclass(frozen=True)
class Results:
    """Results of deals closed in the period, and the open pipeline now."""

    won: int
    lost: int
    closed: int
    open: int
    win_rate: float | None
    avg_won_amount: float | None
    median_cycle_days: float | None
    churn: float | None
    velocity: float | None

    def as_dict(self) -> dict[str, float | None]:
        """The JSON block: win rate, average won amount, cycle, churn, velocity."""
        return {
            "win_rate": self.win_rate,
            "avg_won_amount": _round(self.avg_won_amount, 2),
            "median_cycle_days": self.median_cycle_days,
            "churn": self.churn,
            "velocity": _round(self.velocity, 2),
        }


def results(
    deals: pd.DataFrame, start: date, end: date, model: StageModel | None = None
) -> Results:
    """Win rate, deal size, cycle, churn and velocity (DESIGN.md 5, "Results").

    Over deals won or lost with closed_at in [start, end]:
        win rate       = won / (won + lost)
        avg won amount = mean amount of those won deals (missing amounts left out)
        cycle          = median days from created_at to closed_at of those won
                         deals (both dates known and cycle ≥ 0)
        churn          = lost / (won + lost)
    and with open = deals at an open stage in `deals` (the pipeline at as_of):
        velocity       = open × avg won amount × win rate / cycle (amount per day)
    Each is None when its denominator is 0 or an input is unknown.
    """
    model = model or default_model()
    won_mask = result_mask(deals, "won", start, end, model)
    won, lost = (
        int(won_mask.sum()),
        int(result_mask(deals, "lost", start, end, model).sum()),
    )
    open_count = int(result_mask(deals, "open", start, end, model).sum())
    won_rows = deals[won_mask]
    amounts = pd.to_numeric(won_rows["amount"], errors="coerce").dropna()
    average = float(amounts.mean()) if len(amounts) else None
    cycles = (
        pd.to_datetime(won_rows["closed_at"]).dt.normalize()
        - pd.to_datetime(won_rows["created_at"]).dt.normalize()
    ).dt.days.dropna()
    cycles = cycles[cycles >= 0]
    cycle = float(cycles.median()) if len(cycles) else None
    win_rate = _ratio(won, won + lost)
    velocity = None
    if average is not None and win_rate is not None and cycle:
        velocity = open_count * average * win_rate / cycle
    return Results(
        won=won,
        lost=lost,
        closed=won + lost,
        open=open_count,
        win_rate=win_rate,
        avg_won_amount=average,
        median_cycle_days=cycle,
        churn=_ratio(lost, won + lost),
        velocity=velocity,
    )


# ---------------------------------------------------------------- groups


def _group_keys(deals: pd.DataFrame, by: str) -> pd.Series:
    """The group each deal belongs to; a missing value is its own group (None)."""
    return _text(deals[by])


def _by_group(keys: pd.Series, columns: dict[str, pd.Series]) -> pd.DataFrame:
    """Σ of each boolean column per group key (None kept as a key)."""
    filled = keys.fillna(_NONE)
    table = pd.DataFrame({name: mask.astype("int64") for name, mask in columns.items()})
    sums = table.groupby(filled.to_numpy()).sum()
    keys = [None if key == _NONE else key for key in sums.index]
    sums = sums.reset_index(drop=True)
    sums.insert(0, "key", pd.Series(keys, dtype=object))
    return sums


def compare_win_rates(
    deals: pd.DataFrame,
    start: date,
    end: date,
    by: str,
    model: StageModel | None = None,
    min_deals: int = MIN_DEALS,
) -> pd.DataFrame:
    """Win rate per group against the rest of the team, deals closed in the period.

    For each value of `by` (None = not filled in): won, lost, closed = won +
    lost, win_rate = won / closed with its 95% Wilson interval (low, high);
    rest_* = the same over every other closed deal; too_few = closed <
    min_deals; direction = 'below'/'above' when the group's interval and the
    rest's do not overlap; flagged = direction known and not too_few. Groups
    with no closed deal are left out. Sorted by closed deals, most first.
    """
    model = model or default_model()
    check_group_field(by)
    closed = closed_mask(deals, start, end, model)
    rows = deals[closed]
    table = _by_group(
        _group_keys(rows, by),
        {
            "won": rows["stage"].eq(model.won_key),
            "closed": pd.Series(True, index=rows.index),
        },
    )
    table["lost"] = table["closed"] - table["won"]
    table["total_hits"] = int(table["won"].sum())
    table["total_trials"] = int(table["closed"].sum())
    table = _compare(table, "won", "closed", min_deals)
    table = table.rename(
        columns={
            "rate": "win_rate",
            "rest_hits": "rest_won",
            "rest_trials": "rest_closed",
            "rest_rate": "rest_win_rate",
        }
    )
    table["_size"] = -table["closed"]
    table["_key"] = table["key"].map(_key_order)
    table = table.sort_values(["_size", "_key"])
    return table[
        [
            "key",
            "won",
            "lost",
            "closed",
            "win_rate",
            "low",
            "high",
            "rest_won",
            "rest_closed",
            "rest_win_rate",
            "rest_low",
            "rest_high",
            "too_few",
            "direction",
            "flagged",
        ]
    ].reset_index(drop=True)


def compare_conversion(
    placed: pd.DataFrame,
    by: str,
    model: StageModel | None = None,
    min_deals: int = MIN_DEALS,
) -> pd.DataFrame:
    """Conversion k→k+1 per group and open stage k, against the rest of the team.

    For each group g (value of `by`) and open stage k: reached = deals of g
    that reached k, converted = those that reached the next stage, conversion
    = converted / reached with its 95% Wilson interval; rest_* = the same over
    the cohort's other deals. too_few = reached < min_deals; flagged = the
    intervals do not overlap and not too_few, so a weak rep is flagged AT the
    stage where their deals stop. One row per (group, stage), the heatmap's
    cells; stages in path order, groups by cohort size, most first.
    """
    model = model or default_model()
    check_group_field(by)
    keys = _group_keys(placed, by)
    size = keys.fillna(_NONE).value_counts()
    parts = []
    for key in model.open_keys:
        table = _by_group(
            keys,
            {
                "reached": stage_mask(placed, "reached", key, model),
                "converted": stage_mask(placed, "converted", key, model),
            },
        )
        table.insert(1, "stage", key)
        table["total_hits"] = int(table["converted"].sum())
        table["total_trials"] = int(table["reached"].sum())
        table["cohort"] = (
            table["key"]
            .map(lambda value: size[_NONE if value is None else value])
            .astype("int64")
        )
        parts.append(_compare(table, "converted", "reached", min_deals))
    columns = [
        "key",
        "stage",
        "reached",
        "converted",
        "conversion",
        "low",
        "high",
        "rest_reached",
        "rest_converted",
        "rest_conversion",
        "rest_low",
        "rest_high",
        "too_few",
        "direction",
        "flagged",
    ]
    if not parts:
        return pd.DataFrame(columns=columns)
    table = pd.concat(parts, ignore_index=True).rename(
        columns={
            "rate": "conversion",
            "rest_hits": "rest_converted",
            "rest_trials": "rest_reached",
            "rest_rate": "rest_conversion",
        }
    )
    stage_order = {key: position for position, key in enumerate(model.open_keys)}
    table["_stage"] = table["stage"].map(stage_order)
    table["_size"] = -table["cohort"]
    table["_key"] = table["key"].map(_key_order)
    table = table.sort_values(["_size", "_key", "_stage"])
    return table[columns].reset_index(drop=True)


def _key_order(key: Any) -> str:
    """Sort text for a group key: keys as text, a missing key last."""
    return "\uffff" if key is None else str(key)


# ---------------------------------------------------------------- drill-down


def deals_behind(
    placed: pd.DataFrame,
    measure: str,
    stage: str | None = None,
    by: str | None = None,
    key: Any = None,
    model: StageModel | None = None,
) -> pd.DataFrame:
    """The cohort deals behind one number of the stage table or heatmap.

    measure: 'cohort' (every deal) or one of STAGE_MEASURES at `stage`
    (stage_mask). With `by`, only the deals whose `by` value is `key` (None =
    the value is missing). The rows are the deals as given, in deal_id order:
    their count is the number on screen.
    """
    model = model or default_model()
    mask = pd.Series(True, index=placed.index)
    if measure != "cohort":
        mask = stage_mask(placed, measure, stage, model)
    if by is not None:
        check_group_field(by)
        keys = _group_keys(placed, by)
        mask &= keys.isna() if key is None else keys.eq(key)
    return placed[mask].sort_values("deal_id", kind="stable")


def closed_deals_behind(
    deals: pd.DataFrame,
    measure: str,
    start: date,
    end: date,
    by: str | None = None,
    key: Any = None,
    model: StageModel | None = None,
) -> pd.DataFrame:
    """The deals behind a result or a group's win rate (result_mask).

    measure: one of RESULT_MEASURES; with `by`, only that group's deals.
    """
    model = model or default_model()
    mask = result_mask(deals, measure, start, end, model)
    if by is not None:
        check_group_field(by)
        keys = _group_keys(deals, by)
        mask &= keys.isna() if key is None else keys.eq(key)
    return deals[mask].sort_values("deal_id", kind="stable")


# ---------------------------------------------------------------- summary


def _round(value: Any, digits: int) -> float | None:
    return None if is_missing(value) else round(float(value), digits)


@dataclass(frozen=True, eq=False)
class FunnelSummary:
    """Everything the funnel page and `report funnel` show, for one period."""

    start: date
    end: date
    by: str
    min_deals: int
    undated: int
    stages: pd.DataFrame
    lost_reasons: pd.DataFrame
    time_in_stage: pd.DataFrame
    current: pd.DataFrame
    results: Results
    groups: pd.DataFrame
    group_stages: pd.DataFrame
    placed: pd.DataFrame
    deals: pd.DataFrame

    @property
    def cohort_size(self) -> int:
        return len(self.placed)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready {stages, results, groups}: rates unrounded, amounts to cents."""
        stages = [
            {name: json_value(row[name]) for name in STAGE_COLUMNS}
            for _, row in self.stages.iterrows()
        ]
        groups = [
            {
                "key": json_value(row["key"]),
                "won": int(row["won"]),
                "lost": int(row["lost"]),
                "win_rate": json_value(row["win_rate"]),
                "low": json_value(row["low"]),
                "high": json_value(row["high"]),
                "flagged": bool(row["flagged"]),
                "too_few": bool(row["too_few"]),
            }
            for _, row in self.groups.iterrows()
        ]
        return {"stages": stages, "results": self.results.as_dict(), "groups": groups}


def summarize_funnel(
    deals: pd.DataFrame,
    start: date,
    end: date,
    by: str = "owner",
    events: pd.DataFrame | None = None,
    min_deals: int = MIN_DEALS,
    model: StageModel | None = None,
) -> FunnelSummary:
    """The funnel of deals created in [start, end] and the results closed in it.

    `deals` is one snapshot (the pipeline at as_of); `events` is optional
    stage history (see place_deals); without it the funnel uses current stage
    and lost_at_stage only, and time in stage stays empty. Stage table, lost
    reasons and
    time in stage follow the cohort; results and group win rates use deals
    closed in the period; conversion by group follows the cohort.
    """
    model = model or default_model()
    check_period(start, end)
    check_group_field(by)
    placed = place_deals(cohort(deals, start, end), model, events)
    return FunnelSummary(
        start=start,
        end=end,
        by=by,
        min_deals=min_deals,
        undated=undated(deals),
        stages=funnel_stages(placed, model),
        lost_reasons=lost_reasons_by_stage(placed, model),
        time_in_stage=time_in_stage(placed, events, model),
        current=stage_counts(placed, model),
        results=results(deals, start, end, model),
        groups=compare_win_rates(deals, start, end, by, model, min_deals),
        group_stages=compare_conversion(placed, by, model, min_deals),
        placed=placed,
        deals=deals,
    )
