"""The playbook on ../shared/cn_weekly: win rate so far per customer type (its
exports carry 客户类型), the suggested play on a deal card, and plays found
in the real follow-up log."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from sales_core import playbook
from sales_core.cli import main
from sales_core.store import Store

ROOT = Path(__file__).resolve().parents[1]
NEWEST = "商机导出_2026-11-27.xlsx"

# Counted by hand from 商机导出_2026-11-27.xlsx, 客户类型 × 销售阶段:
#   type (as exported)   deals  已成交  流失   win rate so far
#   有预算没决策权           15      1     4    1/5  = 20.0%
#   有意向但犹豫             15      3     2    3/5  = 60.0%
#   喜欢比价                  9      4     2    4/6  = 66.7%
#   忙但有需求               19      2    10    2/12 = 16.7%
EXPECTED = {
    "budget_no_authority": ("有预算没决策权", 15, 1, 4),
    "hesitant": ("有意向但犹豫", 15, 3, 2),
    "price_comparer": ("喜欢比价", 9, 4, 2),
    "busy_in_need": ("忙但有需求", 19, 2, 10),
}


@pytest.fixture(scope="module")
def cn_weekly_db(shared_dir, tmp_path_factory) -> Path:
    """All cn_weekly exports imported once into a store, copied per test."""
    path = tmp_path_factory.mktemp("playbook-cn") / "kongpan.db"
    store = Store(f"sqlite:///{path}")
    for export in sorted((shared_dir / "cn_weekly").glob("*.xlsx")):
        store.import_file(export)
    playbook.ensure_playbook(store)
    store.engine.dispose()
    return path


@pytest.fixture
def cn_store(cn_weekly_db, store_url) -> Store:
    shutil.copy(cn_weekly_db, store_url.removeprefix("sqlite:///"))
    return Store(store_url)


def _page(locale: str = "en-US") -> AppTest:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.context = {"locale": locale}
    app.run()
    assert not app.exception
    app.switch_page("app_pages/playbook.py").run()
    assert not app.exception
    return app


def _table_with(app: AppTest, column: str) -> pd.DataFrame:
    return next(t.value for t in app.dataframe if column in t.value.columns)


def test_the_export_counts_behind_the_expected_figures(shared_dir):
    raw = pd.read_excel(shared_dir / "cn_weekly" / NEWEST, engine="calamine", header=1)
    for spelling, deals, won, lost in EXPECTED.values():
        mine = raw[raw["客户类型"] == spelling]
        assert len(mine) == deals, spelling
        assert (mine["销售阶段"] == "已成交").sum() == won, spelling
        assert (mine["销售阶段"] == "流失").sum() == lost, spelling


def test_win_rate_so_far_per_customer_type(cn_store):
    table = playbook.customer_type_win_rates(cn_store).set_index("customer_type")

    assert list(table.index) == list(EXPECTED)
    for key, (spelling, deals, won, lost) in EXPECTED.items():
        row = table.loc[key]
        assert row["spellings"] == [spelling]
        assert (row["deals"], row["won"], row["lost"]) == (deals, won, lost)
        assert row["win_rate"] == pytest.approx(won / (won + lost))
        assert row["win_low"] < row["win_rate"] < row["win_high"]
    assert list(table["too_few"]) == [True, True, True, False]  # 5, 5, 6, 12 closed


def test_page_shows_win_rate_per_customer_type_and_the_play_on_a_card(cn_store):
    app = _page()

    rates = _table_with(app, "Win rate").set_index("Customer type")
    names = {key: playbook.customer_types()[key].en for key in EXPECTED}
    for key, (spelling, deals, won, lost) in EXPECTED.items():
        row = rates.loc[names[key]]
        assert (row["As exported"], row["Deals"], row["Won"], row["Lost"]) == (
            spelling, deals, won, lost)  # fmt: skip
        assert row["Win rate"] == pytest.approx(won / (won + lost))
    assert rates.loc[names["price_comparer"], "Play for this type"] == (
        "Price comparer: talk service and detail, avoid a price war")  # fmt: skip

    # The card opens on the largest open deal: SJ-2026-0057, 苏州卓越食品,
    # 有意向但犹豫, 已联系, 385,000.
    assert app.selectbox(key="pb_sample_deal").value == "SJ-2026-0057"
    hesitant = playbook.get_play(cn_store, "type.hesitant", "en").title
    assert f"Suggested play: {hesitant}" in [text.value for text in app.text]
    assert ("Customer type", "有意向但犹豫") in [(m.label, m.value) for m in app.metric]

    app.selectbox(key="pb_sample_deal").set_value("SJ-2026-0056").run()  # 喜欢比价
    assert not app.exception
    comparer = playbook.get_play(cn_store, "type.price_comparer", "en").title
    assert comparer == "Price comparer: talk service and detail, avoid a price war"
    assert f"Suggested play: {comparer}" in [text.value for text in app.text]


def test_chinese_card_and_table(cn_store):
    app = _page("zh-CN")

    rates = _table_with(app, "赢单率").set_index("客户类型")
    assert rates.loc["比价型", "导出中的写法"] == "喜欢比价"
    assert rates.loc["比价型", "赢单率"] == pytest.approx(4 / 6)
    app.selectbox(key="pb_sample_deal").set_value(
        "SJ-2026-0034"
    ).run()  # 有预算没决策权
    assert not app.exception
    assert "推荐打法: 有预算没决策权：请对接人帮你引荐拍板的人" in [
        text.value for text in app.text]  # fmt: skip


def test_plays_found_in_the_follow_up_log(shared_dir, cn_store, store_url, capsys):
    # Independent count from the raw files: deals of the newest export whose
    # follow-ups mention 约老板面谈 (the budget-no-authority play's keyword).
    folder = shared_dir / "cn_weekly"
    newest = pd.read_excel(folder / NEWEST, engine="calamine", header=1)
    log = pd.read_excel(folder / "跟进记录_2026-11-27.xlsx", engine="calamine")
    mentions = log[log["跟进内容"].str.contains("约老板面谈", regex=False)]
    expected = set(mentions["商机编号"]) & set(newest["商机编号"])

    assert main(["--database", store_url, "report", "plays", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["as_of"] == "2026-11-27"
    by_play = {row["play"]: row for row in figures["plays"]}
    assert by_play["type.budget_no_authority"]["deals_using"] == len(expected)
    assert by_play["type.budget_no_authority"]["via_follow_up"] == len(expected)

    cells = [row for row in figures["comparison"]
             if row["play"] == "type.budget_no_authority"]  # fmt: skip
    assert {row["customer_type"] for row in cells} == {"budget_no_authority"}
    assert [row["stage"] for row in cells] == ["lead", "contacted", "quoted",
                                              "negotiating", "deciding"]  # fmt: skip
    for row in cells:
        assert row["with_deals"] + row["without_deals"] <= 15
        assert row["too_few"]  # 58 deals in all: every cell is too small
