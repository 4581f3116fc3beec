"""Alembic environment of the store's migrations.

Programmatic runs (Store.__init__) pass their own connection, already inside
the store's write transaction. From the command line (`alembic -c alembic.ini
upgrade head`) the URL is `sqlalchemy.url` of alembic.ini if set, else
KONGPAN_DATABASE_URL, else data/kongpan.db, and the write lock is taken here.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from sales_core.store import database_url, make_engine, metadata, write_lock

config = context.config
if config.config_file_name and config.cmd_opts is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _target_metadata():
    """Every table the app defines, for `alembic revision --autogenerate`."""
    import sales_core.playbook  # noqa: F401  (adds plays, play_changes)

    return metadata


def _run(connection) -> None:
    target = _target_metadata() if config.cmd_opts is not None else metadata
    context.configure(connection=connection, target_metadata=target)
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    return database_url(config.get_main_option("sqlalchemy.url") or None)


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif config.attributes.get("connection") is not None:
    _run(config.attributes["connection"])
else:
    engine = make_engine(_url())
    try:
        with write_lock(engine) as conn:
            _run(conn)
    finally:
        engine.dispose()
