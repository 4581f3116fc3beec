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

with st.spinner("…"):
    store()

language_picker()

pages = [
    st.Page("pages/progress.py", title=tr("Team progress"), icon="📈",
            url_path="progress", default=True),
    st.Page("pages/import_data.py", title=tr("Data import"), icon="📥",
            url_path="import"),
]
st.sidebar.caption(f"{tr('Kongpan')} · Kongpan")
st.navigation(pages).run()
