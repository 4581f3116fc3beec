"""One rep's working rhythm beside the team's (DESIGN.md section 5, "Rhythm").

Does the rep work at a steady beat or in waves, do deals pile up without
moving, is the month made in its last five working days, which deals sit
idle or have overdue next steps, and where are the silent stretches?

Conventions used throughout:
- The window is [start, end], whole calendar days, both included. `as_of`
  is the date the deal snapshot describes (never the clock); it is usually
  `end`.
- Working days come from `sales_core.calendar` (Chinese public holidays and
  make-up working days by default), as on the progress page.
- Weeks are 7-day blocks ending on `end` (week 0 = [end − 6, end], week 1 =
  the 7 days before, ...), so a window ending on a Friday snapshot is cut
  into whole weeks and no week is cut short by the window's end. Only whole
  blocks inside the window are weekly figures; up to 6 leftover days at the
  window's start count in totals and the calendar only.
- A rep's follow-ups are the records whose rep (跟进人) is that rep; deals
  belong to their owner in the snapshot used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from sales_core.calendar import (
    DEFAULT_COUNTRY,
    is_working_day,
    last_working_days,
)
from sales_core.metrics.board import flag_open_deals
from sales_core.metrics.common import is_missing, on_days
from sales_core.stages import StageModel, default_model

WEEKS = 8
CV_LIMIT = 0.5
MONTH_END_DAYS = 5
MONTH_END_MONTHS = 6
MONTH_END_LIMIT = 0.5
PILING_DAYS = 30
PILING_LIMIT = 0.5
GAP_WORKING_DAYS = 3
COUNT_LIMIT_FACTOR = 2.0
COUNT_LIMIT_MINIMUM = 3
LOW_ACTIVITY_FACTOR = 0.5

FLAG_WAVES = "waves"
FLAG_MONTH_END = "month_end_rush"
FLAG_PILING = "piling_up"
FLAG_IDLE = "idle_deals"
FLAG_OVERDUE = "overdue_next_steps"
FLAG_GAP = "gaps"
FLAG_LOW_ACTIVITY = "low_activity"
FLAGS = (
    FLAG_WAVES,
    FLAG_MONTH_END,
    FLAG_PILING,
    FLAG_IDLE,
    FLAG_OVERDUE,
    FLAG_GAP,
    FLAG_LOW_ACTIVITY,
)

# The per-rep figures of `report rhythm --json`, in the order.
CLI_FIGURES = (
    "actions",
    "effective",
    "actions_per_working_day",
    "effective_per_working_day",
    "weekly_cv",
    "month_end_share",
    "piling_share",
    "idle_deals",
    "overdue_next_steps",
)
REP_FIGURES = (
    *CLI_FIGURES,
    "gap_working_days",
    "new_deals_per_week",
    "stage_advances_per_week",
)


# ---------------------------------------------------------------- helpers


def _stamps(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, errors="coerce")


def _named(owners: pd.Series) -> pd.Series:
    """Mask: the owner is a real name (not missing, not blank)."""
    named = owners.map(lambda name: isinstance(name, str) and name.strip() != "")
    return named.astype(bool)


def _open(deals: pd.DataFrame, model: StageModel) -> pd.DataFrame:
    """Open deals that have an owner."""
    mask = deals["stage"].isin(model.open_keys) & _named(deals["owner"])
    return deals[mask]


def week_ends(start: date, end: date) -> list[date]:
    """Last days of the whole 7-day blocks ending on `end` inside [start, end].

    Oldest first: for start 2026-11-01 and end 2026-11-20 (20 days) the blocks
    end on 2026-11-13 and 2026-11-20; Nov 1–6 is left over.
    """
    count = ((end - start).days + 1) // 7
    return [end - timedelta(days=7 * week) for week in range(count - 1, -1, -1)]


def _week_of(days: pd.Series, end: date) -> pd.Series:
    """Each day's block end (see week_ends); a day after `end` maps past it."""
    stamps = _stamps(days).dt.normalize()
    back = (pd.Timestamp(end) - stamps).dt.days
    return pd.Timestamp(end) - pd.to_timedelta((back // 7) * 7, unit="D")


# ---------------------------------------------------------------- actions


def daily_actions(
    activities: pd.DataFrame,
    start: date,
    end: date,
    owners: Sequence[str] | None = None,
    country: str = DEFAULT_COUNTRY,
) -> pd.DataFrame:
    """Follow-ups per rep and calendar day in [start, end], zeros included.

    actions = follow-ups dated that day; effective = those marked effective
    (有效沟通; unknown counts as not effective). Columns: owner, day (date),
    working (bool), actions, effective; one row per owner × day, owners
    being `owners` or everyone with a follow-up in the window.
    """
    stamps = _stamps(activities["activity_at"])
    inside = activities[on_days(stamps, start, end) & _named(activities["owner"])]
    counted = pd.DataFrame(
        {
            "owner": inside["owner"].astype(object),
            "day": _stamps(inside["activity_at"]).dt.date,
            "effective": inside["effective"].map(lambda flag: flag is True)
            if "effective" in inside
            else False,
        }
    )
    per_day = counted.groupby(["owner", "day"]).agg(
        actions=("effective", "size"), effective=("effective", "sum")
    )
    names = sorted(set(owners) if owners is not None else set(counted["owner"]))
    days = [start + timedelta(days=offset) for offset in range((end - start).days + 1)]
    grid = pd.MultiIndex.from_product([names, days], names=["owner", "day"])
    frame = per_day.reindex(grid, fill_value=0).reset_index()
    frame["actions"] = frame["actions"].astype(int)
    frame["effective"] = frame["effective"].astype(int)
    working = {day: is_working_day(day, country) for day in days}
    frame.insert(2, "working", frame["day"].map(working).astype(bool))
    return frame


def action_rates(daily: pd.DataFrame) -> pd.DataFrame:
    """Actions and effective contacts per working day, per rep.

    actions_per_working_day = follow-ups in the window / working days in the
    window (follow-ups logged on a weekend or holiday count in the numerator;
    the denominator is working days only). None when the window has no
    working day. Columns: owner, actions, effective, working_days,
    actions_per_working_day, effective_per_working_day.
    """
    totals = daily.groupby("owner").agg(
        actions=("actions", "sum"),
        effective=("effective", "sum"),
        working_days=("working", "sum"),
    )
    totals = totals.astype(int)
    per_day = totals["working_days"].where(totals["working_days"] > 0)
    totals["actions_per_working_day"] = totals["actions"] / per_day
    totals["effective_per_working_day"] = totals["effective"] / per_day
    return totals.reset_index()


def weekly_actions(daily: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """Follow-ups and effective contacts per rep per week (7-day block ending `end`).

    Columns: owner, week_end, actions, effective; only whole blocks inside
    [start, end] (see week_ends).
    """
    ends = [pd.Timestamp(day) for day in week_ends(start, end)]
    frame = daily.assign(week_end=_week_of(daily["day"], end))
    frame = frame[frame["week_end"].isin(ends)]
    weekly = frame.groupby(["owner", "week_end"], as_index=False)[
        ["actions", "effective"]
    ].sum()
    weekly["week_end"] = weekly["week_end"].dt.date
    return weekly


def weekly_cv(counts: Sequence[float]) -> float | None:
    """Coefficient of variation of weekly counts: population std / mean.

    CV = sqrt(Σ (x_i − x̄)² / n) / x̄ over the n weeks given (the population
    standard deviation, ddof = 0: the weeks are the whole period described,
    not a sample). None with fewer than 2 weeks or a mean of 0.
    Flag above CV_LIMIT (0.5): hot and cold waves.
    """
    values = np.asarray(list(counts), dtype=float)
    if len(values) < 2 or values.mean() == 0:
        return None
    return float(values.std(ddof=0) / values.mean())


def rep_weekly_cv(weekly: pd.DataFrame, owner: str, weeks: int = WEEKS) -> float | None:
    """weekly_cv of the rep's follow-ups over the last `weeks` whole weeks."""
    ends = sorted(weekly["week_end"].unique())[-weeks:]
    mine = weekly[weekly["owner"] == owner].set_index("week_end")["actions"]
    return weekly_cv(mine.reindex(ends, fill_value=0).to_numpy())


def action_gaps(
    daily: pd.DataFrame, min_working_days: int = GAP_WORKING_DAYS + 1
) -> pd.DataFrame:
    """Stretches with no follow-up that span more than 3 working days.

    A gap is a maximal run of calendar days in the window on which the rep
    logged nothing, counted in working days (weekends and holidays inside
    it neither break nor lengthen it; a follow-up logged on a weekend does
    break it). Reported when working_days ≥ `min_working_days` (4, i.e.
    "more than 3"). A gap touching the window's edge is cut there.
    Columns: owner, first_day, last_day (first and last working day of the
    gap), working_days.
    """
    rows = []
    for owner, days in daily.groupby("owner", sort=True):
        days = days.sort_values("day")
        silent = days["actions"].to_numpy() == 0
        working = days["working"].to_numpy()
        dates = days["day"].to_numpy()
        run: list[int] = []
        for position in range(len(days) + 1):
            if position < len(days) and silent[position]:
                run.append(position)
                continue
            counted = [index for index in run if working[index]]
            if len(counted) >= min_working_days:
                rows.append(
                    (owner, dates[counted[0]], dates[counted[-1]], len(counted))
                )
            run = []
    return pd.DataFrame(
        rows, columns=["owner", "first_day", "last_day", "working_days"]
    ).astype({"working_days": int})


def calendar_grid(daily: pd.DataFrame, owner: str) -> pd.DataFrame:
    """One rep's daily actions as a weekday × week grid for a calendar heatmap.

    Rows: weekday 0 (Monday) to 6 (Sunday); columns: the Monday of each
    calendar week in the window; cells: follow-ups that day, NaN outside the
    window.
    """
    mine = daily[daily["owner"] == owner]
    stamps = pd.to_datetime(mine["day"])
    monday = (stamps - pd.to_timedelta(stamps.dt.day_of_week, unit="D")).dt.date
    grid = pd.DataFrame(
        {"weekday": stamps.dt.day_of_week, "week": monday, "actions": mine["actions"]}
    )
    table = grid.pivot(index="weekday", columns="week", values="actions")
    return table.reindex(range(7))


# ---------------------------------------------------------------- deals


def snapshot_rows(history: pd.DataFrame, as_of: date | None = None) -> pd.DataFrame:
    """Deal history up to `as_of`, one row per (deal, as_of), in that order.

    Several files of one as_of (one per team, say) hold a deal once: the
    file imported last wins, as in Store.load_deals.
    """
    rows = history
    if as_of is not None:
        rows = rows[_stamps(rows["as_of"]) <= pd.Timestamp(as_of)]
    order = ["deal_id", "as_of"] + (["snapshot_id"] if "snapshot_id" in rows else [])
    rows = rows.sort_values(order, kind="stable")
    return rows.drop_duplicates(["deal_id", "as_of"], keep="last")


def newest_rows(history: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Each deal's newest row in snapshots on or before `as_of` (deal history)."""
    return snapshot_rows(history, as_of).drop_duplicates("deal_id", keep="last")


def stage_advances(
    history: pd.DataFrame, model: StageModel | None = None
) -> pd.DataFrame:
    """Deals that moved forward between consecutive snapshots.

    For each deal, snapshots in as_of order: an advance is a pair of
    consecutive snapshots where the newer stage lies later on the path
    (open stages, then won) than the older one. One row per such pair, dated
    at the newer snapshot's as_of and credited to the newer owner; a jump of
    several stages is one advance. Moves to lost, back, or from/to an unknown
    stage are not advances. Columns: deal_id, owner, advanced_on (date),
    from_stage, to_stage.
    """
    model = model or default_model()
    rank = {key: position for position, key in enumerate(model.path_keys)}
    rows = snapshot_rows(history)
    before = rows.groupby("deal_id")["stage"].shift(1)
    now_rank = rows["stage"].map(rank)
    before_rank = before.map(rank)
    moved = now_rank.notna() & before_rank.notna() & (now_rank > before_rank)
    advances = pd.DataFrame(
        {
            "deal_id": rows.loc[moved, "deal_id"],
            "owner": rows.loc[moved, "owner"],
            "advanced_on": _stamps(rows.loc[moved, "as_of"]).dt.date,
            "from_stage": before[moved],
            "to_stage": rows.loc[moved, "stage"],
        }
    )
    return advances.reset_index(drop=True)


def weekly_pipeline(
    history: pd.DataFrame,
    as_of: date,
    start: date,
    end: date,
    model: StageModel | None = None,
) -> pd.DataFrame:
    """New deals and stage advances per rep per week (7-day block ending `end`).

    new_deals = deals whose created_at falls in the week, credited to their
    owner in the newest snapshot on or before `as_of` (so a deal that later
    vanished from the export still counts); stage_advances = rows of
    `stage_advances` dated in the week. Columns: owner, week_end, new_deals,
    stage_advances; only whole weeks inside [start, end].
    """
    model = model or default_model()
    ends = [pd.Timestamp(day) for day in week_ends(start, end)]
    deals = newest_rows(history, as_of)
    created = deals.assign(week_end=_week_of(deals["created_at"], end))
    created = created[created["week_end"].isin(ends) & _named(created["owner"])]
    advances = stage_advances(snapshot_rows(history, as_of), model)
    advances = advances.assign(week_end=_week_of(advances["advanced_on"], end))
    advances = advances[advances["week_end"].isin(ends) & _named(advances["owner"])]
    new_deals = created.groupby(["owner", "week_end"]).size().rename("new_deals")
    moved = advances.groupby(["owner", "week_end"]).size().rename("stage_advances")
    frame = pd.concat([new_deals, moved], axis=1).fillna(0).astype(int).reset_index()
    frame = frame.rename(columns={"level_0": "owner", "level_1": "week_end"})
    frame["week_end"] = pd.to_datetime(frame["week_end"]).dt.date
    return frame.reindex(columns=["owner", "week_end", "new_deals", "stage_advances"])


def month_end_months(
    end: date, count: int = MONTH_END_MONTHS, country: str = DEFAULT_COUNTRY
) -> list[str]:
    """The `count` latest months ('YYYY-MM', oldest first) complete by `end`.

    A month is complete when its last working day is on or before `end`.
    The month-end rush looks back this far, not just over the 8-week window:
    8 weeks hold only two month ends, too few to tell a habit from one big
    deal that happened to close late.
    """
    months: list[str] = []
    year, number = end.year, end.month
    while len(months) < count:
        month = f"{year}-{number:02d}"
        last = last_working_days(month, 1, country)
        if last and last[0] <= end:
            months.append(month)
        year, number = (year - 1, 12) if number == 1 else (year, number - 1)
    return months[::-1]


def month_end_won(
    deals: pd.DataFrame,
    months: Sequence[str],
    model: StageModel | None = None,
    days: int = MONTH_END_DAYS,
    country: str = DEFAULT_COUNTRY,
) -> pd.DataFrame:
    """Won amount per rep and month, and the part closed in its last 5 working days.

    For each month m: won = Σ amount of won deals with closed_at in m (the
    whole month); month_end = the same sum over closed_at in the last `days`
    working days of m (make-up Saturdays count as working days); share =
    month_end / won, None when won is 0. A missing amount counts 0.
    Columns: owner, month, won, month_end, share.
    """
    model = model or default_model()
    won = deals[deals["stage"].isin([model.won_key]) & _named(deals["owner"])]
    closed = _stamps(won["closed_at"]).dt.normalize()
    month_ends = {
        pd.Timestamp(day)
        for month in months
        for day in last_working_days(month, days, country)
    }
    amounts = pd.to_numeric(won["amount"], errors="coerce").fillna(0.0)
    rows = pd.DataFrame(
        {
            "owner": won["owner"].astype(object),
            "month": closed.dt.strftime("%Y-%m"),
            "won": amounts,
            "month_end": amounts.where(closed.isin(month_ends), 0.0),
        }
    )
    rows = rows[rows["month"].isin(list(months))]
    table = rows.groupby(["owner", "month"], as_index=False)[["won", "month_end"]].sum()
    share = table["month_end"] / table["won"].where(table["won"] > 0)
    table["share"] = share.astype(object).where(share.notna(), None)
    return table.reindex(columns=["owner", "month", "won", "month_end", "share"])


def month_end_share(by_month: pd.DataFrame, owner: str) -> float | None:
    """Share of the rep's won amount closed in month-end windows, months pooled.

    share = Σ_m month_end(m) / Σ_m won(m) over the months of `by_month`
    (month_end_won); None when the rep won nothing. Flag above 50%.
    """
    mine = by_month[by_month["owner"] == owner]
    total = float(mine["won"].sum())
    return float(mine["month_end"].sum()) / total if total else None


def stage_since(
    history: pd.DataFrame, as_of: date, model: StageModel | None = None
) -> pd.DataFrame:
    """For each deal in the snapshot of `as_of`: since when it holds its stage.

    since = as_of of the oldest snapshot in the unbroken run of snapshots (up
    to `as_of`) that show the deal at its current stage: the stage changed
    at most then, so this is a "no later than" date. When that run starts at
    the deal's first snapshot and the stage is the first open stage, since =
    created_at (a lead has been a lead since it was created). Columns:
    deal_id, stage, since (date).
    """
    model = model or default_model()
    rows = snapshot_rows(history, as_of)
    changed = rows["stage"].ne(rows.groupby("deal_id")["stage"].shift(1))
    run = changed.astype(int).groupby(rows["deal_id"]).cumsum()
    rows = rows.assign(run=run)
    last_run = rows.groupby("deal_id")["run"].transform("max")
    current = rows[rows["run"] == last_run]
    first = current.drop_duplicates("deal_id", keep="first").set_index("deal_id")
    since = _stamps(first["as_of"])
    first_lead = (first["run"] == 1) & (first["stage"] == model.open_keys[0])
    created = _stamps(first["created_at"])
    use_created = first_lead & created.notna() & (created < since)
    since = since.where(~use_created, created)
    return pd.DataFrame(
        {
            "deal_id": first.index,
            "stage": first["stage"].to_numpy(),
            "since": since.dt.date.to_numpy(),
        }
    )


def piled_deals(
    deals: pd.DataFrame,
    history: pd.DataFrame,
    as_of: date,
    model: StageModel | None = None,
    days: int = PILING_DAYS,
) -> pd.DataFrame:
    """Open deals of the `as_of` snapshot with no stage change in `days` days.

    piled = (as_of − since) ≥ `days`, with since from stage_since. Because
    since is a "no later than" date, history shorter than `days` can show no
    piling (the count is a lower bound). Columns: deal_id, customer, owner,
    stage, since, days_in_stage, piled.
    """
    model = model or default_model()
    open_deals = _open(deals, model)
    held = stage_since(history, as_of, model).set_index("deal_id")["since"]
    since = open_deals["deal_id"].map(held)
    held_days = (pd.Timestamp(as_of) - pd.to_datetime(since)).dt.days.astype("Int64")
    return pd.DataFrame(
        {
            "deal_id": open_deals["deal_id"],
            "customer": open_deals["customer"],
            "owner": open_deals["owner"],
            "stage": open_deals["stage"],
            "since": since,
            "days_in_stage": held_days,
            "piled": (held_days >= days).fillna(False).astype(bool),
        }
    ).reset_index(drop=True)


def piling_share(piled: pd.DataFrame, owner: str) -> float | None:
    """Piling up = rep's open deals with no stage change in 30 days / rep's open deals.

    None when the rep has no open deal.
    """
    mine = piled[piled["owner"] == owner]
    return float(mine["piled"].mean()) if len(mine) else None


def idle_deals(
    deals: pd.DataFrame, as_of: date, model: StageModel | None = None
) -> pd.DataFrame:
    """Open deals untouched for longer than their stage's idle limit (rotting).

    idle when (as_of − last_touch_at) in days > the stage's idle limit; a
    deal never touched counts from created_at; a stage without a limit is
    never idle. The rule and its boundaries are metrics.board.flag_open_deals,
    the same function as the pipeline board's, so both pages count alike.
    Columns: deal_id, customer, owner, stage, last_touch_at, idle_days,
    idle_limit; most idle first.
    """
    columns = {
        "last_touch_at": lambda rows: _stamps(rows["last_touch_at"]).dt.date,
        "idle_days": lambda rows: rows["days_idle"].astype(int),
        "idle_limit": lambda rows: rows["idle_limit"].astype(int),
    }
    return _flagged_deals(deals, as_of, model, "idle", columns, "idle_days")


def _flagged_deals(
    deals: pd.DataFrame,
    as_of: date,
    model: StageModel | None,
    flag: str,
    columns: dict,
    order: str,
) -> pd.DataFrame:
    """Open deals carrying one of the board's flags, with the given columns.

    The flags come from metrics.board.flag_open_deals; rows are sorted by
    `order`, largest first, then by deal id.
    """
    model = model or default_model()
    flagged = flag_open_deals(_open(deals, model), as_of, model)
    hits = flagged[flagged[flag]]
    frame = pd.DataFrame(
        {
            **{name: hits[name] for name in ("deal_id", "customer", "owner", "stage")},
            **{name: make(hits) for name, make in columns.items()},
        }
    )
    return frame.sort_values([order, "deal_id"], ascending=[False, True]).reset_index(
        drop=True
    )


def overdue_next_steps(
    deals: pd.DataFrame, as_of: date, model: StageModel | None = None
) -> pd.DataFrame:
    """Open deals whose next step was due before as_of: next_step_due < as_of.

    Due on as_of is not overdue; a missing due date never is
    (metrics.board.flag_open_deals, as on the pipeline board). days_overdue =
    as_of − next_step_due in days. Columns: deal_id, customer, owner, stage,
    next_step, next_step_due (date), days_overdue; most overdue first.
    """
    columns = {
        "next_step": lambda rows: rows["next_step"],
        "next_step_due": lambda rows: _stamps(rows["next_step_due"]).dt.date,
        "days_overdue": lambda rows: rows["days_overdue"].astype(int),
    }
    return _flagged_deals(
        deals, as_of, model, "next_step_overdue", columns, "days_overdue"
    )


# ---------------------------------------------------------------- report


def _median(values: Sequence[Any]) -> float | None:
    known = [float(value) for value in values if not is_missing(value)]
    return float(np.median(known)) if known else None


def rep_flags(rep: dict[str, Any], median: dict[str, float | None]) -> list[str]:
    """Which rhythm problems a rep shows.

    - waves: weekly_cv > 0.5
    - month_end_rush: month_end_share > 0.5
    - piling_up: piling_share > 0.5
    - idle_deals / overdue_next_steps: count > max(2 × team median, 3)
    - gaps: a gap of more than 3 working days with no follow-up
    - low_activity: actions per working day < half the team median
    """
    flags = []
    for name, figure, limit in (
        (FLAG_WAVES, "weekly_cv", CV_LIMIT),
        (FLAG_MONTH_END, "month_end_share", MONTH_END_LIMIT),
        (FLAG_PILING, "piling_share", PILING_LIMIT),
    ):
        if not is_missing(rep[figure]) and rep[figure] > limit:
            flags.append(name)
    for name, figure in (
        (FLAG_IDLE, "idle_deals"),
        (FLAG_OVERDUE, "overdue_next_steps"),
    ):
        if rep[figure] > count_limit(median[figure]):
            flags.append(name)
    if rep["gap_working_days"] > GAP_WORKING_DAYS:
        flags.append(FLAG_GAP)
    usual = median["actions_per_working_day"]
    rate = rep["actions_per_working_day"]
    if usual and not is_missing(rate) and rate < LOW_ACTIVITY_FACTOR * usual:
        flags.append(FLAG_LOW_ACTIVITY)
    return flags


def count_limit(median: float | None) -> float:
    """The count above which idle deals or overdue next steps are flagged."""
    return max(COUNT_LIMIT_FACTOR * (median or 0.0), COUNT_LIMIT_MINIMUM)


def off_rhythm(rep: dict[str, Any], median: dict[str, float | None]) -> float:
    """How far off a rep's rhythm is: Σ over flags of (value − limit) / limit.

    Each flagged figure adds how far past its limit it is (waves, month-end
    and piling against their limits; idle and overdue against count_limit;
    gaps against 3 working days; low activity as (limit − rate) / limit).
    0 for a rep without flags; the team overview sorts by flags, then this.
    """
    score = 0.0
    for name in rep["flags"]:
        if name == FLAG_WAVES:
            score += (rep["weekly_cv"] - CV_LIMIT) / CV_LIMIT
        elif name == FLAG_MONTH_END:
            score += (rep["month_end_share"] - MONTH_END_LIMIT) / MONTH_END_LIMIT
        elif name == FLAG_PILING:
            score += (rep["piling_share"] - PILING_LIMIT) / PILING_LIMIT
        elif name in (FLAG_IDLE, FLAG_OVERDUE):
            figure = "idle_deals" if name == FLAG_IDLE else "overdue_next_steps"
            limit = count_limit(median[figure])
            score += (rep[figure] - limit) / limit
        elif name == FLAG_GAP:
            score += (rep["gap_working_days"] - GAP_WORKING_DAYS) / GAP_WORKING_DAYS
        elif name == FLAG_LOW_ACTIVITY:
            limit = LOW_ACTIVITY_FACTOR * median["actions_per_working_day"]
            score += (limit - rep["actions_per_working_day"]) / limit
    return score


@dataclass(frozen=True)
class RhythmReport:
    """Every rhythm figure for a window: per rep, team medians, and the detail frames.

    reps: one row per rep with REP_FIGURES, flags (list) and off_rhythm,
    most off first: more flags first, then the larger off_rhythm, then by
    name. daily/weekly/pipeline/month_end/piled/idle/overdue/gaps are the
    frames the figures come from.
    """

    start: date
    end: date
    as_of: date
    months: list[str]
    reps: pd.DataFrame
    team_median: dict[str, float | None]
    daily: pd.DataFrame
    weekly: pd.DataFrame
    pipeline: pd.DataFrame
    month_end: pd.DataFrame
    piled: pd.DataFrame
    idle: pd.DataFrame
    overdue: pd.DataFrame
    gaps: pd.DataFrame

    def rep(self, owner: str) -> dict[str, Any]:
        """One rep's row as a dict."""
        return self.reps.set_index("owner").loc[owner].to_dict() | {"owner": owner}

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the command line's shape; ratios to 4 decimals."""
        reps = [
            {"owner": row["owner"]}
            | {key: _plain(row[key]) for key in CLI_FIGURES}
            | {"flags": list(row["flags"])}
            for _, row in self.reps.iterrows()
        ]
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "as_of": self.as_of.isoformat(),
            "months": list(self.months),
            "reps": reps,
            "team_median": {
                key: _plain(self.team_median.get(key)) for key in CLI_FIGURES
            },
        }


def _plain(value: Any) -> Any:
    """A number for JSON: ints stay ints, floats rounded to 4, missing → None."""
    if is_missing(value):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    return round(float(value), 4)


def _per_week(frame: pd.DataFrame, owner: str, column: str, weeks: int) -> float | None:
    if not weeks:
        return None
    return float(frame.loc[frame["owner"] == owner, column].sum()) / weeks


def _rep_figures(
    owner: str,
    rate: pd.Series,
    weekly: pd.DataFrame,
    pipeline: pd.DataFrame,
    weeks: int,
    month_end: pd.DataFrame,
    piled: pd.DataFrame,
    idle: pd.DataFrame,
    overdue: pd.DataFrame,
    gaps: pd.DataFrame,
) -> dict[str, Any]:
    """One rep's REP_FIGURES from the report's detail frames."""
    mine_gaps = gaps.loc[gaps["owner"] == owner, "working_days"]
    return {
        "owner": owner,
        "actions": int(rate["actions"]),
        "effective": int(rate["effective"]),
        "actions_per_working_day": rate["actions_per_working_day"],
        "effective_per_working_day": rate["effective_per_working_day"],
        "weekly_cv": rep_weekly_cv(weekly, owner),
        "month_end_share": month_end_share(month_end, owner),
        "piling_share": piling_share(piled, owner),
        "idle_deals": int((idle["owner"] == owner).sum()),
        "overdue_next_steps": int((overdue["owner"] == owner).sum()),
        "gap_working_days": int(mine_gaps.max()) if len(mine_gaps) else 0,
        "new_deals_per_week": _per_week(pipeline, owner, "new_deals", weeks),
        "stage_advances_per_week": _per_week(pipeline, owner, "stage_advances", weeks),
    }


def rhythm_report(
    activities: pd.DataFrame,
    deals: pd.DataFrame,
    history: pd.DataFrame,
    start: date,
    end: date,
    as_of: date,
    model: StageModel | None = None,
    country: str = DEFAULT_COUNTRY,
) -> RhythmReport:
    """All rhythm figures per rep over [start, end], with team medians and flags.

    `activities`: follow-ups; `deals`: the snapshot of `as_of`; `history`:
    every deal row of every snapshot (Store.load_deal_history). Reps are
    everyone with a follow-up in the window or an open deal on as_of. Team
    median = median over those reps of each figure, reps without a value
    (None) left out.
    """
    model = model or default_model()
    in_window = on_days(_stamps(activities["activity_at"]), start, end)
    owners = set(activities.loc[in_window & _named(activities["owner"]), "owner"])
    owners |= set(_open(deals, model)["owner"])
    owners = sorted(owners)

    daily = daily_actions(activities, start, end, owners, country)
    rates = action_rates(daily).set_index("owner") if owners else pd.DataFrame()
    weekly = weekly_actions(daily, start, end)
    pipeline = weekly_pipeline(history, as_of, start, end, model)
    months = month_end_months(end, country=country)
    month_end = month_end_won(deals, months, model, country=country)
    piled = piled_deals(deals, history, as_of, model)
    idle = idle_deals(deals, as_of, model)
    overdue = overdue_next_steps(deals, as_of, model)
    gaps = action_gaps(daily)

    weeks = len(week_ends(start, end))
    rows = [
        _rep_figures(
            owner,
            rates.loc[owner],
            weekly,
            pipeline,
            weeks,
            month_end,
            piled,
            idle,
            overdue,
            gaps,
        )
        for owner in owners
    ]
    median = {key: _median([row[key] for row in rows]) for key in REP_FIGURES}
    for row in rows:
        row["flags"] = rep_flags(row, median)
        row["off_rhythm"] = off_rhythm(row, median)
    rows.sort(key=lambda row: (-len(row["flags"]), -row["off_rhythm"], row["owner"]))
    reps = pd.DataFrame(rows, columns=["owner", *REP_FIGURES, "flags", "off_rhythm"])
    return RhythmReport(
        start=start,
        end=end,
        as_of=as_of,
        months=months,
        reps=reps,
        team_median=median,
        daily=daily,
        weekly=weekly,
        pipeline=pipeline,
        month_end=month_end,
        piled=piled,
        idle=idle,
        overdue=overdue,
        gaps=gaps,
    )


def weekly_with_median(report: RhythmReport, owner: str) -> pd.DataFrame:
    """The rep's weekly actions, effective contacts, new deals and advances, with
    the team median of each beside it (median over the report's reps, zeros in).

    Columns: week_end, actions, effective, new_deals, stage_advances and
    team_<each>. A window shorter than one whole week has no weeks: the
    frame comes back empty.
    """
    ends = week_ends(report.start, report.end)
    names = list(report.reps["owner"])
    columns = ["week_end", "actions", "effective", "new_deals", "stage_advances"]
    if not ends or owner not in names:
        empty = pd.DataFrame(columns=columns)
        return empty.assign(**{f"team_{name}": [] for name in columns[1:]})
    grid = pd.MultiIndex.from_product([names, ends], names=["owner", "week_end"])
    both = pd.concat(
        [
            report.weekly.set_index(["owner", "week_end"]),
            report.pipeline.set_index(["owner", "week_end"]),
        ],
        axis=1,
    ).reindex(grid, fill_value=0)
    both = both.fillna(0)
    team = both.groupby(level="week_end").median().add_prefix("team_")
    mine = both.xs(owner, level="owner") if owner in names else both.iloc[0:0]
    return mine.join(team).reset_index()


__all__ = [
    "RhythmReport",
    "action_gaps",
    "action_rates",
    "calendar_grid",
    "daily_actions",
    "idle_deals",
    "month_end_months",
    "month_end_share",
    "month_end_won",
    "overdue_next_steps",
    "piled_deals",
    "piling_share",
    "rep_flags",
    "rhythm_report",
    "stage_advances",
    "stage_since",
    "weekly_actions",
    "weekly_cv",
    "weekly_pipeline",
    "weekly_with_median",
]
