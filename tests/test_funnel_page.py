"""The Funnel page on the demo data, driven through AppTest from app.py.

The demo's WEAK_REP loses deals after quoting (sales_core.demo); the page
must show the funnel and flag that rep at the quoted stage, and the deal
list behind a number must hold exactly that many deals.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from sales_core.demo import WEAK_REP
from sales_core.i18n import t
from sales_core.stages import default_model
from sales_core.store import Store

ROOT = Path(__file__).resolve().parents[1]
MODEL = default_model()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store file with the demo loaded once."""
    path = tmp_path_factory.mktemp("funnel_demo") / "kongpan.db"
    store = Store(f"sqlite:///{path}")
    store.load_demo()
    store.engine.dispose()  # closes the connections, folding the WAL into the file
    return path


@pytest.fixture
def store_url(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here only reads, so all share the module's demo store: the
    app's caches, keyed by store URL, then rebuild the stage history once."""
    url = f"sqlite:///{demo_db}"
    monkeypatch.setenv("KONGPAN_DATABASE_URL", url)
    return url


def _open(store_url: str, locale: str) -> AppTest:
    """The app on the demo store, switched to the Funnel page."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.context = {"locale": locale}
    at.run()
    assert not at.exception
    at.switch_page("app_pages/funnel.py")
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def app(store_url: str) -> AppTest:
    return _open(store_url, "en-US")


def _values(found: object) -> list:
    """A plotly array from the chart's JSON, decoding plotly's base64 form."""
    if isinstance(found, dict) and "bdata" in found:
        raw = np.frombuffer(base64.b64decode(found["bdata"]), dtype=found["dtype"])
        return raw.tolist()
    return list(found)


def _traces(at: AppTest, kind: str) -> list[dict]:
    traces = []
    for chart in at.get("plotly_chart"):
        traces += [
            trace
            for trace in json.loads(chart.proto.spec)["data"]
            if trace.get("type") == kind
        ]
    return traces


def _table(at: AppTest, column: str) -> pd.DataFrame:
    """The one dataframe on the page that has `column`."""
    found = [frame.value for frame in at.dataframe if column in frame.value.columns]
    assert len(found) == 1, column
    return found[0]


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_page_shows_the_funnel_and_flags_the_weak_rep_at_quoted(
    store_url: str, locale: str
) -> None:
    app = _open(store_url, locale)
    lang = locale[:2]
    assert app.title[0].value == t("Funnel leakage", lang)
    stages = _table(app, t("Leakage", lang))
    path_names = [MODEL.name(key, lang) for key in MODEL.path_keys]
    assert stages[t("Stage", lang)].tolist() == [*path_names, t("Unknown stage", lang)]

    (funnel,) = _traces(app, "funnel")
    assert funnel["y"] == path_names
    reached = stages[t("Reached", lang)].tolist()[: len(path_names)]
    assert _values(funnel["x"]) == reached
    assert reached == sorted(reached, reverse=True) and reached[0] > 1000

    flags = _table(app, t("Direction", lang))
    weak = flags[flags[t("Rep", lang)] == WEAK_REP]
    quoted = MODEL.name("quoted", lang)
    assert quoted in weak[t("Stage", lang)].tolist()
    row = weak[weak[t("Stage", lang)] == quoted].iloc[0]
    assert row[t("High", lang)] < row[t("Rest low", lang)]  # apart, and below
    assert row[t("Direction", lang)] == t("below", lang)

    (heatmap,) = _traces(app, "heatmap")
    cell = heatmap["text"][heatmap["y"].index(WEAK_REP)][heatmap["x"].index(quoted)]
    assert "⚠" in cell


def test_drill_down_lists_the_deals_behind_a_number(app: AppTest) -> None:
    lang = "en"
    flags = _table(app, t("Direction", lang))
    quoted = MODEL.name("quoted", lang)
    row = flags[
        (flags[t("Rep", lang)] == WEAK_REP) & (flags[t("Stage", lang)] == quoted)
    ]
    reached = int(row[t("Reached", lang)].iloc[0])

    app.selectbox(key="funnel_drill").set_value("reached:quoted")
    app.selectbox(key="funnel_drill_group").set_value(WEAK_REP)
    app.run()
    assert not app.exception
    deals = _table(app, t("Deal name", lang))
    assert len(deals) == reached
    assert set(deals[t("Owner", lang)]) == {WEAK_REP}
    assert app.metric[-1].value == f"{reached:,}"
    assert len(app.get("download_button")) == 2

    stages = _table(app, t("Leakage", lang))
    unknown = int(stages[t("Lost here", lang)].iloc[-1])
    app.selectbox(key="funnel_drill").set_value("lost_here:unknown")
    app.selectbox(key="funnel_drill_group").set_value("*all*")
    app.run()
    assert not app.exception
    assert len(_table(app, t("Deal name", lang))) == unknown


def test_comparison_by_another_field(app: AppTest) -> None:
    app.selectbox(key="funnel_by").set_value("industry")
    app.run()
    assert not app.exception
    (scatter,) = _traces(app, "scatter")
    assert "制造业" in scatter["y"]
    assert "Industry" in _table(app, "Win rate").columns
