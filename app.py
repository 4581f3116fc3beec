"""Kongpan (控盘): the Streamlit entry point.

Sets up the page, the language and the navigation; each page under pages/
draws what sales_core computes. Start with `make run` (or
`streamlit run app.py`); the store defaults to data/kongpan.db with demo data.
"""

import logging

import streamlit as st

from app_ui.common import language_picker, store, tr

logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

st.set_page_config(page_title="控盘 Kongpan", page_icon="📊", layout="wide")

language_picker()

# Each url_path is its file's stem: Streamlit first resolves a URL against the
# pages/ folder itself, and any other path shows a "Page not found" dialog.
pages = [
    st.Page("pages/progress.py", title=tr("Team progress"), icon="📈",
            url_path="progress", default=True),
    st.Page("pages/import_data.py", title=tr("Data import"), icon="📥",
            url_path="import_data"),
]
st.sidebar.caption(f"{tr('Kongpan')} · Kongpan")
page = st.navigation(pages)
with st.spinner(tr("Demo data")):
    store()
page.run()
