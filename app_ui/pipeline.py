"""Streamlit-side cache for the Pipeline page, keyed by store, data version and choices.

Every figure comes from sales_core.pipeline_report; nothing here computes.
The snapshot history and the follow-up log are loaded once per data version
and handed to the per-deal functions, so picking another deal does not
reload whole tables.
"""

from __future__ import annotations

from dataclasses import astuple
from datetime import date

import pandas as pd
import streamlit as st

from app_ui.common import _store, data_version
from sales_core import pipeline_report
from sales_core.metrics.board import Board, BoardFilters
from sales_core.metrics.flow import Flow
from sales_core.store import database_url


@st.cache_data(show_spinner=False, max_entries=32, ttl=3600)
def _board(url: str, version: str, as_of: date, filters: tuple, sort: str) -> Board:
    return pipeline_report.board(_store(url), as_of, BoardFilters(*filters), sort)


def board(as_of: date, filters: BoardFilters, sort: str) -> Board:
    """The board for (as_of, filters, sort), cached per data version."""
    return _board(database_url(), data_version(), as_of, astuple(filters), sort)


@st.cache_data(show_spinner=False, max_entries=8, ttl=3600)
def _snapshot_deals(url: str, version: str, as_of: date) -> pd.DataFrame:
    return _store(url).load_deals(as_of)


def snapshot_deals(as_of: date) -> pd.DataFrame:
    """The deals of the snapshot at as_of (for the filter choices)."""
    return _snapshot_deals(database_url(), data_version(), as_of)


@st.cache_data(show_spinner=False, max_entries=16, ttl=3600)
def _flow(url: str, version: str, from_date: date, to_date: date) -> Flow:
    return pipeline_report.flow(_store(url), from_date, to_date)


def flow(from_date: date, to_date: date) -> Flow:
    """Week-over-week flow between two snapshots, cached per data version."""
    return _flow(database_url(), data_version(), from_date, to_date)


@st.cache_data(show_spinner=False, max_entries=16, ttl=3600)
def _transitions(url: str, version: str, from_date: date, to_date: date):
    return pipeline_report.transitions(_store(url), from_date, to_date)


def transitions(from_date: date, to_date: date) -> pd.DataFrame:
    return _transitions(database_url(), data_version(), from_date, to_date)


@st.cache_data(show_spinner=False, max_entries=2, ttl=3600)
def _history(url: str, version: str) -> pd.DataFrame:
    return pipeline_report.snapshot_history(_store(url))


@st.cache_data(show_spinner=False, max_entries=2, ttl=3600)
def _activities(url: str, version: str) -> pd.DataFrame:
    return _store(url).load_activities()


@st.cache_data(show_spinner=False, max_entries=16, ttl=3600)
def _slip_ledger(url: str, version: str, as_of: date) -> pd.DataFrame:
    return pipeline_report.slip_ledger(_store(url), as_of, _history(url, version))


def slip_ledger(as_of: date) -> pd.DataFrame:
    """How often each open deal's close date was pushed, up to as_of."""
    return _slip_ledger(database_url(), data_version(), as_of)


@st.cache_data(show_spinner=False, max_entries=64, ttl=3600)
def _deal_history(url: str, version: str, deal_id: str):
    return pipeline_report.deal_history(
        _store(url), deal_id, _history(url, version), _activities(url, version)
    )


def deal_history(deal_id: str) -> pipeline_report.DealHistory:
    """One deal's stage timeline, follow-ups and changes."""
    return _deal_history(database_url(), data_version(), deal_id)
