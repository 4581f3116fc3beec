"""The store's API on whichever store the suite runs against.

`make test` runs these on SQLite; .ci/run runs them again with
KONGPAN_TEST_STORE=postgresql and =mysql, where store_url is a fresh schema or
database on the local server. Counts are read with SQLAlchemy, never with a
driver of one database, so every assertion means the same on all three.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.pool import NullPool

from sales_core.errors import KongpanError
from sales_core.schema import Kind
from sales_core.store import Store, activities, deals, snapshots

CASES_DIR = Path(__file__).resolve().parent / "cases"
C13 = CASES_DIR / "C13_weekly_2024W12.csv"
C14_NORTH = CASES_DIR / "C14_team_north_2024W12.csv"
C14_SOUTH = CASES_DIR / "C14_team_south_2024W12.csv"
C17_W11 = CASES_DIR / "C17_snapshot_2024W11.csv"
C17_W12 = CASES_DIR / "C17_snapshot_2024W12.csv"


def count(url: str, table) -> int:
    """Rows in a store table, through a connection of its own."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table)).scalar()
    finally:
        engine.dispose()


def test_weekly_files_land_and_read_back_the_same(store_url: str) -> None:
    store = Store(store_url)
    store.import_file(C17_W11, as_of=date(2024, 3, 15))
    store.import_file(C14_NORTH)  # 2024W12 → as_of 2024-03-22
    store.import_file(C14_SOUTH)
    store.import_file(C17_W12, as_of=date(2024, 3, 29))

    reopened = Store(store_url)  # a new engine: the rows are in the database
    assert reopened.snapshot_dates() == [
        date(2024, 3, 15), date(2024, 3, 22), date(2024, 3, 29),
    ]  # fmt: skip
    week12 = reopened.load_deals(date(2024, 3, 22))
    assert len(week12) == 12
    # 6 north deals of 10k..60k and 6 south of 20k..120k: 210,000 + 420,000
    assert week12["amount"].sum() == 630000
    assert week12["customer"].str.contains("北区客户").sum() == 6
    assert (week12["as_of"] == pd.Timestamp("2024-03-22")).all()
    assert reopened.latest_as_of(date(2024, 3, 28)) == date(2024, 3, 22)
    assert len(reopened.load_deal_history()) == count(store_url, deals)
    assert reopened.version().startswith("s4:4:")
    assert reopened.version().endswith("-tNone:0:None")
    with pytest.raises(KongpanError) as early:
        reopened.load_deals(date(2024, 3, 1))
    assert early.value.code == "no_snapshot"


def test_the_same_file_twice_is_one_snapshot(store_url: str) -> None:
    store = Store(store_url)
    first = store.import_file(C13)
    again = store.import_file(C13.read_bytes(), file_name="copy of C13.csv")
    assert again.duplicate_of == first.snapshot_id
    assert count(store_url, snapshots) == 1
    assert count(store_url, deals) == 5


def test_a_failed_import_writes_nothing(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sales_core.store as store_module

    store = Store(store_url)
    store.import_file(C17_W11, as_of=date(2024, 3, 15))
    before = count(store_url, snapshots), count(store_url, deals)
    monkeypatch.setattr(store_module, "INSERT_CHUNK", 2)
    original = store_module.Store._chunked

    def explode_after_first_chunk(self, conn, table, rows, progress):
        original(self, conn, table, rows[:2], progress)
        raise RuntimeError("disk full halfway")

    monkeypatch.setattr(store_module.Store, "_chunked", explode_after_first_chunk)
    with pytest.raises(RuntimeError, match="disk full"):
        store.import_file(C13)
    assert (count(store_url, snapshots), count(store_url, deals)) == before

    monkeypatch.setattr(store_module.Store, "_chunked", original)
    assert store.import_file(C13).duplicate_of is None
    assert count(store_url, deals) == before[1] + 5


def test_amounts_keep_every_digit(store_url: str) -> None:
    """MySQL's FLOAT would round 123456789.25 to 123456792: amounts are DOUBLE."""
    store = Store(store_url)
    export = (
        "商机编号,客户名称,销售阶段,负责人,预计成交金额\n"
        "P-1,甲公司,已成交,张三,123456789.25\n"
        "P-2,乙公司,谈判中,李四,0.1\n"
    )
    store.import_file(export.encode("utf-8"), file_name="precise_2024-03-22.csv")
    amounts = store.load_deals().set_index("deal_id")["amount"]
    assert amounts["P-1"] == 123456789.25
    assert amounts["P-2"] == 0.1


def test_names_differing_only_in_case_stay_apart(store_url: str) -> None:
    """Exact text comparison on every store (MySQL's default collation folds case)."""
    store = Store(store_url)
    reps = "姓名,团队,主管,在职\nAnna,East,Z,是\nanna,West,Z,是\n"
    store.import_file(reps.encode("utf-8"), file_name="reps.csv", kind="reps")
    assert store.load_reps()["name"].tolist() == ["Anna", "anna"]


def test_targets_profiles_and_follow_ups(store_url: str) -> None:
    store = Store(store_url)
    store.set_targets(pd.DataFrame({
        "owner": ["张伟", None], "team": ["华东组", "华南组"],
        "month": ["2026-11", "2026-11"], "target": [760000, 1500000],
    }))  # fmt: skip
    assert sorted(store.load_targets("2026-11")["target"]) == [760000.0, 1500000.0]
    store.save_profile("老CRM", "deals", {"stage": "状态"})
    assert Store(store_url).profiles("deals") == {"老CRM": {"stage": "状态"}}

    follow_ups = (
        "跟进时间,跟进人,客户名称,跟进方式,有效沟通,跟进内容\n"
        "2024-03-18 09:30,张三,甲公司,电话,是,报价\n"
        "2024-03-20 15:00,张三,乙公司,拜访,否,见面\n"
        "2024-03-22 10:00,李四,丙公司,微信,是,签约\n"
    )
    result = store.import_file(
        follow_ups.encode("utf-8"), file_name="follow_2024-03-22.csv"
    )
    assert result.activities_added == 3
    window = store.load_activities(date(2024, 3, 19), date(2024, 3, 20))
    assert window["customer"].tolist() == ["乙公司"]
    assert window["activity_at"].iloc[0] == pd.Timestamp("2024-03-20 15:00")
    assert window["effective"].tolist() == [False]
    assert count(store_url, activities) == 3


def test_demo_then_first_real_export_replaces_it(store_url: str) -> None:
    store = Store(store_url)
    assert store.load_demo() is True
    assert store.load_demo() is False  # not empty any more
    demo_weeks = len(store.snapshot_dates())
    assert demo_weeks > 1
    assert not store.load_targets().empty

    store.import_file(C13)
    assert store.snapshot_dates() == [date(2024, 3, 22)]
    assert set(store.snapshots()["origin"]) == {"upload"}
    assert store.load_targets().empty
    assert count(store_url, activities) == 0


def test_imported_at_is_stored_as_a_time(store_url: str) -> None:
    store = Store(store_url)
    before = datetime.now().replace(microsecond=0)
    store.import_file(C13)
    imported_at = pd.Timestamp(store.snapshots()["imported_at"].iloc[0])
    assert imported_at >= pd.Timestamp(before)
    kinds = store.snapshots(Kind.DEALS)["kind"].tolist()
    assert kinds == ["deals"]


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://kongpan:s3cret-pw@127.0.0.1:1/kongpan",
        "mysql+pymysql://kongpan:s3cret-pw@127.0.0.1:1/kongpan",
    ],
    ids=["postgresql", "mysql"],
)
def test_a_store_that_does_not_answer_is_named_without_its_password(url: str) -> None:
    with pytest.raises(KongpanError) as refused:
        Store(url)
    assert refused.value.code == "store_unreachable"
    for lang in ("en", "zh"):
        message = refused.value.message(lang)
        assert "s3cret-pw" not in message
        assert "kongpan:***@127.0.0.1:1" in message


def test_the_store_lives_in_its_own_namespace(store_url: str) -> None:
    """The suite's server stores never write into a database they did not make."""
    Store(store_url).import_file(C13)
    engine = create_engine(store_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                where = conn.execute(
                    text("SELECT current_database(), current_schema()")
                )
                database, schema = where.one()
                assert database.startswith("kongpan_test_")
                assert schema != "public"
            elif engine.dialect.name in ("mysql", "mariadb"):
                database = conn.execute(text("SELECT DATABASE()")).scalar()
                assert database.startswith("kongpan_test_")
    finally:
        engine.dispose()


def test_a_long_import_report_is_kept_whole(store_url: str) -> None:
    """MySQL's TEXT stops at 64 KB; the report of a large file is longer."""
    rows = "".join(f"R-{n},客户{n},不知道的阶段{n},张三,{n}\n" for n in range(3000))
    export = "商机编号,客户名称,销售阶段,负责人,预计成交金额\n" + rows
    store = Store(store_url)
    result = store.import_file(export.encode("utf-8"), file_name="big_2024-03-22.csv")
    engine = create_engine(store_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            stored = conn.execute(select(snapshots.c.report_json)).scalar()
    finally:
        engine.dispose()
    assert len(stored.encode("utf-8")) > 65535
    report = json.loads(stored)
    assert report["rows_read"] == 3000
    assert report == json.loads(json.dumps(result.report.as_dict(), default=str))
