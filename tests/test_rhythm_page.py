"""AppTest: the Rep rhythm page on the demo data set.

The demo builds reps with a shape (sales_core.demo): the rusher closes at
month end and the piler sits on deals, so both must be flagged; the steady
rep must not be. Every figure checked here is also recomputed through
sales_core.rhythm_report, the function the page and the CLI share.
"""

from __future__ import annotations

import base64
import json
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from sales_core.demo import PILER_REP, RUSHER_REP, STEADY_REP
from sales_core.rhythm_report import team_rhythm
from sales_core.store import Store

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the demo loaded once, copied for each test."""
    path = tmp_path_factory.mktemp("rhythm_demo") / "kongpan.db"
    store = Store(f"sqlite:///{path}")
    assert store.load_demo()
    store.engine.dispose()
    return path


@pytest.fixture
def rhythm_page(demo_db: Path, store_url: str):
    """Start the app on a copy of the demo store and open the Rep rhythm page."""

    def open_page(locale: str = "en-US") -> AppTest:
        shutil.copy(demo_db, Path(store_url.removeprefix("sqlite:///")))
        app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
        app.context = {"locale": locale}
        app.run()
        assert not app.exception
        app.switch_page("app_pages/rhythm.py").run()
        assert not app.exception
        return app

    return open_page


def _overview(app: AppTest):
    for table in app.dataframe:
        if "Flags" in table.value.columns:
            return table.value.set_index("Rep")
    raise AssertionError("no team overview table")


def _numbers(data: dict | list) -> np.ndarray:
    """A plotly array from the chart spec; plotly ≥ 6 stores it base64 (bdata)."""
    if isinstance(data, dict) and "bdata" in data:
        values = np.frombuffer(base64.b64decode(data["bdata"]), dtype=data["dtype"])
        if "shape" in data:  # "7, 9"
            return values.reshape([int(size) for size in str(data["shape"]).split(",")])
        return values
    return np.asarray(data, dtype=float)


def test_overview_flags_the_rusher_and_the_piler_but_not_the_steady_rep(
    rhythm_page, store_url: str
) -> None:
    app = rhythm_page()
    overview = _overview(app)
    assert "Month-end rush" in overview.at[RUSHER_REP, "Flags"]
    assert "Piling up" in overview.at[PILER_REP, "Flags"]
    assert overview.at[STEADY_REP, "Flags"] == ""

    # the table is sorted most off first: flagged reps above unflagged ones
    flagged = [bool(flags) for flags in overview["Flags"].drop("Team median")]
    assert flagged == sorted(flagged, reverse=True)
    assert overview.index[-1] == "Team median"

    # the same numbers as the shared store-level function
    report = team_rhythm(Store(store_url)).report
    rusher, piler = report.rep(RUSHER_REP), report.rep(PILER_REP)
    assert rusher["month_end_share"] > 0.5 and piler["piling_share"] > 0.5
    assert overview.at[RUSHER_REP, "Month-end share"] == pytest.approx(
        rusher["month_end_share"]
    )
    assert overview.at[PILER_REP, "Piling share"] == pytest.approx(
        piler["piling_share"]
    )
    assert overview.at["Team median", "Weekly CV"] == pytest.approx(
        report.team_median["weekly_cv"]
    )


def test_rep_picker_explains_each_flag_and_draws_the_daily_calendar(
    rhythm_page, store_url: str
) -> None:
    app = rhythm_page()
    report = team_rhythm(Store(store_url)).report

    app.selectbox(key="rhythm_rep").set_value(RUSHER_REP).run()
    assert not app.exception
    assert any("Month-end rush" in warning.value for warning in app.warning)
    heatmap = json.loads(app.get("plotly_chart")[0].proto.spec)["data"][0]
    assert heatmap["type"] == "heatmap"
    assert np.nansum(_numbers(heatmap["z"])) == report.rep(RUSHER_REP)["actions"]

    app.selectbox(key="rhythm_rep").set_value(PILER_REP).run()
    assert not app.exception
    assert any("Piling up" in warning.value for warning in app.warning)

    app.selectbox(key="rhythm_rep").set_value(STEADY_REP).run()
    assert not app.exception
    assert not app.warning
    assert [message.value for message in app.success] == [
        "No rhythm flags for this rep."
    ]


def test_page_speaks_chinese_to_a_chinese_browser(rhythm_page) -> None:
    app = rhythm_page("zh-CN")
    assert app.title[0].value == "销售节奏"
    tables = [table.value for table in app.dataframe if "提醒" in table.value.columns]
    overview = tables[0].set_index("销售")
    assert "月底突击" in overview.at[RUSHER_REP, "提醒"]
    assert "堆客户不推进" in overview.at[PILER_REP, "提醒"]


def test_a_window_that_ends_before_it_starts_is_a_message_not_a_traceback(
    rhythm_page,
) -> None:
    app = rhythm_page()
    app.date_input(key="rhythm_from").set_value(date(2026, 12, 1)).run()
    assert not app.exception
    assert [error.value for error in app.error] == [
        "The period starts on 2026-12-01, after its end 2026-11-20."
    ]
