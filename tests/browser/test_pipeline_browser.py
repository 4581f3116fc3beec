"""The Pipeline page in a real browser: the board on cn_weekly and the waterfall."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from sales_core.store import Store
from tests.browser.conftest import REPO_ROOT, start_app_server, wait_idle


@pytest.fixture(scope="module")
def cn_weekly_server(shared_dir, tmp_path_factory) -> Iterator[str]:
    """An app server whose store holds the three cn_weekly deal exports.

    One server for the module: the tests only read, each in its own page.
    """
    workdir = tmp_path_factory.mktemp("server")
    store = Store(f"sqlite:///{workdir}/kongpan.db")
    for export in sorted((shared_dir / "cn_weekly").glob("商机导出_*.xlsx")):
        store.import_file(export)
    store.engine.dispose()
    with start_app_server(REPO_ROOT / "app.py", workdir) as url:
        yield url


def _open_pipeline(page, url: str) -> None:
    """Start at the home page (it sets up navigation), then follow the link."""
    page.goto(url)
    expect(page.get_by_role("heading", name="团队进度")).to_be_visible(timeout=120_000)
    wait_idle(page, timeout=120_000)
    page.get_by_role("link", name="商机看板").click()
    expect(page.get_by_role("heading", name="商机看板")).to_be_visible()
    wait_idle(page, timeout=60_000)


def test_board_shows_stage_columns_and_cards(cn_weekly_server, page, tmp_path: Path):
    _open_pipeline(page, cn_weekly_server)

    for stage, count in (("新线索", "7"), ("已联系", "9"), ("已报价", "5"),
                         ("谈单中", "3"), ("待决策", "6")):  # fmt: skip
        metric = page.get_by_test_id("stMetric").filter(
            has=page.get_by_test_id("stMetricLabel").get_by_text(stage, exact=True)
        )
        expect(metric.get_by_test_id("stMetricValue")).to_have_text(count)
    # the largest lead (375000) heads its column: 广州新力科技有限公司, 37.5万
    expect(page.get_by_text("广州新力科技有限公司", exact=True).first).to_be_visible()
    expect(page.get_by_text("37.5万 · 刘洋").first).to_be_visible()
    # overdue next steps stand out as badges
    expect(page.get_by_text("逾期 6 天").first).to_be_visible()
    page.screenshot(path=str(tmp_path / "board.png"))


def test_waterfall_from_open_before_to_open_after(cn_weekly_server, page, tmp_path):
    _open_pipeline(page, cn_weekly_server)

    chart = page.get_by_test_id("stPlotlyChart").filter(
        has=page.locator(".waterfalllayer")
    )
    chart.scroll_into_view_if_needed()
    expect(chart).to_be_visible()
    # nine bars: open before, seven moves, open after
    expect(chart.locator(".waterfalllayer .point")).to_have_count(9)
    expect(chart.get_by_text("期初在途金额")).to_be_visible()
    expect(chart.get_by_text("导出中消失")).to_be_visible()
    metric = page.get_by_test_id("stMetric").filter(has_text="期末在途金额")
    expect(metric.get_by_test_id("stMetricValue")).to_have_text("532.4万")

    # pick the "missing from export" bar and see its one deal
    page.get_by_test_id("stSelectbox").filter(has_text="查看某一柱的商机").click()
    page.get_by_role("option", name="导出中消失 (14.7万)").click()
    wait_idle(page)
    table = page.get_by_test_id("stDataFrame").filter(has_text="SJ-2026-0004")
    expect(table).to_have_count(1, timeout=30_000)
    chart.screenshot(path=str(tmp_path / "waterfall.png"))
