"""Rep rhythm on the real weekly exports in ../shared/cn_weekly.

Three deal exports and the follow-up log (跟进记录_2026-11-27.xlsx) are
imported into a fresh store; every follow-up must link to a deal, and the
per-rep action counts of `report rhythm --json` must equal a count made
straight from the raw sheet with python-calamine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from sales_core.rhythm_report import link_followups
from sales_core.store import Store

pytestmark = pytest.mark.realdata

REPO_ROOT = Path(__file__).resolve().parents[1]
FOLLOW_UPS = "跟进记录_2026-11-27.xlsx"


@pytest.fixture(scope="module")
def weekly(shared_dir: Path) -> Path:
    return shared_dir / "cn_weekly"


@pytest.fixture(scope="module")
def store_file(weekly: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store with the three deal exports and the follow-up log imported."""
    url = f"sqlite:///{tmp_path_factory.mktemp('rhythm_real')}/kongpan.db"
    store = Store(url)
    for path in [*sorted(weekly.glob("商机导出_*.xlsx")), weekly / FOLLOW_UPS]:
        result = store.import_file(path)
        assert result.report.rows_rejected == 0, path.name
    store.engine.dispose()
    return url


def raw_follow_ups(path: Path) -> list[dict[str, str]]:
    """The sheet's rows as {header: text}, read without the app's importer."""
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    header_at = next(n for n, row in enumerate(rows) if "跟进人" in map(str, row))
    header = [str(cell).strip() for cell in rows[header_at]]
    records = [
        dict(zip(header, map(str, row), strict=True)) for row in rows[header_at + 1 :]
    ]
    return [
        record for record in records if any(value.strip() for value in record.values())
    ]


def run_rhythm(url: str, *args: str) -> dict:
    env = {**os.environ, "KONGPAN_DATABASE_URL": url}
    completed = subprocess.run(
        [sys.executable, "-m", "sales_core", "report", "rhythm", "--json", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    assert "Traceback" not in completed.stderr
    return json.loads(completed.stdout)


def test_every_follow_up_links_to_a_deal(store_file: str, weekly: Path) -> None:
    expected = json.loads((weekly / "EXPECTED.json").read_text(encoding="utf-8"))
    result = link_followups(Store(store_file))
    assert len(result.linked) == expected["activities"] == 305
    assert result.counts()["none"] == 0 and result.counts()["ambiguous"] == 0
    known = set(Store(store_file).load_deal_history()["deal_id"])
    assert set(result.linked["linked_deal_id"]) <= known


def test_customer_names_alone_link_each_follow_up_to_its_own_deal(
    store_file: str,
) -> None:
    """Without the deal id column, the folded customer name (narrowed by rep
    and by the deals open that day) finds the very deal the id names."""
    from sales_core.linking import link_activities

    store = Store(store_file)
    follow_ups = store.load_activities()
    by_name = link_activities(
        follow_ups.assign(deal_id=None), store.load_deal_history()
    )
    assert by_name.counts()["customer"] == 305
    linked = by_name.activities["linked_deal_id"]
    assert (linked == follow_ups["deal_id"]).all()


def test_action_counts_per_rep_equal_the_raw_sheet(
    store_file: str, weekly: Path
) -> None:
    raw = raw_follow_ups(weekly / FOLLOW_UPS)
    assert len(raw) == 305
    everyone = Counter(record["跟进人"].strip() for record in raw)
    effective = Counter(
        record["跟进人"].strip()
        for record in raw
        if record["是否有效沟通"].strip() == "是"
    )
    days = sorted(record["跟进时间"][:10] for record in raw)

    figures = run_rhythm(store_file, "--from", days[0], "--to", "2026-11-27")
    assert {rep["owner"]: rep["actions"] for rep in figures["reps"]} == everyone
    assert {rep["owner"]: rep["effective"] for rep in figures["reps"]} == effective
    assert figures["links"] == {
        "deal_id": 305,
        "customer": 0,
        "none": 0,
        "ambiguous": 0,
    }


def test_default_window_is_the_eight_weeks_to_the_newest_snapshot(
    store_file: str, weekly: Path
) -> None:
    figures = run_rhythm(store_file)
    assert (figures["from"], figures["to"], figures["as_of"]) == (
        "2026-10-03",
        "2026-11-27",
        "2026-11-27",
    )
    inside = Counter(
        record["跟进人"].strip()
        for record in raw_follow_ups(weekly / FOLLOW_UPS)
        if date(2026, 10, 3)
        <= date.fromisoformat(record["跟进时间"][:10])
        <= date(2026, 11, 27)
    )
    assert {rep["owner"]: rep["actions"] for rep in figures["reps"]} == inside
    assert set(figures["team_median"]) == set(figures["reps"][0]) - {"owner", "flags"}


def test_one_rep_and_a_clear_error_for_an_unknown_rep(store_file: str) -> None:
    figures = run_rhythm(store_file, "--rep", "李娜")
    assert [rep["owner"] for rep in figures["reps"]] == ["李娜"]
    env = {**os.environ, "KONGPAN_DATABASE_URL": store_file}
    completed = subprocess.run(
        [sys.executable, "-m", "sales_core", "report", "rhythm", "--rep", "无此人"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 1
    assert "无此人" in completed.stderr and "Traceback" not in completed.stderr
