"""Kongpan (控盘): the Streamlit entry point.

Sets up the page, the language and the navigation; each page under
app_pages/ draws what sales_core computes. The folder is deliberately not
called pages/: Streamlit treats a pages/ folder as its older automatic
navigation, and a deep link such as /funnel opened first on a fresh server
would then run the page without this entry point (no language, no layout). Start with `make run` (or
`streamlit run app.py`); the store defaults to data/kongpan.db with demo data.
"""

import logging

import streamlit as st

from app_ui.common import language_picker, store, tr
from app_ui.sources import source_picker

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

st.set_page_config(page_title="控盘 Kongpan", page_icon="📊", layout="wide")

language_picker()
source_picker()

# Emoji icons only: a :material/...: icon makes the browser fetch a web font.
pages = [
    st.Page(
        "app_pages/progress.py",
        title=tr("Team progress"),
        icon="📈",
        url_path="progress",
        default=True,
    ),
    st.Page(
        "app_pages/pipeline.py", title=tr("Pipeline"), icon="🗂️", url_path="pipeline"
    ),
    st.Page(
        "app_pages/funnel.py", title=tr("Funnel leakage"), icon="🔻", url_path="funnel"
    ),
    st.Page(
        "app_pages/rhythm.py", title=tr("Rep rhythm"), icon="🥁", url_path="rhythm"
    ),
    st.Page(
        "app_pages/playbook.py", title=tr("Playbook"), icon="📘", url_path="playbook"
    ),
    st.Page(
        "app_pages/import_data.py",
        title=tr("Data import"),
        icon="📥",
        url_path="import_data",
    ),
    st.Page(
        "app_pages/sources.py", title=tr("Data sources"), icon="🔌", url_path="sources"
    ),
]
st.sidebar.caption("控盘 · Kongpan")
page = st.navigation(pages)
with st.spinner(tr("Demo data")):
    store()
page.run()
