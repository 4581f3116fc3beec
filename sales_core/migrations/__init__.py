"""Schema migrations of the store (Alembic): every Store opens at head.

The revisions live in versions/. The first one creates the schema Kongpan
had before it used Alembic, each table only when it is missing, so a store
made by an older Kongpan (no `alembic_version` table yet) is upgraded in
place with its data. Store(url) calls `upgrade` under the store's write lock;
`alembic -c alembic.ini upgrade head` does the same for KONGPAN_DATABASE_URL.

A module that adds tables to sales_core.store.metadata adds a revision here
too (the playbook's `plays` and `play_changes` are revision 0002);
tests/test_migrations.py fails while metadata and head disagree.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

MIGRATIONS_DIR = Path(__file__).resolve().parent


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for these migrations, on `connection` when given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def head_revisions() -> frozenset[str]:
    """The newest revision(s) of the scripts, read once per process."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(conn: Connection) -> frozenset[str]:
    """The revision(s) the database is at; empty for a new or pre-Alembic store."""
    return frozenset(MigrationContext.configure(conn).get_current_heads())


def is_current(conn: Connection) -> bool:
    """True when the store's schema is at head and nothing needs to run."""
    return current_revisions(conn) == head_revisions()


def upgrade(conn: Connection) -> None:
    """Run every missing revision on `conn`, inside the caller's transaction."""
    command.upgrade(alembic_config(conn), "head")
