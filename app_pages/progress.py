"""Team progress: will the team make this month, who is behind, which deals matter."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app_ui.common import (
    downloads,
    lang,
    progress,
    show_error,
    showing_demo,
    snapshot_dates,
    stage_name,
    store,
    tr,
)
from sales_core.calendar import month_bounds
from sales_core.i18n import money, percent

st.title(tr("Team progress"))

dates = snapshot_dates()
if not dates:
    st.info(tr("No snapshots yet."))
    st.stop()

months = sorted({f"{day:%Y-%m}" for day in dates}, reverse=True)
left, right = st.columns(2)
month = left.selectbox(tr("Month"), months, key="progress_month")
month_start, month_end = month_bounds(month)
after = [day for day in dates if day > month_end][:1]
choices = sorted(
    [day for day in dates if month_start <= day <= month_end] + after, reverse=True
)
as_of = right.selectbox(tr("As of"), choices, key="progress_as_of")

try:
    report = progress(month, as_of)
except Exception as error:  # every failure reaches the user as a message
    show_error(error)
    st.stop()

team = report.team
language = lang()
if showing_demo():
    st.info(tr("demo_note"))
st.caption(
    tr(
        "data_note" if as_of == dates[-1] else "data_note_older",
        as_of=as_of.isoformat(),
    )
)
if not team.schedule_published:
    st.warning(tr("calendar_note", year=month[:4]))

first_row = st.columns(3)
first_row[0].metric(
    tr("Won this month"),
    money(team.won_amount, language),
    delta=percent(team.completion) if team.target else None,
    delta_color="off",
    delta_arrow="off",
)
first_row[1].metric(tr("Target"), money(team.target, language))
first_row[2].metric(
    tr("Gap"),
    money(team.gap, language),
    delta=None
    if team.gap is None
    else (tr("ahead of pace") if team.gap >= 0 else tr("behind pace")),
    delta_color="green" if team.gap is not None and team.gap >= 0 else "red",
    delta_arrow="up" if team.gap is not None and team.gap >= 0 else "down",
)
second_row = st.columns(3)
second_row[0].metric(
    tr("Working-day pace"),
    percent(team.pace),
    delta=f"{team.working_days_elapsed}/{team.working_days_total} {tr('working days')}",
    delta_color="off",
    delta_arrow="off",
)
second_row[1].metric(tr("Expected by now"), money(team.expected_by_now, language))
if team.target is None:
    st.info(tr("no_target_hint"))

forecast = team.forecast
st.subheader(tr("Is the month safe?"))
second_row[2].metric(tr("Forecast (P50)"), money(forecast.p50, language))
second_row[2].caption(
    f"{tr('Forecast range P10–P90')}: {money(forecast.p10, language)} – "
    f"{money(forecast.p90, language)}"
)
outcome = go.Figure()
outcome.add_bar(
    y=[tr("Month-end outcome")],
    x=[team.won_amount],
    orientation="h",
    name=tr("Won so far"),
    marker_color="#2E7D32",
)
outcome.add_bar(
    y=[tr("Month-end outcome")],
    x=[max(forecast.p50 - team.won_amount, 0)],
    orientation="h",
    name=tr("Weighted open deals"),
    marker_color="#90CAF9",
    error_x={
        "type": "data",
        "symmetric": False,
        "array": [forecast.p90 - forecast.p50],
        "arrayminus": [forecast.p50 - forecast.p10],
    },
)
if team.target:
    outcome.add_vline(
        x=team.target,
        line_dash="dash",
        line_color="#C62828",
        annotation_text=tr("Target"),
    )
outcome.update_layout(
    barmode="stack",
    height=220,
    margin={"t": 10, "b": 10},
    legend={"orientation": "h", "y": -0.35},
    xaxis={"tickformat": ",.0f"},
)
st.plotly_chart(outcome, key="forecast_chart")

st.subheader(tr("Reps, most behind first"))
rep_table = pd.DataFrame(
    [
        {
            tr("Rep"): rep.owner,
            tr("Team"): rep.team,
            tr("Won"): rep.won_amount,
            tr("Target"): rep.target,
            tr("Completion"): rep.completion,
            tr("Expected by now"): rep.expected_by_now,
            tr("Gap"): rep.gap,
        }
        for rep in report.reps
    ]
)
for column in (
    tr("Won"),
    tr("Target"),
    tr("Completion"),
    tr("Expected by now"),
    tr("Gap"),
):
    if column in rep_table:
        rep_table[column] = pd.to_numeric(rep_table[column], errors="coerce")
if not rep_table.empty:
    chart = go.Figure()
    chart.add_bar(
        x=rep_table[tr("Rep")],
        y=rep_table[tr("Won")],
        name=tr("Won"),
        marker_color="#2E7D32",
    )
    chart.add_scatter(
        x=rep_table[tr("Rep")],
        y=rep_table[tr("Expected by now")],
        mode="markers",
        name=tr("Expected by now (pace × target)"),
        marker={
            "symbol": "line-ew-open",
            "size": 28,
            "color": "#C62828",
            "line": {"width": 3},
        },
    )
    chart.update_layout(
        height=340,
        margin={"t": 50, "b": 20},
        title=tr("Won vs expected by now"),
        yaxis={"tickformat": ",.0f"},
    )
    st.plotly_chart(chart, key="rep_chart")
    st.dataframe(
        rep_table,
        hide_index=True,
        key="rep_table",
        column_config={
            tr("Completion"): st.column_config.NumberColumn(format="percent"),
            tr("Won"): st.column_config.NumberColumn(format="%,.0f"),
            tr("Target"): st.column_config.NumberColumn(format="%,.0f"),
            tr("Expected by now"): st.column_config.NumberColumn(format="%,.0f"),
            tr("Gap"): st.column_config.NumberColumn(format="%,.0f"),
        },
    )
    downloads(rep_table, f"kongpan_progress_{month}", "reps")

st.subheader(tr("Key customers expected to close this month"))
key_deals = report.key_deals
if key_deals.empty:
    st.caption(tr("No open deal is expected to close this month."))
else:
    deal_table = pd.DataFrame(
        {
            tr("Deal ID"): key_deals["deal_id"],
            tr("Customer"): key_deals["customer"],
            tr("Owner"): key_deals["owner"],
            tr("Stage"): key_deals["stage"].map(stage_name),
            tr("Amount"): key_deals["amount"],
            tr("Expected close"): pd.to_datetime(key_deals["expected_close"]).dt.date,
            tr("Close date passed"): pd.to_datetime(key_deals["expected_close"])
            < pd.Timestamp(as_of),
        }
    )
    st.dataframe(
        deal_table,
        hide_index=True,
        key="key_deals",
        column_config={tr("Amount"): st.column_config.NumberColumn(format="%,.0f")},
    )
    downloads(deal_table, f"kongpan_key_deals_{month}", "key_deals")

with st.expander(tr("Edit targets")):
    targets = store().load_targets(month)
    if targets.empty:
        owners = [rep.owner for rep in report.reps]
        targets = pd.DataFrame(
            {
                "owner": owners,
                "team": [None] * len(owners),
                "month": [month] * len(owners),
                "target": [None] * len(owners),
            }
        )
    targets = targets.astype(
        {"owner": "string", "team": "string", "month": "string", "target": "float"}
    )
    edited = st.data_editor(
        targets,
        num_rows="dynamic",
        hide_index=True,
        key="targets_editor",
        column_config={
            "owner": st.column_config.TextColumn(tr("Owner")),
            "team": st.column_config.TextColumn(tr("Team")),
            "month": st.column_config.TextColumn(tr("Month")),
            "target": st.column_config.NumberColumn(tr("Target"), min_value=0),
        },
    )
    if st.button(tr("Save targets"), key="save_targets"):
        try:
            store().set_targets(edited, by="app")
            st.success(tr("Targets saved."))
            st.rerun()
        except Exception as error:
            show_error(error)
