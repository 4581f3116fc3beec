"""Pipeline: open deals by stage, who needs a push, each deal's history, and
what moved between two weekly snapshots."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_ui.common import (
    display_text,
    downloads,
    lang,
    plain,
    show_error,
    snapshot_dates,
    stage_name,
    tr,
)
from app_ui.pipeline import (
    board,
    deal_history,
    flow,
    slip_ledger,
    snapshot_deals,
    transitions,
)
from sales_core.i18n import money
from sales_core.metrics.board import SORTS, BoardFilters, amount_range, filter_choices
from sales_core.metrics.flow import BARS, BUCKETS, WATERFALL
from sales_core.pipeline_report import (
    timeline_figure,
    transitions_figure,
    waterfall_figure,
)
from sales_core.stages import default_model

CARDS_PER_COLUMN = 25
SORT_LABELS = {
    "amount": "Amount, largest first",
    "days_idle": "Days since last touch, longest first",
    "expected_close": "Expected close, soonest first",
    "next_step_due": "Next step due, earliest first",
    "customer": "Customer",
}
FLOW_LABELS = {
    "open_before": "Open before",
    "open_after": "Open after",
    "new": "New",
    "reopened": "Reopened",
    "amount_up": "Amount up",
    "amount_down": "Amount down",
    "won": "Won",
    "lost": "Lost",
    "disappeared": "Missing from export",
    "advanced": "Advanced",
    "moved_back": "Moved back",
    "slipped": "Close date pushed",
    "amount_changed": "Amount changed",
    "owner_changed": "Owner changed",
}
HOW_LABELS = {
    "exported": "date from the export",
    "diffed": "between two snapshots",
    "first_seen": "already there when first seen",
}
MODEL = default_model()
language = lang()


def _day(value) -> object:
    return None if pd.isna(value) else pd.Timestamp(value).date()


def _deal_table(
    deals: pd.DataFrame, extra: dict[str, str] | None = None
) -> pd.DataFrame:
    """Deals as a table with translated headers; `extra` adds columns by name."""
    columns = {
        "deal_id": "Deal ID",
        "customer": "Customer",
        "owner": "Owner",
        "team": "Team",
        "stage": "Stage",
        "amount": "Amount",
        "expected_close": "Expected close",
        "next_step": "Next step",
        "next_step_due": "Next step due",
        **(extra or {}),
    }
    table = pd.DataFrame(index=deals.index)
    for name, label in columns.items():
        if name not in deals:
            continue
        values = deals[name]
        if name.startswith("stage"):
            values = values.map(lambda key: None if pd.isna(key) else stage_name(key))
        elif pd.api.types.is_datetime64_any_dtype(values):
            values = values.map(_day)
        table[tr(label)] = values
    return table.reset_index(drop=True)


def _card(deal) -> None:
    """One deal on the board: export text shown as text, flags as badges."""
    with st.container(border=True, gap=None):
        st.text(deal.customer if isinstance(deal.customer, str) else "—")
        if pd.isna(deal.days_idle):
            touched = tr("last touch unknown")
        else:
            touched = tr("touched_days_ago", days=int(deal.days_idle))
        due = _day(deal.next_step_due)
        step = f"{tr('Next step')}: {plain(deal.next_step)}"
        if due:
            step += f" · {due}"
        st.caption(
            f"{money(deal.amount, language)} · {plain(deal.owner)}  \n"
            f"{touched}  \n{step}"
        )
        badges = []
        if deal.idle:
            idle = tr(
                "idle_badge", days=int(deal.days_idle), limit=int(deal.idle_limit)
            )
            badges.append(f":red-badge[{idle}]")
        if deal.next_step_overdue:
            overdue = tr("overdue_badge", days=int(deal.days_overdue))
            badges.append(f":orange-badge[{overdue}]")
        if badges:
            st.markdown(" ".join(badges))


def _filters(as_of) -> BoardFilters:
    deals = snapshot_deals(as_of)
    choices = filter_choices(deals)
    low, high = amount_range(deals)
    with st.expander(tr("Filters")):
        columns = st.columns(5)
        picked = {}
        for column, (name, label) in zip(
            columns,
            [
                ("teams", "Team"),
                ("reps", "Rep"),
                ("sources", "Source"),
                ("intents", "Intent"),
                ("industries", "Industry"),
            ],
            strict=True,
        ):
            picked[name] = tuple(
                column.multiselect(tr(label), choices[name], key=f"pipeline_{name}")
            )
        left, right = st.columns(2)
        minimum = left.number_input(
            tr("Minimum amount"),
            min_value=0.0,
            value=None,
            placeholder=money(low, language),
            step=10000.0,
            key="pipeline_min_amount",
        )
        maximum = right.number_input(
            tr("Maximum amount"),
            min_value=0.0,
            value=None,
            placeholder=money(high, language),
            step=10000.0,
            key="pipeline_max_amount",
        )
    return BoardFilters(**picked, min_amount=minimum, max_amount=maximum)


def _board_section(as_of) -> None:
    filters = _filters(as_of)
    sort_labels = {key: tr(text) for key, text in SORT_LABELS.items()}
    sort = st.selectbox(
        tr("Sort cards by"),
        list(SORTS),
        format_func=sort_labels.get,
        key="pipeline_sort",
    )
    result = board(as_of, filters, sort)

    columns = st.columns(len(result.totals))
    for column, total in zip(
        columns, result.totals.itertuples(index=False), strict=True
    ):
        with column:
            st.metric(stage_name(total.stage), int(total.count))
            st.caption(
                f"{tr('Amount')} {money(total.amount, language)}  \n"
                f"{tr('Weighted')} {money(total.weighted_amount, language)}"
            )
            if total.idle or total.overdue:
                st.caption(tr("flag_counts", idle=total.idle, overdue=total.overdue))
            cards = result.stage_deals(total.stage)
            with st.container(height=640, border=False):
                for deal in cards.head(CARDS_PER_COLUMN).itertuples(index=False):
                    _card(deal)
                if len(cards) > CARDS_PER_COLUMN:
                    st.caption(tr("more_deals", count=len(cards) - CARDS_PER_COLUMN))

    totals = pd.DataFrame(
        {
            tr("Stage"): result.totals["stage"].map(stage_name),
            tr("Deals"): result.totals["count"],
            tr("Amount"): result.totals["amount"],
            tr("Win probability"): result.totals["probability"],
            tr("Weighted amount"): result.totals["weighted_amount"],
            tr("Idle"): result.totals["idle"],
            tr("Overdue next steps"): result.totals["overdue"],
        }
    )
    with st.expander(tr("Board totals and all open deals")):
        st.dataframe(
            totals,
            hide_index=True,
            key="board_totals",
            column_config={
                tr("Win probability"): st.column_config.NumberColumn(format="percent"),
                tr("Amount"): st.column_config.NumberColumn(format="localized"),
                tr("Weighted amount"): st.column_config.NumberColumn(
                    format="localized"
                ),
            },
        )
        downloads(totals, f"kongpan_board_{as_of}", "board_totals")
        open_table = _deal_table(
            result.deals,
            {
                "days_idle": "Days since last touch",
                "idle": "Idle",
                "next_step_overdue": "Overdue",
            },
        )
        st.dataframe(open_table, hide_index=True, key="board_deals")
        downloads(open_table, f"kongpan_open_deals_{as_of}", "board_deals")

    left, right = st.columns(2)
    with left:
        st.subheader(tr("About to close"))
        st.caption(tr("about_to_close_note"))
        soon = _deal_table(result.about_to_close, {"days_to_close": "Days to close"})
        st.dataframe(soon, hide_index=True, key="about_to_close")
        downloads(soon, f"kongpan_about_to_close_{as_of}", "about_to_close")
    with right:
        st.subheader(tr("Waiting to close, untouched for 7 days"))
        st.caption(tr("waiting_note"))
        waiting = _deal_table(
            result.waiting_untouched, {"days_idle": "Days since last touch"}
        )
        st.dataframe(waiting, hide_index=True, key="waiting_untouched")
        downloads(waiting, f"kongpan_waiting_{as_of}", "waiting_untouched")

    _deal_section(result.deals)


def _deal_section(deals: pd.DataFrame) -> None:
    st.subheader(tr("Deal history"))
    labels = dict(zip(deals["deal_id"], deals["customer"], strict=True))
    deal_id = st.selectbox(
        tr("Deal"),
        list(labels),
        index=None,
        placeholder=tr("Choose a deal"),
        format_func=lambda key: f"{display_text(labels.get(key))} · {key}",
        key="pipeline_deal",
    )
    if deal_id is None:
        return
    history = deal_history(deal_id)
    latest = history.latest
    st.text(f"{latest['customer']} · {deal_id}")
    st.caption(
        f"{tr('Owner')}: {plain(latest['owner'])} · {tr('Team')}: "
        f"{plain(latest['team'])}"
    )
    columns = st.columns(3)
    columns[0].metric(tr("Stage"), stage_name(latest["stage"]))
    columns[1].metric(tr("Amount"), money(latest["amount"], language))
    columns[2].metric(tr("Expected close"), str(_day(latest["expected_close"]) or "—"))

    st.markdown(f"**{tr('Stage timeline')}**")
    st.caption(tr("timeline_note"))
    st.plotly_chart(
        timeline_figure(history.events, MODEL, stage_name, tr("inferred")),
        key="deal_timeline",
    )
    events = pd.DataFrame(
        {
            tr("Stage"): history.events["stage"].map(stage_name),
            tr("Entered"): history.events["entered_at"].map(_day),
            tr("Window start"): history.events["window_start"].map(_day),
            tr("Window end"): history.events["window_end"].map(_day),
            tr("Date from"): history.events["how"].map(lambda how: tr(HOW_LABELS[how])),
            tr("Inferred"): history.events["inferred"],
        }
    )
    st.dataframe(events, hide_index=True, key="deal_events")
    downloads(events, f"kongpan_stage_events_{deal_id}", "deal_events")

    follow_ups = history.activities
    st.markdown(f"**{tr('Follow-up log')}**")
    if follow_ups.empty:
        st.caption(tr("No follow-ups recorded for this deal."))
    else:
        table = pd.DataFrame(
            {
                tr("Time"): follow_ups["activity_at"],
                tr("Rep"): follow_ups["owner"],
                tr("Method"): follow_ups["kind"].map(
                    lambda kind: tr(kind) if isinstance(kind, str) else "—"
                ),
                tr("Effective"): follow_ups["effective"],
                tr("Summary"): follow_ups["summary"],
                tr("Next step"): follow_ups["next_step"],
            }
        )
        st.dataframe(table, hide_index=True, key="deal_follow_ups")
        downloads(table, f"kongpan_follow_ups_{deal_id}", "deal_follow_ups")

    left, right = st.columns(2)
    changes = (
        (left, history.amount_changes, "Amount changes", float),
        (right, history.close_date_changes, "Expected close changes", _day),
    )
    for column, frame, title, shown_as in changes:
        column.markdown(f"**{tr(title)}**")
        if frame.empty:
            column.caption(tr("No changes."))
            continue
        shown = pd.DataFrame(
            {
                tr("As of"): frame["as_of"].map(_day),
                tr("Before"): frame["before"].map(shown_as),
                tr("After"): frame["after"].map(shown_as),
            }
        )
        column.dataframe(shown, hide_index=True, key=f"deal_{shown_as.__name__}")


def _flow_section(dates: list) -> None:
    st.header(tr("What moved between snapshots"))
    if len(dates) < 2:
        st.info(tr("The flow needs at least two deal snapshots."))
        return
    left, right = st.columns(2)
    to_date = right.selectbox(
        tr("To snapshot"), sorted(dates, reverse=True)[:-1], key="flow_to"
    )
    earlier = sorted((day for day in dates if day < to_date), reverse=True)
    from_date = left.selectbox(tr("From snapshot"), earlier, key="flow_from")
    result = flow(from_date, to_date)

    amounts = result.open_amount
    columns = st.columns(3)
    columns[0].metric(tr("Open before"), money(amounts["open_before"], language))
    columns[1].metric(tr("Open after"), money(amounts["open_after"], language))
    columns[2].metric(
        tr("Change"), money(amounts["open_after"] - amounts["open_before"], language)
    )
    labels = {name: tr(FLOW_LABELS[name]) for name in WATERFALL}
    st.plotly_chart(
        waterfall_figure(amounts, labels, lambda value: money(value, language)),
        key="flow_waterfall",
    )

    bar = st.selectbox(
        tr("Deals behind a bar"),
        list(BARS),
        format_func=lambda name: f"{labels[name]} ({money(amounts[name], language)})",
        key="flow_bar",
    )
    bar_table = _flow_table(
        result.bar_deals(bar), {"bar_amount": "Effect on open amount"}
    )
    st.dataframe(bar_table, hide_index=True, key="flow_bar_deals")
    downloads(bar_table, f"kongpan_flow_{bar}_{from_date}_{to_date}", "flow_bar_deals")

    counts = {name: len(result.bucket(name)) for name in BUCKETS}
    bucket_labels = {name: tr(FLOW_LABELS[name]) for name in BUCKETS}
    bucket = st.selectbox(
        tr("Deals by change"),
        list(BUCKETS),
        format_func=lambda name: f"{bucket_labels[name]} ({counts[name]})",
        key="flow_bucket",
    )
    bucket_rows = result.deals.loc[result.bucket(bucket)]
    bucket_table = _flow_table(bucket_rows, {})
    st.dataframe(bucket_table, hide_index=True, key="flow_bucket_deals")
    downloads(
        bucket_table,
        f"kongpan_flow_{bucket}_{from_date}_{to_date}",
        "flow_bucket_deals",
    )

    st.subheader(tr("Stage moves"))
    moves = transitions(from_date, to_date)
    if moves.empty:
        st.caption(tr("No changes."))
    else:
        names = {
            "before": str(from_date),
            "after": str(to_date),
            "new": tr("New"),
            "missing": tr("Missing from export"),
        }
        st.plotly_chart(
            transitions_figure(moves, stage_name, names), key="flow_transitions"
        )

    st.subheader(tr("Slip ledger"))
    st.caption(tr("slip_note", as_of=str(to_date)))
    ledger = slip_ledger(to_date)
    ledger_table = _deal_table(
        ledger,
        {
            "first_expected_close": "First expected close",
            "slips": "Times pushed",
            "days_pushed": "Days pushed",
            "snapshots": "Snapshots",
        },
    )
    st.dataframe(ledger_table, hide_index=True, key="slip_ledger")
    downloads(ledger_table, f"kongpan_slip_ledger_{to_date}", "slip_ledger")


def _flow_table(rows: pd.DataFrame, extra: dict[str, str]) -> pd.DataFrame:
    """A flow frame's deals: before and after side by side."""
    frame = rows.reset_index()
    return _deal_table(
        frame,
        {
            "stage_before": "Stage before",
            "stage_after": "Stage after",
            "amount_before": "Amount before",
            "amount_after": "Amount after",
            "expected_close_before": "Expected close before",
            "expected_close_after": "Expected close after",
            "owner_before": "Owner before",
            "owner_after": "Owner after",
            **extra,
        },
    )


st.title(tr("Pipeline"))
dates = snapshot_dates()
if not dates:
    st.info(tr("No snapshots yet."))
    st.stop()

board_as_of = st.selectbox(
    tr("As of"), sorted(dates, reverse=True), key="pipeline_as_of"
)
st.caption(tr("data_note", as_of=board_as_of.isoformat()))
for section, argument in (
    (_board_section, board_as_of),
    (_flow_section, dates),
):
    try:
        section(argument)
    except Exception as error:  # every failure reaches the user as a message
        show_error(error)
