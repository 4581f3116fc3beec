"""The data-source picker and the Streamlit-side cache of SQL-source figures.

The sidebar offers "uploaded snapshots" (the store) and every profile in
data/sources/*.toml. A SQL source is opened once per (profile file, URL) and
its figures are cached per (profile, window, filters) for a few minutes: the
CRM is live, so a page view within that time reuses them and a later one reads
the database again, with the window and team filter in the SQL. Nothing here
computes a figure; sales_core.sources does.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date

import streamlit as st

from app_ui.common import store, tr
from sales_core.errors import KongpanError
from sales_core.metrics.funnel import FunnelSummary
from sales_core.metrics.progress import ProgressReport
from sales_core.sources import (
    SourceCheck,
    SqlSource,
    check_source,
    find_profile,
    open_source,
    profile_paths,
    source_funnel,
    source_progress,
)
from sales_core.store import Store, safe_url

log = logging.getLogger("kongpan.app")

UPLOADED = "uploaded"  # the picker's id for the store's own snapshots
FIGURES_TTL = 300  # seconds a SQL source's figures are reused


def source_ids() -> list[str]:
    """The picker's choices: uploaded snapshots, then each profile by file stem."""
    return [UPLOADED, *profile_paths()]


def source_title(source_id: str) -> str:
    """What the picker shows: the profile's name, or its file name if unreadable."""
    if source_id == UPLOADED:
        return tr("Uploaded snapshots")
    try:
        return find_profile(source_id).title
    except KongpanError:
        return f"{source_id} ⚠"


def source_picker() -> str:
    """The sidebar selectbox; returns the chosen source id."""
    choices = source_ids()
    if st.session_state.get("data_source") not in choices:
        st.session_state["data_source"] = UPLOADED
    # Labels fixed at this run: a later language switch must not relabel the
    # options this run drew.
    titles = {source_id: source_title(source_id) for source_id in choices}
    chosen = st.sidebar.selectbox(
        tr("Data source"), choices, format_func=titles.__getitem__, key="data_source"
    )
    if chosen != UPLOADED:
        st.sidebar.caption(tr("source_sidebar_note"))
    return chosen


def chosen_source_id() -> str:
    """The picker's choice (uploaded snapshots until one is made)."""
    return st.session_state.get("data_source", UPLOADED)


def _signature(source_id: str) -> str:
    """Changes when the profile file or the URL it reads changes (cache key)."""
    profile = find_profile(source_id)
    stat = profile.path.stat()
    try:
        url = profile.database_url()
    except KongpanError:
        url = ""
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    return f"{stat.st_mtime_ns}-{stat.st_size}-{digest}"


@st.cache_resource(show_spinner=False, max_entries=8)
def _source(source_id: str, signature: str) -> SqlSource:
    return open_source(find_profile(source_id))


def sql_source(source_id: str) -> SqlSource:
    """The opened source (tables checked), or the KongpanError why not."""
    return _source(source_id, _signature(source_id))


def active_source(source_id: str | None = None) -> Store | SqlSource:
    """The store or the SQL source the picker chose; both answer the same reads."""
    source_id = source_id or chosen_source_id()
    return store() if source_id == UPLOADED else sql_source(source_id)


def connection_test(source_id: str) -> SourceCheck:
    """Connect, check every table and column of the profile, count rows (uncached)."""
    return check_source(find_profile(source_id))


def store_address() -> str:
    """The store's URL with any password hidden."""
    return safe_url(store().url)


@st.cache_data(show_spinner=False, max_entries=32, ttl=FIGURES_TTL)
def _progress(
    source_id: str, signature: str, month: str, as_of: date, teams: tuple[str, ...]
) -> ProgressReport:
    return source_progress(_source(source_id, signature), month, as_of, teams)


def progress(
    source_id: str, month: str, as_of: date, teams: tuple[str, ...] = ()
) -> ProgressReport:
    """Team progress from a SQL source, cached per (profile, window, teams)."""
    return _progress(source_id, _signature(source_id), month, as_of, tuple(teams))


@st.cache_data(show_spinner=False, max_entries=32, ttl=FIGURES_TTL)
def _funnel(
    source_id: str, signature: str, start: date, end: date, teams: tuple[str, ...]
) -> FunnelSummary:
    return source_funnel(_source(source_id, signature), start, end, teams=teams)


def funnel(
    source_id: str, start: date, end: date, teams: tuple[str, ...] = ()
) -> FunnelSummary:
    """The funnel of deals created in [start, end] from a SQL source, cached."""
    return _funnel(source_id, _signature(source_id), start, end, tuple(teams))
