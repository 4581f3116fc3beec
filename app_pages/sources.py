"""Data sources: where the figures come from, a connection test, and the
month's figures read straight from a configured CRM database."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_ui import sources
from app_ui.common import lang, plain, show_error, snapshots, tr
from sales_core.calendar import month_bounds
from sales_core.i18n import money, percent

st.title(tr("Data sources"))
chosen = sources.chosen_source_id()

profiles = []
for source_id in sources.source_ids()[1:]:
    profiles.append(
        {
            tr("SQL source"): sources.source_title(source_id),
            tr("Profile file"): f"data/sources/{source_id}.toml",
        }
    )
if profiles:
    st.dataframe(pd.DataFrame(profiles), hide_index=True, key="source_profiles")
else:
    st.caption(tr("No SQL source is configured (data/sources/*.toml)."))

if chosen == sources.UPLOADED:
    st.info(tr("source_uploaded_note"))
    st.caption(f"{tr('Kongpan store')}: {sources.store_address()}")
    st.metric(tr("Snapshots"), len(snapshots()))
    st.stop()

st.subheader(plain(sources.source_title(chosen)))
if st.button(tr("Test connection"), key="source_test"):
    try:
        check = sources.connection_test(chosen)
    except Exception as error:  # every failure reaches the user as a message
        show_error(error)
    else:
        st.success(
            tr("Connected to {url} ({dialect}).", url=check.url, dialect=check.dialect)
        )
        st.dataframe(
            pd.DataFrame(
                {tr("Table"): list(check.rows), tr("Rows"): list(check.rows.values())}
            ),
            hide_index=True,
            key="source_rows",
        )

try:
    source = sources.sql_source(chosen)
    teams = sorted({str(team) for team in source.load_reps()["team"].dropna()})
except Exception as error:
    show_error(error)
    st.stop()

as_of = source.as_of
months = [
    f"{pd.Timestamp(as_of) - pd.DateOffset(months=back):%Y-%m}" for back in range(12)
]
left, right = st.columns(2)
month = left.selectbox(tr("Month"), months, key="source_month")
chosen_teams = tuple(right.multiselect(tr("Teams"), teams, key="source_teams"))
st.caption(tr("source_as_of_note", as_of=as_of.isoformat()))

first, last = month_bounds(month)
try:
    report = sources.progress(chosen, month, as_of, chosen_teams)
    summary = sources.funnel(chosen, first, min(last, as_of), chosen_teams)
except Exception as error:
    show_error(error)
    st.stop()

language = lang()
team = report.team
columns = st.columns(4)
columns[0].metric(tr("Won this month"), money(team.won_amount, language))
columns[1].metric(tr("Target"), money(team.target, language))
columns[2].metric(tr("Completion"), percent(team.completion))
columns[3].metric(tr("Forecast (P50)"), money(team.forecast.p50, language))
results = summary.results
left, right = st.columns(2)
left.metric(tr("Win rate"), percent(results.win_rate))
right.metric(tr("Deals closed"), results.closed)

st.dataframe(
    pd.DataFrame(
        [
            {
                tr("Rep"): rep.owner,
                tr("Team"): rep.team,
                tr("Won"): rep.won_amount,
                tr("Target"): rep.target,
                tr("Completion"): rep.completion,
            }
            for rep in report.reps
        ]
    ),
    hide_index=True,
    key="source_reps",
    column_config={tr("Completion"): st.column_config.NumberColumn(format="percent")},
)
