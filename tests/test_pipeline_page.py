"""AppTest: the Pipeline page from app.py: board totals on cn_weekly, a deal's
stage timeline, the waterfall and its bars, and export text shown as text."""

from __future__ import annotations

import base64
import json
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from sales_core.store import Store

ROOT = Path(__file__).resolve().parents[1]
PAGE = "app_pages/pipeline.py"
HOSTILE = ("<b>x</b>", "<script>alert(1)</script>")


def _app() -> AppTest:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    app.context = {"locale": "en-US"}
    return app


def _open_page() -> AppTest:
    app = _app()
    app.run()
    assert not app.exception
    app.switch_page(PAGE).run()
    assert not app.exception
    return app


def _copy_store(source: Path, store_url: str) -> None:
    shutil.copy(source, Path(store_url.removeprefix("sqlite:///")))


def _table_with(app: AppTest, column: str):
    for table in app.dataframe:
        if column in table.value.columns:
            return table.value
    raise AssertionError(f"no table with column {column!r}")


def _chart_specs(app: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def _numbers(array) -> list[float]:
    """A plotly array from the JSON spec; plotly ≥ 6 writes numbers as bdata."""
    if isinstance(array, dict) and "bdata" in array:
        raw = base64.b64decode(array["bdata"])
        return np.frombuffer(raw, dtype=np.dtype(array["dtype"])).tolist()
    return list(array)


@pytest.fixture(scope="module")
def cn_weekly_db(shared_dir, tmp_path_factory) -> Path:
    """cn_weekly's deal exports and follow-ups imported once, copied per test."""
    path = tmp_path_factory.mktemp("cn_weekly") / "kongpan.db"
    store = Store(f"sqlite:///{path}")
    folder = shared_dir / "cn_weekly"
    for export in [*sorted(folder.glob("商机导出_*.xlsx")), *folder.glob("跟进*.xlsx")]:
        store.import_file(export)
    store.engine.dispose()
    return path


def test_board_column_totals_for_cn_weekly(cn_weekly_db, store_url, shared_dir):
    _copy_store(cn_weekly_db, store_url)
    app = _open_page()

    assert app.title[0].value == "Pipeline"
    assert app.selectbox(key="pipeline_as_of").value == date(2026, 11, 27)
    expected = json.loads((shared_dir / "cn_weekly/EXPECTED.json").read_text("utf-8"))
    counts = expected["stage_counts_last"]
    metrics = {metric.label: metric.value for metric in app.metric}
    # EXPECTED names stages in Chinese: 新线索 7, 已联系 9, 已报价 5, 谈单中 3, 待决策 6
    assert metrics["New lead"] == str(counts["新线索"]) == "7"
    assert metrics["Contacted"] == str(counts["已联系"])
    assert metrics["Quoted"] == str(counts["已报价"])
    assert metrics["Negotiating"] == str(counts["谈单中"])
    assert metrics["Awaiting decision"] == str(counts["待决策"])

    totals = _table_with(app, "Weighted amount").set_index("Stage")
    # Amount per stage on 11-27 (open deals of the last export):
    #   lead 255000+320000+71000+119000+93000+170000+375000 = 1,403,000
    #   negotiating 167000+63000+47000 = 277,000
    assert totals.loc["New lead", "Amount"] == 1_403_000
    assert totals.loc["Negotiating", "Amount"] == 277_000
    assert totals["Deals"].sum() == 7 + 9 + 5 + 3 + 6
    # the open amount on the board is the waterfall's open_after for 11-27
    assert totals["Amount"].sum() == 5_324_000
    captions = [caption.value for caption in app.caption]
    assert any(text.startswith("Amount 1,403,000") for text in captions)


def test_selecting_a_deal_shows_its_stage_timeline(cn_weekly_db, store_url):
    _copy_store(cn_weekly_db, store_url)
    app = _open_page()
    assert "deal_timeline" not in [chart.key for chart in app.get("plotly_chart")]

    # SJ-2026-0009: quoted (11-13) → negotiating (11-20) → deciding (11-27)
    app.selectbox(key="pipeline_deal").set_value("SJ-2026-0009").run()
    assert not app.exception

    events = _table_with(app, "Inferred")
    assert list(events["Stage"]) == [
        "New lead",
        "Contacted",
        "Quoted",
        "Negotiating",
        "Awaiting decision",
    ]
    assert list(events["Inferred"]) == [False, True, False, False, False]
    assert events["Entered"].iloc[-1] == date(2026, 11, 27)
    timeline = next(
        spec
        for spec in _chart_specs(app)
        if spec["data"] and spec["data"][0].get("type") == "scatter"
    )
    assert timeline["data"][0]["y"][-1] == "Awaiting decision"
    follow_ups = _table_with(app, "Summary")
    assert len(follow_ups) > 0

    # SJ-2026-0027: amount 29000 → 49000 (11-20) → 92000 (11-27)
    app.selectbox(key="pipeline_deal").set_value("SJ-2026-0027").run()
    assert not app.exception
    changes = _table_with(app, "Before")
    assert list(changes["Before"]) == [29000, 49000]
    assert list(changes["After"]) == [49000, 92000]

    # SJ-2026-0030: expected close 10-14 → 10-21 (11-20) → 11-20 (11-27)
    app.selectbox(key="pipeline_deal").set_value("SJ-2026-0030").run()
    assert not app.exception
    changes = _table_with(app, "Before")
    assert list(changes["After"]) == [date(2026, 10, 21), date(2026, 11, 20)]


def test_waterfall_balances_and_each_bar_lists_its_deals(cn_weekly_db, store_url):
    _copy_store(cn_weekly_db, store_url)
    app = _open_page()
    assert app.selectbox(key="flow_to").value == date(2026, 11, 27)
    assert app.selectbox(key="flow_from").value == date(2026, 11, 20)

    waterfall = next(
        spec["data"][0]
        for spec in _chart_specs(app)
        if spec["data"][0].get("type") == "waterfall"
    )
    values = _numbers(waterfall["y"])
    # 5835000 + 1611000 + 0 + 63000 − 155000 − 643000 − 1240000 − 147000
    assert values == [
        5_835_000,
        1_611_000,
        0,
        63_000,
        -155_000,
        -643_000,
        -1_240_000,
        -147_000,
        5_324_000,
    ]
    assert waterfall["measure"][0] == "absolute"
    assert waterfall["measure"][-1] == "total"

    app.selectbox(key="flow_bar").set_value("disappeared").run()
    assert not app.exception
    bar_deals = _table_with(app, "Effect on open amount")
    assert list(bar_deals["Deal ID"]) == ["SJ-2026-0004"]
    assert list(bar_deals["Effect on open amount"]) == [-147_000]

    ledger = _table_with(app, "Times pushed").set_index("Deal ID")
    # 0030: 10-14 → 10-21 → 11-20, pushed twice
    assert ledger.loc["SJ-2026-0030", "Times pushed"] == 2


HOSTILE_CSV = (
    "商机编号,客户名称,销售阶段,负责人,预计成交金额,最后跟进,下一步\n"
    f"X-1,{HOSTILE[0]},已报价,**王强**,10000,2024-03-01,<i>call</i>\n"
    f"X-2,{HOSTILE[1]},谈单中,[张伟](http://e.x),20000,2024-03-20,报价\n"
)


def test_customer_names_with_markup_appear_as_text(store_url, tmp_path):
    export = tmp_path / "hostile_2024W12.csv"
    export.write_text(HOSTILE_CSV, encoding="utf-8")
    Store(store_url).import_file(export)
    app = _open_page()

    texts = [text.value for text in app.text]
    assert HOSTILE[0] in texts
    assert HOSTILE[1] in texts
    markdown = [element.value for element in [*app.markdown, *app.caption]]
    for element in markdown:
        assert "<b>" not in element
        assert "<script>" not in element
        assert "<i>" not in element
    # owner and next step reach captions escaped (html.escape + Markdown)
    assert any("&lt;i&gt;call&lt;/i&gt;" in element for element in markdown)
    assert any(r"\*\*王强\*\*" in element for element in markdown)

    app.selectbox(key="pipeline_deal").set_value("X-2").run()
    assert not app.exception
    assert f"{HOSTILE[1]} · X-2" in [text.value for text in app.text]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "kongpan.db"
    store = Store(f"sqlite:///{path}")
    assert store.load_demo()
    store.engine.dispose()
    return path


def test_demo_pipeline_in_chinese_with_a_filter(demo_db, store_url):
    _copy_store(demo_db, store_url)
    app = _app()
    app.context = {"locale": "zh-CN"}
    app.run()
    app.switch_page(PAGE).run()
    assert not app.exception
    assert app.title[0].value == "商机看板"
    everyone = sum(int(metric.value) for metric in app.metric[:5])

    team = app.multiselect(key="pipeline_teams")
    team.set_value([team.options[0]]).run()
    assert not app.exception
    one_team = sum(int(metric.value) for metric in app.metric[:5])
    assert 0 < one_team < everyone
