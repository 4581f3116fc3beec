"""The whole path in a real browser: upload the Maven pipeline, see the won amount."""

from __future__ import annotations

import csv
from datetime import date

from playwright.sync_api import expect

from sales_core.i18n import money
from tests.browser.conftest import wait_idle


def _maven_won_december_2017(path) -> float:
    """Σ close_value of Won deals closed in December 2017, straight from the CSV."""
    total = 0.0
    with path.open(newline="", encoding="utf-8") as handle:
        for record in csv.DictReader(handle):
            closed = record["close_date"]
            if record["deal_stage"] == "Won" and closed:
                day = date.fromisoformat(closed)
                if (day.year, day.month) == (2017, 12):
                    total += float(record["close_value"])
    return total


def test_upload_maven_pipeline_and_see_progress(app_server, page, shared_dir, tmp_path):
    pipeline = shared_dir / "realdata" / "maven_crm" / "sales_pipeline.csv"
    expected = money(_maven_won_december_2017(pipeline), "zh")

    page.goto(f"{app_server}/import_data")
    wait_idle(page, timeout=120_000)
    expect(page.get_by_role("heading", name="数据导入")).to_be_visible()

    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(pipeline))
    rows_read = page.get_by_test_id("stMetric").filter(has_text="读取行数")
    expect(rows_read.get_by_test_id("stMetricValue")).to_have_text(
        "8800", timeout=60_000
    )
    wait_idle(page, timeout=60_000)

    page.get_by_role("button", name="导入 sales_pipeline.csv").click()
    expect(
        page.get_by_test_id("stAlert").filter(has_text="已导入为快照")
    ).to_be_visible(timeout=60_000)

    page.goto(f"{app_server}/progress")
    wait_idle(page, timeout=60_000)
    won = page.get_by_test_id("stMetric").filter(has_text="本月已成交")
    expect(won.get_by_test_id("stMetricValue")).to_have_text(expected, timeout=60_000)
    page.screenshot(path=str(tmp_path / "progress.png"), full_page=True)
