"""Rep rhythm: whose beat is off, and one rep's cadence beside the team median."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app_ui.common import (
    downloads,
    lang,
    show_error,
    snapshot_dates,
    stage_name,
    tr,
)
from app_ui.rhythm import default_window, rhythm
from sales_core.i18n import percent
from sales_core.metrics.rhythm import (
    CV_LIMIT,
    GAP_WORKING_DAYS,
    MONTH_END_DAYS,
    MONTH_END_LIMIT,
    PILING_DAYS,
    PILING_LIMIT,
    calendar_grid,
    count_limit,
    weekly_with_median,
)

FLAG_NAMES = {
    "waves": "Hot and cold waves",
    "month_end_rush": "Month-end rush",
    "piling_up": "Piling up",
    "idle_deals": "Idle deals",
    "overdue_next_steps": "Overdue next steps",
    "gaps": "Gaps",
    "low_activity": "Low activity",
}
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

st.title(tr("Rep rhythm"))
if not snapshot_dates():
    st.info(tr("No snapshots yet."))
    st.stop()

try:
    first, last, _ = default_window()
    left, right = st.columns(2)
    start = left.date_input(tr("From"), value=first, key="rhythm_from")
    end = right.date_input(tr("To"), value=last, key="rhythm_to")
    result = rhythm(start, end)
except Exception as error:  # every failure reaches the user as a message
    show_error(error)
    st.stop()

report = result.report
median = report.team_median
st.caption(
    tr(
        "rhythm_window_note",
        start=report.start.isoformat(),
        end=report.end.isoformat(),
        as_of=report.as_of.isoformat(),
        months=", ".join(report.months),
    )
)
if report.reps.empty:
    st.info(tr("No follow-ups or open deals in this period."))
    st.stop()


def _flag_text(flags: list[str]) -> str:
    joiner = "、" if lang() == "zh" else ", "
    return joiner.join(tr(FLAG_NAMES[name]) for name in flags)


def _ratio(value) -> float | None:
    return None if pd.isna(value) else float(value)


# Team overview, most off first
st.subheader(tr("Team overview, most off rhythm first"))
OVERVIEW_FIGURES = {
    "actions_per_working_day": "Actions per working day",
    "effective_per_working_day": "Effective per working day",
    "weekly_cv": "Weekly CV",
    "month_end_share": "Month-end share",
    "piling_share": "Piling share",
    "idle_deals": "Idle deals",
    "overdue_next_steps": "Overdue next steps",
    "gap_working_days": "Longest gap (working days)",
}
overview = pd.DataFrame(
    {
        tr("Rep"): [*report.reps["owner"], tr("Team median")],
        tr("Flags"): [*report.reps["flags"].map(_flag_text), ""],
        **{
            tr(label): [*report.reps[figure], median[figure]]
            for figure, label in OVERVIEW_FIGURES.items()
        },
    }
)
st.dataframe(
    overview,
    hide_index=True,
    key="rhythm_overview",
    column_config={
        tr("Actions per working day"): st.column_config.NumberColumn(format="%.1f"),
        tr("Effective per working day"): st.column_config.NumberColumn(format="%.1f"),
        tr("Weekly CV"): st.column_config.NumberColumn(format="%.2f"),
        tr("Month-end share"): st.column_config.NumberColumn(format="percent"),
        tr("Piling share"): st.column_config.NumberColumn(format="percent"),
    },
)
downloads(overview, f"kongpan_rhythm_{report.end}", "rhythm_overview")

# One rep
st.subheader(tr("One rep's rhythm"))
owner = st.selectbox(tr("Rep"), list(report.reps["owner"]), key="rhythm_rep")
rep = report.rep(owner)


def _decimal(value: float) -> str:
    return f"{value:.1f}"


def _metric(column, label: str, figure: str, shown) -> None:
    """The rep's figure, with the team median of it underneath."""
    value, usual = _ratio(rep[figure]), median[figure]
    column.metric(
        tr(label),
        "—" if value is None else shown(value),
        delta=f"{tr('Team median')} " + ("—" if usual is None else shown(usual)),
        delta_color="off",
        delta_arrow="off",
    )


columns = st.columns(5)
_metric(columns[0], "Actions per working day", "actions_per_working_day", _decimal)
_metric(columns[1], "Effective per working day", "effective_per_working_day", _decimal)
_metric(columns[2], "Weekly CV", "weekly_cv", lambda value: f"{value:.2f}")
_metric(columns[3], "Month-end share", "month_end_share", percent)
_metric(columns[4], "Piling share", "piling_share", percent)

explain = {
    "waves": dict(value=f"{_ratio(rep['weekly_cv']) or 0:.2f}", limit=CV_LIMIT),
    "month_end_rush": dict(
        value=percent(_ratio(rep["month_end_share"])),
        limit=percent(MONTH_END_LIMIT),
        days=MONTH_END_DAYS,
    ),
    "piling_up": dict(
        value=percent(_ratio(rep["piling_share"])),
        limit=percent(PILING_LIMIT),
        days=PILING_DAYS,
    ),
    "idle_deals": dict(
        value=rep["idle_deals"], limit=f"{count_limit(median['idle_deals']):g}"
    ),
    "overdue_next_steps": dict(
        value=rep["overdue_next_steps"],
        limit=f"{count_limit(median['overdue_next_steps']):g}",
    ),
    "gaps": dict(value=rep["gap_working_days"], limit=GAP_WORKING_DAYS),
    "low_activity": dict(
        value=f"{rep['actions_per_working_day']:.1f}",
        median=f"{median['actions_per_working_day'] or 0:.1f}",
    ),
}
if rep["flags"]:
    for name in rep["flags"]:
        st.warning(
            f"**{tr(FLAG_NAMES[name])}** · {tr('flag_' + name, **explain[name])}"
        )
else:
    st.success(tr("No rhythm flags for this rep."))

st.markdown(f"**{tr('Daily follow-ups')}**")
grid = calendar_grid(report.daily, owner)
heatmap = go.Figure(
    go.Heatmap(
        z=grid.to_numpy(dtype=float),
        x=[f"{week:%m-%d}" for week in grid.columns],
        y=[tr(day) for day in WEEKDAYS],
        colorscale="Greens",
        hoverongaps=False,
        colorbar={"title": tr("Follow-ups")},
    )
)
heatmap.update_layout(
    height=260,
    margin={"t": 20, "b": 20},
    yaxis={"autorange": "reversed"},
    xaxis={"title": tr("Week starting"), "type": "category"},
)
st.plotly_chart(heatmap, key="rhythm_heatmap")

weekly = weekly_with_median(report, owner)
weeks = [f"{day:%m-%d}" for day in weekly["week_end"]]


def _weekly_figure(
    bars: list[tuple[str, str, str]], medians: list[tuple[str, str, dict]], title: str
) -> go.Figure:
    """The rep's weekly bars with the team medians drawn over them as lines."""
    figure = go.Figure()
    for column, name, color in bars:
        figure.add_bar(x=weeks, y=weekly[column], name=tr(name), marker_color=color)
    for column, name, line in medians:
        figure.add_scatter(
            x=weeks, y=weekly[column], mode="lines+markers", name=tr(name), line=line
        )
    figure.update_layout(
        height=320,
        margin={"t": 40, "b": 20},
        legend={"orientation": "h"},
        title=tr(title),
        xaxis={"type": "category"},
    )
    return figure


if weekly.empty:
    st.caption(tr("weekly_needs_a_week"))
else:
    left, right = st.columns(2)
    left.plotly_chart(
        _weekly_figure(
            [
                ("actions", "Follow-ups", "#1565C0"),
                ("effective", "Effective contacts", "#90CAF9"),
            ],
            [
                ("team_actions", "Team median follow-ups", {"color": "#C62828"}),
                (
                    "team_effective",
                    "Team median effective",
                    {"color": "#EF9A9A", "dash": "dash"},
                ),
            ],
            "Follow-ups per week (week ending)",
        ),
        key="rhythm_weekly",
    )
    right.plotly_chart(
        _weekly_figure(
            [
                ("new_deals", "New deals", "#2E7D32"),
                ("stage_advances", "Stage advances", "#A5D6A7"),
            ],
            [
                ("team_new_deals", "Team median new deals", {"color": "#C62828"}),
                (
                    "team_stage_advances",
                    "Team median advances",
                    {"color": "#EF9A9A", "dash": "dash"},
                ),
            ],
            "New deals and stage advances per week",
        ),
        key="rhythm_pipeline",
    )

months = report.month_end[report.month_end["owner"] == owner]
with st.expander(tr("Month-end rush by month")):
    st.caption(tr("month_end_note", days=MONTH_END_DAYS))
    month_table = pd.DataFrame(
        {
            tr("Month"): months["month"],
            tr("Won"): months["won"],
            tr("Won in the last 5 working days"): months["month_end"],
            tr("Month-end share"): months["share"],
        }
    )
    st.dataframe(
        month_table,
        hide_index=True,
        key="rhythm_months",
        column_config={
            tr("Won"): st.column_config.NumberColumn(format="localized"),
            tr("Won in the last 5 working days"): st.column_config.NumberColumn(
                format="localized"
            ),
            tr("Month-end share"): st.column_config.NumberColumn(format="percent"),
        },
    )


def _deal_rows(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """The rep's rows of a deal list with translated headers and stage names."""
    mine = frame[frame["owner"] == owner]
    table = pd.DataFrame(index=mine.index)
    for name, label in columns.items():
        values = mine[name]
        table[tr(label)] = values.map(stage_name) if name == "stage" else values
    return table.reset_index(drop=True)


left, right = st.columns(2)
idle = _deal_rows(
    report.idle,
    {
        "deal_id": "Deal ID",
        "customer": "Customer",
        "stage": "Stage",
        "last_touch_at": "Last touch",
        "idle_days": "Days idle",
        "idle_limit": "Idle limit (days)",
    },
)
left.markdown(f"**{tr('Idle deals')}** ({len(idle)})")
left.dataframe(idle, hide_index=True, key="rhythm_idle")
with left:
    downloads(idle, f"kongpan_idle_{owner}_{report.as_of}", "rhythm_idle")

overdue = _deal_rows(
    report.overdue,
    {
        "deal_id": "Deal ID",
        "customer": "Customer",
        "stage": "Stage",
        "next_step": "Next step",
        "next_step_due": "Next step due",
        "days_overdue": "Days overdue",
    },
)
right.markdown(f"**{tr('Overdue next steps')}** ({len(overdue)})")
right.dataframe(overdue, hide_index=True, key="rhythm_overdue")
with right:
    downloads(overdue, f"kongpan_overdue_{owner}_{report.as_of}", "rhythm_overdue")

gaps = report.gaps[report.gaps["owner"] == owner]
st.markdown(f"**{tr('Gaps of more than 3 working days without a follow-up')}**")
if gaps.empty:
    st.caption(tr("No such gap in this period."))
else:
    st.dataframe(
        pd.DataFrame(
            {
                tr("From"): gaps["first_day"],
                tr("To"): gaps["last_day"],
                tr("Working days"): gaps["working_days"],
            }
        ),
        hide_index=True,
        key="rhythm_gaps",
    )

piled = report.piled[(report.piled["owner"] == owner) & report.piled["piled"]]
with st.expander(f"{tr('Piled-up deals')} ({len(piled)})"):
    st.caption(tr("piling_note", days=PILING_DAYS))
    st.dataframe(
        _deal_rows(
            piled,
            {
                "deal_id": "Deal ID",
                "customer": "Customer",
                "stage": "Stage",
                "since": "Stage unchanged since",
                "days_in_stage": "Days in stage",
            },
        ),
        hide_index=True,
        key="rhythm_piled",
    )

links = result.link_counts
with st.expander(
    f"{tr('Follow-ups not linked to one deal')} ({links['none'] + links['ambiguous']})"
):
    st.caption(
        tr(
            "link_note",
            by_id=links["deal_id"],
            by_customer=links["customer"],
            none=links["none"],
            ambiguous=links["ambiguous"],
        )
    )
    problems = pd.concat([result.unlinked, result.ambiguous])
    if not problems.empty:
        st.dataframe(
            pd.DataFrame(
                {
                    tr("Time"): problems["activity_at"],
                    tr("Rep"): problems["owner"],
                    tr("Customer"): problems["customer"],
                    tr("Deal ID"): problems["deal_id"],
                    tr("Candidate deals"): problems["candidates"].map(", ".join),
                }
            ),
            hide_index=True,
            key="rhythm_links",
        )

st.caption(tr("rhythm_method_note"))
