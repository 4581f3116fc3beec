"""Finding the header row, telling the file kind and mapping headers to fields."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from sales_core.schema import REQUIRED, SIGNATURE, Kind, header_aliases
from sales_core.text import clean_text, fold

HEADER_SCAN_ROWS = 30
MIN_HEADER_MATCHES = 2

_UNIT = re.compile(r"\s*[(\[（【][^)\]）】]*[)\]）】]\s*$")
_EXAMPLE = re.compile(r"\s*-\s*例[:：].*$")


def header_keys(header: object) -> list[str]:
    """Folded forms of one header to look up, most literal first.

    '预计金额(元)' also tries '预计金额'; '*跟进内容' tries '跟进内容';
    'Deal - Value' tries 'value'; '跟进时间-例:2020-2-1' tries '跟进时间'.
    """
    key = fold(header)
    keys = [key]
    for variant in (
        key.lstrip("*＊").strip(),
        _UNIT.sub("", key),
        _EXAMPLE.sub("", key),
        key.removeprefix("deal - ").removeprefix("activity - "),
    ):
        if variant and variant not in keys:
            keys.append(variant)
    return keys


def fields_for_header(header: object, kind: Kind) -> list[str]:
    """Canonical fields a header can stand for in a file of `kind`."""
    aliases = header_aliases()[kind]
    for key in header_keys(header):
        if key in aliases:
            return aliases[key]
    return []


def _row_score(cells: list[object]) -> int:
    """How many cells of a row read as known headers of any kind."""
    score = 0
    for cell in cells:
        if clean_text(cell) and any(fields_for_header(cell, kind) for kind in Kind):
            score += 1
    return score


def find_header_row(grid: pd.DataFrame) -> tuple[int | None, int]:
    """(position of the header row in the grid, its score) over the first rows."""
    best, best_score = None, 0
    for position in range(min(HEADER_SCAN_ROWS, len(grid))):
        score = _row_score(grid.iloc[position].tolist())
        if score > best_score:
            best, best_score = position, score
    if best_score < MIN_HEADER_MATCHES:
        return None, best_score
    return best, best_score


@dataclass
class ColumnMapping:
    """Which column index feeds each field, and the columns left over."""

    fields: dict[str, int]
    unmapped: list[int]


def map_columns(headers: list[str | None], kind: Kind) -> ColumnMapping:
    """Give each field the first column whose header names it.

    A header that could mean several fields takes the first one still free;
    a second column for a field already taken stays unmapped, never merged.
    """
    fields: dict[str, int] = {}
    unmapped: list[int] = []
    for index, header in enumerate(headers):
        if header is None:
            continue
        free = [name for name in fields_for_header(header, kind) if name not in fields]
        if free:
            fields[free[0]] = index
        else:
            unmapped.append(index)
    return ColumnMapping(fields, unmapped)


def detect_kind(headers: list[str | None]) -> Kind | None:
    """The kind whose signature columns the headers carry, or None.

    Deals need a stage column; follow-ups a time plus content, method or
    'effective' (a follow-up log that also shows the deal's stage stays a
    follow-up log unless it has amounts, dates or names of deals); targets a target column; reps a name plus supervisor,
    status or leaving date.
    """
    mapped = {kind: set(map_columns(headers, kind).fields) for kind in Kind}
    activities = mapped[Kind.ACTIVITIES]
    follow_up = "activity_at" in activities and bool(
        activities & set(SIGNATURE[Kind.ACTIVITIES][1:])
    )
    deal_only = mapped[Kind.DEALS] & {
        "amount",
        "deal_name",
        "expected_close",
        "closed_at",
        "win_probability",
        "created_at",
    }
    if "stage" in mapped[Kind.DEALS] and not (follow_up and not deal_only):
        return Kind.DEALS
    if follow_up:
        return Kind.ACTIVITIES
    if "target" in mapped[Kind.TARGETS] and "month" in mapped[Kind.TARGETS]:
        return Kind.TARGETS
    reps = mapped[Kind.REPS]
    if "name" in reps and reps & {"supervisor", "active", "left_on", "team"}:
        return Kind.REPS
    return None


def missing_required(fields: dict[str, int], kind: Kind) -> list[str]:
    return [name for name in REQUIRED[kind] if name not in fields]
