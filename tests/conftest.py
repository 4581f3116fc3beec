"""Fixtures every Kongpan test can use.

- ``shared_dir``: the ``../shared`` folder beside this checkout (real CRM
  exports and cases). Missing → the test is skipped, or fails when
  ``KONGPAN_REQUIRE_SHARED=1`` (as in CI). Tests using it are marked
  ``realdata`` automatically.
- ``store_url``: a fresh, empty store for the test. SQLite in the test's tmp
  folder by default; with ``--store postgresql|mysql`` (or
  ``KONGPAN_TEST_STORE=postgresql|mysql``) a fresh schema (PostgreSQL) or
  database (MySQL/MariaDB) on the local server, in a database made for this
  test session and dropped at its end.
- Every test runs with ``KONGPAN_DATABASE_URL`` pointing at that same
  store, so no test ever touches ``data/kongpan.db`` or a server
  configured in the developer's shell.
- ``server_url``: ``server_url("postgresql")`` gives a fresh namespace on that
  server whatever store was chosen (tests that need a server as such).
- Tests of a module that handles the store as a SQLite file (its source says
  ``sqlite:///`` or ``import sqlite3``: copying a prepared file, reading it
  with sqlite3) are marked ``sqlite_file`` and keep a SQLite store_url.
- Server tests need PostgreSQL at 127.0.0.1:5432 (user postgres, trust) and
  MariaDB at 127.0.0.1:3306 (root, no password); override with
  KONGPAN_TEST_POSTGRESQL_URL / KONGPAN_TEST_MYSQL_URL. A server that does not
  answer skips the test, or fails it when ``KONGPAN_REQUIRE_SHARED=1``.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

REPO_ROOT = Path(__file__).resolve().parents[1]

SHARED_MISSING = (
    "../shared is not beside this checkout: real CRM exports and cases live "
    "there (set KONGPAN_SHARED_DIR)"
)

STORE_KINDS = ("sqlite", "postgresql", "mysql")
SERVER_ADMIN_URLS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "mysql": "mysql+pymysql://root@127.0.0.1:3306/test",
}
# Source text that says a module handles its store as a SQLite file.
SQLITE_FILE_SIGNS = ("sqlite:///", "import sqlite3")

_session_tmp: str | None = None


def require_shared() -> bool:
    """True in CI: what a test needs from outside the repo must be there."""
    return os.environ.get("KONGPAN_REQUIRE_SHARED") == "1"


def skip_or_fail(reason: str) -> None:
    """Skip the test, or fail it when KONGPAN_REQUIRE_SHARED=1."""
    if require_shared():
        pytest.fail(f"{reason} [KONGPAN_REQUIRE_SHARED=1]", pytrace=False)
    pytest.skip(reason)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store",
        choices=STORE_KINDS,
        help="the store every test's store_url names (default: $KONGPAN_TEST_STORE "
        "or sqlite)",
    )


def chosen_store(config: pytest.Config) -> str:
    """sqlite, postgresql or mysql: --store, else KONGPAN_TEST_STORE, else sqlite."""
    kind = config.getoption("--store") or os.environ.get("KONGPAN_TEST_STORE")
    kind = (kind or "sqlite").strip().lower()
    if kind not in STORE_KINDS:
        raise pytest.UsageError(
            f"KONGPAN_TEST_STORE={kind!r}: use one of {', '.join(STORE_KINDS)}"
        )
    return kind


def pytest_report_header(config: pytest.Config) -> str:
    return f"kongpan store: {chosen_store(config)}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "sqlite_file: handles its store as a SQLite file; store_url stays SQLite "
        "whatever store is chosen",
    )
    chosen_store(config)
    # Guard for code that runs outside a test (collection, session fixtures):
    # point the store at a throwaway file before anything can open it.
    global _session_tmp
    _session_tmp = tempfile.mkdtemp(prefix="kongpan-tests-")
    os.environ["KONGPAN_DATABASE_URL"] = f"sqlite:///{_session_tmp}/kongpan.db"


def pytest_unconfigure(config: pytest.Config) -> None:
    if _session_tmp:
        shutil.rmtree(_session_tmp, ignore_errors=True)


def _handles_sqlite_files(module: object, seen: dict[str, bool]) -> bool:
    name = getattr(module, "__name__", "")
    if name not in seen:
        try:
            source = inspect.getsource(module)
        except (OSError, TypeError):
            source = ""
        seen[name] = any(sign in source for sign in SQLITE_FILE_SIGNS)
    return seen[name]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A test that asks for shared_dir reads real data: mark it so that
    # `-m "not realdata"` leaves it out and CI refuses to skip it.
    seen: dict[str, bool] = {}
    for item in items:
        if "shared_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.realdata)
        module = getattr(item, "module", None)
        if module is not None and _handles_sqlite_files(module, seen):
            item.add_marker(pytest.mark.sqlite_file)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """With KONGPAN_REQUIRE_SHARED=1, a skipped realdata test is a failure."""
    report = yield
    if (
        report.skipped
        and require_shared()
        and item.get_closest_marker("realdata") is not None
        and not hasattr(report, "wasxfail")
    ):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
        report.outcome = "failed"
        report.longrepr = (
            f"realdata test skipped while KONGPAN_REQUIRE_SHARED=1: {reason}"
        )
    return report


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """Path of ../shared (or $KONGPAN_SHARED_DIR); skip/fail when absent."""
    override = os.environ.get("KONGPAN_SHARED_DIR")
    path = Path(override) if override else REPO_ROOT.parent / "shared"
    if not path.is_dir():
        skip_or_fail(SHARED_MISSING)
    return path


class ServerStores:
    """Throwaway stores on one local database server, for one test session.

    PostgreSQL: one database `kongpan_test_<random>` for the session and a
    schema per store (search_path in the URL). MySQL/MariaDB: a database
    `kongpan_test_<random>_<n>` per store. Every URL carries its own
    application name (PostgreSQL) or database (MySQL), so releasing a store
    first ends the connections its test left open, then drops it.
    """

    def __init__(self, kind: str, admin_url: str) -> None:
        self.kind = kind
        self.admin_url = make_url(admin_url)
        self.name = f"kongpan_test_{secrets.token_hex(4)}"
        self.count = 0
        self.admin = create_engine(
            self.admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool
        )
        self.session_db = None
        if kind == "postgresql":
            self._admin_sql(f'CREATE DATABASE "{self.name}"')
            self.session_db = create_engine(
                self.admin_url.set(database=self.name),
                isolation_level="AUTOCOMMIT",
                poolclass=NullPool,
            )

    def _admin_sql(self, statement: str, **params: object) -> list:
        with self.admin.connect() as conn:
            result = conn.execute(text(statement), params)
            return result.fetchall() if result.returns_rows else []

    def fresh_url(self) -> str:
        """A new, empty namespace on the server, as a store URL."""
        self.count += 1
        if self.kind == "postgresql":
            schema = f"t{self.count}"
            with self.session_db.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            url = self.admin_url.set(
                database=self.name,
                query={
                    "options": f"-csearch_path={schema}",
                    "application_name": f"{self.name}_{schema}",
                },
            )
        else:
            database = f"{self.name}_{self.count}"
            self._admin_sql(
                f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4 "
                "COLLATE utf8mb4_bin"
            )
            url = self.admin_url.set(database=database, query={"charset": "utf8mb4"})
        return url.render_as_string(hide_password=False)

    def release(self, url: str) -> None:
        """End the connections a store's test left open, then drop the store."""
        parsed = make_url(url)
        if self.kind == "postgresql":
            with self.session_db.connect() as conn:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": parsed.query["application_name"]},
                )
                schema = parsed.query["options"].split("=", 1)[1]
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            return
        database = parsed.database
        rows = self._admin_sql(
            "SELECT id FROM information_schema.processlist "
            "WHERE db = :db AND id <> CONNECTION_ID()",
            db=database,
        )
        for (connection_id,) in rows:
            with contextlib.suppress(SQLAlchemyError):  # it may have ended already
                self._admin_sql(f"KILL CONNECTION {int(connection_id)}")
        self._admin_sql(f"DROP DATABASE IF EXISTS `{database}`")

    def close(self) -> None:
        """Drop everything this session created on the server."""
        if self.kind == "postgresql":
            self.session_db.dispose()
            self._admin_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        else:
            rows = self._admin_sql(
                "SELECT schema_name FROM information_schema.schemata "
                "WHERE schema_name LIKE :prefix",
                prefix=f"{self.name}\\_%",
            )
            for (database,) in rows:
                self._admin_sql(f"DROP DATABASE IF EXISTS `{database}`")
        self.admin.dispose()


@pytest.fixture(scope="session")
def test_servers() -> Iterator[Callable[[str], ServerStores]]:
    """Opens each server once per session, when a test first needs it."""
    opened: dict[str, ServerStores] = {}
    unreachable: dict[str, str] = {}

    def server(kind: str) -> ServerStores:
        if kind in unreachable:
            skip_or_fail(unreachable[kind])
        if kind not in opened:
            variable = f"KONGPAN_TEST_{kind.upper()}_URL"
            admin_url = os.environ.get(variable) or SERVER_ADMIN_URLS[kind]
            try:
                opened[kind] = ServerStores(kind, admin_url)
            except SQLAlchemyError as error:
                where = make_url(admin_url).render_as_string(hide_password=True)
                unreachable[kind] = (
                    f"{kind} server {where} is not answering ({type(error).__name__});"
                    f" start it or set {variable}"
                )
                skip_or_fail(unreachable[kind])
        return opened[kind]

    yield server
    for opened_server in opened.values():
        opened_server.close()


@pytest.fixture
def server_url(
    test_servers: Callable[[str], ServerStores], tmp_path: Path
) -> Iterator[Callable[[str], str]]:
    """`server_url(kind)`: a fresh store URL of that kind, dropped after the test.

    Kind "sqlite" gives a new file in the test's tmp folder.
    """
    made: list[tuple[ServerStores, str]] = []

    def fresh(kind: str) -> str:
        if kind == "sqlite":
            folder = tmp_path / f"store{len(made)}"
            folder.mkdir()
            made.append((None, folder.name))
            return f"sqlite:///{folder}/kongpan.db"
        server = test_servers(kind)
        url = server.fresh_url()
        made.append((server, url))
        return url

    yield fresh
    for server, url in made:
        if server is not None:
            server.release(url)


@pytest.fixture
def store_url(
    request: pytest.FixtureRequest, tmp_path: Path, server_url: Callable[[str], str]
) -> str:
    """A fresh store of the chosen kind; the same one KONGPAN_DATABASE_URL names."""
    kind = chosen_store(request.config)
    if kind == "sqlite" or request.node.get_closest_marker("sqlite_file"):
        return f"sqlite:///{tmp_path}/kongpan.db"
    return server_url(kind)


@pytest.fixture(autouse=True)
def _isolated_store(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the app's store at the test's own store (store_url)."""
    monkeypatch.setenv("KONGPAN_DATABASE_URL", store_url)


@pytest.fixture(autouse=True)
def _restore_main_module() -> Iterator[None]:
    """Undo AppTest's change to ``__main__`` after every test.

    AppTest points ``__main__`` at the app script; a later test that starts
    worker processes with the 'spawn' method would make each worker run the
    app (and load the demo into the test's store).
    """
    module = sys.modules["__main__"]
    saved = {name: module.__dict__.get(name, _UNSET) for name in _MAIN_ATTRS}
    yield
    sys.modules["__main__"] = module
    for name, value in saved.items():
        if value is _UNSET:
            module.__dict__.pop(name, None)
        else:
            module.__dict__[name] = value


_UNSET = object()
_MAIN_ATTRS = ("__file__", "__spec__", "__loader__", "__package__", "__name__")
