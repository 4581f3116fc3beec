"""Two imports at once into one store, on SQLite, PostgreSQL and MySQL/MariaDB.

Each test names its stores itself (server_url), so all three run in every
pass of the suite. Two spawned processes, released together by a barrier,
import two different weekly files of a few thousand deals each; meanwhile
this process keeps reading, as a dashboard page would. Both imports must end
"ok" for their user, both snapshots complete, and no read may ever see a
snapshot whose deals are only partly there. The store serializes writers
(BEGIN IMMEDIATE, pg_advisory_xact_lock, GET_LOCK): the in-process tests
hold that lock and show a second writer waits for it, or gives up cleanly.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

import sales_core.store as store_module
from sales_core.errors import StoreBusy
from sales_core.store import Store

ALL_KINDS = ["sqlite", "postgresql", "mysql"]
DEALS_PER_FILE = 3000
HEADER = "商机编号,客户名称,销售阶段,负责人,预计成交金额,跟进时间\n"
STAGES = ("新线索", "已联系", "已报价", "谈判中", "已成交", "流失")

# One statement, so the server answers it from one consistent view.
SNAPSHOT_FILL = text(
    "SELECT s.snapshot_id, s.rows_imported, "
    "(SELECT count(*) FROM deals d WHERE d.snapshot_id = s.snapshot_id) "
    "FROM snapshots s"
)


def weekly_file(folder: Path, team: str, deals: int) -> Path:
    """A team's weekly export dated 2024-03-22, with its own deal ids."""
    rows = [
        f"{team}-{n:05d},{team}客户{n:05d},{STAGES[n % len(STAGES)]},"
        f"销售{n % 7},{1000 + n},2024-03-{1 + n % 21:02d}"
        for n in range(deals)
    ]
    path = folder / f"team_{team}_2024-03-22.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _import_worker(url: str, path: str, barrier, results) -> None:
    """Child process: wait for the other importer, then import one file."""
    from sales_core.errors import KongpanError
    from sales_core.store import Store

    try:
        barrier.wait(timeout=60)
        started = time.monotonic()
        result = Store(url).import_file(path)
        results.put((path, "ok", result.report.rows_imported, started))
    except KongpanError as error:
        results.put((path, "error", f"{error.code}: {error.message('en')}", None))
    except Exception as error:  # reported to the test, which fails on it
        results.put((path, "crash", f"{type(error).__name__}: {error}", None))


def import_at_once(url: str, paths: list[Path]) -> dict:
    """Import `paths` from one spawned process each while sampling the store."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(paths))
    results = context.Queue()
    workers = [
        context.Process(target=_import_worker, args=(url, str(p), barrier, results))
        for p in paths
    ]
    for worker in workers:
        worker.start()
    reader = create_engine(url, poolclass=NullPool)
    samples: list[list[tuple[int, int, int]]] = []
    deadline = time.monotonic() + 240
    try:
        while any(w.is_alive() for w in workers) and time.monotonic() < deadline:
            try:
                with reader.connect() as conn:
                    samples.append([tuple(row) for row in conn.execute(SNAPSHOT_FILL)])
            except Exception:  # no tables yet: the store is being created
                pass
            time.sleep(0.01)
        for worker in workers:
            worker.join(timeout=60)
    finally:
        reader.dispose()
    outcome = {}
    while len(outcome) < len(paths) and not results.empty():
        path, status, detail, _ = results.get(timeout=5)
        outcome[Path(path).name] = (status, detail)
    return {
        "outcome": outcome,
        "samples": samples,
        "exit_codes": [w.exitcode for w in workers],
    }


def assert_both_landed_whole(url: str, paths: list[Path], run: dict) -> None:
    assert run["exit_codes"] == [0, 0]
    for path in paths:
        assert run["outcome"][path.name] == ("ok", DEALS_PER_FILE), run["outcome"]
    half_seen = [
        sample for sample in run["samples"] for _, rows, stored in sample
        if stored != rows
    ]  # fmt: skip
    assert half_seen == []
    store = Store(url)
    listed = store.snapshots()
    assert sorted(listed["rows_imported"]) == [DEALS_PER_FILE, DEALS_PER_FILE]
    history = store.load_deal_history()
    per_snapshot = history.groupby("snapshot_id").size().to_dict()
    assert per_snapshot == dict.fromkeys(listed["snapshot_id"], DEALS_PER_FILE)
    week = store.load_deals()
    assert len(week) == 2 * DEALS_PER_FILE
    # Σ (1000 + n) for n < 3000, once per file: 2 × (3,000,000 + 4,498,500)
    assert week["amount"].sum() == 2 * (1000 * DEALS_PER_FILE + 4498500)
    store.dispose()


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_two_processes_import_different_files_at_once(
    server_url, tmp_path: Path, kind: str
) -> None:
    url = server_url(kind)
    Store(url).dispose()  # the store the app created at first start
    paths = [weekly_file(tmp_path, team, DEALS_PER_FILE) for team in ("A", "B")]
    run = import_at_once(url, paths)
    assert_both_landed_whole(url, paths, run)
    # The reader really read while the imports ran, and saw whole files only.
    fills = {len(sample) for sample in run["samples"]}
    assert fills <= {0, 1, 2}
    assert len(run["samples"]) > 3


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_two_processes_on_a_store_nobody_created_yet(
    server_url, tmp_path: Path, kind: str
) -> None:
    """Both importers find an empty database and create the schema at once."""
    url = server_url(kind)
    paths = [weekly_file(tmp_path, team, DEALS_PER_FILE) for team in ("C", "D")]
    run = import_at_once(url, paths)
    assert_both_landed_whole(url, paths, run)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_a_second_writer_waits_for_the_first(server_url, tmp_path: Path, kind) -> None:
    url = server_url(kind)
    store = Store(url)
    export = weekly_file(tmp_path, "E", 50)
    held, release = threading.Event(), threading.Event()
    finished: list[float] = []

    def first_writer() -> None:
        with store._writing():
            held.set()
            release.wait(timeout=30)

    def second_writer() -> None:
        Store(url).import_file(export)
        finished.append(time.monotonic())

    first = threading.Thread(target=first_writer)
    first.start()
    assert held.wait(timeout=30)
    second = threading.Thread(target=second_writer)
    second.start()
    time.sleep(1.5)
    assert finished == []  # still waiting for the lock
    released_at = time.monotonic()
    release.set()
    first.join(timeout=30)
    second.join(timeout=60)
    assert finished and finished[0] >= released_at
    assert len(store.load_deals()) == 50
    store.dispose()


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_a_writer_that_waits_too_long_gives_up_cleanly(
    server_url, tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = server_url(kind)
    store = Store(url)
    monkeypatch.setattr(store_module, "LOCK_WAIT_SECONDS", 1)
    monkeypatch.setattr(store_module, "BUSY_RETRIES", 1)
    held, release = threading.Event(), threading.Event()

    def long_import() -> None:
        with store._writing():
            held.set()
            release.wait(timeout=60)

    holder = threading.Thread(target=long_import)
    holder.start()
    try:
        assert held.wait(timeout=30)
        with pytest.raises(StoreBusy) as busy:
            Store(url).import_file(weekly_file(tmp_path, "F", 10))
        assert "Nothing was written" in busy.value.message("en")
    finally:
        release.set()
        holder.join(timeout=30)
    assert store.is_empty()
    store.dispose()
