"""Funnel leakage from the store, its deal lists and its charts.

The funnel page and `report funnel` both call `funnel_report`, so they can
never disagree about a number. Stage history comes from the pipeline
module's events rebuilt from every deal snapshot (metrics.flow.stage_events);
the funnel also works from current stage and lost_at_stage alone. The figure
builders at the bottom only draw what metrics.funnel computed; every text
they show is a count, a percentage or '—', never NaN or inf.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from datetime import date

import pandas as pd
import plotly.graph_objects as go

from sales_core import service
from sales_core.i18n import money, percent, t
from sales_core.metrics import flow as flow_metrics
from sales_core.metrics.funnel import (
    MIN_DEALS,
    UNKNOWN,
    FunnelSummary,
    check_group_field,
    check_period,
    summarize_funnel,
)
from sales_core.stages import StageModel, default_model
from sales_core.store import Store

log = logging.getLogger(__name__)

HEATMAP_GROUPS = 40  # the heatmap shows this many largest groups at most
FLAG_MARK = "⚠"
FEW_MARK = "·"
LIST_COLUMNS = (
    "deal_id", "deal_name", "customer", "owner", "team", "stage", "amount",
    "created_at", "closed_at", "lost_stage", "lost_reason", "source", "intent",
    "industry", "customer_type", "note",
)  # fmt: skip
LIST_HEADERS = {
    "deal_id": "Deal ID", "deal_name": "Deal name", "customer": "Customer",
    "owner": "Owner", "team": "Team", "stage": "Stage", "amount": "Amount",
    "created_at": "Created on", "closed_at": "Closed on", "lost_stage": "Lost at stage",
    "lost_reason": "Lost reason", "source": "Source", "intent": "Intent",
    "industry": "Industry", "customer_type": "Customer type", "note": "Note",
}  # fmt: skip


@dataclass(frozen=True)
class FunnelChoices:
    """What the funnel's filters can offer for one snapshot."""

    as_of: date
    first_created: date | None
    teams: list[str]


def funnel_choices(store: Store, as_of: date | None = None) -> FunnelChoices:
    """The snapshot's as_of, its earliest created_at and its teams."""
    as_of = service.resolve_as_of(store, None, as_of)
    deals = store.load_deals(as_of)
    created = pd.to_datetime(deals["created_at"], errors="coerce").dropna()
    teams = sorted({str(team) for team in deals["team"].dropna() if str(team).strip()})
    first = created.min().date() if len(created) else None
    return FunnelChoices(as_of=as_of, first_created=first, teams=teams)


def stage_history(store: Store, as_of: date, model: StageModel) -> pd.DataFrame:
    """Stage events rebuilt from every deal snapshot on or before as_of."""
    history = store.load_deal_history()
    if history.empty:
        return pd.DataFrame(columns=["deal_id", "stage", "entered_at"])
    history = history[history["as_of"] <= pd.Timestamp(as_of)]
    return flow_metrics.stage_events(history, model)


def funnel_report(
    store: Store,
    start: date,
    end: date,
    by: str = "owner",
    as_of: date | None = None,
    team: str | None = None,
    min_deals: int = MIN_DEALS,
    model: StageModel | None = None,
    events: pd.DataFrame | None = None,
) -> FunnelSummary:
    """The funnel of deals created in [start, end], as the snapshot at as_of shows.

    as_of defaults to the newest snapshot. With `team`, only that team's
    deals (and "the rest" in comparisons means the rest of that team).
    `events` is stage_history(store, as_of, model), passed in by a caller
    that keeps it cached; it is rebuilt when None. Figures:
    metrics.funnel.summarize_funnel.
    """
    model = model or default_model()
    check_period(start, end)
    check_group_field(by)
    as_of = service.resolve_as_of(store, None, as_of)
    deals = store.load_deals(as_of)
    if team:
        deals = deals[deals["team"].astype(object).eq(team)]
    if events is None:
        events = stage_history(store, as_of, model)
    summary = summarize_funnel(deals, start, end, by, events, min_deals, model)
    log.info(
        "funnel %s..%s as of %s by %s: cohort %d, closed %d",
        start,
        end,
        as_of,
        by,
        summary.cohort_size,
        summary.results.closed,
    )
    return summary


# ---------------------------------------------------------------- deal lists


def deal_list(
    rows: pd.DataFrame, lang: str, model: StageModel | None = None
) -> pd.DataFrame:
    """A deal list to show and download: chosen columns, headers in `lang`.

    Stage keys become stage names; amounts that are all whole numbers become
    integers (so a download writes -500, not -500.0); text stays exactly as
    stored (the export step neutralizes formula-like text, not this one).
    """
    model = model or default_model()
    columns = [name for name in LIST_COLUMNS if name in rows.columns]
    table = rows[columns].copy()
    if "amount" in table:
        amounts = pd.to_numeric(table["amount"], errors="coerce")
        known = amounts.dropna()
        whole = bool((known == known.round()).all()) and known.abs().max() < 2**53
        table["amount"] = amounts.astype("Int64") if len(known) and whole else amounts
    for name in ("stage", "lost_stage"):
        if name in table:
            table[name] = (
                table[name]
                .astype(object)
                .map(
                    lambda key: None if pd.isna(key) else stage_label(key, lang, model)
                )
            )
    for name in ("created_at", "closed_at"):
        if name in table:
            table[name] = pd.to_datetime(table[name], errors="coerce").dt.date
    table = table.rename(
        columns={name: t(LIST_HEADERS[name], lang) for name in columns}
    )
    return table.reset_index(drop=True)


def stage_label(key: str, lang: str, model: StageModel | None = None) -> str:
    """A stage's name, or the unknown bucket's."""
    model = model or default_model()
    if key == UNKNOWN:
        return t("Unknown stage", lang)
    return model.name(key, lang)


def group_label(key: object, lang: str) -> str:
    """A group's name; a missing value is '(not filled in)'."""
    if key is None or (not isinstance(key, str) and pd.isna(key)):
        return t("(not filled in)", lang)
    return str(key)


# ---------------------------------------------------------------- figures


def _plot_text(text: object) -> str:
    """Export text for a chart label: plotly reads tags in text, so escape them."""
    return html.escape(str(text), quote=False)


def _count(value: object) -> str:
    return "—" if value is None or pd.isna(value) else f"{int(value):,}"


def funnel_figure(
    stages: pd.DataFrame, lang: str, model: StageModel | None = None
) -> go.Figure:
    """The cohort funnel: reached per path stage, with conversion from the stage before.

    Every path stage appears in order, zero stages included; the unknown
    bucket is not a bar (it is in the table). Text: reached and the share of
    the stage before that got here ('—' when that stage had none).
    """
    model = model or default_model()
    path = stages[stages["stage"] != UNKNOWN].reset_index(drop=True)
    names = [stage_label(key, lang, model) for key in path["stage"]]
    reached = [int(value) for value in path["reached"]]
    texts, custom = [], []
    for position, row in path.iterrows():
        text = _count(row["reached"])
        if position:
            text += f" · {percent(path.loc[position - 1, 'conversion'])}"
        texts.append(text)
        custom.append(
            [
                str(row["stage"]),
                _count(row["lost_here"]),
                percent(row["leakage"]),
                percent(row["conversion"]),
            ]
        )
    figure = go.Figure(
        go.Funnel(
            y=names,
            x=reached,
            text=texts,
            textinfo="text",
            customdata=custom,
            marker={"color": "#1565C0"},
            hovertemplate=(
                "%{y}: %{x:,}<br>" + t("Lost here", lang) + ": %{customdata[1]} "
                "(%{customdata[2]})<br>"
                + t("To next stage", lang)
                + ": %{customdata[3]}<extra></extra>"
            ),
        )
    )
    figure.update_layout(height=360, margin={"t": 20, "b": 20, "l": 10, "r": 10})
    return figure


def current_figure(
    current: pd.DataFrame, lang: str, model: StageModel | None = None
) -> go.Figure:
    """Deals by current stage: every stage in order, zeros included.

    Text: count and share of the first stage ('—' when the first stage is
    empty), and a warning mark with the number of negative amounts, which
    are left out of the amount in the hover.
    """
    model = model or default_model()
    names = [stage_label(key, lang, model) for key in current["stage"]]
    texts, custom = [], []
    for _, row in current.iterrows():
        text = f"{int(row['deals']):,} · {percent(row['share_of_first'])}"
        if row["negative_amounts"]:
            text += f" {FLAG_MARK}{int(row['negative_amounts'])}"
        texts.append(text)
        custom.append(
            [money(float(row["amount"]), lang), _count(row["negative_amounts"])]
        )
    figure = go.Figure(
        go.Bar(
            x=names,
            y=[int(value) for value in current["deals"]],
            text=texts,
            textposition="outside",
            customdata=custom,
            marker={"color": "#90CAF9"},
            hovertemplate=(
                "%{x}: %{y:,}<br>"
                + t("Amount", lang)
                + ": %{customdata[0]}<br>"
                + t("Negative amounts (left out)", lang)
                + ": %{customdata[1]}"
                "<extra></extra>"
            ),
        )
    )
    figure.update_layout(
        height=320, margin={"t": 30, "b": 20}, yaxis={"rangemode": "tozero"}
    )
    return figure


def lost_reasons_figure(
    reasons: pd.DataFrame, lang: str, model: StageModel | None = None
) -> go.Figure:
    """Lost deals per lost stage, stacked by reason (the unknown bucket last)."""
    model = model or default_model()
    figure = go.Figure()
    order = [*model.open_keys, UNKNOWN]
    names = [stage_label(key, lang, model) for key in order]
    labels = reasons["reason"].map(
        lambda reason: t("(no reason given)", lang) if reason is None else reason
    )
    for reason in dict.fromkeys(labels):
        mine = reasons[labels == reason]
        counts = dict(zip(mine["stage"], mine["deals"], strict=True))
        figure.add_bar(
            y=names,
            x=[int(counts.get(key, 0)) for key in order],
            name=_plot_text(reason),
            orientation="h",
        )
    figure.update_layout(
        barmode="stack",
        height=360,
        margin={"t": 20, "b": 20},
        yaxis={"autorange": "reversed"},
        legend={"orientation": "h"},
    )
    return figure


def win_rate_figure(
    groups: pd.DataFrame, overall: float | None, lang: str
) -> go.Figure:
    """Win rate per group as a dot with its 95% interval; the team rate as a line.

    Red: flagged (interval apart from the rest's); grey: too few deals.
    """
    labels = [_plot_text(group_label(key, lang)) for key in groups["key"]]
    colors = [
        "#C62828" if flagged else "#9E9E9E" if few else "#1565C0"
        for flagged, few in zip(groups["flagged"], groups["too_few"], strict=True)
    ]
    rates = groups["win_rate"].astype(float)
    texts = [
        f"{percent(rate)} ({int(won)}/{int(closed)})"
        + (f" {FLAG_MARK}" if flagged else f" {FEW_MARK}" if few else "")
        for rate, won, closed, flagged, few in zip(
            groups["win_rate"],
            groups["won"],
            groups["closed"],
            groups["flagged"],
            groups["too_few"],
            strict=True,
        )
    ]
    figure = go.Figure(
        go.Scatter(
            x=rates,
            y=labels,
            mode="markers",
            marker={"size": 10, "color": colors},
            text=texts,
            hovertemplate="%{y}: %{text}<extra></extra>",
            error_x={
                "type": "data",
                "symmetric": False,
                "array": (groups["high"].astype(float) - rates).tolist(),
                "arrayminus": (rates - groups["low"].astype(float)).tolist(),
                "color": "#757575",
            },
        )
    )
    if overall is not None:
        figure.add_vline(
            x=overall,
            line_dash="dash",
            line_color="#2E7D32",
            annotation_text=t("Team", lang),
        )
    figure.update_layout(
        height=max(260, 26 * len(labels) + 80),
        margin={"t": 30, "b": 20},
        xaxis={"tickformat": ".0%", "range": [0, 1]},
        yaxis={"autorange": "reversed", "type": "category"},
    )
    return figure


def conversion_heatmap(
    group_stages: pd.DataFrame, lang: str, model: StageModel | None = None
) -> go.Figure:
    """Conversion to the next stage by group × stage, flags and too-few marked.

    Cell text: conversion, ⚠ where flagged, · where too few deals reached
    the stage. At most HEATMAP_GROUPS groups (the largest cohorts), in the
    order metrics.funnel.compare_conversion gives.
    """
    model = model or default_model()
    keys = list(dict.fromkeys(group_stages["key"]))[:HEATMAP_GROUPS]
    stages = model.open_keys
    cells = {(row.key, row.stage): row for row in group_stages.itertuples(index=False)}
    z, text = [], []
    for key in keys:
        z_row, text_row = [], []
        for stage in stages:
            cell = cells.get((key, stage))
            rate = None if cell is None or pd.isna(cell.conversion) else cell.conversion
            z_row.append(rate)
            mark = ""
            if cell is not None and cell.flagged:
                mark = f" {FLAG_MARK}"
            elif cell is not None and cell.too_few:
                mark = f" {FEW_MARK}"
            text_row.append(percent(rate) + mark)
        z.append(z_row)
        text.append(text_row)
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=[stage_label(key, lang, model) for key in stages],
            y=[_plot_text(group_label(key, lang)) for key in keys],
            text=text,
            texttemplate="%{text}",
            colorscale="RdYlGn",
            zmin=0,
            zmax=1,
            hovertemplate="%{y} · %{x}: %{text}<extra></extra>",
            colorbar={"tickformat": ".0%"},
        )
    )
    figure.update_layout(
        height=max(300, 28 * len(keys) + 90),
        margin={"t": 20, "b": 20},
        yaxis={"autorange": "reversed", "type": "category"},
    )
    return figure
