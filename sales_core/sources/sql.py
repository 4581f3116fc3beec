"""Reading a CRM's own SQL database through a mapping profile.

SqlSource reads deals, follow-ups, targets and reps with SQLAlchemy Core and
returns the store's canonical frames, so every metric and report function
runs on them unchanged: it answers the same read calls as Store
(load_deals, load_deal_history, load_activities, load_targets, load_reps,
snapshot_dates, latest_as_of, version). A live database is one picture, as of
the profile's `as_of` or else the day it is read; it has no history of
earlier weeks.

Before the first query the profile's tables and columns are reflected from
the database; a name the database does not have is refused with the profile
key that gave it. Names reach SQL only as reflected Table and Column objects,
values only as bound parameters. `scoped(start, end, teams)` gives a view
whose reads carry the date window and team filter in their WHERE clause:
deals created, closed or expected to close in the window, plus every deal not
at a won or lost stage (the pipeline at as_of); follow-ups in the window.

Known shortcomings: a deal whose won/lost stage value is not listed in
[deals.stages] counts as open for the window, so it is always fetched;
a team filter needs a `team` column in the table or a reps table with
`name` and `team`; rows without a deal id keep deal_id None (the file
importer builds a key from customer and deal name instead).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    Column,
    MetaData,
    Select,
    Table,
    and_,
    create_engine,
    event,
    false,
    func,
    or_,
    select,
)
from sqlalchemy import types as sqltypes
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, NoSuchTableError, SQLAlchemyError

from sales_core.errors import KongpanError
from sales_core.schema import FIELDS, FREE_TEXT, FieldType, Kind, field_names
from sales_core.sources.profile import SourceProfile, TableMap
from sales_core.stages import StageModel, default_model
from sales_core.store import safe_url, url_secrets
from sales_core.text import clean_text

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5  # seconds before an unreachable host is reported
SOURCE_SNAPSHOT_ID = 0  # a live source is one picture, not a stored snapshot

_LOGIN = ("password authentication failed", "access denied", "role ", "login failed")
_NO_DATABASE = ("unknown database", "no such database")
_UNREACHABLE = (
    "connection refused",
    "could not connect",
    "can't connect",
    "timeout",
    "timed out",
    "could not translate host",
    "name or service not known",
    "no route to host",
    "network is unreachable",
    "unable to open database",
    "name resolution",
    "connection reset",
)


# ---------------------------------------------------------------- connecting


def _sqlite_engine(path: str) -> Engine:
    """A read-only SQLite source; a missing file is an error, never created."""
    if not path or path == ":memory:" or not Path(path).is_file():
        raise KongpanError("source_no_database", url=f"sqlite:///{path}")
    uri = f"{Path(path).resolve().as_uri()}?mode=ro"
    return create_engine(
        "sqlite://",
        creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False),
    )


def source_engine(url: str) -> Engine:
    """An engine for a CRM database: short connect timeout, read-only sessions.

    A URL that cannot be parsed, or names a driver that is not installed, is
    refused with a message (never the URL's password).
    """
    try:
        parsed = make_url(url)
        backend = parsed.get_backend_name()
        parsed.get_dialect()
    except Exception as error:
        raise KongpanError(
            "source_failed", url=safe_url(url), reason=type(error).__name__
        ) from None
    if backend == "sqlite":
        return _sqlite_engine(parsed.database or "")
    connect_args = {"connect_timeout": CONNECT_TIMEOUT}
    try:
        engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    except ImportError as error:
        raise KongpanError(
            "source_failed", url=safe_url(url), reason=f"driver missing: {error.name}"
        ) from None

    @event.listens_for(engine, "connect")
    def _read_only(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        if backend == "postgresql":
            cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        elif backend in ("mysql", "mariadb"):
            cursor.execute("SET SESSION TRANSACTION READ ONLY")
        cursor.close()
        if backend == "postgresql":
            dbapi_connection.commit()

    return engine


def describe_failure(error: Exception, url: str) -> KongpanError:
    """A database error as a message a person can act on, password hidden.

    Wrong user or password, unreachable host (or missing SQLite file), missing
    database, else the driver's first line.
    """
    original = getattr(error, "orig", None) or error
    reason = str(original).strip().splitlines()[0] if str(original).strip() else ""
    for secret in url_secrets(url):
        reason = reason.replace(secret, "***")
    shown = safe_url(url)
    lower = reason.lower()
    if any(sign in lower for sign in _LOGIN):
        return KongpanError("source_login_failed", url=shown)
    if any(sign in lower for sign in _NO_DATABASE) or (
        "database" in lower and "does not exist" in lower
    ):
        return KongpanError("source_no_database", url=shown)
    if any(sign in lower for sign in _UNREACHABLE):
        return KongpanError("source_unreachable", url=shown, reason=reason)
    return KongpanError("source_failed", url=shown, reason=reason)


# ---------------------------------------------------------------- reflection


@dataclass(frozen=True)
class Reflected:
    """A profile table as the database has it: the Table and field → Column."""

    mapping: TableMap
    table: Table
    columns: dict[str, Column]

    def has(self, field_name: str) -> bool:
        return field_name in self.columns

    def column(self, field_name: str) -> Column:
        return self.columns[field_name]


def _find_column(table: Table, name: str) -> Column | None:
    """The column called `name`, or the one column equal to it ignoring case."""
    if name in table.c:
        return table.c[name]
    same = [column for column in table.c if column.name.lower() == name.lower()]
    return same[0] if len(same) == 1 else None


def _reflect(conn, profile: SourceProfile, mapping: TableMap) -> Reflected:
    key = f"{mapping.key}.table"
    try:
        table = Table(
            mapping.table, MetaData(), autoload_with=conn, schema=profile.schema
        )
    except NoSuchTableError:
        raise KongpanError(
            "source_missing_table",
            profile=profile.file_name,
            key=key,
            table=mapping.table,
        ) from None
    columns = {}
    for field_name, name in mapping.columns.items():
        column = _find_column(table, name)
        if column is None:
            raise KongpanError(
                "source_missing_column",
                profile=profile.file_name,
                key=mapping.column_key(field_name),
                column=name,
                table=mapping.table,
            )
        columns[field_name] = column
    return Reflected(mapping=mapping, table=table, columns=columns)


# ---------------------------------------------------------------- bound values


def _python_type(column: Column) -> type | None:
    try:
        return column.type.python_type
    except NotImplementedError:
        return None


def _typed(column: Column, text: str) -> Any:
    """A profile's stage value (TOML keys are text) as the column's own type."""
    kind = _python_type(column)
    try:
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
        if kind is Decimal:
            return Decimal(text)
    except (ValueError, ArithmeticError):
        return text
    return text


def _day_bound(column: Column, day: date) -> Any:
    """A day as the column compares it: datetime, date, or ISO text."""
    if isinstance(column.type, sqltypes.DateTime):
        return datetime.combine(day, datetime.min.time())
    if isinstance(column.type, sqltypes.String):
        return day.isoformat()
    return day


def _on_days(column: Column, start: date | None, end: date | None):
    """column on a day in [start, end] (either end open when None)."""
    parts = []
    if start is not None:
        parts.append(column >= _day_bound(column, start))
    if end is not None:
        parts.append(column < _day_bound(column, end + timedelta(days=1)))
    return and_(*parts)


# ---------------------------------------------------------------- values


def _text(value: Any, free: bool) -> str | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    return clean_text(value, fold_width=not free)


def _number(value: Any) -> float:
    if value is None:
        return np.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


def _flag(value: Any) -> bool | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "y", "t", "是", "有效")
    return bool(value)


def _month(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, date | datetime | pd.Timestamp):
        return f"{pd.Timestamp(value):%Y-%m}"
    text = str(value).strip().replace("/", "-")
    try:
        year, month = (int(part) for part in text[:7].split("-"))
        return f"{year:04d}-{month:02d}"
    except ValueError:
        return None


def _stage_key(value: Any, stages: dict, model: StageModel) -> str | None:
    """The profile's map first, then the stage names and aliases of stages.toml."""
    if value is None:
        return None
    if isinstance(value, float | Decimal) and value == int(value):
        value = int(value)
    text = str(value).strip()
    return stages.get(text) or model.match(text)


def canonical_frame(
    rows: pd.DataFrame, kind: Kind, stages: dict, model: StageModel
) -> pd.DataFrame:
    """Rows labelled with canonical field names → the store's column types.

    Fields the profile does not map are None/NaN/NaT; text is trimmed as the
    file importer trims it; stages go through the profile's map, then the
    stage aliases.
    """
    frame = pd.DataFrame(index=rows.index)
    for spec in FIELDS[kind]:
        values = (
            rows[spec.name]
            if spec.name in rows
            else pd.Series(None, index=rows.index, dtype=object)
        )
        values = values.astype(object).where(values.notna(), None)
        if spec.type == FieldType.DATE:
            stamps = pd.to_datetime(values, errors="coerce")
            if getattr(stamps.dt, "tz", None) is not None:
                stamps = stamps.dt.tz_localize(None)
            frame[spec.name] = stamps
        elif spec.type in (FieldType.AMOUNT, FieldType.PROBABILITY):
            frame[spec.name] = values.map(_number).astype("float64")
        elif spec.type == FieldType.STAGE:
            frame[spec.name] = values.map(lambda v: _stage_key(v, stages, model))
        elif spec.type == FieldType.BOOL:
            frame[spec.name] = values.map(_flag)
        elif spec.type == FieldType.MONTH:
            frame[spec.name] = values.map(_month)
        elif spec.type == FieldType.INTEGER:
            frame[spec.name] = pd.to_numeric(values, errors="coerce")
        else:
            free = spec.name in FREE_TEXT
            frame[spec.name] = values.map(lambda v, free=free: _text(v, free))
    return frame


# ---------------------------------------------------------------- the source


class _Schema:
    """Reflected tables of one profile, shared by a source and its scoped views."""

    def __init__(self) -> None:
        self.tables: dict[Kind, Reflected] | None = None


class SqlSource:
    """A CRM database read through a mapping profile, in canonical frames."""

    def __init__(
        self,
        profile: SourceProfile,
        engine: Engine | None = None,
        model: StageModel | None = None,
        as_of: date | None = None,
    ) -> None:
        self.profile = profile
        self.model = model or default_model()
        self.url = profile.database_url() if engine is None else str(engine.url)
        self.engine = engine if engine is not None else source_engine(self.url)
        self.as_of = as_of or profile.as_of or date.today()
        self.window: tuple[date | None, date | None] | None = None
        self.teams: tuple[str, ...] = ()
        self._schema = _Schema()

    # views and errors

    def scoped(
        self,
        start: date | None = None,
        end: date | None = None,
        teams: Sequence[str] = (),
    ) -> SqlSource:
        """The same source, its reads limited to [start, end] and these teams."""
        view = object.__new__(SqlSource)
        view.__dict__.update(self.__dict__)
        view.window = (start, end) if start or end else None
        view.teams = tuple(teams)
        return view

    @contextmanager
    def _reading(self) -> Iterator[Any]:
        """A connection; database errors become KongpanError without the password."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except KongpanError:
            raise
        except (DBAPIError, SQLAlchemyError, OSError) as error:
            raise describe_failure(error, self.url) from None

    def tables(self) -> dict[Kind, Reflected]:
        """Every table of the profile, reflected and checked (once)."""
        if self._schema.tables is None:
            with self._reading() as conn:
                self._schema.tables = {
                    kind: _reflect(conn, self.profile, mapping)
                    for kind, mapping in self.profile.tables.items()
                }
        return self._schema.tables

    def _table(self, kind: Kind) -> Reflected | None:
        return self.tables().get(kind)

    def _fetch(self, query: Select, kind: Kind) -> pd.DataFrame:
        with self._reading() as conn:
            result = conn.execute(query)
            rows = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
        log.info("source %s: %d %s rows", self.profile.id, len(rows), kind.value)
        return rows

    # filters pushed into SQL

    def _team_filter(self, reflected: Reflected):
        """Rows of the chosen teams: a team column, or owners the reps table places."""
        if not self.teams:
            return None
        conditions = []
        if reflected.has("team"):
            conditions.append(reflected.column("team").in_(self.teams))
        reps = self._table(Kind.REPS)
        owner = "name" if reflected.mapping.key == Kind.REPS.value else "owner"
        if reps is not None and reps.has("team") and reflected.has(owner):
            members = select(reps.column("name")).where(
                reps.column("team").in_(self.teams)
            )
            conditions.append(reflected.column(owner).in_(members))
        if not conditions:
            log.warning(
                "source %s: no team column for %s; team filter matches none",
                self.profile.id,
                reflected.mapping.key,
            )
            return false()
        return or_(*conditions)

    def _closed_values(self, deals: Reflected) -> list[Any]:
        """The CRM's won and lost stage values the profile lists, typed."""
        column = deals.column("stage")
        closed = (self.model.won_key, self.model.lost_key)
        return [
            _typed(column, value)
            for value, key in deals.mapping.stages.items()
            if key in closed
        ]

    def _deal_window(self, deals: Reflected):
        """Created, closed or expected in the window, or not closed at all."""
        start, end = self.window
        dated_columns = {
            deals.column(name).name: deals.column(name)
            for name in ("created_at", "closed_at", "expected_close")
            if deals.has(name)
        }
        dated = [_on_days(column, start, end) for column in dated_columns.values()]
        closed = self._closed_values(deals)
        stage = deals.column("stage")
        if not closed:
            log.warning(
                "source %s: no won/lost values in [deals.stages]; the window "
                "cannot leave out closed deals",
                self.profile.id,
            )
            return None
        still_open = or_(stage.is_(None), stage.not_in(closed))
        return or_(*dated, still_open)

    # the Store's read calls

    def snapshot_dates(self) -> list[date]:
        """The one picture a live source has: its as_of."""
        return [self.as_of]

    def latest_as_of(self, on_or_before: date | None = None) -> date | None:
        if on_or_before is not None and on_or_before < self.as_of:
            return None
        return self.as_of

    def version(self) -> str:
        """Changes with the picture's day (the database itself is read live)."""
        return f"source:{self.profile.id}:{self.as_of.isoformat()}"

    def is_empty(self) -> bool:
        deals = self._table(Kind.DEALS)
        with self._reading() as conn:
            query = select(func.count()).select_from(deals.table)
            return not conn.execute(query).scalar()

    def deals_query(self) -> Select:
        """The SELECT behind load_deals, with this view's window and teams."""
        deals = self._table(Kind.DEALS)
        columns = [column.label(name) for name, column in deals.columns.items()]
        reps = self._table(Kind.REPS)
        team_from_reps = (
            not deals.has("team")
            and deals.has("owner")
            and reps is not None
            and reps.has("team")
        )
        if team_from_reps:
            team = select(func.max(reps.column("team"))).where(
                reps.column("name") == deals.column("owner")
            )
            columns.append(team.scalar_subquery().label("team"))
        query = select(*columns).select_from(deals.table)
        if self.window is not None:
            window = self._deal_window(deals)
            if window is not None:
                query = query.where(window)
        teams = self._team_filter(deals)
        if teams is not None:
            query = query.where(teams)
        return query

    def load_deals(self, as_of: date | None = None) -> pd.DataFrame:
        """The deals as the database holds them now, in the store's columns.

        Raises KongpanError('no_snapshot') for an as_of before the source's,
        as the store does for a day before its first snapshot. Deals won or
        lost without closed_at take expected_close, as the file importer does.
        """
        if as_of is not None and as_of < self.as_of:
            raise KongpanError("no_snapshot", as_of=as_of)
        deals = self._table(Kind.DEALS)
        rows = self._fetch(self.deals_query(), Kind.DEALS)
        frame = canonical_frame(
            rows, Kind.DEALS, dict(deals.mapping.stages), self.model
        )
        closed = frame["stage"].isin([self.model.won_key, self.model.lost_key])
        fill = closed & frame["closed_at"].isna() & frame["expected_close"].notna()
        frame.loc[fill, "closed_at"] = frame.loc[fill, "expected_close"]
        frame = frame.drop_duplicates("deal_id", keep="last")
        frame.insert(0, "snapshot_id", SOURCE_SNAPSHOT_ID)
        frame.insert(
            1, "source_row", pd.Series(range(1, len(frame) + 1), index=frame.index)
        )
        frame["as_of"] = pd.Timestamp(self.as_of)
        return frame.reset_index(drop=True)

    def load_deal_history(self) -> pd.DataFrame:
        """A live source's history is its one picture."""
        return self.load_deals()

    def load_activities(
        self, start: date | None = None, end: date | None = None
    ) -> pd.DataFrame:
        """Follow-ups with activity_at in [start, end] (else the view's window)."""
        table = self._table(Kind.ACTIVITIES)
        if table is None:
            return pd.DataFrame(columns=["activity_id", *field_names(Kind.ACTIVITIES)])
        if start is None and end is None and self.window is not None:
            start, end = self.window
        columns = [column.label(name) for name, column in table.columns.items()]
        query = select(*columns).select_from(table.table)
        if start is not None or end is not None:
            query = query.where(_on_days(table.column("activity_at"), start, end))
        teams = self._team_filter(table)
        if teams is not None:
            query = query.where(teams)
        rows = self._fetch(query, Kind.ACTIVITIES)
        frame = canonical_frame(rows, Kind.ACTIVITIES, {}, self.model)
        frame.insert(0, "activity_id", range(1, len(frame) + 1))
        frame["snapshot_id"] = SOURCE_SNAPSHOT_ID
        return frame.reset_index(drop=True)

    def load_targets(self, month: str | None = None) -> pd.DataFrame:
        """Targets as (owner, team, month 'YYYY-MM', target); month narrows it."""
        table = self._table(Kind.TARGETS)
        columns = ["owner", "team", "month", "target"]
        if table is None:
            return pd.DataFrame(columns=columns)
        labelled = [column.label(name) for name, column in table.columns.items()]
        query = select(*labelled).select_from(table.table)
        if month:
            query = query.where(self._month_filter(table.column("month"), month))
        teams = self._team_filter(table)
        if teams is not None:
            query = query.where(teams)
        rows = self._fetch(query, Kind.TARGETS)
        frame = canonical_frame(rows, Kind.TARGETS, {}, self.model)[columns]
        if month:
            frame = frame[frame["month"] == month]
        return frame.sort_values(["month", "owner"]).reset_index(drop=True)

    @staticmethod
    def _month_filter(column: Column, month: str):
        first = date.fromisoformat(f"{month}-01")
        if isinstance(column.type, sqltypes.Date | sqltypes.DateTime):
            following = (pd.Timestamp(first) + pd.offsets.MonthBegin(1)).date()
            return _on_days(column, first, following - timedelta(days=1))
        return column.like(f"{month}%")

    def load_reps(self) -> pd.DataFrame:
        columns = ["name", "team", "supervisor", "active", "left_on"]
        table = self._table(Kind.REPS)
        if table is None:
            return pd.DataFrame(columns=columns)
        labelled = [column.label(name) for name, column in table.columns.items()]
        query = select(*labelled).select_from(table.table)
        teams = self._team_filter(table)
        if teams is not None:
            query = query.where(teams)
        rows = self._fetch(query, Kind.REPS)
        frame = canonical_frame(rows, Kind.REPS, {}, self.model)[columns]
        return frame.sort_values("name").reset_index(drop=True)

    def count_rows(self) -> dict[str, int]:
        """Rows in each profile table (the connection test shows them)."""
        counts = {}
        with self._reading() as conn:
            for reflected in self.tables().values():
                query = select(func.count()).select_from(reflected.table)
                counts[reflected.mapping.key] = int(conn.execute(query).scalar())
        return counts

    def dispose(self) -> None:
        self.engine.dispose()
