"""The play library (理打法 / 管活): plays per customer type, objection
scripts, stage SOPs and templates, and timing rules, kept in the app's database.

Tables `plays` and `play_changes` live on sales_core.store.metadata. The
library is seeded from data/playbook.toml the first time it is used on a
store; after that it is edited in the app or through these functions, and
every add, edit, retire and restore is written to play_changes with who,
what (each field's old and new value) and when. Retired plays are hidden from
lookups but keep their row and their history.

Lookups run in Python over the whole library, which holds dozens to a few
hundred plays; text search folds width and case (NFKC) and looks in titles,
bodies, steps, templates, tags and keywords in both languages.

This module is also where the page and the command line get the playbook's
figures (win rate per customer type, stage coverage, plays judged by
outcomes): each loads the frames once and calls sales_core.metrics.plays.
"""

from __future__ import annotations

import json
import logging
import threading
import tomllib
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from sales_core import store as store_tables
from sales_core.errors import KongpanError
from sales_core.metrics.plays import (
    MIN_DEALS,
    compare_plays,
    fold_customer_type,
    play_usage,
    stage_coverage,
    win_rate_by_customer_type,
)
from sales_core.schema import Kind, field_names
from sales_core.stages import StageModel, default_model
from sales_core.store import MYSQL_TABLE, Store, metadata, write_lock
from sales_core.text import clean_text, fold

log = logging.getLogger(__name__)

PLAYBOOK_CONFIG = Path(__file__).resolve().parent.parent / "data" / "playbook.toml"
KINDS = ("customer_type", "objection", "stage_sop", "template", "timing")
LANGS = ("zh", "en")
TEXT_FIELDS = ("title", "body", "steps", "template")
LIST_FIELDS = ("stages", "tags", "keywords")
EDITABLE = (
    "kind", "customer_type", *LIST_FIELDS,
    *(f"{name}_{lang}" for name in TEXT_FIELDS for lang in LANGS),
)  # fmt: skip
SEED_EDITOR = "playbook.toml"
# Deal columns a team may use to write down the play used on a deal.
PLAY_COLUMNS = ("note", "next_step", "deal_name", "product", "source", "intent")

plays = Table(
    "plays",
    metadata,
    Column("play_id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(120), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("customer_type", String(64)),
    Column("stages", Text, nullable=False),
    Column("tags", Text, nullable=False),
    Column("keywords", Text, nullable=False),
    *(Column(f"{name}_{lang}", Text) for name in TEXT_FIELDS for lang in LANGS),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("updated_by", Text, nullable=False),
    Column("retired_at", DateTime),
    Column("retired_by", Text),
    **MYSQL_TABLE,
)

play_changes = Table(
    "play_changes",
    metadata,
    Column("change_id", Integer, primary_key=True, autoincrement=True),
    Column("play_id", Integer, ForeignKey("plays.play_id"), nullable=False),
    Column("play_key", String(120), nullable=False),
    Column("action", String(16), nullable=False),
    Column("changed_by", Text, nullable=False),
    Column("changed_at", DateTime, nullable=False),
    Column("changes", Text, nullable=False),
    Column("note", Text),
    Index("ix_play_changes_play", "play_id"),
    **MYSQL_TABLE,
)

_JSON_COLUMNS = (*LIST_FIELDS, "steps_zh", "steps_en")


# ---------------------------------------------------------------- customer types


@dataclass(frozen=True)
class CustomerType:
    """A customer type, its names and the spellings exports use for it."""

    key: str
    zh: str
    en: str
    aliases: tuple[str, ...] = ()

    def name(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@lru_cache(maxsize=4)
def customer_types(path: Path = PLAYBOOK_CONFIG) -> dict[str, CustomerType]:
    """The customer types of data/playbook.toml, in the file's order."""
    with path.open("rb") as handle:
        config = tomllib.load(handle)
    return {
        key: CustomerType(
            key, entry["zh"], entry["en"], tuple(entry.get("aliases", ()))
        )
        for key, entry in config.get("customer_types", {}).items()
    }


@lru_cache(maxsize=4)
def customer_type_aliases(path: Path = PLAYBOOK_CONFIG) -> dict[str, str]:
    """Folded spelling → type key, for every key, name and alias in the file.

    Raises ValueError naming the file when one spelling is given to two types.
    """
    aliases: dict[str, str] = {}
    for kind in customer_types(path).values():
        for spelling in (kind.key, kind.zh, kind.en, *kind.aliases):
            other = aliases.setdefault(fold_customer_type(spelling), kind.key)
            if other != kind.key:
                raise ValueError(
                    f"{path}: customer type spelling {spelling!r} is given to "
                    f"both {other} and {kind.key}"
                )
    return aliases


def customer_type_key(raw: object) -> str | None:
    """The type key for a spelling such as 喜欢比价 or "price comparer"; None if unknown."""
    if raw is None:
        return None
    return customer_type_aliases().get(fold_customer_type(raw))


def customer_type_name(key: str | None, lang: str) -> str:
    """A type key's display name; an unknown spelling shows as itself."""
    if key is None:
        return "未知" if lang == "zh" else "Unknown"
    known = customer_types().get(key)
    return known.name(lang) if known else key


def _resolve_type(raw: object) -> str | None:
    """A customer type argument as its key; blank is None; unknown is an error."""
    if raw is None or clean_text(raw) is None:
        return None
    key = customer_type_key(raw)
    if key is None:
        choices = ", ".join(
            f"{kind.key} ({kind.zh})" for kind in customer_types().values()
        )
        raise KongpanError("playbook_bad_type", value=raw, choices=choices)
    return key


def _resolve_stage(raw: object, model: StageModel) -> str | None:
    """A stage argument (key or any alias) as its key; blank is None."""
    if raw is None or clean_text(raw) is None:
        return None
    key = model.match(raw)
    if key is None:
        choices = ", ".join(f"{stage.key} ({stage.zh})" for stage in model.stages)
        raise KongpanError("playbook_bad_stage", value=raw, choices=choices)
    return key


# ---------------------------------------------------------------- plays


@dataclass(frozen=True)
class Play:
    """One playbook entry, shown in `lang` (the other language fills any gap)."""

    play_id: int
    key: str
    kind: str
    customer_type: str | None
    stages: tuple[str, ...]
    tags: tuple[str, ...]
    keywords: tuple[str, ...]
    texts: Mapping[str, Mapping[str, Any]] = field(repr=False)
    version: int = 1
    updated_at: datetime | None = None
    updated_by: str | None = None
    retired_at: datetime | None = None
    retired_by: str | None = None
    lang: str = "zh"

    @property
    def retired(self) -> bool:
        return self.retired_at is not None

    def text(self, name: str, lang: str | None = None) -> Any:
        """Field `name` (title, body, steps, template) in `lang`, else the other one."""
        first = lang or self.lang
        for code in (first, *(code for code in LANGS if code != first)):
            value = self.texts.get(code, {}).get(name)
            if value:
                return value
        return () if name == "steps" else ""

    @property
    def title(self) -> str:
        return self.text("title")

    @property
    def body(self) -> str:
        return self.text("body")

    @property
    def steps(self) -> tuple[str, ...]:
        return tuple(self.text("steps"))

    @property
    def template(self) -> str:
        return self.text("template")

    def in_lang(self, lang: str) -> Play:
        return replace(self, lang=lang)

    def fields(self) -> dict[str, Any]:
        """The editable fields as stored (EDITABLE names)."""
        values: dict[str, Any] = {
            "kind": self.kind, "customer_type": self.customer_type,
            "stages": list(self.stages), "tags": list(self.tags),
            "keywords": list(self.keywords),
        }  # fmt: skip
        for name in TEXT_FIELDS:
            for lang in LANGS:
                value = self.texts.get(lang, {}).get(name)
                values[f"{name}_{lang}"] = (
                    list(value or ()) if name == "steps" else value
                )
        return values

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view: shown texts in `lang`, plus both languages."""
        return {
            "key": self.key, "kind": self.kind, "customer_type": self.customer_type,
            "stages": list(self.stages), "tags": list(self.tags),
            "keywords": list(self.keywords), "title": self.title, "body": self.body,
            "steps": list(self.steps), "template": self.template,
            "version": self.version, "retired": self.retired,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "updated_by": self.updated_by,
            "zh": {name: self.fields()[f"{name}_zh"] for name in TEXT_FIELDS},
            "en": {name: self.fields()[f"{name}_en"] for name in TEXT_FIELDS},
        }  # fmt: skip


def _play_of(row: Mapping[str, Any], lang: str) -> Play:
    texts = {
        code: {name: row[f"{name}_{code}"] for name in TEXT_FIELDS} for code in LANGS
    }
    for code in LANGS:
        texts[code]["steps"] = tuple(json.loads(row[f"steps_{code}"] or "[]"))
    return Play(
        play_id=row["play_id"], key=row["key"], kind=row["kind"],
        customer_type=row["customer_type"],
        stages=tuple(json.loads(row["stages"])), tags=tuple(json.loads(row["tags"])),
        keywords=tuple(json.loads(row["keywords"])), texts=texts,
        version=row["version"], updated_at=_stamp(row["updated_at"]),
        updated_by=row["updated_by"], retired_at=_stamp(row["retired_at"]),
        retired_by=row["retired_by"], lang=lang,
    )  # fmt: skip


def _stamp(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


# ---------------------------------------------------------------- drafts


def _as_list(value: Any, separators: str = ",，、;；\n") -> list[str]:
    """Distinct, stripped, non-blank strings (kept as typed) from a list or a
    separated string."""
    if value is None:
        return []
    if isinstance(value, str):
        for separator in separators[1:]:
            value = value.replace(separator, separators[0])
        value = value.split(separators[0])
    items = (str(item).strip() for item in value if item is not None)
    return list(dict.fromkeys(item for item in items if item))


def _as_text(value: Any) -> str | None:
    """Text kept as typed (line breaks too), None when blank."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def clean_fields(values: Mapping[str, Any], model: StageModel | None = None) -> dict:
    """Validate and normalize editable fields (any subset of EDITABLE).

    kind must be one of KINDS; customer_type a known type spelling or blank;
    stages stage keys or names; tags, keywords lists or comma-separated text;
    steps a list or one step per line. Unknown field names are refused.
    """
    model = model or default_model()
    unknown = set(values) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not editable play fields: {sorted(unknown)}")
    clean: dict[str, Any] = {}
    for name, value in values.items():
        if name == "kind":
            if value not in KINDS:
                raise KongpanError("playbook_bad_kind", value=value,
                                   choices=", ".join(KINDS))  # fmt: skip
            clean[name] = value
        elif name == "customer_type":
            clean[name] = _resolve_type(value)
        elif name == "stages":
            stages = [_resolve_stage(stage, model) for stage in _as_list(value)]
            clean[name] = [key for key in model.keys if key in stages]
        elif name in ("tags", "keywords"):
            clean[name] = _as_list(value)
        elif name.startswith("steps_"):
            clean[name] = _as_list(value, "\n")
        else:
            clean[name] = _as_text(value)
    return clean


def _check_editor(by: str | None) -> str:
    editor = clean_text(by)
    if editor is None:
        raise KongpanError("playbook_no_editor")
    return editor


def _check_title(fields: Mapping[str, Any]) -> None:
    if not (fields.get("title_zh") or fields.get("title_en")):
        raise KongpanError("playbook_no_title")


def _row_values(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Cleaned fields as column values (lists as JSON text)."""
    row = dict(fields)
    for name in _JSON_COLUMNS:
        if name in row:
            row[name] = json.dumps(row[name] or [], ensure_ascii=False)
    return row


def load_seed(
    path: Path = PLAYBOOK_CONFIG, model: StageModel | None = None
) -> list[dict]:
    """The seed plays of data/playbook.toml as (key, cleaned fields) dicts.

    Raises ValueError naming the file and the play when an entry is invalid.
    """
    with path.open("rb") as handle:
        config = tomllib.load(handle)
    seed = []
    for position, entry in enumerate(config.get("play", []), start=1):
        key = entry.get("key") or f"#{position}"
        values = {
            name: entry.get(name) for name in ("kind", "customer_type", *LIST_FIELDS)
        }
        for lang in LANGS:
            for name in TEXT_FIELDS:
                values[f"{name}_{lang}"] = entry.get(lang, {}).get(name)
        try:
            fields = clean_fields(values, model)
            _check_title(fields)
        except KongpanError as error:
            raise ValueError(f"{path}: play {key}: {error.message('en')}") from None
        seed.append({"key": key, **fields})
    keys = [entry["key"] for entry in seed]
    if len(set(keys)) != len(keys):
        raise ValueError(f"{path}: a play key is used twice")
    return seed


# ---------------------------------------------------------------- storage

_ready: weakref.WeakSet[Engine] = weakref.WeakSet()
_ready_lock = threading.Lock()


def ensure_playbook(store: Store) -> None:
    """Create the playbook tables and seed an empty library (idempotent).

    Every public function here calls it first; after the first call per
    engine it costs nothing.
    """
    if store.engine in _ready:
        return
    with _ready_lock:
        if store.engine in _ready:
            return
        metadata.create_all(store.engine)
        _seed(store)
        _ready.add(store.engine)


def _seed(store: Store) -> None:
    """Fill an empty library from data/playbook.toml, recorded as 'seed' changes."""
    seed = load_seed()

    def work(conn: Connection) -> int:
        if conn.execute(select(func.count()).select_from(plays)).scalar():
            return 0
        now = datetime.now()
        for entry in seed:
            fields = {name: value for name, value in entry.items() if name != "key"}
            _insert_play(conn, entry["key"], fields, SEED_EDITOR, now, "seed")
        return len(seed)

    try:
        added = _write(store, work)
    except IntegrityError:
        log.info("playbook already seeded by another process")
        return
    if added:
        log.info("playbook seeded with %d plays from %s", added, PLAYBOOK_CONFIG.name)


def _write(store: Store, work):
    """One write transaction under the store-wide writer lock (store.write_lock)."""
    with write_lock(store.engine) as conn:
        return work(conn)


def _insert_play(
    conn: Connection, key: str, fields: Mapping[str, Any], by: str, at: datetime,
    action: str,
) -> int:  # fmt: skip
    row = {name: None for name in EDITABLE}
    row.update({name: [] for name in (*LIST_FIELDS, "steps_zh", "steps_en")})
    row.update(fields)
    play_id = conn.execute(
        insert(plays).values(
            key=key, version=1, created_at=at, updated_at=at, updated_by=by,
            **_row_values(row),
        )
    ).inserted_primary_key[0]  # fmt: skip
    changes = {name: [None, value] for name, value in row.items() if value}
    _record(conn, play_id, key, action, by, at, changes)
    return play_id


def _record(conn, play_id, key, action, by, at, changes, note=None) -> None:
    conn.execute(
        insert(play_changes).values(
            play_id=play_id, play_key=key, action=action, changed_by=by,
            changed_at=at, changes=json.dumps(changes, ensure_ascii=False),
            note=note,
        )
    )  # fmt: skip


def library_version(store: Store) -> str:
    """A token that changes with every change to the library: a cache key."""
    ensure_playbook(store)
    with store.engine.connect() as conn:
        newest = conn.execute(select(func.max(play_changes.c.change_id))).scalar()
    return f"p{newest or 0}"


def list_plays(
    store: Store, lang: str = "zh", include_retired: bool = False
) -> list[Play]:
    """Every play in library order (seed order, then as added)."""
    ensure_playbook(store)
    query = select(plays).order_by(plays.c.play_id)
    if not include_retired:
        query = query.where(plays.c.retired_at.is_(None))
    with store.engine.connect() as conn:
        return [_play_of(row, lang) for row in conn.execute(query).mappings()]


def get_play(store: Store, key: str, lang: str = "zh") -> Play:
    """One play by key, retired or not; KongpanError when there is none."""
    ensure_playbook(store)
    with store.engine.connect() as conn:
        row = conn.execute(select(plays).where(plays.c.key == key)).mappings().first()
    if row is None:
        raise KongpanError("playbook_unknown_play", key=key)
    return _play_of(row, lang)


# ---------------------------------------------------------------- lookup


def _search_text(play: Play) -> str:
    """Everything text search looks in, folded."""
    parts: list[str] = [*play.tags, *play.keywords]
    for lang in LANGS:
        for name in TEXT_FIELDS:
            value = play.text(name, lang)
            parts.extend(value if name == "steps" else [value])
    return fold("\n".join(parts))


def _relevance(play: Play, words: list[str]) -> tuple[int, int]:
    """(words found in the titles, occurrences of the words anywhere)."""
    titles = fold(f"{play.text('title', 'zh')}\n{play.text('title', 'en')}")
    everywhere = _search_text(play)
    return (
        sum(word in titles for word in words),
        sum(everywhere.count(word) for word in words),
    )


def find_plays(
    store: Store,
    customer_type: str | None = None,
    stage: str | None = None,
    tag: str | None = None,
    text: str | None = None,
    kind: str | None = None,
    lang: str = "zh",
    model: StageModel | None = None,
) -> list[Play]:
    """Active plays matching every filter given.

    customer_type: any known spelling (有意向但犹豫, "price comparer", a key);
    the play must be for that type. stage: a key or stage name the play
    names. tag: one of the play's tags (folded). text: every whitespace-
    separated word must occur in the play's titles, bodies, steps, templates,
    tags or keywords, Chinese or English, width and case folded; plays whose
    titles hold more of the words come first, then those that mention them
    more often, then library order. kind: one of KINDS.
    Unknown customer types, stages and kinds raise KongpanError.
    """
    model = model or default_model()
    type_key = _resolve_type(customer_type)
    stage_key = _resolve_stage(stage, model)
    if kind is not None and kind not in KINDS:
        raise KongpanError("playbook_bad_kind", value=kind, choices=", ".join(KINDS))
    wanted_tag = fold(tag) if clean_text(tag) else None
    words = fold(text).split() if clean_text(text) else []
    found = []
    for play in list_plays(store, lang):
        if type_key and play.customer_type != type_key:
            continue
        if stage_key and stage_key not in play.stages:
            continue
        if kind and play.kind != kind:
            continue
        if wanted_tag and wanted_tag not in {fold(item) for item in play.tags}:
            continue
        if words and not all(word in _search_text(play) for word in words):
            continue
        found.append(play)
    return sorted(found, key=lambda play: tuple(-n for n in _relevance(play, words)))


def tags_in_use(store: Store) -> list[str]:
    """Every tag of the active plays, in first-seen order."""
    return list(dict.fromkeys(tag for play in list_plays(store) for tag in play.tags))


def _suggestion_rank(
    play: Play, type_key: str | None, stage_key: str | None, model: StageModel
) -> int | None:
    """Lower is better; None when the play does not fit the deal.

    For an open deal: a play for its customer type naming its stage, then one
    for its type at any stage, then the stage's SOP, then its template. For a
    won or lost deal the stage's SOP comes first (handover, loss review).
    """
    for_type = type_key is not None and play.customer_type == type_key
    at_stage = stage_key is not None and stage_key in play.stages
    closed = stage_key is not None and not model.get(stage_key).is_open
    if for_type and at_stage:
        return 1
    if for_type and not play.stages and not closed:
        return 2
    if at_stage and play.customer_type is None and play.kind == "stage_sop":
        return 0 if closed else 3
    if at_stage and play.customer_type is None and play.kind == "template":
        return 4
    return None


def _best_play(
    library: Iterable[Play], type_key: str | None, stage_key: str | None,
    model: StageModel,
) -> Play | None:  # fmt: skip
    ranked = [
        (rank, play.play_id, play)
        for play in library
        if (rank := _suggestion_rank(play, type_key, stage_key, model)) is not None
    ]
    return min(ranked, key=lambda item: item[:2])[2] if ranked else None


def suggested_play(
    store: Store, customer_type: str | None, stage: str | None, lang: str = "zh"
) -> Play | None:
    """The play to put in front of a rep for a deal of this customer type and stage.

    customer_type is the deal's raw value (any known spelling, such as 喜欢比价
    or 有兴趣但犹豫) or a type key; stage is a stage key (or a stage name).
    Either may be None. Returns, best first: a play for the customer type
    that names the stage; a play for the type at any stage; the stage's SOP;
    the stage's template (for a won or lost deal the stage's SOP comes
    first). None when nothing fits. Unknown spellings and stages count as
    unknown rather than raising, so a board of raw deals can call it freely.
    """
    model = default_model()
    type_key = customer_type_key(customer_type)
    stage_key = model.match(stage) if stage is not None else None
    return _best_play(list_plays(store, lang), type_key, stage_key, model)


def suggested_plays(
    store: Store, deals: pd.DataFrame, lang: str = "zh"
) -> pd.DataFrame:
    """suggested_play for every deal at once (the library is read once).

    Columns: deal_id, play_key, play_title; one row per deal, in its order,
    play_key None where nothing fits.
    """
    model = default_model()
    library = list_plays(store, lang)
    rows = []
    for deal_id, raw_type, stage in zip(
        deals["deal_id"], deals["customer_type"], deals["stage"], strict=True
    ):
        type_key = customer_type_key(raw_type) if isinstance(raw_type, str) else None
        stage_key = stage if isinstance(stage, str) and stage in model.keys else None
        play = _best_play(library, type_key, stage_key, model)
        rows.append((deal_id, play.key if play else None, play.title if play else None))
    return pd.DataFrame(
        rows, columns=["deal_id", "play_key", "play_title"], dtype=object
    )


# ---------------------------------------------------------------- changes


def add_play(
    store: Store,
    fields: Mapping[str, Any],
    by: str,
    key: str | None = None,
    at: datetime | None = None,
) -> Play:
    """Add a play (fields: any of EDITABLE; kind and a title are required).

    key defaults to "<kind>.<n>" with the next free number. The change is
    recorded as 'add' by `by` at `at` (default now).
    """
    ensure_playbook(store)
    editor = _check_editor(by)
    clean = clean_fields(fields)
    if "kind" not in clean:
        raise KongpanError("playbook_bad_kind", value="", choices=", ".join(KINDS))
    _check_title(clean)
    when = at or datetime.now()

    def work(conn: Connection) -> str:
        new_key = clean_text(key) or _next_key(conn, clean["kind"])
        taken = conn.execute(select(plays.c.play_id).where(plays.c.key == new_key))
        if taken.first() is not None:
            raise KongpanError("playbook_key_taken", key=new_key)
        _insert_play(conn, new_key, clean, editor, when, "add")
        return new_key

    new_key = _write(store, work)
    log.info("play %s added by %s", new_key, editor)
    return get_play(store, new_key)


def _next_key(conn: Connection, kind: str) -> str:
    newest = conn.execute(select(func.max(plays.c.play_id))).scalar() or 0
    return f"{kind}.{newest + 1}"


def edit_play(
    store: Store,
    key: str,
    changes: Mapping[str, Any],
    by: str,
    at: datetime | None = None,
    note: str | None = None,
) -> Play:
    """Change fields of an active play; record each field's old and new value.

    Fields that end up as they were are not recorded; an edit that changes
    nothing records nothing and returns the play as it is.
    """
    ensure_playbook(store)
    editor = _check_editor(by)
    clean = clean_fields(changes)
    when = at or datetime.now()

    def work(conn: Connection) -> bool:
        row = conn.execute(select(plays).where(plays.c.key == key)).mappings().first()
        if row is None:
            raise KongpanError("playbook_unknown_play", key=key)
        if row["retired_at"] is not None:
            raise KongpanError("playbook_retired", key=key)
        before = _play_of(row, "zh").fields()
        diff = {name: [before[name], value] for name, value in clean.items()
                if value != before[name]}  # fmt: skip
        if not diff:
            return False
        _check_title({**before, **clean})
        conn.execute(
            update(plays).where(plays.c.play_id == row["play_id"]).values(
                version=row["version"] + 1, updated_at=when, updated_by=editor,
                **_row_values({name: clean[name] for name in diff}),
            )
        )  # fmt: skip
        _record(conn, row["play_id"], key, "edit", editor, when, diff, note)
        return True

    if _write(store, work):
        log.info("play %s edited by %s", key, editor)
    return get_play(store, key)


def retire_play(
    store: Store, key: str, by: str, note: str | None = None, at: datetime | None = None
) -> Play:
    """Hide a play from lookups; its row and history stay (restore_play undoes it)."""
    return _set_retired(store, key, by, note, at, retire=True)


def restore_play(
    store: Store, key: str, by: str, note: str | None = None, at: datetime | None = None
) -> Play:
    """Bring a retired play back into lookups."""
    return _set_retired(store, key, by, note, at, retire=False)


def _set_retired(store, key, by, note, at, retire: bool) -> Play:
    ensure_playbook(store)
    editor = _check_editor(by)
    when = at or datetime.now()

    def work(conn: Connection) -> None:
        row = conn.execute(select(plays).where(plays.c.key == key)).mappings().first()
        if row is None:
            raise KongpanError("playbook_unknown_play", key=key)
        if (row["retired_at"] is not None) == retire:
            return
        conn.execute(
            update(plays).where(plays.c.play_id == row["play_id"]).values(
                retired_at=when if retire else None,
                retired_by=editor if retire else None,
                version=row["version"] + 1, updated_at=when, updated_by=editor,
            )
        )  # fmt: skip
        action = "retire" if retire else "restore"
        _record(conn, row["play_id"], key, action, editor, when,
                {"retired": [not retire, retire]}, note)  # fmt: skip

    _write(store, work)
    log.info("play %s %s by %s", key, "retired" if retire else "restored", editor)
    return get_play(store, key)


def play_history(store: Store, key: str | None = None) -> pd.DataFrame:
    """Who changed what and when, newest first (one play, or the whole library).

    Columns: change_id, play_key, action (seed, add, edit, retire, restore),
    changed_by, changed_at, fields (names changed), changes ({field: [old,
    new]}), note.
    """
    ensure_playbook(store)
    query = select(play_changes).order_by(play_changes.c.change_id.desc())
    if key is not None:
        query = query.where(play_changes.c.play_key == key)
    with store.engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    records = []
    for row in rows:
        changes = json.loads(row["changes"])
        records.append({
            "change_id": row["change_id"], "play_key": row["play_key"],
            "action": row["action"], "changed_by": row["changed_by"],
            "changed_at": _stamp(row["changed_at"]), "fields": sorted(changes),
            "changes": changes, "note": row["note"],
        })  # fmt: skip
    columns = ["change_id", "play_key", "action", "changed_by", "changed_at",
               "fields", "changes", "note"]  # fmt: skip
    return pd.DataFrame(records, columns=columns)


# ---------------------------------------------------------------- reports


def plays_frame(store: Store, include_retired: bool = False) -> pd.DataFrame:
    """The library as a frame for the metrics: key, kind, customer_type,
    stages (tuple), retired, keywords (tuple), title_zh, title_en."""
    rows = [
        {
            "key": play.key, "kind": play.kind, "customer_type": play.customer_type,
            "stages": play.stages, "retired": play.retired, "keywords": play.keywords,
            "title_zh": play.text("title", "zh"), "title_en": play.text("title", "en"),
        }
        for play in list_plays(store, include_retired=include_retired)
    ]  # fmt: skip
    columns = ["key", "kind", "customer_type", "stages", "retired", "keywords",
               "title_zh", "title_en"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def _current_deals(
    store: Store, as_of: date | None
) -> tuple[date | None, pd.DataFrame]:
    """(as_of, deals) of the newest snapshot on or before as_of.

    (None, an empty deals frame) when there is no such snapshot.
    """
    week = store.latest_as_of(as_of)
    if week is None:
        return None, pd.DataFrame(columns=[*field_names(Kind.DEALS), "as_of"])
    return week, store.load_deals(week)


def customer_type_win_rates(
    store: Store, as_of: date | None = None, min_deals: int = MIN_DEALS
) -> pd.DataFrame:
    """Win rate so far per customer type on the snapshot as of `as_of` (newest
    by default): metrics.plays.win_rate_by_customer_type."""
    _, deals = _current_deals(store, as_of)
    return win_rate_by_customer_type(deals, customer_type_aliases(), default_model(),
                                     min_deals)  # fmt: skip


def coverage_report(store: Store, as_of: date | None = None) -> pd.DataFrame:
    """For each stage: scripts/SOPs in the library, deals there and idle deals
    (metrics.plays.stage_coverage) on the snapshot as of `as_of`."""
    week, deals = _current_deals(store, as_of)
    library = plays_frame(store)
    return stage_coverage(library, deals, week, default_model())


@dataclass
class PlaysReport:
    """Plays judged by outcomes on one snapshot: usage, comparison, summary."""

    as_of: date
    min_deals: int
    play_column: str | None
    usage: pd.DataFrame
    comparison: pd.DataFrame
    summary: pd.DataFrame

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "min_deals": self.min_deals,
            "play_column": self.play_column,
            "plays": _records(self.summary),
            "comparison": _records(self.comparison),
        }


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: NaN as None, numpy scalars as Python ones."""
    clean = frame.astype(object).where(frame.notna(), None)
    records = clean.to_dict("records")
    for record in records:
        for name, value in record.items():
            if hasattr(value, "item"):
                record[name] = value.item()
    return records


def plays_report(
    store: Store,
    as_of: date | None = None,
    min_deals: int = MIN_DEALS,
    play_column: str | None = None,
) -> PlaysReport:
    """Which plays were used and how their deals did (metrics.plays).

    Deals are the snapshot as of `as_of` (newest by default); follow-ups up to
    that day; the deal history up to it tells which stages lost deals had
    reached. A play is matched by its keywords in follow-up summaries (edit a
    play's keywords to change what counts), and, when `play_column` names one
    of PLAY_COLUMNS, by a deals column where the team writes the play used
    (its key or a keyword). The canonical deals schema has no field of its
    own for the play yet, so such a column is one of the free-text ones.
    Active plays only.

    Reads only the columns it needs from the store's deals and activities
    tables (a narrow query here rather than a Store method).
    """
    if play_column is not None and play_column not in PLAY_COLUMNS:
        raise ValueError(f"play_column must be one of {PLAY_COLUMNS}")
    week, deals = _current_deals(store, as_of)
    if week is None:
        raise KongpanError("no_snapshot", as_of=as_of or "-")
    model = default_model()
    library = plays_frame(store)
    activities = _follow_up_texts(store, week)
    history = _stage_history(store, week)
    keywords = dict(zip(library["key"], library["keywords"], strict=True))
    usage = play_usage(deals, activities, keywords, play_column=play_column)
    comparison = compare_plays(deals, usage, library, customer_type_aliases(), model,
                               history, min_deals)  # fmt: skip
    summary = _summary(library, usage, comparison)
    return PlaysReport(week, min_deals, play_column, usage, comparison, summary)


def _stage_history(store: Store, week: date) -> pd.DataFrame:
    """deal_id, stage, lost_at_stage of every deal row in snapshots up to `week`.

    Only the three columns reached_stages needs: the whole history
    (Store.load_deal_history) is many times slower to load.
    """
    query = (
        select(store_tables.deals.c.deal_id, store_tables.deals.c.stage,
               store_tables.deals.c.lost_at_stage)
        .join(store_tables.snapshots,
              store_tables.snapshots.c.snapshot_id == store_tables.deals.c.snapshot_id)
        .where(store_tables.snapshots.c.kind == Kind.DEALS.value)
        .where(store_tables.snapshots.c.as_of <= week)
    )  # fmt: skip
    return _frame(store, query, ["deal_id", "stage", "lost_at_stage"])


def _follow_up_texts(store: Store, week: date) -> pd.DataFrame:
    """deal_id, customer, summary of the follow-ups on or before `week`."""
    table = store_tables.activities
    end = datetime.combine(week, datetime.min.time()) + timedelta(days=1)
    query = select(table.c.deal_id, table.c.customer, table.c.summary).where(
        table.c.activity_at < end
    )
    return _frame(store, query, ["deal_id", "customer", "summary"])


def _frame(store: Store, query, columns: list[str]) -> pd.DataFrame:
    """A query's rows as a frame of object columns, built column by column
    (handing pandas SQLAlchemy rows directly is several times slower)."""
    with store.engine.connect() as conn:
        rows = conn.execute(query).fetchall()
    values = list(zip(*rows, strict=True)) if rows else [()] * len(columns)
    return pd.DataFrame({
        name: pd.Series(column, dtype=object)
        for name, column in zip(columns, values, strict=True)
    })  # fmt: skip


def _summary(
    library: pd.DataFrame, usage: pd.DataFrame, comparison: pd.DataFrame
) -> pd.DataFrame:
    """Per play: deals using it, cells compared, cells with enough deals, and
    cells where the with/without intervals do not overlap."""
    used = usage.assign(
        column=usage["via"].eq("column"), follow_up=usage["via"].eq("follow_up")
    ).groupby("play")
    cells = comparison.assign(
        enough=~comparison["too_few"].astype(bool),
        differ=comparison["conversion_differs"] | comparison["win_rate_differs"],
    ).groupby("play")
    summary = pd.DataFrame({
        "play": library["key"], "kind": library["kind"],
        "deals_using": library["key"].map(used["deal_id"].nunique()),
        "via_column": library["key"].map(used["column"].sum()),
        "via_follow_up": library["key"].map(used["follow_up"].sum()),
        "cells": library["key"].map(cells.size()),
        "cells_enough_deals": library["key"].map(cells["enough"].sum()),
        "cells_differ": library["key"].map(cells["differ"].sum()),
    })  # fmt: skip
    counts = summary.columns[2:]
    summary[counts] = summary[counts].fillna(0).astype(int)
    return summary
