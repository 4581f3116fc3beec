"""Store, language, caching and error display shared by every page."""

from __future__ import annotations

import html
import logging
import re
from datetime import date
from functools import partial

import pandas as pd
import streamlit as st

from sales_core import service
from sales_core.errors import KongpanError
from sales_core.export import to_csv_bytes, to_xlsx_bytes
from sales_core.i18n import LANGS, lang_from_locale, t
from sales_core.metrics.progress import ProgressReport
from sales_core.stages import default_model
from sales_core.store import Store, database_url

log = logging.getLogger("kongpan.app")


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:])")


def plain(text: object) -> str:
    """Export text made safe for st.markdown/st.caption: shown as typed.

    HTML is escaped (html.escape) and Markdown punctuation is backslash-
    escaped, so a customer called `<b>x</b>` or `**x**` shows exactly that.
    """
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return "—"
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))
    return html.escape(escaped, quote=False)


def display_text(value: object) -> str:
    """A cell as plain display text: '—' for None, NaN and empty strings."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "—"
    return str(value) or "—"


@st.cache_resource(show_spinner=False)
def _store(url: str) -> Store:
    store = Store(url)
    if store.is_empty():
        log.info("empty store at first start: loading the demo data set")
        store.load_demo()
    return store


def store() -> Store:
    """The app's store (demo data loaded into it on first start)."""
    return _store(database_url())


def data_version() -> str:
    """Changes whenever a snapshot or target is written: the cache key for figures."""
    return store().version()


@st.cache_data(show_spinner=False, max_entries=8)
def _snapshot_dates(url: str, version: str) -> list[date]:
    return _store(url).snapshot_dates()


@st.cache_data(show_spinner=False, max_entries=8)
def _snapshots(url: str, version: str) -> pd.DataFrame:
    return _store(url).snapshots()


def snapshot_dates() -> list[date]:
    """Deal snapshot dates, oldest first, read once per data version."""
    return _snapshot_dates(database_url(), data_version())


def snapshots() -> pd.DataFrame:
    """Every stored snapshot, newest first, read once per data version."""
    return _snapshots(database_url(), data_version())


def showing_demo() -> bool:
    """True while the store holds only the demo data set."""
    history = snapshots()
    return not history.empty and bool((history["origin"] == "demo").all())


def lang() -> str:
    """The interface language: the sidebar choice, else the browser's locale."""
    if "lang" not in st.session_state:
        st.session_state["lang"] = lang_from_locale(st.context.locale)
    return st.session_state["lang"]


def tr(text: str, **params: object) -> str:
    return t(text, lang(), **params)


def language_picker() -> None:
    """The sidebar switch; its first value is the browser's language."""
    lang()
    st.sidebar.selectbox(
        "语言 / Language",
        LANGS,
        format_func=lambda code: "中文" if code == "zh" else "English",
        key="lang",
    )


def stage_name(key: str | None) -> str:
    return default_model().name(key, lang())


@st.cache_data(show_spinner=False, max_entries=64)
def _progress(url: str, version: str, month: str, as_of: date) -> ProgressReport:
    return service.team_progress(_store(url), month, as_of)


def progress(month: str, as_of: date) -> ProgressReport:
    """Team progress, cached per (store, data version, month, as_of)."""
    return _progress(database_url(), data_version(), month, as_of)


def show_error(error: Exception) -> None:
    """A user's error as a message in their language; a bug as a short notice."""
    if isinstance(error, KongpanError):
        st.error(error.message(lang()))
    else:
        log.exception("unexpected error on a page")
        st.error(tr("Something went wrong; the details are in the server log."))


def downloads(frame: pd.DataFrame, name: str, key: str) -> None:
    """Download buttons for exactly the table on screen (.xlsx and .csv).

    The files are made only when a button is clicked: building an .xlsx of a
    30,000-row table on every rerun cost seconds per page view.
    """
    left, right = st.columns(2)
    left.download_button(
        f"⬇ {tr('Download')} .xlsx",
        partial(to_xlsx_bytes, frame.copy()),
        file_name=f"{name}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"{key}-xlsx",
    )
    right.download_button(
        f"⬇ {tr('Download')} .csv",
        partial(to_csv_bytes, frame.copy()),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"{key}-csv",
    )
