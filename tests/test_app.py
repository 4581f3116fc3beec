"""AppTest: the app opens from app.py, each page runs, figures match sales_core."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sales_core import service
from sales_core.i18n import money
from sales_core.store import Store

ROOT = Path(__file__).resolve().parents[1]
CASES = Path(__file__).resolve().parent / "cases"


def _app(locale: str = "en-US") -> AppTest:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    app.context = {"locale": locale}
    return app


def _metric(app: AppTest, label: str) -> str:
    for metric in app.metric:
        if metric.label == label:
            return metric.value
    raise AssertionError(f"no metric {label!r}: {[m.label for m in app.metric]}")


def _table_with(app: AppTest, column: str):
    """The first table on screen that has `column` (plain tables carry no key)."""
    for table in app.dataframe:
        if column in table.value.columns:
            return table.value
    raise AssertionError(f"no table with column {column!r}")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    """A store with the demo loaded once, copied for each test."""
    path = tmp_path_factory.mktemp("demo") / "kongpan.db"
    store = Store(f"sqlite:///{path}")
    assert store.load_demo()
    store.engine.dispose()
    return path


def _copy_store(source: Path, store_url: str) -> None:
    target = Path(store_url.removeprefix("sqlite:///"))
    shutil.copy(source, target)


def test_first_start_loads_demo_and_shows_progress(store_url):
    app = _app()
    app.run()
    assert not app.exception

    report = service.team_progress(Store(store_url))
    assert report.team.won_amount > 0
    assert _metric(app, "Won this month") == money(report.team.won_amount, "en")
    assert _metric(app, "Target") == money(report.team.target, "en")
    assert _metric(app, "Gap") == money(report.team.gap, "en")

    app.switch_page("app_pages/import_data.py").run()
    assert not app.exception
    assert app.title[0].value == "Data import"
    assert len(app.dataframe) >= 1


def test_demo_progress_in_chinese_follows_browser_locale(demo_db, store_url):
    _copy_store(demo_db, store_url)
    app = _app("zh-CN")
    app.run()
    assert not app.exception

    report = service.team_progress(Store(store_url))
    assert app.title[0].value == "团队进度"
    assert _metric(app, "本月已成交") == money(report.team.won_amount, "zh")
    assert _metric(app, "本月已成交").endswith("万")

    app.selectbox(key="lang").set_value("en").run()
    assert not app.exception
    assert app.title[0].value == "Team progress"


def test_rep_table_is_sorted_by_gap_and_matches_report(demo_db, store_url):
    _copy_store(demo_db, store_url)
    app = _app()
    app.run()

    table = _table_with(app, "Completion")
    report = service.team_progress(Store(store_url))
    assert list(table["Rep"]) == [rep.owner for rep in report.reps]
    gaps = [gap for gap in table["Gap"] if gap == gap]
    assert gaps == sorted(gaps)


@pytest.fixture
def cn_weekly_store(shared_dir, store_url) -> Store:
    store = Store(store_url)
    folder = shared_dir / "cn_weekly"
    for path in sorted(folder.glob("*.xlsx")):
        store.import_file(path)
    return store


def test_imported_cn_weekly_figures_on_progress_page(cn_weekly_store):
    app = _app()
    app.run()
    assert not app.exception

    assert app.selectbox(key="progress_month").value == "2026-11"
    assert app.selectbox(key="progress_as_of").value == date(2026, 11, 27)
    assert _metric(app, "Won this month") == "1,499,000"
    assert _metric(app, "Target") == "3,890,000"

    table = _table_with(app, "Completion").set_index("Rep")
    assert table.loc["刘洋", "Won"] == 995000
    assert table.loc["赵磊", "Won"] == 167000
    assert table.loc["王强", "Won"] == 337000
    assert table.loc["陈静", "Target"] == 830000

    app.selectbox(key="progress_as_of").set_value(date(2026, 11, 20)).run()
    earlier = service.team_progress(cn_weekly_store, "2026-11", date(2026, 11, 20))
    assert earlier.team.won_amount < 1_499_000
    assert _metric(app, "Won this month") == money(earlier.team.won_amount, "en")


def test_upload_preview_then_import_through_the_page(store_url):
    app = _app()
    app.run()
    app.switch_page("app_pages/import_data.py").run()

    payload = (CASES / "C13_weekly_2024W12.csv").read_bytes()
    app.get("file_uploader")[0].set_value(
        ("C13_weekly_2024W12.csv", payload, "text/csv")
    ).run()
    assert not app.exception
    assert _metric(app, "Rows read") == "5"
    assert _metric(app, "Rejected") == "0"

    import_button = next(b for b in app.button if b.label.startswith("Import "))
    import_button.click().run()
    assert not app.exception
    assert any("imported as snapshot" in s.value for s in app.success)

    store = Store(store_url)
    deals = store.load_deals()
    assert len(deals) == 5
    assert deals["amount"].sum() == 200000
    assert (store.snapshots()["origin"] != "demo").all()

    app.switch_page("app_pages/progress.py").run()
    assert not app.exception
    assert app.selectbox(key="progress_as_of").value == date(2024, 3, 22)


def test_bad_upload_shows_a_message_not_a_traceback(store_url):
    app = _app()
    app.run()
    app.switch_page("app_pages/import_data.py").run()

    app.get("file_uploader")[0].set_value(
        ("broken.xlsx", b"PK\x03\x04 not a zip", "application/octet-stream")
    ).run()
    assert not app.exception
    assert any("broken.xlsx" in error.value for error in app.error)
