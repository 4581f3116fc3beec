"""The stage model: order, names, default probabilities, idle limits, aliases.

The list lives in `data/stages.toml` so a company can change it without code.
Stages are stored by key ("lead", "won", ...); names are for display only.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from sales_core.text import fold

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "data" / "stages.toml"


class StageConfigError(ValueError):
    """The stage configuration file is missing something or contradicts itself."""


@dataclass(frozen=True)
class Stage:
    """One stage of the pipeline."""

    key: str
    zh: str
    en: str
    order: int
    probability: float
    idle_days: int | None
    won: bool = False
    lost: bool = False
    aliases: tuple[str, ...] = field(default=())

    @property
    def is_open(self) -> bool:
        return not (self.won or self.lost)

    def name(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class StageModel:
    """The ordered stages and the alias table that maps CRM names onto them."""

    stages: tuple[Stage, ...]
    alias_map: dict[str, str]

    @property
    def keys(self) -> list[str]:
        return [stage.key for stage in self.stages]

    @property
    def open_keys(self) -> list[str]:
        """Open stages in path order (won and lost excluded)."""
        return [stage.key for stage in self.stages if stage.is_open]

    @property
    def path_keys(self) -> list[str]:
        """The path a deal walks: the open stages, then won (lost is off the path)."""
        return self.open_keys + [self.won_key]

    @property
    def won_key(self) -> str:
        return next(stage.key for stage in self.stages if stage.won)

    @property
    def lost_key(self) -> str:
        return next(stage.key for stage in self.stages if stage.lost)

    def get(self, key: str) -> Stage:
        for stage in self.stages:
            if stage.key == key:
                return stage
        raise KeyError(key)

    def rank(self, key: str) -> int:
        """Position on the path: 0 for the first open stage, won last."""
        return self.path_keys.index(key)

    def name(self, key: str | None, lang: str) -> str:
        if key is None:
            return "未知" if lang == "zh" else "Unknown"
        return self.get(key).name(lang)

    def match(self, raw: object) -> str | None:
        """Return the stage key for a CRM's stage text, or None when unknown.

        Tried as folded text first, then without spaces, underscores and
        punctuation, so 'Closed_Won', '已 成交' and '已成交。' match too.
        """
        key = fold(raw)
        found = self.alias_map.get(key)
        if found is None and key:
            found = _compact_aliases(self).get(_compact(key))
        return found

    def suggest(self, raw: object) -> str | None:
        """The closest known stage key for an unknown value, as a hint only."""
        text = fold(raw)
        if not text:
            return None
        close = difflib.get_close_matches(text, list(self.alias_map), n=1, cutoff=0.6)
        return self.alias_map[close[0]] if close else None


_NOT_WORD = re.compile(r"[\W_]+")


def _compact(text: str) -> str:
    return _NOT_WORD.sub("", text)


_COMPACT_TABLES: dict[int, dict[str, str]] = {}


def _compact_aliases(model: StageModel) -> dict[str, str]:
    """Aliases with spaces and punctuation removed; clashes are left out."""
    cached = _COMPACT_TABLES.get(id(model))
    if cached is not None:
        return cached
    table: dict[str, str] = {}
    clashes = set()
    for alias, key in model.alias_map.items():
        compact = _compact(alias)
        if compact in table and table[compact] != key:
            clashes.add(compact)
        table[compact] = key
    compact = {alias: key for alias, key in table.items() if alias not in clashes}
    _COMPACT_TABLES[id(model)] = compact
    return compact


def _read_stage(entry: dict, order: int, path: Path) -> Stage:
    try:
        key, zh, en = entry["key"], entry["zh"], entry["en"]
    except KeyError as missing:
        raise StageConfigError(f"{path}: stage #{order + 1} has no {missing}") from None
    won, lost = bool(entry.get("won")), bool(entry.get("lost"))
    default_p = 1.0 if won else 0.0 if lost else None
    probability = entry.get("probability", default_p)
    if probability is None or not 0 <= float(probability) <= 1:
        raise StageConfigError(f"{path}: stage {key!r} needs probability in 0..1")
    return Stage(
        key=key,
        zh=zh,
        en=en,
        order=order,
        probability=float(probability),
        idle_days=entry.get("idle_days"),
        won=won,
        lost=lost,
        aliases=tuple(entry.get("aliases", ())),
    )


def load_stage_model(path: Path | None = None) -> StageModel:
    """Read the stage list and build the alias table (names, keys and aliases)."""
    path = path or DEFAULT_CONFIG
    with path.open("rb") as handle:
        config = tomllib.load(handle)
    stages = tuple(
        _read_stage(entry, order, path)
        for order, entry in enumerate(config.get("stage", []))
    )
    if sum(stage.won for stage in stages) != 1 or sum(s.lost for s in stages) != 1:
        raise StageConfigError(f"{path}: exactly one won and one lost stage needed")

    alias_map: dict[str, str] = {}
    for stage in stages:
        for text in (stage.key, stage.zh, stage.en, *stage.aliases):
            other = alias_map.setdefault(fold(text), stage.key)
            if other != stage.key:
                raise StageConfigError(
                    f"{path}: alias {text!r} is given to both {other} and {stage.key}"
                )
    return StageModel(stages=stages, alias_map=alias_map)


@lru_cache(maxsize=1)
def default_model() -> StageModel:
    """The stage model from `data/stages.toml`, read once per process."""
    return load_stage_model()
