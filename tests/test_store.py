"""The store: snapshots, duplicate files, concurrent imports, all-or-nothing.

Cases C13 (same file again, consumed upload stream) and C14 (two imports at
the same moment into one SQLite file) come from tests/cases/.
"""

from __future__ import annotations

import io
import multiprocessing
import sqlite3
import time
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from sales_core.errors import ImportRefused, KongpanError
from sales_core.store import Store

CASES_DIR = Path(__file__).resolve().parent / "cases"
C13 = CASES_DIR / "C13_weekly_2024W12.csv"
C14_NORTH = CASES_DIR / "C14_team_north_2024W12.csv"
C14_SOUTH = CASES_DIR / "C14_team_south_2024W12.csv"
C17_W11 = CASES_DIR / "C17_snapshot_2024W11.csv"
C17_W12 = CASES_DIR / "C17_snapshot_2024W12.csv"

HEADER = "商机编号,客户名称,销售阶段,负责人,预计成交金额,跟进时间\n"


def sqlite_path(url: str) -> str:
    return url.split("///", 1)[1]


def count(url: str, table: str) -> int:
    """Rows in a table, read with a plain sqlite3 connection of its own."""
    with sqlite3.connect(sqlite_path(url), timeout=30) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def deals_csv(rows: list[tuple[str, str, str, str, int, str]]) -> bytes:
    lines = [",".join(str(v) for v in row) for row in rows]
    return (HEADER + "\n".join(lines) + "\n").encode("utf-8")


# C13: the same file again


def test_c13_same_bytes_again_is_already_imported(store_url: str) -> None:
    store = Store(store_url)
    payload = C13.read_bytes()

    first = store.import_file(C13)
    assert first.snapshot_id is not None
    assert first.duplicate_of is None
    assert first.report.as_of == date(2024, 3, 22)
    assert first.report.as_of_source == "file_name"
    assert len(store.snapshots()) == 1
    assert count(store_url, "deals") == 5

    again = store.import_file(payload, file_name="C13_weekly_2024W12 (1).csv")
    assert again.snapshot_id is None
    assert again.duplicate_of == first.snapshot_id
    assert again.as_dict()["message_kind"] == "already_imported"
    assert len(store.snapshots()) == 1
    assert count(store_url, "deals") == 5

    deals = store.load_deals()
    assert len(deals) == 5
    assert deals["amount"].sum() == 200000
    assert deals["as_of"].iloc[0] == pd.Timestamp("2024-03-22")


@pytest.mark.parametrize("stream", ["bytesio", "file"])
def test_c13_rerun_with_a_consumed_stream(
    store_url: str, stream: str, tmp_path: Path
) -> None:
    """A Streamlit rerun hands back the upload with its position at EOF."""
    store = Store(store_url)
    first = store.import_file(C13)
    if stream == "bytesio":
        upload = io.BytesIO(C13.read_bytes())
        upload.name = C13.name
    else:
        copy = tmp_path / C13.name
        copy.write_bytes(C13.read_bytes())
        upload = copy.open("rb")
    upload.read()
    try:
        rerun = store.import_file(upload, file_name=C13.name)
    finally:
        upload.close()
    assert rerun.parsed.report.rows_read == 5
    assert len(rerun.parsed.frame) == 5
    assert rerun.duplicate_of == first.snapshot_id
    assert len(store.snapshots()) == 1
    assert count(store_url, "deals") == 5
    assert store.load_deals()["amount"].sum() == 200000


def test_c13_same_name_other_bytes_is_a_new_snapshot(store_url: str) -> None:
    """'Same file' is decided by content, never by file name alone."""
    store = Store(store_url)
    store.import_file(C13)
    changed = C13.read_bytes().replace(b"18000", b"19000")
    result = store.import_file(changed, file_name=C13.name)
    assert result.duplicate_of is None
    assert len(store.snapshots()) == 2
    assert count(store_url, "deals") == 10
    # Same as_of: the later import of a deal wins, the total is not doubled.
    assert store.load_deals(date(2024, 3, 22))["amount"].sum() == 201000


# C14: two imports at the same moment


def _import_worker(url: str, path: str, barrier, results) -> None:
    """Child process: wait for the other importer, then import one file."""
    from sales_core.errors import KongpanError
    from sales_core.store import Store

    try:
        barrier.wait(timeout=30)
        store = Store(url)
        result = store.import_file(path)
        results.put((path, "ok", result.snapshot_id, result.report.rows_imported))
    except KongpanError as error:
        results.put((path, "error", f"{error.code}: {error.message('en')}", None))
    except Exception as error:  # reported to the test, which fails on it
        results.put((path, "crash", f"{type(error).__name__}: {error}", None))


def run_concurrent_imports(url: str, paths: list[Path], reader: bool) -> dict:
    """Import `paths` from one spawned process each, released together.

    While they run, a separate sqlite3 connection (a dashboard page) holds
    a read transaction open when `reader` is set, and another samples the
    deal count, which must only ever show whole files.
    """
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(paths))
    results = context.Queue()
    page = None
    if reader:
        page = sqlite3.connect(sqlite_path(url), timeout=30, isolation_level=None)
        page.execute("BEGIN")
        assert page.execute("SELECT count(*) FROM deals").fetchone()[0] == 0

    workers = [
        context.Process(target=_import_worker, args=(url, str(p), barrier, results))
        for p in paths
    ]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    samples = []
    sampler = None
    try:
        while any(w.is_alive() for w in workers) and time.monotonic() - started < 60:
            try:
                # Read-only, opened once the file exists: the sampler must not
                # create the database the importers are about to create.
                sampler = sampler or sqlite3.connect(
                    f"file:{sqlite_path(url)}?mode=ro",
                    uri=True,
                    timeout=30,
                    isolation_level=None,
                )
                samples.append(
                    sampler.execute("SELECT count(*) FROM deals").fetchone()[0]
                )
            except sqlite3.OperationalError:
                pass  # no file or no table yet
            time.sleep(0.005)
        for worker in workers:
            worker.join(timeout=60)
        elapsed = time.monotonic() - started
        if page is not None:
            # The page's read transaction still sees the store as it began.
            assert page.execute("SELECT count(*) FROM deals").fetchone()[0] == 0
            page.execute("COMMIT")
    finally:
        if sampler is not None:
            sampler.close()
        if page is not None:
            page.close()
    outcome = {}
    while len(outcome) < len(paths) and not results.empty():
        path, status, detail, rows = results.get(timeout=5)
        outcome[Path(path).name] = (status, detail, rows)
    return {
        "outcome": outcome,
        "elapsed": elapsed,
        "samples": samples,
        "exit_codes": [w.exitcode for w in workers],
    }


def test_c14_two_processes_import_at_once_with_a_reader_open(store_url: str) -> None:
    Store(store_url)  # the empty store the app creates at first start
    run = run_concurrent_imports(store_url, [C14_NORTH, C14_SOUTH], reader=True)
    outcome = run["outcome"]
    assert run["exit_codes"] == [0, 0]
    assert outcome[C14_NORTH.name][0] == "ok", outcome
    assert outcome[C14_SOUTH.name][0] == "ok", outcome
    assert outcome[C14_NORTH.name][2] == 6
    assert outcome[C14_SOUTH.name][2] == 6
    assert run["elapsed"] < 30
    assert count(store_url, "deals") == 12
    assert count(store_url, "snapshots") == 2
    assert set(run["samples"]) <= {0, 6, 12}, sorted(set(run["samples"]))
    deals = Store(store_url).load_deals(date(2024, 3, 22))
    assert len(deals) == 12
    assert deals["amount"].sum() == 210000 + 420000


def test_c14_two_processes_on_a_brand_new_file(tmp_path: Path) -> None:
    """Both importers find no database yet and create it at the same time.

    Three rounds on fresh files, since a race does not lose every time.
    """
    for round_ in range(3):
        (tmp_path / f"fresh{round_}").mkdir()
        url = f"sqlite:///{tmp_path}/fresh{round_}/kongpan.db"
        run = run_concurrent_imports(url, [C14_NORTH, C14_SOUTH], reader=False)
        outcome = run["outcome"]
        statuses = [outcome[p.name][0] for p in (C14_NORTH, C14_SOUTH)]
        assert statuses == ["ok", "ok"], (round_, outcome)
        assert count(url, "deals") == 12
        assert set(run["samples"]) <= {0, 6, 12}


# A failed import changes nothing


def test_failure_midway_leaves_the_store_unchanged(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(store_url)
    store.import_file(C17_W11, as_of=date(2024, 3, 15))
    before = (count(store_url, "snapshots"), count(store_url, "deals"))

    import sales_core.store as store_module

    monkeypatch.setattr(store_module, "INSERT_CHUNK", 2)
    original = store_module.Store._chunked

    def explode_after_first_chunk(self, conn, table, rows, progress):
        original(self, conn, table, rows[:2], progress)
        raise RuntimeError("disk full halfway")

    monkeypatch.setattr(store_module.Store, "_chunked", explode_after_first_chunk)
    with pytest.raises(RuntimeError, match="disk full"):
        store.import_file(C13)
    assert (count(store_url, "snapshots"), count(store_url, "deals")) == before

    # Nothing of the failed attempt blocks a retry: its sha256 was not kept.
    monkeypatch.setattr(store_module.Store, "_chunked", original)
    retry = store.import_file(C13)
    assert retry.duplicate_of is None
    assert count(store_url, "deals") == before[1] + 5


def test_file_missing_a_required_column_is_refused(store_url: str) -> None:
    store = Store(store_url)
    store.import_file(C13)
    no_stage = "商机编号,客户名称,负责人,预计成交金额\nX-1,甲公司,张三,1000\n".encode()
    with pytest.raises(ImportRefused) as refused:
        store.import_file(no_stage, file_name="no_stage_2024-03-29.csv", kind="deals")
    assert refused.value.code == "missing_column"
    assert "stage" in refused.value.message("en")
    assert len(store.snapshots()) == 1
    assert count(store_url, "deals") == 5


def test_deals_without_any_date_are_refused_not_stored(store_url: str) -> None:
    store = Store(store_url)
    undated = (
        "商机编号,客户名称,销售阶段,预计成交金额\nX-1,甲公司,已报价,1000\n".encode()
    )
    with pytest.raises(ImportRefused) as refused:
        store.import_file(undated, file_name="deals.csv")
    assert refused.value.code == "no_as_of"
    assert store.is_empty()


# Targets and mapping profiles


def test_set_targets_persists_and_replaces(store_url: str) -> None:
    store = Store(store_url)
    written = store.set_targets(
        pd.DataFrame(
            {
                "owner": ["张伟", "李娜", None],
                "team": ["华东组", "华东组", "华南组"],
                "month": ["2026-11", "2026-11", "2026-11"],
                "target": [760000, 620000, 1500000],
            }
        )
    )
    assert written == 3
    reopened = Store(store_url)  # a new engine: it is on disk, not in memory
    targets = reopened.load_targets("2026-11")
    assert sorted(
        zip(targets["owner"].fillna("-"), targets["target"], strict=True)
    ) == [("-", 1500000.0), ("张伟", 760000.0), ("李娜", 620000.0)]

    reopened.set_targets(
        pd.DataFrame(
            {
                "owner": ["张伟", None],
                "team": ["华东组", "华南组"],
                "month": ["2026-11", "2026-11"],
                "target": [800000, 1600000],
            }
        )
    )
    targets = reopened.load_targets("2026-11")
    assert len(targets) == 3
    by_owner = dict(zip(targets["owner"].fillna("-"), targets["target"], strict=True))
    assert by_owner == {"张伟": 800000.0, "李娜": 620000.0, "-": 1600000.0}
    assert reopened.load_targets("2026-12").empty


def test_set_targets_skips_rows_without_month_or_owner(store_url: str) -> None:
    store = Store(store_url)
    written = store.set_targets(
        pd.DataFrame(
            {
                "owner": ["张伟", None, "李娜"],
                "team": [None, None, None],
                "month": ["2026-11", "2026-11", None],
                "target": [1.0, 2.0, 3.0],
            }
        )
    )
    assert written == 1
    assert store.load_targets()["owner"].tolist() == ["张伟"]


def test_targets_file_import_replaces_the_month(store_url: str) -> None:
    store = Store(store_url)
    store.set_targets(
        pd.DataFrame(
            {"owner": ["张伟"], "team": [None], "month": ["2026-11"], "target": [1.0]}
        )
    )
    sheet = '负责人,月份,业绩目标\n张伟,2026-11,760000\n李娜,2026年11月,"¥620,000"\n'
    result = store.import_file(sheet.encode("utf-8"), file_name="targets.csv")
    assert result.report.kind == "targets"
    targets = store.load_targets("2026-11")
    assert dict(zip(targets["owner"], targets["target"], strict=True)) == {
        "张伟": 760000.0,
        "李娜": 620000.0,
    }


def test_profile_save_and_load(store_url: str) -> None:
    store = Store(store_url)
    mapping = {"deal_id": "单号", "customer": "客户", "stage": "状态", "amount": "钱"}
    store.save_profile("老CRM", "deals", mapping)
    store.save_profile("跟进", "activities", {"activity_at": "时间"})
    assert Store(store_url).profiles("deals") == {"老CRM": mapping}
    assert set(store.profiles()) == {"老CRM", "跟进"}

    changed = {**mapping, "amount": "金额"}
    store.save_profile("老CRM", "deals", changed)
    assert store.profiles("deals") == {"老CRM": changed}

    export = "单号,客户,状态,金额\nZ-1,甲公司,赢单,5000\nZ-2,乙公司,谈判中,7000\n"
    result = store.import_file(
        export.encode("utf-8"),
        file_name="old_crm_2024-03-22.csv",
        kind="deals",
        mapping=store.profiles("deals")["老CRM"],
    )
    assert result.report.rows_imported == 2
    deals = store.load_deals()
    assert deals["stage"].tolist() == ["won", "negotiating"]
    assert deals["amount"].tolist() == [5000.0, 7000.0]


# Which snapshot load_deals reads


def test_load_deals_picks_the_newest_snapshot_on_or_before_as_of(
    store_url: str,
) -> None:
    store = Store(store_url)
    store.import_file(C17_W11, as_of=date(2024, 3, 15))
    store.import_file(C14_NORTH)  # 2024W12 → as_of 2024-03-22
    store.import_file(C14_SOUTH)
    store.import_file(C17_W12, as_of=date(2024, 3, 29))

    assert store.snapshot_dates() == [
        date(2024, 3, 15),
        date(2024, 3, 22),
        date(2024, 3, 29),
    ]
    week11 = store.load_deals(date(2024, 3, 21))
    assert sorted(week11["deal_id"]) == [
        "K-01",
        "K-02",
        "K-03",
        "K-04",
        "K-05",
        "K-06",
        "K-07",
        "K-09",
    ]
    assert (week11["as_of"] == pd.Timestamp("2024-03-15")).all()

    week12 = store.load_deals(date(2024, 3, 22))
    assert len(week12) == 12  # the north and south files together
    assert week12["deal_id"].str[:2].value_counts().to_dict() == {"CN": 6, "CS": 6}
    assert week12["amount"].sum() == 630000

    newest = store.load_deals()
    assert sorted(newest["deal_id"])[-1] == "K-08"
    assert len(newest) == 8
    assert (newest["as_of"] == pd.Timestamp("2024-03-29")).all()

    with pytest.raises(KongpanError) as missing:
        store.load_deals(date(2024, 3, 1))
    assert missing.value.code == "no_snapshot"


def test_load_deals_same_as_of_last_import_wins_per_deal(store_url: str) -> None:
    store = Store(store_url)
    first = deals_csv(
        [
            ("D-1", "甲公司", "已报价", "张三", 1000, "2024-03-20"),
            ("D-2", "乙公司", "已联系", "张三", 2000, "2024-03-20"),
        ]
    )
    second = deals_csv(
        [
            ("D-2", "乙公司", "已成交", "李四", 2500, "2024-03-21"),
            ("D-3", "丙公司", "新线索", "李四", 3000, "2024-03-21"),
        ]
    )
    store.import_file(first, file_name="team_a_2024-03-22.csv")
    store.import_file(second, file_name="team_b_2024-03-22.csv")
    deals = store.load_deals(date(2024, 3, 22)).set_index("deal_id")
    assert sorted(deals.index) == ["D-1", "D-2", "D-3"]
    assert deals.loc["D-2", "stage"] == "won"
    assert deals.loc["D-2", "amount"] == 2500
    assert deals.loc["D-2", "owner"] == "李四"


def test_version_changes_when_a_target_is_replaced(store_url):
    """SQLite reuses a deleted largest id; the cache token must still move."""
    store = Store(store_url)
    first = pd.DataFrame(
        {"owner": [None], "team": ["华东"], "month": ["2026-11"], "target": [1000.0]}
    )
    store.set_targets(first)
    before = store.version()

    store.set_targets(first.assign(target=400.0))

    assert store.version() != before
    assert store.load_targets("2026-11")["target"].tolist() == [400.0]


def test_same_day_files_sharing_a_built_key_are_reported(store_url):
    """Two team files of one day with the same id-less deal: said, not silent."""
    store = Store(store_url)
    header = "客户名称,商机名称,负责人,销售阶段,预计金额\n"
    store.import_file(
        (header + "甲公司,ERP项目,张三,已成交,50万\n").encode(),
        "华东_商机导出_2026-11-27.csv",
    )

    second = store.import_file(
        (header + "甲公司,ERP项目,王五,已成交,30万\n").encode(),
        "华南_商机导出_2026-11-27.csv",
    )

    assert "key_collision_across_files:1" in second.report.notes
