"""Streamlit-side cache for the Rep rhythm page, keyed by store, data version, window.

Every figure comes from sales_core.rhythm_report; nothing here computes. The
deal history is held once per data version, so choosing another window
reloads only that window's follow-ups and one deal snapshot.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from app_ui.common import _store, data_version
from sales_core import rhythm_report
from sales_core.rhythm_report import TeamRhythm
from sales_core.store import database_url


@st.cache_data(show_spinner=False, max_entries=4, ttl=3600)
def _window(url: str, version: str) -> tuple[date, date, date]:
    return rhythm_report.resolve_window(_store(url))


def default_window() -> tuple[date, date, date]:
    """(start, end, as_of): the 8 weeks ending at the newest deal snapshot."""
    return _window(database_url(), data_version())


@st.cache_data(show_spinner=False, max_entries=2, ttl=3600)
def _history(url: str, version: str) -> pd.DataFrame:
    return _store(url).load_deal_history()


@st.cache_data(show_spinner=False, max_entries=16, ttl=3600)
def _rhythm(url: str, version: str, start: date, end: date) -> TeamRhythm:
    history = _history(url, version)
    return rhythm_report.team_rhythm(_store(url), start, end, history=history)


def rhythm(start: date, end: date) -> TeamRhythm:
    """Every rep's rhythm over [start, end], cached per data version."""
    return _rhythm(database_url(), data_version(), start, end)
