"""Plays judged by outcomes, win rate per customer type, stage coverage.

Pure functions over canonical frames (DESIGN.md section 5, "Funnel" and
"Results"): which plays each deal used, how deals with a play did against
deals without it in the same stage and customer type, each rate with a 95%
Wilson interval and a "too few deals" mark, and for each stage whether the
library holds a script or SOP next to how many deals sit idle there.

Known shortcoming: a play counts as used on a deal whatever stage the deal
was in when the follow-up mentioning it was written, and a deal that lives
longer has more follow-ups that can mention a play; so "with the play" leans
toward deals that stayed in play longer. The comparison shows association,
not proof that the play caused the outcome.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from sales_core.metrics.funnel import MIN_DEALS, wilson_interval
from sales_core.stages import StageModel
from sales_core.text import clean_text, customer_key, fold

SCRIPT_KINDS = ("stage_sop", "template")
_NO_TYPE = "<no customer type>"  # a group key for blank types (groupby drops None)

_TYPE_NOISE = re.compile(r"[\s,，、;；:：/|()（）\[\]【】\-_.。·'\"]+")
_PLAY_CELL_SPLIT = re.compile(r"[,，、;；/|\n]+")

COMPARISON_COLUMNS = [
    "play", "stage", "customer_type",
    "with_deals", "with_next", "with_conversion", "with_conversion_low",
    "with_conversion_high", "with_closed", "with_won", "with_win_rate",
    "with_win_low", "with_win_high",
    "without_deals", "without_next", "without_conversion",
    "without_conversion_low", "without_conversion_high", "without_closed",
    "without_won", "without_win_rate", "without_win_low", "without_win_high",
    "too_few", "conversion_differs", "win_rate_differs",
]  # fmt: skip


def _rate(successes: int, total: int) -> tuple[float, float, float]:
    """(rate, low, high) with the 95% Wilson interval of metrics.funnel.

    nan throughout when there is nothing to divide by.
    """
    if total <= 0:
        return (math.nan, math.nan, math.nan)
    low, high = wilson_interval(successes, total)
    return (successes / total, float(low), float(high))


def fold_customer_type(text: object) -> str:
    """A customer-type spelling folded for matching: width, case, spaces, punctuation.

    "有预算，没决策权", "有预算 没决策权" and "有预算没决策权" fold alike.
    """
    return _TYPE_NOISE.sub("", fold(text))


def customer_type_keys(values: pd.Series, aliases: Mapping[str, str]) -> pd.Series:
    """Each value as a customer-type key.

    `aliases` maps folded spellings (fold_customer_type) to type keys. A known
    spelling becomes its key; an unknown one stays as its cleaned text (its
    own type); a blank one becomes None.
    """

    def key_of(value: object) -> str | None:
        text = None if _missing(value) else clean_text(value)
        if text is None:
            return None
        return aliases.get(fold_customer_type(text), text)

    return values.map(key_of).astype(object)


def _ranks(stages: pd.Series, rank: Mapping[str, int]) -> np.ndarray:
    """Each stage key's position on the path; -1 for lost, unknown or missing."""
    return stages.map(rank).astype("float64").fillna(-1).to_numpy()


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


# ---------------------------------------------------------------- win rate


def win_rate_by_customer_type(
    deals: pd.DataFrame,
    aliases: Mapping[str, str],
    model: StageModel,
    min_deals: int = MIN_DEALS,
) -> pd.DataFrame:
    """Win rate so far per customer type, from one snapshot of deals.

    win_rate = won / (won + lost) over the type's closed deals in the frame,
    with a 95% Wilson interval; too_few when won + lost < min_deals.
    Types in the order of `aliases`' keys, then unknown spellings by name,
    then deals with no customer type (customer_type None).

    Columns: customer_type, spellings (raw values seen, sorted), deals, open,
    won, lost, win_rate, win_low, win_high, too_few.
    """
    types = customer_type_keys(deals["customer_type"], aliases)
    frame = pd.DataFrame({
        "customer_type": types.fillna(_NO_TYPE),
        "raw": deals["customer_type"].map(lambda v: None if _missing(v) else str(v)),
        "won": deals["stage"].eq(model.won_key).to_numpy(),
        "lost": deals["stage"].eq(model.lost_key).to_numpy(),
        "open": deals["stage"].isin(model.open_keys).to_numpy(),
    })  # fmt: skip
    rows = []
    for key, group in frame.groupby("customer_type", sort=False):
        won, lost = int(group["won"].sum()), int(group["lost"].sum())
        rate, low, high = _rate(won, won + lost)
        rows.append({
            "customer_type": None if key == _NO_TYPE else key,
            "spellings": sorted(set(group["raw"].dropna())),
            "deals": len(group), "open": int(group["open"].sum()),
            "won": won, "lost": lost, "win_rate": rate, "win_low": low,
            "win_high": high, "too_few": won + lost < min_deals,
        })  # fmt: skip
    columns = ["customer_type", "spellings", "deals", "open", "won", "lost",
               "win_rate", "win_low", "win_high", "too_few"]  # fmt: skip
    order = {
        key: position for position, key in enumerate(dict.fromkeys(aliases.values()))
    }
    rows.sort(key=lambda row: (order.get(row["customer_type"], len(order)),
                               row["customer_type"] is None,
                               row["customer_type"] or ""))  # fmt: skip
    table = pd.DataFrame(rows, columns=columns)
    table["customer_type"] = pd.Series(
        [row["customer_type"] for row in rows], dtype=object
    )
    return table


# ---------------------------------------------------------------- play usage


def play_usage(
    deals: pd.DataFrame,
    activities: pd.DataFrame | None,
    keywords: Mapping[str, Sequence[str]],
    *,
    text_column: str = "summary",
    play_column: str | None = None,
) -> pd.DataFrame:
    """Which plays each deal used, as rows (deal_id, play, via).

    - via "column": when `play_column` names a column of `deals`, each cell is
      split on , ， 、 ; ； / | and a piece names play P when it folds to P's
      key or contains one of P's keywords (folded).
    - via "follow_up": a follow-up whose `text_column` contains one of P's
      keywords (folded: width and case) marks P used on its deal, matched by
      deal_id; a follow-up with no deal_id counts for every deal of the same
      customer (customer_key).
    One row per (deal, play); "column" wins over "follow_up" when both apply.
    """
    folded = {
        play: [fold(word) for word in words if fold(word)]
        for play, words in keywords.items()
    }
    found: dict[tuple[str, str], str] = {}
    if play_column and play_column in deals:
        for deal_id, cell in zip(deals["deal_id"], deals[play_column], strict=True):
            for play in _plays_named(cell, folded):
                found[(str(deal_id), play)] = "column"
    if activities is not None and not activities.empty and text_column in activities:
        for deal_id, play in _follow_up_usage(deals, activities, folded, text_column):
            found.setdefault((deal_id, play), "follow_up")
    rows = [(deal_id, play, via) for (deal_id, play), via in found.items()]
    usage = pd.DataFrame(rows, columns=["deal_id", "play", "via"])
    return usage.sort_values(["play", "deal_id"]).reset_index(drop=True)


def _plays_named(cell: object, folded: Mapping[str, list[str]]) -> list[str]:
    if _missing(cell):
        return []
    named = []
    for piece in _PLAY_CELL_SPLIT.split(fold(cell)):
        piece = piece.strip()
        if not piece:
            continue
        for play, words in folded.items():
            if piece == fold(play) or any(word in piece for word in words):
                named.append(play)
    return named


def _follow_up_usage(
    deals: pd.DataFrame,
    activities: pd.DataFrame,
    folded: Mapping[str, list[str]],
    text_column: str,
) -> list[tuple[str, str]]:
    """(deal_id, play) for every follow-up text naming a play's keyword."""
    texts = activities[text_column].map(
        lambda text: "" if _missing(text) else fold(text)
    )
    hits = {}
    for play, words in folded.items():
        found = np.zeros(len(texts), dtype=bool)
        for word in words:
            found |= texts.str.contains(word, regex=False).to_numpy()
        hits[play] = found
    named = np.logical_or.reduce(list(hits.values())) if hits else np.zeros(0, bool)
    if not named.any():
        return []
    targets = _follow_up_deals(deals, activities[named])
    pairs: list[tuple[str, str]] = []
    for play, found in hits.items():
        for deal_ids in targets[found[named]]:
            pairs.extend((deal_id, play) for deal_id in deal_ids)
    return pairs


def _follow_up_deals(deals: pd.DataFrame, activities: pd.DataFrame) -> pd.Series:
    """For each follow-up, the deal ids it belongs to (a list, maybe empty).

    Its own deal_id when that is a known deal; with no deal_id, every deal of
    the same customer (customer_key); an unknown deal_id belongs to none.
    """
    known = set(deals["deal_id"].astype(str))
    by_customer: dict[str, list[str]] = {}
    for deal_id, customer in zip(deals["deal_id"], deals["customer"], strict=True):
        by_customer.setdefault(customer_key(customer), []).append(str(deal_id))
    blank = pd.Series(None, index=activities.index, dtype=object)
    deal_ids = activities.get("deal_id", blank)
    customers = activities.get("customer", blank)
    owners = []
    for deal_id, customer in zip(deal_ids, customers, strict=True):
        if not _missing(deal_id):
            owners.append([str(deal_id)] if str(deal_id) in known else [])
        elif not _missing(customer):
            owners.append(by_customer.get(customer_key(customer), []))
        else:
            owners.append([])
    return pd.Series(owners, index=activities.index, dtype=object)


# ---------------------------------------------------------------- reached


def reached_stages(
    deals: pd.DataFrame, model: StageModel, history: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Which path stages each deal reached (DESIGN.md section 5, "Funnel").

    A deal reached stage k if it is now at k or later on the path (lead …
    deciding, won), was lost at k or later (lost_at_stage), or a snapshot in
    `history` showed it at k or later (matched by deal_id). Returns a bool
    frame with the index of `deals` and one column per path stage.
    """
    rank = {key: position for position, key in enumerate(model.path_keys)}
    now = _ranks(deals["stage"], rank)
    lost_at = np.where(deals["stage"].eq(model.lost_key),
                       _ranks(deals["lost_at_stage"], rank), -1)  # fmt: skip
    best = np.maximum(now, lost_at)
    if history is not None and not history.empty:
        shown = np.maximum(_ranks(history["stage"], rank),
                           _ranks(history["lost_at_stage"], rank))  # fmt: skip
        per_deal = pd.Series(shown, index=history["deal_id"].astype(str).to_numpy())
        per_deal = per_deal.groupby(level=0).max()
        earlier = deals["deal_id"].astype(str).map(per_deal).fillna(-1)
        best = np.maximum(best, earlier.to_numpy(dtype="float64"))
    return pd.DataFrame(
        {key: best >= position for key, position in rank.items()},
        index=deals.index,
    )


# ---------------------------------------------------------------- comparison


def compare_plays(
    deals: pd.DataFrame,
    usage: pd.DataFrame,
    plays: pd.DataFrame,
    aliases: Mapping[str, str],
    model: StageModel,
    history: pd.DataFrame | None = None,
    min_deals: int = MIN_DEALS,
) -> pd.DataFrame:
    """Deals with a play against deals without it, in the same stage and customer type.

    `plays` has columns key, customer_type (a type key or None) and stages (a
    sequence of stage keys). A play is compared in each open stage it names
    (every open stage when it names none) and each customer type it names
    (every customer type when it names none). In a cell (stage k, type c) the
    deals of type c that reached k (reached_stages) are split by whether
    `usage` lists the play for them, and for each group:

        conversion = deals that reached the next stage / deals that reached k
                     (the next stage after the last open one is won)
        win_rate   = won / (won + lost) among the group's closed deals

    each with a 95% Wilson interval. too_few when either group has fewer than
    `min_deals` deals or closed deals. A difference is flagged
    (conversion_differs, win_rate_differs) only when not too_few and the two
    intervals do not overlap. Cells where no deal used the play are left out;
    deals with no stage or no customer type take part in no cell.
    """
    cohort = _cohort(deals, aliases, model, history)
    codes, types = pd.factorize(cohort["customer_type"])
    counts = _Counter(cohort, codes, len(types))
    used = usage.groupby("play")["deal_id"].agg(lambda ids: set(map(str, ids)))
    path = model.path_keys
    rows = []
    for play in plays.itertuples(index=False):
        named = [key for key in (play.stages or ()) if key in model.open_keys]
        if play.stages and not named:
            continue
        users = cohort["deal_id"].isin(used.get(play.key, set())).to_numpy()
        named_type = None if _missing(play.customer_type) else play.customer_type
        for stage in named or model.open_keys:
            here = cohort[stage].to_numpy()
            following = cohort[path[path.index(stage) + 1]].to_numpy()
            groups = {"with": counts.by_type(here & users, following),
                      "without": counts.by_type(here & ~users, following)}  # fmt: skip
            for position, customer_type in enumerate(types):
                if named_type and customer_type != named_type:
                    continue
                if groups["with"]["deals"][position] == 0:
                    continue
                rows.append(_cell_row(play.key, stage, customer_type, groups,
                                      position, min_deals))  # fmt: skip
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def _cohort(deals, aliases, model, history) -> pd.DataFrame:
    """deal_id, customer_type key, won, closed and one reached column per stage."""
    cohort = reached_stages(deals, model, history)
    cohort["deal_id"] = deals["deal_id"].astype(str)
    cohort["customer_type"] = customer_type_keys(deals["customer_type"], aliases)
    cohort["won"] = deals["stage"].eq(model.won_key)
    cohort["closed"] = cohort["won"] | deals["stage"].eq(model.lost_key)
    return cohort[cohort["customer_type"].notna()].reset_index(drop=True)


class _Counter:
    """Per customer type, the counts behind both rates for one group of deals."""

    def __init__(self, cohort: pd.DataFrame, codes: np.ndarray, size: int) -> None:
        self.codes, self.size = codes, size
        self.closed = cohort["closed"].to_numpy()
        self.won = cohort["won"].to_numpy()

    def _count(self, mask: np.ndarray) -> np.ndarray:
        return np.bincount(self.codes[mask], minlength=self.size)

    def by_type(self, group: np.ndarray, following: np.ndarray) -> dict:
        """deals, next (reached the following stage), closed and won per type."""
        return {"deals": self._count(group), "next": self._count(group & following),
                "closed": self._count(group & self.closed),
                "won": self._count(group & self.won)}  # fmt: skip


def _cell_row(play, stage, customer_type, groups, position, min_deals) -> dict:
    row: dict[str, object] = {"play": play, "stage": stage,
                              "customer_type": customer_type}  # fmt: skip
    sizes = []
    for prefix, counts in groups.items():
        deals, advanced = int(counts["deals"][position]), int(counts["next"][position])
        closed, won = int(counts["closed"][position]), int(counts["won"][position])
        conversion = _rate(advanced, deals)
        win_rate = _rate(won, closed)
        row.update({
            f"{prefix}_deals": deals, f"{prefix}_next": advanced,
            f"{prefix}_conversion": conversion[0],
            f"{prefix}_conversion_low": conversion[1],
            f"{prefix}_conversion_high": conversion[2],
            f"{prefix}_closed": closed, f"{prefix}_won": won,
            f"{prefix}_win_rate": win_rate[0], f"{prefix}_win_low": win_rate[1],
            f"{prefix}_win_high": win_rate[2],
        })  # fmt: skip
        sizes += [deals, closed]
    too_few = min(sizes) < min_deals
    row["too_few"] = too_few
    row["conversion_differs"] = not too_few and _apart(row, "conversion")
    row["win_rate_differs"] = not too_few and _apart(row, "win")
    return row


def _apart(row: Mapping[str, object], name: str) -> bool:
    """True when the with and without intervals do not overlap."""
    with_low, with_high = row[f"with_{name}_low"], row[f"with_{name}_high"]
    without_low, without_high = row[f"without_{name}_low"], row[f"without_{name}_high"]
    return bool(with_low > without_high or without_low > with_high)


# ---------------------------------------------------------------- coverage


def stage_coverage(
    plays: pd.DataFrame, deals: pd.DataFrame, as_of: date | None, model: StageModel
) -> pd.DataFrame:
    """For each stage: is there a script or SOP, and how many deals sit there.

    scripts = active plays of kind stage_sop or template naming the stage;
    plays = active plays of any kind naming the stage; covered = scripts > 0.
    deals = deals now at the stage; idle_deals = open deals at the stage whose
    as_of − last_touch_at (in days) exceeds the stage's idle limit, counting a
    never-touched deal from created_at as the pipeline board does (a deal with
    neither date, or no as_of at all, is not counted).
    stuck_without_script = idle_deals > 0 and not covered: the boss's "is
    there a script for the stage we get stuck in?".
    `plays` has columns key, kind, stages (sequence of keys), retired (bool).
    Columns: stage, scripts, script_keys, plays, covered, deals, idle_deals,
    stuck_without_script; one row per stage in the model's order.
    """
    active = plays[~plays["retired"].astype(bool)] if "retired" in plays else plays
    touched = pd.to_datetime(deals["last_touch_at"], errors="coerce")
    if "created_at" in deals:
        touched = touched.fillna(pd.to_datetime(deals["created_at"], errors="coerce"))
    if as_of is None:
        days_idle = pd.Series(float("nan"), index=deals.index)
    else:
        days_idle = (pd.Timestamp(as_of) - touched).dt.days
    rows = []
    for stage in model.stages:
        names_stage = active["stages"].map(lambda keys, k=stage.key: k in (keys or ()))
        naming = active.loc[names_stage.astype(bool)]
        scripts = naming[naming["kind"].isin(SCRIPT_KINDS)]
        here = deals["stage"].eq(stage.key)
        idle = 0
        if stage.is_open and stage.idle_days is not None:
            idle = int((here & (days_idle > stage.idle_days)).sum())
        rows.append({
            "stage": stage.key, "scripts": len(scripts),
            "script_keys": list(scripts["key"]), "plays": len(naming),
            "covered": len(scripts) > 0, "deals": int(here.sum()),
            "idle_deals": idle, "stuck_without_script": idle > 0 and scripts.empty,
        })  # fmt: skip
    return pd.DataFrame(rows)
