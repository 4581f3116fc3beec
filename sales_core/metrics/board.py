"""The pipeline board: open deals by stage, and the ones that need a push.

DESIGN.md section 5 ("Rhythm") defines idle deals and overdue next steps;
section 1 asks which customers are about to close and which are waiting to
close with nobody touching them. Dates are compared by calendar day and
`as_of` is the snapshot date, never the clock.

Rules, each with its boundary:
- days_idle = as_of − last touch in days; the last touch is last_touch_at,
  else created_at (a deal nobody touched since it was created); unknown when
  both are missing.
- idle: open and days_idle > the stage's idle limit. A deal touched exactly
  idle_days ago (on the limit day) is NOT idle; one day more is. A stage
  without a limit, or an unknown days_idle, is never idle.
- overdue next step: open and next_step_due < as_of. Due on as_of is not
  overdue; a missing due date never is.
- about to close: open and (in the last open stage, "awaiting decision", or
  expected_close in [as_of, as_of + 14 days]). A close date already past is
  not "about to close" (the slip ledger and overdue lists cover those).
- waiting to close, untouched: about to close and days_idle ≥ 7, i.e. no
  touch in the 7 days (as_of − 6 … as_of). Touched 6 days ago: not listed;
  7 days ago: listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from sales_core.stages import StageModel

ABOUT_TO_CLOSE_DAYS = 14
UNTOUCHED_DAYS = 7

# Card orders: (column, ascending); ties by deal_id.
SORTS: dict[str, tuple[str, bool]] = {
    "amount": ("amount", False),
    "days_idle": ("days_idle", False),
    "expected_close": ("expected_close", True),
    "next_step_due": ("next_step_due", True),
    "customer": ("customer", True),
}


@dataclass(frozen=True)
class BoardFilters:
    """Which deals the board shows; an empty choice means all."""

    teams: tuple[str, ...] = ()
    reps: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    min_amount: float | None = None
    max_amount: float | None = None


FILTER_COLUMNS = {
    "teams": "team",
    "reps": "owner",
    "sources": "source",
    "intents": "intent",
    "industries": "industry",
}


def filter_deals(deals: pd.DataFrame, filters: BoardFilters | None) -> pd.DataFrame:
    """The deals that pass every chosen filter.

    A text filter keeps deals whose value is one of the chosen values; an
    amount bound keeps min_amount ≤ amount ≤ max_amount, and a deal with no
    amount fails any amount bound.
    """
    if filters is None:
        return deals
    keep = pd.Series(True, index=deals.index)
    for name, column in FILTER_COLUMNS.items():
        chosen = getattr(filters, name)
        if chosen:
            keep &= deals[column].isin(list(chosen))
    amounts = pd.to_numeric(deals["amount"], errors="coerce")
    if filters.min_amount is not None:
        keep &= amounts >= filters.min_amount
    if filters.max_amount is not None:
        keep &= amounts <= filters.max_amount
    return deals[keep]


def _day(value: Any) -> pd.Timestamp:
    return pd.Timestamp(value).normalize()


def _days_between(first: pd.Series, day: pd.Timestamp) -> pd.Series:
    """Whole days from each date to `day` (NaN where the date is missing)."""
    stamps = pd.to_datetime(first, errors="coerce").dt.normalize()
    return (day - stamps).dt.days.astype("float64")


def flag_open_deals(deals: pd.DataFrame, as_of: Any, model: StageModel) -> pd.DataFrame:
    """The open deals with the board's derived columns (rules in the module doc).

    Adds: days_idle (float, NaN unknown), idle_limit (float, NaN none), idle,
    next_step_overdue, days_overdue (as_of − next_step_due when overdue, else
    0), days_to_close (expected_close − as_of, NaN unknown), about_to_close,
    waiting_untouched.
    """
    day = _day(as_of)
    rows = deals[deals["stage"].isin(model.open_keys)].copy()
    touched = pd.to_datetime(rows["last_touch_at"], errors="coerce")
    touched = touched.fillna(pd.to_datetime(rows["created_at"], errors="coerce"))
    rows["days_idle"] = _days_between(touched, day)
    limits = {key: model.get(key).idle_days for key in model.open_keys}
    rows["idle_limit"] = rows["stage"].map(limits).astype("float64")
    rows["idle"] = (rows["days_idle"] > rows["idle_limit"]).fillna(False)

    late = _days_between(rows["next_step_due"], day)
    rows["next_step_overdue"] = (late > 0).fillna(False)
    rows["days_overdue"] = late.where(rows["next_step_overdue"], 0.0)

    rows["days_to_close"] = -_days_between(rows["expected_close"], day)
    soon = rows["days_to_close"].between(0, ABOUT_TO_CLOSE_DAYS)
    deciding = rows["stage"] == model.open_keys[-1]
    rows["about_to_close"] = (deciding | soon).fillna(False)
    untouched = (rows["days_idle"] >= UNTOUCHED_DAYS).fillna(False)
    rows["waiting_untouched"] = rows["about_to_close"] & untouched
    for column in ("idle", "next_step_overdue", "about_to_close", "waiting_untouched"):
        rows[column] = rows[column].astype(bool)
    return rows


def stage_totals(
    open_deals: pd.DataFrame, model: StageModel, rates: dict[str, float] | None = None
) -> pd.DataFrame:
    """Per open stage, in path order: count, amount, weighted_amount, idle, overdue.

    amount = Σ amount (missing counts 0); weighted_amount = amount × p(stage),
    p from `rates` (e.g. metrics.progress.stage_win_rates), else the stage's
    default probability. Stages without deals show zeros.
    """
    rates = rates or {}
    rows = open_deals.assign(
        _amount=pd.to_numeric(open_deals["amount"], errors="coerce").fillna(0.0)
    )
    grouped = rows.groupby("stage")
    totals = pd.DataFrame(
        {
            "count": grouped.size(),
            "amount": grouped["_amount"].sum(),
            "idle": grouped["idle"].sum() if "idle" in rows else 0,
            "overdue": grouped["next_step_overdue"].sum()
            if "next_step_overdue" in rows
            else 0,
        }
    ).reindex(model.open_keys, fill_value=0)
    probability = [rates.get(key, model.get(key).probability) for key in totals.index]
    totals["probability"] = probability
    totals["weighted_amount"] = totals["amount"] * totals["probability"]
    totals = totals.astype({"count": "int64", "idle": "int64", "overdue": "int64"})
    totals.index.name = "stage"
    return totals.reset_index()[
        [
            "stage",
            "count",
            "amount",
            "probability",
            "weighted_amount",
            "idle",
            "overdue",
        ]
    ]


def sort_deals(deals: pd.DataFrame, by: str = "amount") -> pd.DataFrame:
    """Deals in one of the SORTS orders (missing values last, then deal_id)."""
    column, ascending = SORTS.get(by, SORTS["amount"])
    key = deals[column]
    if column == "amount":
        key = pd.to_numeric(key, errors="coerce")
    ordered = deals.assign(_key=key).sort_values(
        ["_key", "deal_id"],
        ascending=[ascending, True],
        na_position="last",
        kind="stable",
    )
    return ordered.drop(columns="_key")


@dataclass(frozen=True, eq=False)
class Board:
    """The board for one as_of: stage totals, flagged open deals and the lists."""

    as_of: date
    totals: pd.DataFrame
    deals: pd.DataFrame
    about_to_close: pd.DataFrame = field(default_factory=pd.DataFrame)
    waiting_untouched: pd.DataFrame = field(default_factory=pd.DataFrame)

    def stage_deals(self, stage: str) -> pd.DataFrame:
        """The open deals in one stage, in the board's sort order."""
        return self.deals[self.deals["stage"] == stage]

    def ids(self, column: str) -> list[str]:
        """Sorted deal ids of the open deals where a flag column is True."""
        return sorted(self.deals.loc[self.deals[column], "deal_id"].tolist())

    def as_dict(self) -> dict[str, Any]:
        """The command line's JSON: per-stage figures and flagged deal ids."""
        stages = [
            {
                "stage": row.stage,
                "count": int(row.count),
                "amount": round(float(row.amount), 2),
                "weighted_amount": round(float(row.weighted_amount), 2),
            }
            for row in self.totals.itertuples(index=False)
        ]
        return {
            "as_of": self.as_of.isoformat(),
            "stages": stages,
            "idle": self.ids("idle"),
            "overdue": self.ids("next_step_overdue"),
            "about_to_close": self.ids("about_to_close"),
            "waiting_untouched": self.ids("waiting_untouched"),
        }


def pipeline_board(
    deals: pd.DataFrame,
    as_of: Any,
    model: StageModel,
    rates: dict[str, float] | None = None,
    filters: BoardFilters | None = None,
    sort: str = "amount",
) -> Board:
    """Filter the snapshot's deals, flag the open ones and total them per stage.

    about_to_close is sorted by days_to_close (soonest first, unknown last),
    waiting_untouched by days_idle (longest first).
    """
    chosen = filter_deals(deals, filters)
    flagged = sort_deals(flag_open_deals(chosen, as_of, model), sort)
    soon = flagged[flagged["about_to_close"]]
    soon = soon.sort_values(["days_to_close", "deal_id"], na_position="last")
    waiting = flagged[flagged["waiting_untouched"]]
    waiting = waiting.sort_values(["days_idle", "deal_id"], ascending=[False, True])
    return Board(
        as_of=_day(as_of).date(),
        totals=stage_totals(flagged, model, rates),
        deals=flagged.reset_index(drop=True),
        about_to_close=soon.reset_index(drop=True),
        waiting_untouched=waiting.reset_index(drop=True),
    )


def filter_choices(deals: pd.DataFrame) -> dict[str, list[str]]:
    """The values each text filter can take in these deals, sorted."""
    choices = {}
    for name, column in FILTER_COLUMNS.items():
        values = deals[column].dropna().astype(str)
        choices[name] = sorted(set(values[values.str.strip() != ""]))
    return choices


def amount_range(deals: pd.DataFrame) -> tuple[float, float]:
    """Smallest and largest known amount (0, 0 when none is known)."""
    amounts = pd.to_numeric(deals["amount"], errors="coerce").dropna()
    if amounts.empty:
        return 0.0, 0.0
    return float(np.floor(amounts.min())), float(np.ceil(amounts.max()))
