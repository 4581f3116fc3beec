"""Streamlit-side cache for the Playbook page.

Library reads are keyed by (store URL, library version, choices): the
library version changes with every add, edit, retire or restore, so a saved
change shows on the next rerun. Figures from deals are keyed by the data
version too. Everything is computed in sales_core.playbook.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from app_ui.common import _store, data_version, store
from sales_core import playbook
from sales_core.playbook import Play, PlaysReport
from sales_core.stages import default_model
from sales_core.store import database_url


def library_version() -> str:
    """Changes with every change to the play library."""
    return playbook.library_version(store())


@st.cache_data(show_spinner=False, max_entries=64, ttl=3600)
def _find(url: str, library: str, filters: tuple, lang: str) -> list[Play]:
    customer_type, stage, tag, text = filters
    return playbook.find_plays(_store(url), customer_type=customer_type, stage=stage,
                               tag=tag, text=text, lang=lang)  # fmt: skip


def find(
    customer_type: str | None, stage: str | None, tag: str | None, text: str | None,
    lang: str,
) -> list[Play]:  # fmt: skip
    """Active plays matching the filters (playbook.find_plays), cached."""
    filters = (customer_type, stage, tag, text)
    return _find(database_url(), library_version(), filters, lang)


@st.cache_data(show_spinner=False, max_entries=8, ttl=3600)
def _plays(url: str, library: str, lang: str, retired: bool) -> list[Play]:
    return playbook.list_plays(_store(url), lang, include_retired=retired)


def plays(lang: str, include_retired: bool = False) -> list[Play]:
    """The whole library in `lang` (active plays unless include_retired)."""
    return _plays(database_url(), library_version(), lang, include_retired)


@st.cache_data(show_spinner=False, max_entries=8, ttl=3600)
def _tags(url: str, library: str) -> list[str]:
    return playbook.tags_in_use(_store(url))


def tags() -> list[str]:
    return _tags(database_url(), library_version())


@st.cache_data(show_spinner=False, max_entries=8, ttl=3600)
def _history(url: str, library: str) -> pd.DataFrame:
    return playbook.play_history(_store(url))


def history() -> pd.DataFrame:
    """Every change to the library, newest first."""
    return _history(database_url(), library_version())


@st.cache_data(show_spinner=False, max_entries=16, ttl=3600)
def _win_rates(url: str, version: str, as_of: date | None, min_deals: int):
    return playbook.customer_type_win_rates(_store(url), as_of, min_deals)


def win_rates(as_of: date | None, min_deals: int) -> pd.DataFrame:
    """Win rate so far per customer type on the snapshot as of `as_of`."""
    return _win_rates(database_url(), data_version(), as_of, min_deals)


@st.cache_data(show_spinner=False, max_entries=16, ttl=3600)
def _coverage(url: str, version: str, library: str, as_of: date | None):
    return playbook.coverage_report(_store(url), as_of)


def coverage(as_of: date | None) -> pd.DataFrame:
    """Scripts/SOPs and idle deals per stage."""
    return _coverage(database_url(), data_version(), library_version(), as_of)


@st.cache_data(show_spinner=False, max_entries=8, ttl=3600)
def _report(url: str, version: str, library: str, as_of: date, min_deals: int,
            play_column: str | None) -> PlaysReport:  # fmt: skip
    return playbook.plays_report(_store(url), as_of, min_deals, play_column)


def report(as_of: date, min_deals: int, play_column: str | None) -> PlaysReport:
    """Plays judged by outcomes on the snapshot as of `as_of`."""
    return _report(database_url(), data_version(), library_version(), as_of,
                   min_deals, play_column)  # fmt: skip


@st.cache_data(show_spinner=False, max_entries=8, ttl=3600)
def _open_deals(url: str, version: str, as_of: date) -> pd.DataFrame:
    deals = _store(url).load_deals(as_of)
    still_open = deals["stage"].isin(default_model().open_keys)
    return deals[still_open].sort_values("amount", ascending=False, na_position="last")


def open_deals(as_of: date) -> pd.DataFrame:
    """Open deals of the snapshot, largest first (the sample deal card's choices)."""
    return _open_deals(database_url(), data_version(), as_of)


@st.cache_data(show_spinner=False, max_entries=64, ttl=3600)
def _suggested(url: str, library: str, customer_type, stage, lang: str):
    return playbook.suggested_play(_store(url), customer_type, stage, lang)


def suggested(customer_type: str | None, stage: str | None, lang: str) -> Play | None:
    """The suggested play for a deal's customer type and stage."""
    return _suggested(database_url(), library_version(), customer_type, stage, lang)
