"""Edge inputs found by testers: each once crashed a page or leaked a secret."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from sales_core.errors import KongpanError
from sales_core.export import to_csv_bytes, to_xlsx_bytes
from sales_core.i18n import money
from sales_core.ingest.values import parse_amounts
from sales_core.sources.sql import source_engine
from sales_core.store import Store, safe_url

ROOT = Path(__file__).resolve().parents[1]


def test_rhythm_page_with_a_window_shorter_than_a_week(shared_dir, store_url):
    store = Store(store_url)
    for path in sorted((shared_dir / "cn_weekly").glob("*.xlsx")):
        store.import_file(path)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    app.run()
    app.switch_page("app_pages/rhythm.py").run()

    app.date_input(key="rhythm_from").set_value(date(2026, 11, 23))
    app.date_input(key="rhythm_to").set_value(date(2026, 11, 27)).run()

    assert not app.exception


def test_password_in_a_query_string_is_masked():
    shown = safe_url("postgresql+psycopg://kp@127.0.0.1:1/crm?password=S3cretPW")

    assert "S3cretPW" not in shown
    assert "kp@127.0.0.1:1/crm" in shown


@pytest.mark.parametrize(
    "url", ["postgresql+psycopg://u@127.0.0.1:notaport/crm", "notaurl"]
)
def test_a_source_url_that_cannot_be_used_is_a_message(url):
    with pytest.raises(KongpanError) as caught:
        source_engine(url)

    assert caught.value.code == "source_failed"


def test_absurd_amounts_are_unreadable_not_summed():
    parsed = parse_amounts(pd.Series(["1e20", "100000000000000000000", "12万"]))

    assert parsed.bad.tolist() == [True, True, False]
    assert parsed.values.iloc[2] == 120000


def test_huge_whole_amounts_still_export():
    frame = pd.DataFrame({"amount": [9.0e15, -500.0]})

    assert to_xlsx_bytes(frame)
    assert b"-500" in to_csv_bytes(frame)


@pytest.mark.parametrize(
    ("value", "zh"),
    [(99_999_999, "1.00亿"), (-0.4, "0"), (-313_000, "-31.3万"), (5_000, "5,000")],
)
def test_money_rounds_into_the_next_unit(value, zh):
    assert money(value, "zh") == zh
