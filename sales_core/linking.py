"""Link follow-up records (跟进记录) to the deals they are about.

A follow-up names its deal by id when the CRM exported one; otherwise only
the customer is there. Each record is linked:

1. by deal id, when it is present and some deal snapshot knows it (compared
   after width/case folding, so "ＳＪ-2026-0001" finds "SJ-2026-0001");
2. else by customer: the deals whose customer has the same
   `sales_core.text.customer_key` (full/half width, spaces and the
   有限公司/股份有限公司/有限责任公司/公司 suffix folded away). One such deal
   links; with several, the candidates are narrowed to the deals the record's
   rep owned in some snapshot, then to the deals open on the record's day
   (created on or before it, not closed before it). A narrowing step that
   would leave no candidate is skipped.

Records that still match no deal are `unlinked`; records left with several
candidates are `ambiguous` and carry their candidate ids. Nothing is linked
by guesswork beyond these rules, and nothing is dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import pandas as pd

from sales_core.text import customer_key, fold

log = logging.getLogger(__name__)

LINK_BY_ID = "deal_id"
LINK_BY_CUSTOMER = "customer"
LINK_NONE = "none"
LINK_AMBIGUOUS = "ambiguous"


@dataclass(frozen=True)
class LinkResult:
    """Follow-ups with the deal each links to, and the ones that link to none or many.

    `activities` is the input frame plus `linked_deal_id` (None when not
    linked), `link` (deal_id, customer, none or ambiguous) and `candidates`
    (the deal ids a record could belong to; empty unless ambiguous).
    """

    activities: pd.DataFrame

    @property
    def linked(self) -> pd.DataFrame:
        return self.activities[self.activities["linked_deal_id"].notna()]

    @property
    def unlinked(self) -> pd.DataFrame:
        return self.activities[self.activities["link"] == LINK_NONE]

    @property
    def ambiguous(self) -> pd.DataFrame:
        return self.activities[self.activities["link"] == LINK_AMBIGUOUS]

    def counts(self) -> dict[str, int]:
        """How many records linked by id, by customer, to none, or to several."""
        found = self.activities["link"].value_counts()
        names = (LINK_BY_ID, LINK_BY_CUSTOMER, LINK_NONE, LINK_AMBIGUOUS)
        return {name: int(found.get(name, 0)) for name in names}


@dataclass(frozen=True)
class _DealFacts:
    """What narrowing needs about one deal."""

    owners: frozenset[str]
    created: date | None
    closed: date | None

    def open_on(self, day: date) -> bool:
        """Created on or before `day` and not closed before it (unknown = open)."""
        started = self.created is None or self.created <= day
        return started and (self.closed is None or self.closed >= day)


def _day_or_none(value: object) -> date | None:
    return None if pd.isna(value) else pd.Timestamp(value).date()


def _deal_facts(deals: pd.DataFrame) -> tuple[dict[str, _DealFacts], dict[str, list]]:
    """Per deal id its facts, and per customer key the deal ids carrying it.

    `deals` may be one snapshot or the whole history (several rows per deal,
    ordered by `as_of` when that column is there); the newest row gives the
    customer and dates, every row adds its owner.
    """
    ordered = deals.sort_values("as_of", kind="stable") if "as_of" in deals else deals
    ordered = ordered[ordered["deal_id"].notna()]
    newest = ordered.drop_duplicates("deal_id", keep="last")
    owners = ordered.groupby("deal_id")["owner"].agg(
        lambda names: frozenset(name for name in names if isinstance(name, str))
    )
    facts: dict[str, _DealFacts] = {}
    by_key: dict[str, list[str]] = {}
    for deal_id, customer, created, closed in zip(
        newest["deal_id"],
        newest["customer"],
        pd.to_datetime(newest["created_at"], errors="coerce"),
        pd.to_datetime(newest["closed_at"], errors="coerce"),
        strict=True,
    ):
        facts[deal_id] = _DealFacts(
            owners[deal_id], _day_or_none(created), _day_or_none(closed)
        )
        key = customer_key(customer)
        if key:
            by_key.setdefault(key, []).append(deal_id)
    return facts, by_key


def _narrow(
    candidates: list[str],
    owner: str | None,
    day: date | None,
    facts: dict[str, _DealFacts],
) -> list[str]:
    """Keep the rep's own deals, then the deals open on the record's day."""
    if owner is not None:
        own = [deal for deal in candidates if owner in facts[deal].owners]
        candidates = own or candidates
    if day is not None:
        open_then = [deal for deal in candidates if facts[deal].open_on(day)]
        candidates = open_then or candidates
    return candidates


def _map_unique(values: pd.Series, function) -> pd.Series:
    """`values.map(function)`, calling it once per distinct value."""
    distinct = {value: function(value) for value in values.dropna().unique()}
    return values.map(distinct).astype(object)


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _days(stamps: pd.Series) -> list[date | None]:
    """Each timestamp's calendar day, None where missing (hashable, comparable)."""
    days = pd.to_datetime(stamps, errors="coerce")
    return [_day_or_none(day) for day in days]


def _resolve(
    found: list[str], owner: str | None, day: date | None, facts: dict[str, _DealFacts]
) -> tuple[str, ...]:
    """The deal ids one customer key, rep and day can belong to."""
    if len(found) > 1:
        found = _narrow(found, owner, day, facts)
    return tuple(sorted(found))


def link_activities(activities: pd.DataFrame, deals: pd.DataFrame) -> LinkResult:
    """Link each follow-up to one deal by id, else by customer key (module docstring).

    `deals` needs deal_id, customer, owner, created_at and closed_at; pass
    the whole deal history so that deals missing from the newest export
    still link.
    """
    facts, by_key = _deal_facts(deals)
    by_folded_id = {fold(deal_id): deal_id for deal_id in facts}

    frame = activities.copy()
    linked = _map_unique(frame["deal_id"], lambda value: by_folded_id.get(fold(value)))
    link = pd.Series(LINK_NONE, index=frame.index, dtype=object)
    link[linked.notna()] = LINK_BY_ID
    candidates = pd.Series([()] * len(frame), index=frame.index, dtype=object)

    pending = frame.index[linked.isna()]
    combos = pd.Series(
        list(
            zip(
                _map_unique(frame.loc[pending, "customer"], customer_key).fillna(""),
                frame.loc[pending, "owner"].map(_text_or_none),
                _days(frame.loc[pending, "activity_at"]),
                strict=True,
            )
        ),
        index=pending,
        dtype=object,
    )
    resolved = {
        combo: _resolve(by_key.get(combo[0], []), combo[1], combo[2], facts)
        for combo in set(combos)
    }
    found = pd.Series(
        [resolved[combo] for combo in combos], index=pending, dtype=object
    )
    single = found.map(len) == 1
    several = found.map(len) > 1
    linked[single[single].index] = found[single].map(lambda ids: ids[0])
    link[single[single].index] = LINK_BY_CUSTOMER
    link[several[several].index] = LINK_AMBIGUOUS
    candidates[several[several].index] = found[several]

    frame["linked_deal_id"] = linked.astype(object).where(linked.notna(), None)
    frame["link"] = link
    frame["candidates"] = candidates
    result = LinkResult(frame)
    log.info("follow-ups linked: %s", result.counts())
    return result
