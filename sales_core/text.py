"""Folding of free text from exports: width, spaces and case."""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_COMPANY_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "公司")


def fold(value: object) -> str:
    """Return `value` as comparable text: NFKC width folding, one space, lower case.

    Full-width letters, digits and the ideographic space become their
    half-width forms, so "ＷＯＮ　" and "won" fold to the same key.
    """
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value))
    return _SPACES.sub(" ", text).strip().casefold()


def clean_text(value: object, fold_width: bool = True) -> str | None:
    """Trim an export cell to display text; blank cells become None.

    Runs of spaces become one space, the ends are trimmed and control
    characters (which Excel cannot store) are dropped; case is kept.
    With `fold_width` (names, teams, categories) full-width letters and
    digits become half-width (NFKC); free text such as notes keeps its
    punctuation exactly as typed ("，" stays "，").
    """
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    text = unicodedata.normalize("NFKC", str(value)) if fold_width else str(value)
    text = _SPACES.sub(" ", _CONTROL.sub("", text)).strip()
    return text or None


def customer_key(name: object) -> str:
    """Key for matching a customer across files: folded, no spaces or suffix.

    "杭州恒信机械有限公司", "杭州恒信机械 有限公司" and "杭州恒信机械" share a key.
    """
    key = fold(name).replace(" ", "")
    for suffix in _COMPANY_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)]
    return key
