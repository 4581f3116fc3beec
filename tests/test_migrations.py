"""Schema migrations: a new store opens at head, an older one is upgraded in place.

Every test names its own stores (server_url), so SQLite, PostgreSQL and
MySQL/MariaDB are all checked in every run of the suite. The pre-Alembic
SQLite store in tests/data/store_before_alembic.sql is the exact schema the
previous Kongpan created (commit 14ec80d), with a few rows in it.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import date, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, insert, inspect, text

from sales_core import migrations
from sales_core.store import (
    Store,
    deals,
    make_engine,
    metadata,
    snapshots,
    write_lock,
)

ROOT = Path(__file__).resolve().parents[1]
BEFORE_ALEMBIC = Path(__file__).resolve().parent / "data" / "store_before_alembic.sql"
CASES_DIR = Path(__file__).resolve().parent / "cases"
ALL_KINDS = ["sqlite", "postgresql", "mysql"]
STORE_TABLES = [
    "snapshots",
    "deals",
    "activities",
    "targets",
    "reps",
    "mapping_profiles",
]
PLAYBOOK_TABLES = ["plays", "play_changes"]


def table_names(store: Store) -> set[str]:
    return set(inspect(store.engine).get_table_names())


def differences(store: Store) -> list:
    """What autogenerate would still change: empty when metadata == head."""
    import sales_core.playbook  # noqa: F401  (its tables are on the same metadata)

    with store.engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), metadata)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_a_new_store_opens_at_head_with_every_table(server_url, kind: str) -> None:
    store = Store(server_url(kind))
    with store.engine.connect() as conn:
        assert migrations.current_revisions(conn) == migrations.head_revisions()
    assert migrations.head_revisions() == {"0002"}
    assert table_names(store) >= {*STORE_TABLES, *PLAYBOOK_TABLES, "alembic_version"}
    assert differences(store) == []
    store.dispose()


def test_a_store_made_before_alembic_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "kongpan.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(BEFORE_ALEMBIC.read_text(encoding="utf-8"))
    url = f"sqlite:///{path}"

    store = Store(url)
    assert table_names(store) >= {*PLAYBOOK_TABLES, "alembic_version"}
    assert differences(store) == []
    week = store.load_deals()
    assert week["deal_id"].tolist() == ["L-1", "L-2"]
    assert week["amount"].sum() == 200000
    assert store.snapshot_dates() == [date(2024, 3, 22)]
    assert store.load_targets("2024-03")["target"].tolist() == [300000.0]
    assert store.profiles("deals") == {"老CRM": {"stage": "状态"}}

    added = store.import_file(CASES_DIR / "C13_weekly_2024W12.csv")
    assert added.snapshot_id == 2
    assert Store(url).version().startswith("s2:2:")


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_a_server_store_made_before_alembic_is_upgraded(server_url, kind: str) -> None:
    url = server_url(kind)
    engine = create_engine(url)
    old_tables = [metadata.tables[name] for name in STORE_TABLES]
    metadata.create_all(engine, tables=old_tables)
    with engine.begin() as conn:
        conn.execute(insert(snapshots).values(
            snapshot_id=1, kind="deals", file_name="w.csv", sha256="legacy-1",
            as_of=date(2024, 3, 22), imported_at=datetime(2024, 3, 25, 10),
            origin="upload", rows_read=1, rows_imported=1, rows_rejected=0,
        ))  # fmt: skip
        conn.execute(insert(deals).values(
            snapshot_id=1, source_row=2, deal_id="L-1", customer="甲公司",
            stage="won", amount=120000.0,
        ))  # fmt: skip
    engine.dispose()

    store = Store(url)
    assert table_names(store) >= {*PLAYBOOK_TABLES, "alembic_version"}
    assert store.load_deals()["customer"].tolist() == ["甲公司"]
    assert differences(store) == []
    store.dispose()


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_a_store_at_the_first_revision_gains_the_playbook(server_url, kind) -> None:
    url = server_url(kind)
    engine = make_engine(url)  # an engine only: nothing upgrades it on open
    with write_lock(engine) as conn:
        command.upgrade(migrations.alembic_config(conn), "0001")
    assert not set(PLAYBOOK_TABLES) & set(inspect(engine).get_table_names())
    engine.dispose()

    store = Store(url)
    assert table_names(store) >= set(PLAYBOOK_TABLES)
    with store.engine.connect() as conn:
        assert migrations.is_current(conn)
    store.dispose()


def test_downgrade_to_nothing_and_up_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/kongpan.db"
    store = Store(url)
    with write_lock(store.engine) as conn:
        command.downgrade(migrations.alembic_config(conn), "base")
    assert table_names(store) == {"alembic_version"}
    reopened = Store(url)
    assert table_names(reopened) >= {*STORE_TABLES, *PLAYBOOK_TABLES}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_opening_a_current_store_does_not_wait_for_a_writer(server_url, kind) -> None:
    """Pages open the store while an import holds the write lock."""
    url = server_url(kind)
    store = Store(url)
    held, release = threading.Event(), threading.Event()

    def long_import() -> None:
        with store._writing():
            held.set()
            release.wait(timeout=30)

    writer = threading.Thread(target=long_import)
    writer.start()
    try:
        assert held.wait(timeout=30)
        started = time.monotonic()
        Store(url).dispose()
        assert time.monotonic() - started < 5
    finally:
        release.set()
        writer.join(timeout=30)
    store.dispose()


def test_the_alembic_command_line_upgrades_and_finds_nothing_to_change(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "KONGPAN_DATABASE_URL": f"sqlite:///{tmp_path}/kongpan.db"}
    alembic = [sys.executable, "-m", "alembic", "-c", str(ROOT / "alembic.ini")]
    upgraded = subprocess.run(
        [*alembic, "upgrade", "head"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert upgraded.returncode == 0, upgraded.stderr
    assert "Running upgrade 0001 -> 0002" in upgraded.stderr
    checked = subprocess.run(
        [*alembic, "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stderr
    assert "No new upgrade operations detected" in checked.stdout + checked.stderr
    current = subprocess.run(
        [*alembic, "current"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "0002 (head)" in current.stdout


def test_the_store_tables_are_created_with_text_that_keeps_case_on_mysql(
    server_url,
) -> None:
    store = Store(server_url("mysql"))
    with store.engine.connect() as conn:
        collations = conn.execute(text(
            "SELECT table_name, table_collation FROM information_schema.tables "
            "WHERE table_schema = DATABASE()"
        )).fetchall()  # fmt: skip
    assert {name for name, _ in collations} >= {*STORE_TABLES, *PLAYBOOK_TABLES}
    assert {
        collation for name, collation in collations if name != "alembic_version"
    } == {"utf8mb4_bin"}
    store.dispose()
