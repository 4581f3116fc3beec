"""Progress against the month's target (DESIGN.md section 5, "Progress").

Will the team make the month? Month-to-date won, completion, working-day
pace, expected by now, gap, and a month-end forecast with P10/P50/P90 from
independent win/lose outcomes of the open deals expected to close this month.

All dates are compared by calendar day: a timestamp "in [a, b]" falls on a
day from a to b, both included. `as_of` is the snapshot date, never the clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from sales_core.calendar import DEFAULT_COUNTRY, month_bounds, month_pace
from sales_core.metrics.common import day_of, is_missing, json_value, on_days
from sales_core.stages import StageModel, default_model

EXACT_LIMIT = 16  # uncertain deals up to which the forecast is enumerated exactly
_DRAWS_PER_CHUNK = 4_000_000  # simulated win/lose draws held in memory at once
_BINOMIAL_FROM = 4  # equal (amount, p) deals drawn as one binomial from this many
_EPS = 1e-12


# ---------------------------------------------------------------- helpers


def _dates(deals: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_datetime(deals[column], errors="coerce")


def _amounts(deals: pd.DataFrame) -> pd.Series:
    """Deal amounts as float64, NaN where missing or not a number."""
    numbers = pd.to_numeric(deals["amount"], errors="coerce")
    return pd.Series(
        numbers.to_numpy(dtype="float64", na_value=np.nan), index=deals.index
    )


def _present(values: pd.Series) -> pd.Series:
    """Mask: a text value is there (not missing, not blank)."""
    return values.notna() & (values.astype(str).str.strip() != "")


def _won_mask(
    deals: pd.DataFrame, month: str, as_of: Any, model: StageModel
) -> pd.Series:
    start, end = month_bounds(month)
    closed = on_days(_dates(deals, "closed_at"), start, min(day_of(as_of), end))
    return deals["stage"].isin([model.won_key]) & closed


def _expected_in_month(deals: pd.DataFrame, month: str, model: StageModel) -> pd.Series:
    start, end = month_bounds(month)
    expected = on_days(_dates(deals, "expected_close"), start, end)
    return deals["stage"].isin(model.open_keys) & expected


# ---------------------------------------------------------------- figures


def mtd_won(
    deals: pd.DataFrame, month: str, as_of: Any, model: StageModel | None = None
) -> float:
    """MTD won = Σ amount of won deals with closed_at in [month start, as_of].

    as_of is capped at month end; as_of before the month gives 0. A missing
    amount counts 0; a won deal without closed_at is not counted (its month
    is unknown).
    """
    model = model or default_model()
    won = _won_mask(deals, month, as_of, model)
    return float(_amounts(deals)[won].fillna(0.0).sum())


def completion(won: float, target: float | None) -> float | None:
    """Completion = won / target; None when the target is missing or 0."""
    if is_missing(target) or target == 0:
        return None
    return float(won) / float(target)


def expected_by_now(target: float, pace: float) -> float:
    """Expected by now = target × pace (pace = working days elapsed / total)."""
    return float(target) * float(pace)


def gap(won: float, expected: float) -> float:
    """Gap = won − expected by now; negative means behind."""
    return float(won) - float(expected)


def stage_win_rates(
    deals: pd.DataFrame,
    as_of: Any,
    model: StageModel,
    window_days: int = 180,
    prior_weight: float = 10,
) -> dict[str, float]:
    """Win probability per stage from the team's own closed deals.

    For each open stage k:
        p(k) = (won reached k + w × default p(k)) / (closed reached k + w)
    with w = prior_weight, over deals won or lost with closed_at in
    (as_of − window_days, as_of]. A won deal reached every open stage; a lost
    deal reached k when its lost_at_stage is k or later in path order; a lost
    deal whose lost_at_stage is missing or not an open stage reached only the
    first stage. The won stage gets 1.0 and the lost stage 0.0.
    """
    day = day_of(as_of)
    first = day - timedelta(days=window_days - 1)
    recent = on_days(_dates(deals, "closed_at"), first, day)
    won = int((recent & deals["stage"].isin([model.won_key])).sum())
    lost = recent & deals["stage"].isin([model.lost_key])
    rank = {key: position for position, key in enumerate(model.open_keys)}
    lost_rank = deals.loc[lost, "lost_at_stage"].map(rank).fillna(0).to_numpy()

    rates: dict[str, float] = {}
    for position, key in enumerate(model.open_keys):
        prior = model.get(key).probability
        reached = won + int((lost_rank >= position).sum())
        weight = reached + prior_weight
        rates[key] = (won + prior_weight * prior) / weight if weight else prior
    rates[model.won_key] = 1.0
    rates[model.lost_key] = 0.0
    return rates


# ---------------------------------------------------------------- forecast


@dataclass(frozen=True)
class Forecast:
    """Month-end total: its mean and three quantiles (P10, P50, P90)."""

    mean: float
    p10: float
    p50: float
    p90: float


def forecast_range(
    mtd: float,
    outcomes: Iterable[tuple[float, float]],
    quantiles: Sequence[float] = (0.1, 0.5, 0.9),
    simulations: int = 20000,
    seed: int = 0,
) -> Forecast:
    """Month-end total = mtd + Σ amount_i × Bernoulli(p_i), deals independent.

    mean = mtd + Σ amount_i × p_i, exactly. Quantile q = the smallest total v
    with P(total ≤ v) ≥ q, so each one is a total that can happen; the three
    quantiles fill p10, p50, p90 in order. The distribution is enumerated
    exactly (equal totals merged) when at most 16 deals are uncertain
    (0 < p < 1 and amount ≠ 0), else sampled `simulations` times with numpy's
    generator seeded by `seed`. A missing amount counts 0; p is clipped to
    [0, 1] and a missing p counts 0.
    """
    if len(quantiles) != 3:
        raise ValueError("forecast_range needs three quantiles (P10, P50, P90)")
    pairs = list(outcomes)
    amounts = np.nan_to_num(np.array([a for a, _ in pairs], dtype="float64"))
    probs = np.clip(np.nan_to_num(np.array([p for _, p in pairs], "float64")), 0, 1)
    sure = float(mtd) + float(amounts[probs >= 1].sum())
    uncertain = (probs > 0) & (probs < 1) & (amounts != 0)
    amounts, probs = amounts[uncertain], probs[uncertain]
    mean = sure + float(amounts @ probs)
    if len(amounts) <= EXACT_LIMIT:
        values = _exact_quantiles(amounts, probs, quantiles)
    else:
        values = _sampled_quantiles(amounts, probs, quantiles, simulations, seed)
    p10, p50, p90 = (sure + value for value in values)
    return Forecast(mean=mean, p10=p10, p50=p50, p90=p90)


def _exact_quantiles(
    amounts: np.ndarray, probs: np.ndarray, quantiles: Sequence[float]
) -> list[float]:
    """Quantiles of Σ amount_i × Bernoulli(p_i) from the full distribution."""
    totals, chances = np.zeros(1), np.ones(1)
    for amount, p in zip(amounts, probs, strict=True):
        totals = np.concatenate([totals, totals + amount]).round(6)
        chances = np.concatenate([chances * (1 - p), chances * p])
        totals, position = np.unique(totals, return_inverse=True)  # merge equal
        chances = np.bincount(position, weights=chances)
    return _quantiles(totals, np.cumsum(chances), quantiles)


def _sampled_quantiles(
    amounts: np.ndarray,
    probs: np.ndarray,
    quantiles: Sequence[float],
    simulations: int,
    seed: int,
) -> list[float]:
    """Quantiles of Σ amount_i × Bernoulli(p_i) from seeded simulation.

    Deals sharing amount and p (at least _BINOMIAL_FROM of them) are drawn as
    one binomial count of wins, which has the same distribution.
    """
    generator = np.random.default_rng(seed)
    pairs, counts = np.unique(
        np.column_stack([amounts, probs]), axis=0, return_counts=True
    )
    shared = counts >= _BINOMIAL_FROM
    groups, group_counts = pairs[shared], counts[shared]
    single = np.repeat(pairs[~shared], counts[~shared], axis=0)
    totals = np.zeros(simulations)
    step = max(1, _DRAWS_PER_CHUNK // simulations)
    for start in range(0, len(groups), step):
        group, count = groups[start : start + step], group_counts[start : start + step]
        wins = generator.binomial(count, group[:, 1], (simulations, len(group)))
        totals += wins @ group[:, 0]
    for start in range(0, len(single), step):
        chunk = single[start : start + step]
        draws = generator.random((simulations, len(chunk)), dtype=np.float32)
        won = draws < chunk[:, 1].astype(np.float32)
        totals += np.where(won, chunk[:, 0], 0.0).sum(axis=1)
    totals.sort()
    share = np.arange(1, simulations + 1) / simulations
    return _quantiles(totals, share, quantiles)


def _quantiles(
    totals: np.ndarray, cumulative: np.ndarray, quantiles: Sequence[float]
) -> list[float]:
    """Smallest total v with P(total ≤ v) ≥ q, for sorted totals and their CDF."""
    last = len(totals) - 1
    picks = np.searchsorted(cumulative, np.asarray(quantiles) - _EPS)
    return [float(totals[min(int(pick), last)]) for pick in picks]


def forecast_deals(
    deals: pd.DataFrame,
    month: str,
    as_of: Any,
    model: StageModel,
    rates: dict[str, float],
) -> pd.DataFrame:
    """Open deals expected to close this month, with their p and weighted amount.

    Included: stage open and expected_close in [month start, month end]
    (deals already past their date within the month stay in). Left out:
    deals expected before the month (overdue from earlier months), deals
    without expected_close, and everything once as_of is past month end (the
    month is settled). p = rates[stage], the stage's default probability where
    rates lacks it; weighted = amount × p, a missing amount counting 0 and
    flagged in amount_missing. Sorted by weighted, largest first.
    """
    _, end = month_bounds(month)
    chosen = _expected_in_month(deals, month, model)
    if day_of(as_of) > end:
        chosen = pd.Series(False, index=deals.index)
    rows = deals[chosen].copy()
    amounts = _amounts(rows)
    defaults = {key: model.get(key).probability for key in model.open_keys}
    p = {key: rates.get(key, default) for key, default in defaults.items()}
    rows["p"] = rows["stage"].map(p).astype("float64")
    rows["amount_missing"] = amounts.isna()
    rows["weighted"] = amounts.fillna(0.0) * rows["p"]
    return rows.sort_values(["weighted", "deal_id"], ascending=[False, True])


def key_deals(
    deals: pd.DataFrame,
    month: str,
    as_of: Any,
    limit: int = 10,
    model: StageModel | None = None,
) -> pd.DataFrame:
    """The largest open deals expected to close this month.

    Open stage and expected_close in [month start, month end], sorted by
    amount (largest first, missing last), then expected_close; at most
    `limit` rows. Adds days_to_close = expected_close − as_of in days
    (negative when the date has passed).
    """
    model = model or default_model()
    rows = deals[_expected_in_month(deals, month, model)].copy()
    expected = _dates(rows, "expected_close")
    rows["days_to_close"] = (expected - pd.Timestamp(day_of(as_of))).dt.days
    rows["_amount"] = _amounts(rows)
    rows = rows.sort_values(
        ["_amount", "expected_close", "deal_id"],
        ascending=[False, True, True],
        na_position="last",
    )
    return rows.drop(columns="_amount").head(limit)


# ---------------------------------------------------------------- report


@dataclass(frozen=True)
class TeamProgress:
    """The whole team's month: won, target, pace, gap and forecast."""

    won_amount: float
    target: float | None
    completion: float | None
    working_days_elapsed: int
    working_days_total: int
    pace: float
    expected_by_now: float | None
    gap: float | None
    forecast: Forecast
    schedule_published: bool


@dataclass(frozen=True)
class RepProgress:
    """One rep's month; target-based figures are None without a target."""

    owner: str
    team: str | None
    won_amount: float
    target: float | None
    completion: float | None
    expected_by_now: float | None
    gap: float | None
    forecast_p50: float


@dataclass(frozen=True, eq=False)
class ProgressReport:
    """Answers "will we make this month?" for the team and each rep."""

    month: str
    as_of: date
    team: TeamProgress
    reps: list[RepProgress] = field(default_factory=list)
    key_deals: pd.DataFrame = field(default_factory=pd.DataFrame)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: amounts rounded to 2 decimals, ratios to 4, None kept."""
        team = self.team
        return {
            "month": self.month,
            "as_of": self.as_of.isoformat(),
            "team": {
                "won_amount": _money(team.won_amount),
                "target": _money(team.target),
                "completion": _ratio(team.completion),
                "working_days_elapsed": team.working_days_elapsed,
                "working_days_total": team.working_days_total,
                "pace": _ratio(team.pace),
                "expected_by_now": _money(team.expected_by_now),
                "gap": _money(team.gap),
                "schedule_published": team.schedule_published,
                "forecast": {
                    "mean": _money(team.forecast.mean),
                    "p10": _money(team.forecast.p10),
                    "p50": _money(team.forecast.p50),
                    "p90": _money(team.forecast.p90),
                },
            },
            "reps": [
                {
                    "owner": rep.owner,
                    "team": rep.team,
                    "won_amount": _money(rep.won_amount),
                    "target": _money(rep.target),
                    "completion": _ratio(rep.completion),
                    "expected_by_now": _money(rep.expected_by_now),
                    "gap": _money(rep.gap),
                }
                for rep in self.reps
            ],
            "key_deals": [
                {
                    "deal_id": json_value(row["deal_id"]),
                    "customer": json_value(row["customer"]),
                    "owner": json_value(row["owner"]),
                    "stage": json_value(row["stage"]),
                    "amount": _money(row["amount"]),
                    "expected_close": _iso(row["expected_close"]),
                }
                for _, row in self.key_deals.iterrows()
            ],
        }


def _money(value: Any) -> float | None:
    return None if is_missing(value) else round(float(value), 2)


def _ratio(value: Any) -> float | None:
    return None if is_missing(value) else round(float(value), 4)


def _iso(value: Any) -> str | None:
    return None if is_missing(value) else pd.Timestamp(value).date().isoformat()


def _month_targets(targets: pd.DataFrame | None, month: str) -> pd.DataFrame:
    """Target rows of `month` with a usable number: owner, team, target."""
    columns = ["owner", "team", "target"]
    if targets is None or targets.empty:
        return pd.DataFrame(columns=columns)
    rows = targets[targets["month"].astype(str).str[:7] == month]
    rows = rows.reindex(columns=columns).copy()
    rows["target"] = pd.to_numeric(rows["target"], errors="coerce")
    return rows[rows["target"].notna()]


def _team_target(rows: pd.DataFrame) -> float | None:
    """Σ team-level targets when the month has any, else Σ rep targets."""
    has_owner = _present(rows["owner"])
    team_rows = rows[~has_owner & _present(rows["team"])]
    chosen = team_rows if len(team_rows) else rows[has_owner]
    return float(chosen["target"].sum()) if len(chosen) else None


def progress_report(
    deals: pd.DataFrame,
    targets: pd.DataFrame | None,
    month: str,
    as_of: Any,
    model: StageModel,
    country: str = DEFAULT_COUNTRY,
    seed: int = 0,
) -> ProgressReport:
    """The month's progress for the team and each rep, as of the snapshot.

    Team: won = MTD won over all deals; target = Σ team-level targets of the
    month if any, else Σ rep targets; completion, pace (working days, via
    calendar.month_pace), expected by now = target × pace, gap = won −
    expected; forecast = forecast_range(won, open deals of forecast_deals with
    p from stage_win_rates). Reps: every owner with a target in the month or a
    deal won or expected to close in it, sorted by gap (most behind first),
    reps without a target after them by won amount. A rep's team comes from
    their target row, else the team most of their won or open deals of the
    month carry. Deals without an owner count for the team only.
    """
    as_day = day_of(as_of)
    pace = month_pace(month, as_day, country)
    rates = stage_win_rates(deals, as_day, model)
    open_rows = forecast_deals(deals, month, as_day, model, rates)
    won_rows = deals[_won_mask(deals, month, as_day, model)]
    won_amounts = _amounts(won_rows).fillna(0.0)

    team_won = float(won_amounts.sum())
    month_rows = _month_targets(targets, month)
    team_target = _team_target(month_rows)
    team = TeamProgress(
        won_amount=team_won,
        target=team_target,
        completion=completion(team_won, team_target),
        working_days_elapsed=pace.elapsed,
        working_days_total=pace.total,
        pace=pace.pace,
        expected_by_now=_expected(team_target, pace.pace),
        gap=_gap(team_won, team_target, pace.pace),
        forecast=forecast_range(team_won, _outcomes(open_rows), seed=seed),
        schedule_published=pace.schedule_published,
    )

    rep_rows = month_rows[_present(month_rows["owner"])]
    rep_targets = rep_rows.groupby("owner")["target"].sum()
    target_teams = rep_rows[_present(rep_rows["team"])].groupby("owner")["team"].first()
    deal_teams = _usual_team(pd.concat([won_rows, open_rows]))
    won_by_rep = won_amounts.groupby(won_rows["owner"]).sum()
    open_by_rep = dict(list(open_rows.groupby("owner")))
    owners = set(rep_targets.index) | set(won_by_rep.index) | set(open_by_rep)
    reps = []
    for owner in owners:
        if is_missing(owner) or not str(owner).strip():
            continue
        won = float(won_by_rep.get(owner, 0.0))
        target = float(rep_targets[owner]) if owner in rep_targets.index else None
        mine = open_by_rep.get(owner, open_rows.iloc[0:0])
        reps.append(
            RepProgress(
                owner=owner,
                team=target_teams.get(owner, deal_teams.get(owner)),
                won_amount=won,
                target=target,
                completion=completion(won, target),
                expected_by_now=_expected(target, pace.pace),
                gap=_gap(won, target, pace.pace),
                forecast_p50=forecast_range(won, _outcomes(mine), seed=seed).p50,
            )
        )
    reps.sort(key=_rep_order)
    return ProgressReport(
        month=month,
        as_of=as_day,
        team=team,
        reps=reps,
        key_deals=key_deals(deals, month, as_day, model=model),
    )


def _expected(target: float | None, pace: float) -> float | None:
    return None if target is None else expected_by_now(target, pace)


def _gap(won: float, target: float | None, pace: float) -> float | None:
    return None if target is None else gap(won, expected_by_now(target, pace))


def _outcomes(rows: pd.DataFrame) -> list[tuple[float, float]]:
    amounts = _amounts(rows).fillna(0.0)
    return list(zip(amounts.tolist(), rows["p"].tolist(), strict=True))


def _usual_team(deals: pd.DataFrame) -> dict[str, str]:
    """Each owner's most frequent team among their deals (ties: first by name)."""
    known = deals[_present(deals["owner"]) & _present(deals["team"])]
    counts = known.groupby(["owner", "team"]).size().reset_index(name="deals")
    counts = counts.sort_values(
        ["owner", "deals", "team"], ascending=[True, False, True]
    )
    usual = counts.drop_duplicates("owner")
    return dict(zip(usual["owner"], usual["team"], strict=True))


def _rep_order(rep: RepProgress) -> tuple:
    if rep.gap is None:
        return (1, 0.0, -rep.won_amount, str(rep.owner))
    return (0, rep.gap, 0.0, str(rep.owner))
