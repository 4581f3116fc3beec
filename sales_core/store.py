"""Kongpan's own database: snapshots, deals per snapshot, follow-ups, targets.

SQLite file `data/kongpan.db` (WAL) unless `KONGPAN_DATABASE_URL` names
another SQLAlchemy URL: PostgreSQL (`postgresql+psycopg://...`) or
MySQL/MariaDB (`mysql+pymysql://...`) for a team sharing one server.
Opening a store brings its schema to the newest Alembic revision
(sales_core/migrations), so an older store is upgraded in place.

Every import is one write transaction: a file lands completely or not at all,
readers see it whole or not at all, and importing the same bytes again is a
no-op. Writers take one store-wide lock up front, so imports run one after
the other: BEGIN IMMEDIATE on SQLite (two writers that first read and then
write deadlock on the lock upgrade), a transaction-scoped advisory lock on
PostgreSQL, GET_LOCK on MySQL/MariaDB.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.mysql import DOUBLE, LONGTEXT
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from sales_core.errors import ImportRefused, KongpanError, StoreBusy
from sales_core.ingest.parse import ParsedFile, parse_file, payload_of
from sales_core.schema import FIELDS, FieldType, Kind, field_names

log = logging.getLogger(__name__)

DEFAULT_DB = Path(__file__).resolve().parent.parent / "data" / "kongpan.db"
INSERT_CHUNK = 5000
BUSY_RETRIES = 3
LOCK_WAIT_SECONDS = 60  # how long a writer waits for another import to finish
PG_LOCK_KEY = 20261204  # the advisory lock of one store (with its schema's hash)
MYSQL_KEY_LENGTH = 191  # indexed prefix of a TEXT column on MySQL (utf8mb4)

# MySQL's FLOAT is single precision: amounts need DOUBLE there.
AMOUNT = Float().with_variant(DOUBLE(asdecimal=False), "mysql", "mariadb")
# MySQL's TEXT holds 64 KB; an import report can be larger.
LONG_TEXT = Text().with_variant(LONGTEXT(), "mysql", "mariadb")
# Exact, case-sensitive text on MySQL, as on SQLite and PostgreSQL.
MYSQL_TABLE = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}

Progress = Callable[[float, str], None]

metadata = MetaData()


def _typed_columns(kind: Kind) -> list[Column]:
    types = {
        FieldType.DATE: DateTime(),
        FieldType.AMOUNT: AMOUNT,
        FieldType.PROBABILITY: AMOUNT,
        FieldType.BOOL: Boolean(),
        FieldType.INTEGER: Integer(),
    }
    columns = []
    for spec in FIELDS[kind]:
        sql_type = types.get(spec.type)
        columns.append(Column(spec.name, sql_type if sql_type else Text))
    return columns


snapshots = Table(
    "snapshots",
    metadata,
    Column("snapshot_id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("file_name", Text, nullable=False),
    Column("sha256", String(80), nullable=False, unique=True),
    Column("as_of", Date),
    Column("imported_at", DateTime, nullable=False),
    Column("imported_by", Text),
    Column("origin", String(16), nullable=False, default="upload"),
    Column("rows_read", Integer, nullable=False),
    Column("rows_imported", Integer, nullable=False),
    Column("rows_rejected", Integer, nullable=False),
    Column("report_json", LONG_TEXT),
    **MYSQL_TABLE,
)

deals = Table(
    "deals",
    metadata,
    Column("snapshot_id", Integer, ForeignKey("snapshots.snapshot_id"), nullable=False),
    Column("source_row", Integer),
    *_typed_columns(Kind.DEALS),
    Index("ix_deals_snapshot", "snapshot_id"),
    Index("ix_deals_deal", "deal_id", mysql_length=MYSQL_KEY_LENGTH),
    **MYSQL_TABLE,
)

activities = Table(
    "activities",
    metadata,
    Column("activity_id", Integer, primary_key=True, autoincrement=True),
    Column("activity_key", String(64), nullable=False, unique=True),
    Column("snapshot_id", Integer, ForeignKey("snapshots.snapshot_id"), nullable=False),
    Column("source_row", Integer),
    *_typed_columns(Kind.ACTIVITIES),
    Index("ix_activities_at", "activity_at"),
    **MYSQL_TABLE,
)

targets = Table(
    "targets",
    metadata,
    Column("target_id", Integer, primary_key=True, autoincrement=True),
    Column("owner", Text),
    Column("team", Text),
    Column("month", String(7), nullable=False),
    Column("target", AMOUNT, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("updated_by", Text),
    Index("ix_targets_month", "month"),
    **MYSQL_TABLE,
)

reps = Table(
    "reps",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("team", Text),
    Column("supervisor", Text),
    Column("active", Boolean),
    Column("left_on", DateTime),
    Column("origin", String(16)),
    Column("updated_at", DateTime, nullable=False),
    **MYSQL_TABLE,
)

mapping_profiles = Table(
    "mapping_profiles",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("mapping_json", Text, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    **MYSQL_TABLE,
)


@dataclass
class ImportResult:
    """What one import did: a new snapshot, or the snapshot it duplicates."""

    parsed: ParsedFile
    snapshot_id: int | None
    duplicate_of: int | None = None
    activities_added: int = 0

    @property
    def report(self):
        return self.parsed.report

    def as_dict(self) -> dict:
        """The command line's JSON line for this file."""
        return {
            **self.parsed.report.as_dict(),
            "snapshot_id": self.snapshot_id,
            "duplicate_of": self.duplicate_of,
            "activities_added": self.activities_added,
            "message_kind": "already_imported" if self.duplicate_of else "imported",
        }


def database_url(url: str | None = None) -> str:
    """The store URL: the argument, else KONGPAN_DATABASE_URL, else data/kongpan.db."""
    return url or os.environ.get("KONGPAN_DATABASE_URL") or f"sqlite:///{DEFAULT_DB}"


_SECRET_QUERY_KEYS = ("password", "passwd", "pwd", "sslpassword", "secret", "token")


def safe_url(url: str) -> str:
    """The URL with any password masked, for messages and logs.

    Both the user:password@ part and query options such as ?password=...
    are masked.
    """
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
        hidden = {
            key: "***" if key.lower() in _SECRET_QUERY_KEYS else value
            for key, value in parsed.query.items()
        }
        return parsed.set(query=hidden).render_as_string(hide_password=True)
    except Exception:
        return "<invalid database URL>"


def url_secrets(url: str) -> list[str]:
    """The secret values in a URL (password, ?password=...), to scrub from text."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        return []
    found = [str(parsed.password)] if parsed.password else []
    for key, value in parsed.query.items():
        if key.lower() in _SECRET_QUERY_KEYS:
            found += [value] if isinstance(value, str) else list(value)
    return [secret for secret in found if secret]


def make_engine(url: str) -> Engine:
    """An engine for a store URL: SQLite with WAL and a busy timeout, else pooled."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True)


@contextmanager
def write_lock(engine: Engine) -> Iterator[Connection]:
    """One write transaction holding the store-wide writer lock.

    SQLite: BEGIN IMMEDIATE (the engine's begin hook). PostgreSQL: an
    advisory lock released with the transaction, keyed by the schema so that
    two stores in one database do not wait for each other. MySQL/MariaDB:
    GET_LOCK on the database's name, released at the end. A writer waits up
    to LOCK_WAIT_SECONDS for another one, then gives up with StoreBusy.
    """
    dialect = engine.dialect.name
    mysql_lock = "LEFT(CONCAT('kongpan_write:', DATABASE()), 64)"
    connection = engine.connect().execution_options(kongpan_write=True)
    with connection as conn, conn.begin():
        if dialect == "postgresql":
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_WAIT_SECONDS}s'")
            conn.exec_driver_sql(
                "SELECT pg_advisory_xact_lock("
                f"{PG_LOCK_KEY}, hashtext(coalesce(current_schema(), '')))"
            )
        elif dialect in ("mysql", "mariadb"):
            got = conn.exec_driver_sql(
                f"SELECT GET_LOCK({mysql_lock}, {LOCK_WAIT_SECONDS})"
            ).scalar()
            if got != 1:
                raise StoreBusy()
        try:
            yield conn
        finally:
            if dialect in ("mysql", "mariadb"):
                conn.exec_driver_sql(f"SELECT RELEASE_LOCK({mysql_lock})")


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        writing = connection.get_execution_options().get("kongpan_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")

    return engine


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts with None for NaN/NaT, ready for executemany.

    Built column by column (datetimes as Python datetimes, numbers as Python
    floats): DataFrame.to_dict boxes every cell one at a time, which was
    most of the write time for a 100,000-row export.
    """
    names = list(frame.columns)
    columns = [_plain_values(frame[name]) for name in names]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _plain_values(column: pd.Series) -> list:
    """A column as Python values, None where it is empty."""
    present = column.notna().to_numpy()
    if column.dtype.kind == "M":
        values = list(column.dt.to_pydatetime())
    elif column.dtype.kind in "fiu":
        values = column.astype(float).tolist()
    else:
        values = column.astype(object).tolist()
    return [
        value if keep else None for value, keep in zip(values, present, strict=True)
    ]


def _activity_key(row: dict) -> str:
    parts = [
        str(row.get(name) or "")
        for name in ("activity_at", "owner", "customer", "deal_id", "kind", "summary")
    ]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def _dates_back(frame: pd.DataFrame, kind: Kind) -> pd.DataFrame:
    """Give date columns a datetime dtype again (SQLite hands back text)."""
    for spec in FIELDS[kind]:
        if spec.name not in frame:
            continue
        if spec.type == FieldType.DATE:
            frame[spec.name] = pd.to_datetime(frame[spec.name], errors="coerce")
        elif spec.type in (FieldType.AMOUNT, FieldType.PROBABILITY):
            frame[spec.name] = pd.to_numeric(frame[spec.name], errors="coerce")
    return frame


class Store:
    """The app's database, one per URL."""

    def __init__(self, url: str | None = None) -> None:
        self.url = database_url(url)
        try:
            self.engine = make_engine(self.url)
            self._upgrade_schema()
        except OperationalError as error:
            if _is_busy(error):
                raise StoreBusy() from None
            raise KongpanError(
                "store_unreachable", url=safe_url(self.url), reason=error.orig
            ) from None

    def _upgrade_schema(self) -> None:
        """Bring the schema to the newest migration, under the write lock.

        A store already at head is only read (no lock). Otherwise the
        upgrade runs as one write transaction, so two processes opening a
        brand-new store do not both create it: the second finds it at head.
        """
        from sales_core import migrations

        with self.engine.connect() as conn:
            if migrations.is_current(conn):
                return
        for attempt in range(BUSY_RETRIES):
            try:
                with self._writing() as conn:
                    migrations.upgrade(conn)
                return
            except OperationalError as error:
                if not _is_busy(error) or attempt == BUSY_RETRIES - 1:
                    raise
                time.sleep(0.5 * (attempt + 1))

    def _writing(self) -> AbstractContextManager[Connection]:
        """One write transaction; imports into one store run one at a time."""
        return write_lock(self.engine)

    def dispose(self) -> None:
        """Close the pooled connections (a server store; a test's teardown)."""
        self.engine.dispose()

    def _retrying(self, work: Callable[[Connection], object]) -> object:
        """Run a whole write transaction, again if the store was locked."""
        for attempt in range(BUSY_RETRIES):
            try:
                with self._writing() as conn:
                    return work(conn)
            except OperationalError as error:
                if not _is_busy(error):
                    raise
                log.warning("store busy (attempt %d): %s", attempt + 1, error)
                time.sleep(0.5 * (attempt + 1))
        raise StoreBusy()

    # Imports

    def parse(
        self, source: object, file_name: str | None = None, **options
    ) -> ParsedFile:
        """Read an upload without storing it (the preview before committing)."""
        payload = payload_of(source)
        name = file_name or getattr(source, "name", None) or str(source)
        return parse_file(payload, Path(name).name, **options)

    def import_file(
        self,
        source: object,
        file_name: str | None = None,
        progress: Progress | None = None,
        imported_by: str | None = None,
        **options,
    ) -> ImportResult:
        """Parse and store one file as one snapshot (or say it is already there)."""
        if progress:
            progress(0.05, "parse")
        parsed = self.parse(source, file_name, **options)
        return self.import_parsed(parsed, progress=progress, imported_by=imported_by)

    def import_parsed(
        self,
        parsed: ParsedFile,
        progress: Progress | None = None,
        imported_by: str | None = None,
        origin: str = "upload",
    ) -> ImportResult:
        """Commit a parsed file in one transaction."""
        if parsed.kind in (Kind.DEALS, Kind.ACTIVITIES) and parsed.as_of is None:
            raise ImportRefused("no_as_of", file=parsed.file_name)

        def work(conn: Connection) -> ImportResult:
            existing = conn.execute(
                select(snapshots.c.snapshot_id).where(
                    snapshots.c.sha256 == parsed.sha256
                )
            ).scalar()
            if existing is not None:
                return ImportResult(parsed, None, duplicate_of=existing)
            if origin != "demo" and parsed.kind == Kind.DEALS:
                self._drop_demo(conn)
                self._note_shared_keys(conn, parsed)
            snapshot_id = self._insert_snapshot(conn, parsed, imported_by, origin)
            added = self._insert_rows(conn, parsed, snapshot_id, progress, origin)
            return ImportResult(parsed, snapshot_id, activities_added=added)

        result = self._retrying(work)
        if progress:
            progress(1.0, "done")
        log.info(
            "import %s: snapshot %s duplicate_of %s",
            parsed.file_name,
            result.snapshot_id,
            result.duplicate_of,
        )
        return result

    def _note_shared_keys(self, conn: Connection, parsed: ParsedFile) -> None:
        """Say when a built deal key is already in another file of the same day.

        Files of one as_of (one per team) form that week's picture together;
        a deal without an id that two of them hold under the same customer
        and deal name is shown once, from the file imported last. The report
        says so instead of merging silently.
        """
        built = [key for key in parsed.frame["deal_id"] if str(key).startswith("~")]
        if not built:
            return
        same_day = select(snapshots.c.snapshot_id).where(
            (snapshots.c.kind == Kind.DEALS.value) & (snapshots.c.as_of == parsed.as_of)
        )
        shared = set()
        for start in range(0, len(built), 500):
            shared.update(
                conn.execute(
                    select(deals.c.deal_id).where(
                        deals.c.snapshot_id.in_(same_day)
                        & deals.c.deal_id.in_(built[start : start + 500])
                    )
                ).scalars()
            )
        if shared:
            parsed.report.notes.append(f"key_collision_across_files:{len(shared)}")

    def _drop_demo(self, conn: Connection) -> None:
        """The first real deal export replaces the demo data set entirely."""
        demo_ids = select(snapshots.c.snapshot_id).where(snapshots.c.origin == "demo")
        if conn.execute(demo_ids.limit(1)).first() is None:
            return
        log.info("first real deal export: removing the demo data set")
        conn.execute(delete(deals).where(deals.c.snapshot_id.in_(demo_ids)))
        conn.execute(delete(activities).where(activities.c.snapshot_id.in_(demo_ids)))
        conn.execute(delete(targets).where(targets.c.updated_by == "demo"))
        conn.execute(delete(reps).where(reps.c.origin == "demo"))
        conn.execute(delete(snapshots).where(snapshots.c.origin == "demo"))

    def _insert_snapshot(
        self, conn: Connection, parsed: ParsedFile, by: str | None, origin: str
    ) -> int:
        report = parsed.report
        return conn.execute(
            insert(snapshots).values(
                kind=parsed.kind.value,
                file_name=parsed.file_name,
                sha256=parsed.sha256,
                as_of=parsed.as_of,
                imported_at=datetime.now(),
                imported_by=by,
                origin=origin,
                rows_read=report.rows_read,
                rows_imported=report.rows_imported,
                rows_rejected=report.rows_rejected,
                report_json=json.dumps(
                    report.as_dict(), ensure_ascii=False, default=str
                ),
            )
        ).inserted_primary_key[0]

    def _insert_rows(
        self,
        conn: Connection,
        parsed: ParsedFile,
        snapshot_id: int,
        progress: Progress | None,
        origin: str,
    ) -> int:
        frame = parsed.frame.rename(columns={"row": "source_row"})
        rows = _records(frame)
        for row in rows:
            row["snapshot_id"] = snapshot_id
        if parsed.kind == Kind.DEALS:
            self._chunked(conn, deals, rows, progress)
            return 0
        if parsed.kind == Kind.ACTIVITIES:
            return self._insert_activities(conn, rows, progress)
        if parsed.kind == Kind.TARGETS:
            by = "demo" if origin == "demo" else None
            for row in rows:
                self._put_target(
                    conn, row["owner"], row["team"], row["month"], row["target"], by
                )
            return 0
        for row in rows:
            self._put_rep(conn, row, origin)
        return 0

    def _chunked(self, conn, table, rows, progress) -> None:
        total = max(len(rows), 1)
        for start in range(0, len(rows), INSERT_CHUNK):
            conn.execute(insert(table), rows[start : start + INSERT_CHUNK])
            if progress:
                done = min(start + INSERT_CHUNK, len(rows)) / total
                progress(0.3 + 0.65 * done, "write")

    def _insert_activities(self, conn: Connection, rows: list[dict], progress) -> int:
        """Add follow-ups not stored before; weekly exports overlap."""
        for row in rows:
            row["activity_key"] = _activity_key(row)
        keys = list({row["activity_key"] for row in rows})
        known: set[str] = set()
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            known.update(
                conn.execute(
                    select(activities.c.activity_key).where(
                        activities.c.activity_key.in_(chunk)
                    )
                ).scalars()
            )
        fresh, seen = [], set()
        for row in rows:
            key = row["activity_key"]
            if key not in known and key not in seen:
                fresh.append(row)
                seen.add(key)
        self._chunked(conn, activities, fresh, progress)
        return len(fresh)

    # Targets, reps and mapping profiles

    def _put_target(self, conn, owner, team, month, amount, by) -> None:
        if owner:
            match = (targets.c.owner == owner) & (targets.c.month == month)
        else:
            match = (
                targets.c.owner.is_(None)
                & (targets.c.team == team)
                & (targets.c.month == month)
            )
        conn.execute(delete(targets).where(match))
        conn.execute(
            insert(targets).values(
                owner=owner,
                team=team,
                month=month,
                target=float(amount),
                updated_at=datetime.now(),
                updated_by=by,
            )
        )

    def set_targets(self, frame: pd.DataFrame, by: str | None = None) -> int:
        """Write edited targets (owner or team, month, target) in one transaction."""
        rows = _records(frame[["owner", "team", "month", "target"]])

        def work(conn: Connection) -> int:
            count = 0
            for row in rows:
                if row["month"] is None or row["target"] is None:
                    continue
                if not row["owner"] and not row["team"]:
                    continue
                self._put_target(
                    conn, row["owner"], row["team"], row["month"], row["target"], by
                )
                count += 1
            return count

        return self._retrying(work)

    def _put_rep(self, conn: Connection, row: dict, origin: str) -> None:
        values = {
            "origin": origin,
            "team": row.get("team"),
            "supervisor": row.get("supervisor"),
            "active": row.get("active", True),
            "left_on": row.get("left_on"),
            "updated_at": datetime.now(),
        }
        done = conn.execute(
            update(reps).where(reps.c.name == row["name"]).values(values)
        )
        if done.rowcount == 0:
            conn.execute(insert(reps).values(name=row["name"], **values))

    def save_profile(
        self, name: str, kind: Kind | str, mapping: dict[str, str]
    ) -> None:
        """Keep a column mapping under a name, to reuse for the next export."""

        def work(conn: Connection) -> None:
            conn.execute(
                delete(mapping_profiles).where(mapping_profiles.c.name == name)
            )
            conn.execute(
                insert(mapping_profiles).values(
                    name=name,
                    kind=str(kind),
                    updated_at=datetime.now(),
                    mapping_json=json.dumps(mapping, ensure_ascii=False),
                )
            )

        self._retrying(work)

    def profiles(self, kind: Kind | str | None = None) -> dict[str, dict[str, str]]:
        query = select(mapping_profiles.c.name, mapping_profiles.c.mapping_json)
        if kind:
            query = query.where(mapping_profiles.c.kind == str(kind))
        with self.engine.connect() as conn:
            return {name: json.loads(text) for name, text in conn.execute(query)}

    # Reads

    def snapshots(self, kind: Kind | str | None = None) -> pd.DataFrame:
        """Every stored snapshot, newest first."""
        query = select(
            snapshots.c.snapshot_id,
            snapshots.c.kind,
            snapshots.c.file_name,
            snapshots.c.as_of,
            snapshots.c.imported_at,
            snapshots.c.origin,
            snapshots.c.rows_read,
            snapshots.c.rows_imported,
            snapshots.c.rows_rejected,
        ).order_by(snapshots.c.as_of.desc(), snapshots.c.snapshot_id.desc())
        if kind:
            query = query.where(snapshots.c.kind == str(kind))
        with self.engine.connect() as conn:
            frame = pd.DataFrame(conn.execute(query).mappings().all())
        if frame.empty:
            return pd.DataFrame(columns=[c.name for c in query.selected_columns])
        return frame

    def snapshot_dates(self) -> list[date]:
        """The as_of dates of deal snapshots, oldest first."""
        query = (
            select(snapshots.c.as_of)
            .where(snapshots.c.kind == Kind.DEALS.value)
            .distinct()
            .order_by(snapshots.c.as_of)
        )
        with self.engine.connect() as conn:
            return [_as_date(value) for value in conn.execute(query).scalars()]

    def version(self) -> str:
        """A token that changes whenever a snapshot or a target is written.

        Ids alone are not enough: SQLite hands a deleted largest id out again,
        so counts and the latest write times are part of the token.
        """
        with self.engine.connect() as conn:
            snapshot_facts = conn.execute(
                select(
                    func.max(snapshots.c.snapshot_id),
                    func.count(),
                    func.max(snapshots.c.imported_at),
                )
            ).one()
            target_facts = conn.execute(
                select(
                    func.max(targets.c.target_id),
                    func.count(),
                    func.max(targets.c.updated_at),
                )
            ).one()
        return "s{}:{}:{}-t{}:{}:{}".format(*snapshot_facts, *target_facts)

    def is_empty(self) -> bool:
        with self.engine.connect() as conn:
            return not conn.execute(
                select(func.count()).select_from(snapshots)
            ).scalar()

    def latest_as_of(self, on_or_before: date | None = None) -> date | None:
        dates = [
            d
            for d in self.snapshot_dates()
            if on_or_before is None or d <= on_or_before
        ]
        return dates[-1] if dates else None

    def load_deals(self, as_of: date | None = None) -> pd.DataFrame:
        """The deals as the newest snapshot on or before `as_of` shows them.

        Several files with the same as_of (one per team, say) together form
        that week's picture; where two of them hold the same deal, the one
        imported last wins. Raises KongpanError('no_snapshot') when there is
        no deal snapshot that early.
        """
        week = self.latest_as_of(as_of)
        if week is None:
            raise KongpanError("no_snapshot", as_of=as_of or "-")
        ids = select(snapshots.c.snapshot_id).where(
            (snapshots.c.kind == Kind.DEALS.value) & (snapshots.c.as_of == week)
        )
        frame = self._select_deals(deals.c.snapshot_id.in_(ids))
        frame = frame.sort_values("snapshot_id").drop_duplicates("deal_id", keep="last")
        frame["as_of"] = pd.Timestamp(week)
        return frame.reset_index(drop=True)

    def load_deal_history(self) -> pd.DataFrame:
        """Every deal row of every deal snapshot, with the snapshot's as_of."""
        return self._select_deals(None)

    def _select_deals(self, where) -> pd.DataFrame:
        query = select(deals, snapshots.c.as_of).join(
            snapshots, snapshots.c.snapshot_id == deals.c.snapshot_id
        )
        if where is not None:
            query = query.where(where)
        with self.engine.connect() as conn:
            result = conn.execute(query)
            frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
        frame = _dates_back(frame, Kind.DEALS)
        frame["as_of"] = pd.to_datetime(frame["as_of"])
        return frame

    def load_activities(
        self, start: date | None = None, end: date | None = None
    ) -> pd.DataFrame:
        """Follow-ups with activity_at in [start, end] (whole days)."""
        query = select(activities)
        if start is not None:
            query = query.where(
                activities.c.activity_at >= datetime.combine(start, datetime.min.time())
            )
        if end is not None:
            query = query.where(
                activities.c.activity_at
                < datetime.combine(end, datetime.min.time()) + pd.Timedelta(days=1)
            )
        with self.engine.connect() as conn:
            result = conn.execute(query)
            frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
        return _dates_back(frame, Kind.ACTIVITIES)

    def load_targets(self, month: str | None = None) -> pd.DataFrame:
        """Targets as (owner, team, month, target); month 'YYYY-MM' narrows it."""
        query = select(
            targets.c.owner, targets.c.team, targets.c.month, targets.c.target
        ).order_by(targets.c.month, targets.c.owner)
        if month:
            query = query.where(targets.c.month == month)
        with self.engine.connect() as conn:
            result = conn.execute(query)
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

    def load_reps(self) -> pd.DataFrame:
        query = select(
            reps.c.name, reps.c.team, reps.c.supervisor, reps.c.active, reps.c.left_on
        ).order_by(reps.c.name)
        with self.engine.connect() as conn:
            result = conn.execute(query)
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

    # Demo

    def load_demo(self) -> bool:
        """Fill an empty store with the demo data set; False when not empty."""
        from sales_core.demo import build_demo

        if not self.is_empty():
            return False
        demo = build_demo()
        for as_of, frame in demo.snapshots:
            self.import_parsed(_demo_parsed(Kind.DEALS, frame, as_of), origin="demo")
        newest = demo.snapshots[-1][0]
        for kind, frame in (
            (Kind.ACTIVITIES, demo.activities),
            (Kind.TARGETS, demo.targets),
            (Kind.REPS, demo.reps),
        ):
            self.import_parsed(_demo_parsed(kind, frame, newest), origin="demo")
        return True


def _is_busy(error: OperationalError) -> bool:
    """True for SQLite's 'database is locked' and the servers' lock timeouts."""
    text = str(error).lower()
    return any(
        sign in text for sign in ("locked", "busy", "lock timeout", "lock wait timeout")
    )


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _demo_parsed(kind: Kind, frame: pd.DataFrame, as_of: date) -> ParsedFile:
    """Wrap a demo frame as if it had been parsed from a file."""
    from sales_core.ingest.report import ImportReport

    name = f"demo_{kind.value}_{as_of.isoformat()}"
    canonical = frame.reindex(columns=field_names(kind)).copy()
    canonical.insert(0, "row", range(2, len(canonical) + 2))
    report = ImportReport(
        file=name,
        kind=kind.value,
        rows_read=len(canonical),
        rows_imported=len(canonical),
        as_of=as_of,
        as_of_source="demo",
    )
    digest = hashlib.sha256(f"kongpan-demo:{name}".encode()).hexdigest()
    return ParsedFile(
        kind=kind, frame=canonical, report=report, sha256=digest, as_of=as_of
    )
