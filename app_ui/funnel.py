"""Streamlit-side cache for the Funnel page, keyed by store, data version and choices.

Every figure comes from sales_core.funnel_report; nothing here computes. The
stage history (rebuilt from every snapshot, the slow part) is cached per
as_of, so changing the period, the grouping or the minimum reuses it.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from app_ui.common import _store, data_version
from sales_core import funnel_report
from sales_core.metrics.funnel import FunnelSummary
from sales_core.stages import default_model
from sales_core.store import database_url


@st.cache_data(show_spinner=False, max_entries=8, ttl=3600)
def _choices(url: str, version: str, as_of: date) -> funnel_report.FunnelChoices:
    return funnel_report.funnel_choices(_store(url), as_of)


def choices(as_of: date) -> funnel_report.FunnelChoices:
    """The snapshot's earliest creation day and teams, for the filters."""
    return _choices(database_url(), data_version(), as_of)


@st.cache_data(show_spinner=False, max_entries=4, ttl=3600)
def _events(url: str, version: str, as_of: date) -> pd.DataFrame:
    return funnel_report.stage_history(_store(url), as_of, default_model())


@st.cache_data(show_spinner=False, max_entries=32, ttl=3600)
def _funnel(
    url: str,
    version: str,
    start: date,
    end: date,
    by: str,
    as_of: date,
    team: str | None,
    min_deals: int,
) -> FunnelSummary:
    return funnel_report.funnel_report(
        _store(url),
        start,
        end,
        by,
        as_of,
        team,
        min_deals,
        events=_events(url, version, as_of),
    )


def funnel(
    start: date, end: date, by: str, as_of: date, team: str | None, min_deals: int
) -> FunnelSummary:
    """The funnel summary for these choices, cached per data version."""
    return _funnel(
        database_url(), data_version(), start, end, by, as_of, team, min_deals
    )
