"""Pipeline board, week-over-week flow and deal history, from the store.

The page and the command line call these functions, so they can never
disagree about a number. Stage events are not stored: they are rebuilt from
every deal snapshot on demand (metrics.flow.stage_events); the app caches
them by data version. The figure builders at the bottom only draw what the
metric functions computed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pandas as pd
import plotly.graph_objects as go

from sales_core import service
from sales_core.errors import KongpanError
from sales_core.metrics import flow as flow_metrics
from sales_core.metrics.board import Board, BoardFilters, pipeline_board
from sales_core.metrics.progress import stage_win_rates
from sales_core.stages import StageModel, default_model
from sales_core.store import Store


def board(
    store: Store,
    as_of: date | None = None,
    filters: BoardFilters | None = None,
    sort: str = "amount",
    model: StageModel | None = None,
) -> Board:
    """The board of the newest snapshot on or before as_of (default: newest).

    Its as_of is that snapshot's date: idle days and overdue steps are
    counted to the day the data describes, not to a later date asked for.

    Weighted amounts use metrics.progress.stage_win_rates over the whole
    snapshot (the team's own history, smoothed toward the stage defaults),
    the same probabilities as the month-end forecast; filters do not change
    them.
    """
    model = model or default_model()
    as_of = _newest_snapshot(store, as_of)
    deals = store.load_deals(as_of)
    rates = stage_win_rates(deals, as_of, model)
    return pipeline_board(deals, as_of, model, rates, filters, sort)


def _newest_snapshot(store: Store, as_of: date | None) -> date:
    """The as_of of the newest deal snapshot on or before as_of (or at all)."""
    newest = store.latest_as_of(as_of)
    if newest is None:
        raise KongpanError("no_snapshot", as_of=as_of or "-")
    return newest


def snapshot_history(store: Store) -> pd.DataFrame:
    """Every deal snapshot, one row per (as_of, deal_id)."""
    return flow_metrics.snapshot_rows(store.load_deal_history())


def stage_history(
    store: Store,
    history: pd.DataFrame | None = None,
    model: StageModel | None = None,
) -> pd.DataFrame:
    """Every deal's stage events, rebuilt from all snapshots (not stored).

    See metrics.flow.stage_events for the columns and the rules.
    """
    history = snapshot_history(store) if history is None else history
    return flow_metrics.stage_events(history, model or default_model())


def _snapshot_day(store: Store, day: date | str | None) -> date:
    """A date that names a deal snapshot by its as_of, or a clear error."""
    if isinstance(day, str) or day is None:
        day = service.parse_day(day)
    dates = store.snapshot_dates()
    if day not in dates:
        listed = ", ".join(d.isoformat() for d in dates) or "-"
        raise KongpanError("not_a_snapshot", day=day or "-", dates=listed)
    return day


def flow(
    store: Store,
    from_date: date | str | None,
    to_date: date | str | None,
    model: StageModel | None = None,
) -> flow_metrics.Flow:
    """Week-over-week flow between two snapshots named by their as_of dates."""
    older_day = _snapshot_day(store, from_date)
    newer_day = _snapshot_day(store, to_date)
    if older_day >= newer_day:
        raise KongpanError("flow_order", start=older_day, end=newer_day)
    older = store.load_deals(older_day)
    newer = store.load_deals(newer_day)
    return flow_metrics.compare_snapshots(
        older, newer, model or default_model(), older_day, newer_day
    )


def default_window(store: Store, to_date: date | None = None) -> tuple[date, date]:
    """The newest snapshot on or before to_date and the one before it.

    Raises KongpanError('no_snapshot') when fewer than two snapshots exist.
    """
    dates = [day for day in store.snapshot_dates() if to_date is None or day <= to_date]
    if len(dates) < 2:
        raise KongpanError("no_snapshot", as_of=to_date or "-")
    return dates[-2], dates[-1]


def slip_ledger(
    store: Store,
    as_of: date | None = None,
    history: pd.DataFrame | None = None,
    model: StageModel | None = None,
) -> pd.DataFrame:
    """metrics.flow.slip_ledger over every snapshot on or before as_of."""
    as_of = _newest_snapshot(store, as_of)
    history = snapshot_history(store) if history is None else history
    return flow_metrics.slip_ledger(history, as_of, model or default_model())


@dataclass(frozen=True, eq=False)
class DealHistory:
    """One deal across snapshots: stage timeline, follow-ups, changes.

    snapshots: the deal's row in each snapshot (as_of order); events: its
    stage events; activities: its follow-ups, newest first; amount_changes
    and close_date_changes: (as_of, before, after) where the value changed
    from one snapshot showing the deal to the next.
    """

    deal_id: str
    snapshots: pd.DataFrame
    events: pd.DataFrame
    activities: pd.DataFrame
    amount_changes: pd.DataFrame
    close_date_changes: pd.DataFrame

    @property
    def latest(self) -> pd.Series:
        return self.snapshots.iloc[-1]


def _changes(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    """(as_of, before, after) where `column` differs from the previous snapshot."""
    before = rows[column].shift(1)
    after = rows[column]
    differ = ~((before == after) | (before.isna() & after.isna()))
    differ.iloc[:1] = False
    return pd.DataFrame({"as_of": rows["as_of"], "before": before, "after": after})[
        differ
    ].reset_index(drop=True)


def deal_history(
    store: Store,
    deal_id: str,
    history: pd.DataFrame | None = None,
    activities: pd.DataFrame | None = None,
    model: StageModel | None = None,
) -> DealHistory:
    """One deal's history; `history`/`activities` may be passed in preloaded.

    Follow-ups are those whose deal_id is this deal's, plus those without a
    deal_id whose customer text equals the deal's customer.
    """
    model = model or default_model()
    history = snapshot_history(store) if history is None else history
    rows = history[history["deal_id"] == deal_id].sort_values("as_of")
    if rows.empty:
        raise KongpanError("unknown_deal", deal_id=deal_id)
    rows = rows.reset_index(drop=True)
    activities = store.load_activities() if activities is None else activities
    customer = rows["customer"].iloc[-1]
    mine = (activities["deal_id"] == deal_id) | (
        activities["deal_id"].isna() & (activities["customer"] == customer)
    )
    follow_ups = activities[mine.fillna(False)].sort_values(
        "activity_at", ascending=False
    )
    return DealHistory(
        deal_id=deal_id,
        snapshots=rows,
        events=flow_metrics.stage_events(rows, model),
        activities=follow_ups.reset_index(drop=True),
        amount_changes=_changes(rows, "amount"),
        close_date_changes=_changes(rows, "expected_close"),
    )


def transitions(
    store: Store, from_date: date | str, to_date: date | str
) -> pd.DataFrame:
    """metrics.flow.stage_transitions between two snapshots."""
    model = default_model()
    return flow_metrics.stage_transitions(flow(store, from_date, to_date, model), model)


# ---------------------------------------------------------------- figures


def waterfall_figure(
    open_amount: dict[str, float],
    labels: dict[str, str],
    value_text: Callable[[float], str] = "{:,.0f}".format,
) -> go.Figure:
    """A plotly waterfall from open_before to open_after (labels per WATERFALL key).

    Bars that add (new, reopened, amount up) are relative increases; bars
    that take away (amount down, won, lost, disappeared) relative decreases;
    the two ends are absolute totals.
    """
    names = list(flow_metrics.WATERFALL)
    measures, values = [], []
    for name in names:
        if name in ("open_before", "open_after"):
            measures.append("absolute" if name == "open_before" else "total")
            values.append(open_amount[name])
        else:
            measures.append("relative")
            values.append(flow_metrics.BAR_SIGN[name] * open_amount[name])
    figure = go.Figure(
        go.Waterfall(
            x=[labels.get(name, name) for name in names],
            y=values,
            measure=measures,
            customdata=names,
            text=[value_text(open_amount[name]) for name in names],
            textposition="outside",
            connector={"line": {"color": "#9E9E9E"}},
            increasing={"marker": {"color": "#2E7D32"}},
            decreasing={"marker": {"color": "#C62828"}},
            totals={"marker": {"color": "#1565C0"}},
        )
    )
    figure.update_layout(height=380, margin={"t": 30, "b": 30}, showlegend=False)
    return figure


def timeline_figure(
    events: pd.DataFrame,
    model: StageModel,
    stage_label: Callable[[str], str],
    inferred_label: str,
) -> go.Figure:
    """A deal's stages over time: one marker per stage event, in path order.

    Inferred stages (jumped over) are hollow markers; the hover shows the
    window the event happened in.
    """
    order = [*model.path_keys, model.lost_key]
    names = [stage_label(key) for key in order]
    figure = go.Figure()
    figure.add_scatter(
        x=events["entered_at"],
        y=[stage_label(key) for key in events["stage"]],
        mode="lines+markers",
        line={"shape": "hv", "color": "#1565C0"},
        marker={
            "size": 11,
            "symbol": [
                "circle-open" if flag else "circle" for flag in events["inferred"]
            ],
        },
        text=[
            _window_text(row, inferred_label) for row in events.itertuples(index=False)
        ],
        hovertemplate="%{y}<br>%{x|%Y-%m-%d}<br>%{text}<extra></extra>",
    )
    figure.update_yaxes(categoryorder="array", categoryarray=names, type="category")
    figure.update_layout(height=320, margin={"t": 20, "b": 20}, showlegend=False)
    return figure


def _window_text(row, inferred_label: str) -> str:
    start = "…" if pd.isna(row.window_start) else f"{row.window_start:%Y-%m-%d}"
    text = f"{start} – {row.window_end:%Y-%m-%d} ({row.how})"
    return f"{text}, {inferred_label}" if row.inferred else text


def transitions_figure(
    moves: pd.DataFrame,
    stage_label: Callable[[str], str],
    labels: dict[str, str],
) -> go.Figure:
    """A sankey of stage moves between two snapshots.

    The older snapshot's stages and the newer one's are separate nodes (so a
    backward move is a visible link, never a cycle); deals new to the newer
    export come from a "new" node and deals missing from it go to a
    "missing" node (not to lost). Only links with a count above zero are
    drawn. labels: "before", "after", "new", "missing".
    """
    nodes: dict[tuple[str, str], int] = {}

    def node(side: str, key: str | None) -> int:
        return nodes.setdefault((side, key or side), len(nodes))

    sources, targets, values, colors = [], [], [], []
    for row in moves.itertuples(index=False):
        if row.count <= 0:
            continue
        left = node("before", row.from_stage) if row.from_stage else node("new", None)
        right = node("after", row.to_stage) if row.to_stage else node("missing", None)
        sources.append(left)
        targets.append(right)
        values.append(int(row.count))
        colors.append(
            "rgba(198,40,40,0.45)" if row.backward else "rgba(21,101,192,0.3)"
        )
    names = []
    for side, key in nodes:
        if side in ("new", "missing"):
            names.append(labels.get(side, side))
        else:
            names.append(f"{stage_label(key)} ({labels.get(side, side)})")
    figure = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={"label": names, "pad": 14},
            link={
                "source": sources,
                "target": targets,
                "value": values,
                "color": colors,
            },
        )
    )
    figure.update_layout(height=380, margin={"t": 20, "b": 20})
    return figure
