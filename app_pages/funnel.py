"""Funnel leakage: which stage deals are lost in, why, and whether it is one rep."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from app_ui.common import (
    downloads,
    lang,
    show_error,
    showing_demo,
    snapshot_dates,
    stage_name,
    tr,
)
from app_ui.funnel import choices, funnel
from sales_core.funnel_report import (
    FEW_MARK,
    FLAG_MARK,
    conversion_heatmap,
    current_figure,
    deal_list,
    funnel_figure,
    group_label,
    lost_reasons_figure,
    stage_label,
    win_rate_figure,
)
from sales_core.i18n import money, percent
from sales_core.metrics.funnel import (
    GROUP_FIELDS,
    MIN_DEALS,
    RESULT_MEASURES,
    UNKNOWN,
    closed_deals_behind,
    deals_behind,
)
from sales_core.stages import default_model

MODEL = default_model()
GROUP_LABELS = {
    "owner": "Rep", "team": "Team", "source": "Source", "intent": "Intent",
    "industry": "Industry", "customer_type": "Customer type",
}  # fmt: skip
ALL = "*all*"
NO_KEY = "*none*"
DRILL_KEY, DRILL_GROUP_KEY = "funnel_drill", "funnel_drill_group"
language = lang()


def _percent_column() -> st.column_config.NumberColumn:
    return st.column_config.NumberColumn(format="percent")


def _group_value(key: object) -> str:
    return NO_KEY if key is None or pd.isna(key) else str(key)


def _drill_to(option: str, group: str = ALL) -> None:
    st.session_state[DRILL_KEY] = option
    st.session_state[DRILL_GROUP_KEY] = group


def _picked_cell(table_key: str) -> tuple[int, str] | None:
    selection = st.session_state.get(table_key)
    cells = selection.selection.cells if selection is not None else []
    return tuple(cells[0]) if cells else None


st.title(tr("Funnel leakage"))
dates = snapshot_dates()
if not dates:
    st.info(tr("No snapshots yet."))
    st.stop()

top = st.columns(3)
as_of = top[0].selectbox(tr("As of"), sorted(dates, reverse=True), key="funnel_as_of")
try:
    options = choices(as_of)
except Exception as error:  # every failure reaches the user as a message
    show_error(error)
    st.stop()
first_day = min(options.first_created or as_of - timedelta(days=180), as_of)
start = top[1].date_input(tr("Created from"), value=first_day, key="funnel_from")
end = top[2].date_input(tr("Created to"), value=as_of, key="funnel_to")

row = st.columns(3)
by = row[0].selectbox(
    tr("Compare by"),
    GROUP_FIELDS,
    key="funnel_by",
    format_func=lambda name: tr(GROUP_LABELS[name]),
)
team_choice = row[1].selectbox(
    tr("Team"),
    [ALL, *options.teams],
    key="funnel_team",
    format_func=lambda team: tr("All teams") if team == ALL else team,
)
min_deals = int(
    row[2].number_input(
        tr("Too few below (deals)"),
        min_value=1,
        max_value=10_000,
        value=MIN_DEALS,
        step=1,
        key="funnel_min_deals",
        help=tr("too_few_help"),
    )
)

try:
    report = funnel(
        start, end, by, as_of, None if team_choice == ALL else team_choice, min_deals
    )
except Exception as error:  # every failure reaches the user as a message
    show_error(error)
    st.stop()

if showing_demo():
    st.info(tr("demo_note"))
st.caption(
    tr(
        "funnel_note",
        start=start.isoformat(),
        end=end.isoformat(),
        as_of=as_of.isoformat(),
    )
)
if report.undated:
    st.warning(tr("undated_note", count=report.undated))

results = report.results
metrics = st.columns(6)
metrics[0].metric(tr("Deals in the cohort"), f"{report.cohort_size:,}")
metrics[1].metric(
    tr("Win rate"),
    percent(results.win_rate),
    delta=f"{results.won}/{results.closed}",
    delta_color="off",
)
metrics[2].metric(tr("Average won deal"), money(results.avg_won_amount, language))
metrics[3].metric(
    tr("Median cycle (days)"),
    "—" if results.median_cycle_days is None else f"{results.median_cycle_days:.0f}",
)
metrics[4].metric(tr("Churn"), percent(results.churn))
metrics[5].metric(
    tr("Velocity (per day)"),
    money(results.velocity, language),
    help=tr("velocity_help"),
)

# The funnel and its stage table
st.subheader(tr("Where deals drop"))
left, right = st.columns([2, 3])
left.plotly_chart(funnel_figure(report.stages, language), key="funnel_chart")
stage_keys = list(report.stages["stage"])
stage_columns = {
    "reached": tr("Reached"), "converted_to_next": tr("Converted to next"),
    "conversion": tr("Conversion"), "lost_here": tr("Lost here"),
    "leakage": tr("Leakage"),
}  # fmt: skip
stage_table = pd.DataFrame(
    {tr("Stage"): [stage_label(k, language) for k in stage_keys]}
)
for name, label in stage_columns.items():
    stage_table[label] = report.stages[name].to_numpy()
column_measure = {
    tr("Stage"): "reached", tr("Reached"): "reached",
    tr("Converted to next"): "converted", tr("Conversion"): "converted",
    tr("Lost here"): "lost_here", tr("Leakage"): "lost_here",
}  # fmt: skip


def _stage_cell_picked() -> None:
    picked = _picked_cell("funnel_stage_table")
    if picked is None:
        return
    position, column = picked
    stage = stage_keys[position]
    measure = "lost_here" if stage == UNKNOWN else column_measure.get(column, "reached")
    if stage == MODEL.won_key and measure != "reached":
        measure = "reached"
    _drill_to(f"{measure}:{stage}")


right.dataframe(
    stage_table,
    hide_index=True,
    key="funnel_stage_table",
    on_select=_stage_cell_picked,
    selection_mode="single-cell",
    placeholder="—",
    column_config={
        tr("Conversion"): _percent_column(),
        tr("Leakage"): _percent_column(),
    },
)
right.caption(tr("stage_table_help"))

with st.expander(tr("Where the cohort's deals are now")):
    st.plotly_chart(current_figure(report.current, language), key="funnel_current")

# Why deals are lost, and how long stages take
st.subheader(tr("Why deals are lost, by stage"))
if report.lost_reasons.empty:
    st.caption(tr("No lost deals in this cohort."))
else:
    st.plotly_chart(
        lost_reasons_figure(report.lost_reasons, language), key="funnel_reasons"
    )
    reasons = pd.DataFrame(
        {
            tr("Lost at stage"): [
                stage_label(k, language) for k in report.lost_reasons["stage"]
            ],
            tr("Lost reason"): report.lost_reasons["reason"].map(
                lambda reason: tr("(no reason given)") if reason is None else reason
            ),
            tr("Deals"): report.lost_reasons["deals"],
            tr("Share of the stage's lost deals"): report.lost_reasons["share"],
        }
    )
    st.dataframe(
        reasons,
        hide_index=True,
        key="funnel_reason_table",
        column_config={tr("Share of the stage's lost deals"): _percent_column()},
    )

timing = report.time_in_stage
st.subheader(tr("Time in stage"))
st.dataframe(
    pd.DataFrame(
        {
            tr("Stage"): [stage_name(key) for key in timing["stage"]],
            tr("Finished visits"): timing["visits"],
            tr("Median days"): timing["median_days"],
        }
    ),
    hide_index=True,
    key="funnel_time_table",
    placeholder="—",
)
st.caption(tr("time_in_stage_help"))

# For whom: groups against the rest of the team
st.subheader(tr("Is it everyone, or one group?"))
st.caption(tr("compare_help", min_deals=min_deals, few=FEW_MARK, flag=FLAG_MARK))
groups = report.groups
if groups.empty:
    st.caption(tr("No deals closed in this period."))
else:
    st.plotly_chart(
        win_rate_figure(groups, results.win_rate, language), key="funnel_win_rates"
    )
    group_keys = [_group_value(key) for key in groups["key"]]
    group_table = pd.DataFrame(
        {
            tr(GROUP_LABELS[by]): [group_label(key, language) for key in groups["key"]],
            tr("Won"): groups["won"],
            tr("Lost"): groups["lost"],
            tr("Closed"): groups["closed"],
            tr("Win rate"): groups["win_rate"],
            tr("Low"): groups["low"],
            tr("High"): groups["high"],
            tr("Rest of the team"): groups["rest_win_rate"],
            tr("Mark"): [
                FLAG_MARK if flagged else FEW_MARK if few else ""
                for flagged, few in zip(
                    groups["flagged"], groups["too_few"], strict=True
                )
            ],
        }
    )
    won_lost = {tr("Won"): "won", tr("Lost"): "lost"}

    def _group_cell_picked() -> None:
        picked = _picked_cell("funnel_group_table")
        if picked is not None:
            _drill_to(won_lost.get(picked[1], "closed"), group_keys[picked[0]])

    st.dataframe(
        group_table,
        hide_index=True,
        key="funnel_group_table",
        on_select=_group_cell_picked,
        selection_mode="single-cell",
        placeholder="—",
        column_config={
            name: _percent_column()
            for name in (tr("Win rate"), tr("Low"), tr("High"), tr("Rest of the team"))
        },
    )

st.markdown(f"**{tr('Conversion to the next stage by group')}**")
st.plotly_chart(conversion_heatmap(report.group_stages, language), key="funnel_heatmap")
flags = report.group_stages[report.group_stages["flagged"]]
st.markdown(f"**{tr('Flagged: interval apart from the rest of the team')}**")
if flags.empty:
    st.caption(tr("No group stands apart from the rest of the team."))
else:
    flag_keys = [
        (_group_value(key), stage)
        for key, stage in zip(flags["key"], flags["stage"], strict=True)
    ]
    flag_table = pd.DataFrame(
        {
            tr(GROUP_LABELS[by]): [group_label(key, language) for key in flags["key"]],
            tr("Stage"): [stage_name(key) for key in flags["stage"]],
            tr("Reached"): flags["reached"].to_numpy(),
            tr("Converted to next"): flags["converted"].to_numpy(),
            tr("Conversion"): flags["conversion"].to_numpy(),
            tr("Low"): flags["low"].to_numpy(),
            tr("High"): flags["high"].to_numpy(),
            tr("Rest of the team"): flags["rest_conversion"].to_numpy(),
            tr("Rest low"): flags["rest_low"].to_numpy(),
            tr("Rest high"): flags["rest_high"].to_numpy(),
            tr("Direction"): [tr(direction) for direction in flags["direction"]],
        }
    )

    def _flag_cell_picked() -> None:
        picked = _picked_cell("funnel_flag_table")
        if picked is not None:
            group, stage = flag_keys[picked[0]]
            measure = "converted" if picked[1] == tr("Converted to next") else "reached"
            _drill_to(f"{measure}:{stage}", group)

    st.dataframe(
        flag_table,
        hide_index=True,
        key="funnel_flag_table",
        on_select=_flag_cell_picked,
        selection_mode="single-cell",
        column_config={
            name: _percent_column()
            for name in (
                tr("Conversion"),
                tr("Low"),
                tr("High"),
                tr("Rest of the team"),
                tr("Rest low"),
                tr("Rest high"),
            )
        },
    )

# Drill-down: the deals behind a number
st.subheader(tr("Deals behind a number"))
st.caption(tr("drill_help"))
drill_options = ["cohort"]
for key in MODEL.path_keys:
    drill_options.append(f"reached:{key}")
    if key != MODEL.won_key:
        drill_options += [f"converted:{key}", f"lost_here:{key}"]
drill_options += [f"lost_here:{UNKNOWN}", *RESULT_MEASURES]
measure_labels = {
    "reached": tr("Reached"), "converted": tr("Converted to next"),
    "lost_here": tr("Lost here"), "won": tr("Won in the period"),
    "lost": tr("Lost in the period"), "closed": tr("Closed in the period"),
    "open": tr("Open now"), "cohort": tr("Deals in the cohort"),
}  # fmt: skip


def _drill_label(option: str) -> str:
    measure, _, stage = option.partition(":")
    label = measure_labels[measure]
    return f"{stage_label(stage, language)} · {label}" if stage else label


group_choices = [
    ALL,
    *dict.fromkeys(
        [_group_value(key) for key in report.group_stages["key"]]
        + [_group_value(key) for key in groups["key"]]
    ),
]
if st.session_state.get(DRILL_KEY) not in drill_options:
    st.session_state[DRILL_KEY] = "cohort"
if st.session_state.get(DRILL_GROUP_KEY) not in group_choices:
    st.session_state[DRILL_GROUP_KEY] = ALL
pick = st.columns(2)
option = pick[0].selectbox(
    tr("Number"), drill_options, key=DRILL_KEY, format_func=_drill_label
)
group = pick[1].selectbox(
    tr(GROUP_LABELS[by]),
    group_choices,
    key=DRILL_GROUP_KEY,
    format_func=lambda value: (
        tr("Everyone")
        if value == ALL
        else group_label(None if value == NO_KEY else value, language)
    ),
)
group_by = None if group == ALL else by
group_key = None if group in (ALL, NO_KEY) else group
if option in RESULT_MEASURES:
    rows = closed_deals_behind(report.deals, option, start, end, group_by, group_key)
else:
    measure, _, stage = option.partition(":")
    rows = deals_behind(report.placed, measure, stage or None, group_by, group_key)
st.metric(tr("Deals"), f"{len(rows):,}")
table = deal_list(rows, language)
st.dataframe(
    table,
    hide_index=True,
    key="funnel_drill_table",
    placeholder="—",
    column_config={tr("Amount"): st.column_config.NumberColumn(format="localized")},
)
downloads(table, f"kongpan_funnel_{option.replace(':', '_')}", "funnel_drill")
