"""Mapping profiles: which tables and columns of a CRM's database hold what.

A profile is a TOML file in data/sources/ (KONGPAN_SOURCES_DIR overrides the
folder); its file stem is the source's id. See data/sources/example_maven.toml
for every setting. Checked here, before any connection: every key is known,
every canonical field exists, every table and column name is a plain
identifier (letters, digits, `_`; no spaces, quotes, dots or SQL), every
stage value maps to a stage of data/stages.toml. A problem raises
KongpanError naming the profile file and the key, e.g. `deals.columns.amount`.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sales_core.errors import KongpanError
from sales_core.schema import Kind, field_names
from sales_core.stages import StageModel, default_model

SOURCES_DIR = Path(__file__).resolve().parents[2] / "data" / "sources"
TOP_KEYS = ("name", "url", "url_env", "schema", "as_of", *(kind.value for kind in Kind))
SECTION_KEYS = ("table", "columns", "stages")
# A section of the profile must map these canonical fields.
REQUIRED_COLUMNS = {
    Kind.DEALS: ("deal_id", "stage"),
    Kind.ACTIVITIES: ("activity_at",),
    Kind.TARGETS: ("month", "target"),
    Kind.REPS: ("name",),
}


def sources_dir() -> Path:
    """The folder of profiles: KONGPAN_SOURCES_DIR, else data/sources."""
    override = os.environ.get("KONGPAN_SOURCES_DIR")
    return Path(override) if override else SOURCES_DIR


def is_identifier(name: object) -> bool:
    """A plain table or column name: letters (any script), digits and `_` only."""
    return isinstance(name, str) and name.isidentifier() and len(name) <= 128


@dataclass(frozen=True)
class TableMap:
    """One canonical table in the CRM: its table, field → column, stage values."""

    key: str  # the profile's section: "deals", "activities", ...
    table: str
    columns: MappingProxyType  # canonical field → CRM column
    stages: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))

    def column_key(self, field_name: str) -> str:
        """The profile key that names a field's column, for messages."""
        return f"{self.key}.columns.{field_name}"


@dataclass(frozen=True)
class SourceProfile:
    """A checked mapping profile (its URL is read when connecting)."""

    id: str
    path: Path
    title: str
    url: str | None
    url_env: str | None
    schema: str | None
    as_of: date | None
    tables: MappingProxyType  # Kind → TableMap

    @property
    def file_name(self) -> str:
        return self.path.name

    def table(self, kind: Kind) -> TableMap | None:
        return self.tables.get(kind)

    def database_url(self) -> str:
        """The URL from the environment variable, else the profile's `url`."""
        from_env = os.environ.get(self.url_env) if self.url_env else None
        url = from_env or self.url
        if not url:
            raise KongpanError(
                "source_no_url",
                profile=self.file_name,
                variable=self.url_env or "url",
            )
        return url


def _fail(code: str, profile: str, **params: object) -> KongpanError:
    return KongpanError(code, profile=profile, **params)


def _check_keys(given: dict, allowed: tuple[str, ...], prefix: str, profile: str):
    for key in given:
        if key not in allowed:
            raise _fail("source_unknown_key", profile, key=f"{prefix}{key}")


def _name(value: Any, key: str, profile: str) -> str:
    if not is_identifier(value):
        raise _fail("source_bad_name", profile, key=key, value=value)
    return value


def _stage_map(raw: Any, key: str, profile: str, model: StageModel) -> dict[str, str]:
    """CRM stage value (as text) → stage key; values must be known stage keys."""
    if not isinstance(raw, dict):
        raise _fail("source_missing_key", profile, key=key)
    stages = {}
    for value, stage in raw.items():
        if stage not in model.keys:
            raise _fail(
                "source_bad_stage",
                profile,
                key=f"{key}.{value}",
                value=stage,
                choices=", ".join(model.keys),
            )
        stages[str(value)] = stage
    return stages


def _table_map(kind: Kind, raw: Any, profile: str, model: StageModel) -> TableMap:
    prefix = f"{kind.value}."
    if not isinstance(raw, dict):
        raise _fail("source_missing_key", profile, key=f"{prefix}table")
    _check_keys(
        raw, SECTION_KEYS if kind == Kind.DEALS else SECTION_KEYS[:2], prefix, profile
    )
    if "table" not in raw:
        raise _fail("source_missing_key", profile, key=f"{prefix}table")
    table = _name(raw["table"], f"{prefix}table", profile)
    given = raw.get("columns")
    if not isinstance(given, dict):
        raise _fail("source_missing_key", profile, key=f"{prefix}columns")
    known = field_names(kind)
    columns = {}
    for field_name, column in given.items():
        key = f"{prefix}columns.{field_name}"
        if field_name not in known:
            raise _fail("source_unknown_key", profile, key=key)
        columns[field_name] = _name(column, key, profile)
    for needed in REQUIRED_COLUMNS[kind]:
        if needed not in columns:
            raise _fail("source_missing_key", profile, key=f"{prefix}columns.{needed}")
    if kind == Kind.TARGETS and not {"owner", "team"} & set(columns):
        raise _fail("source_missing_key", profile, key=f"{prefix}columns.owner")
    stages = {}
    if "stages" in raw:
        stages = _stage_map(raw["stages"], f"{prefix}stages", profile, model)
    return TableMap(
        key=kind.value,
        table=table,
        columns=MappingProxyType(columns),
        stages=MappingProxyType(stages),
    )


def _as_of(raw: Any, profile: str) -> date | None:
    if raw is None:
        return None
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise _fail("source_bad_date", profile, key="as_of", value=raw) from None


def parse_profile(
    config: dict, path: Path, model: StageModel | None = None
) -> SourceProfile:
    """Check a profile's settings (already read from TOML) and build it."""
    model = model or default_model()
    profile = path.name
    _check_keys(config, TOP_KEYS, "", profile)
    if Kind.DEALS.value not in config:
        raise _fail("source_missing_key", profile, key="deals.table")
    schema = config.get("schema")
    if schema is not None:
        schema = _name(schema, "schema", profile)
    url_env = config.get("url_env")
    if url_env is not None and not is_identifier(url_env):
        raise _fail("source_bad_name", profile, key="url_env", value=url_env)
    tables = {
        kind: _table_map(kind, config[kind.value], profile, model)
        for kind in Kind
        if kind.value in config
    }
    return SourceProfile(
        id=path.stem,
        path=path,
        title=str(config.get("name") or path.stem),
        url=config.get("url"),
        url_env=url_env,
        schema=schema,
        as_of=_as_of(config.get("as_of"), profile),
        tables=MappingProxyType(tables),
    )


def load_profile(path: Path, model: StageModel | None = None) -> SourceProfile:
    """Read and check one profile file."""
    try:
        with path.open("rb") as handle:
            config = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise _fail("source_bad_toml", path.name, reason=error) from None
    except OSError:
        raise KongpanError("file_not_found", file=path.name) from None
    return parse_profile(config, path, model)


def profile_paths(folder: Path | None = None) -> dict[str, Path]:
    """Every profile file in the folder, by id (file stem), sorted."""
    folder = folder or sources_dir()
    if not folder.is_dir():
        return {}
    return {path.stem: path for path in sorted(folder.glob("*.toml"))}


def find_profile(source_id: str, folder: Path | None = None) -> SourceProfile:
    """The profile with this id, or a message listing the ones there are."""
    paths = profile_paths(folder)
    if source_id not in paths:
        raise KongpanError(
            "source_unknown", name=source_id, names=", ".join(paths) or "-"
        )
    return load_profile(paths[source_id])
