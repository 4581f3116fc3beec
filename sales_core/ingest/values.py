"""Value normalization: dates, amounts, probabilities, yes/no, months.

Each parser takes one raw column (whatever the reader produced: text,
numbers, datetimes, blanks) and returns the parsed column plus a mask of
cells that held something but could not be read. Work is done per column
and per distinct value, so a 100,000-row file costs a few regex passes.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

EXCEL_EPOCH = pd.Timestamp("1899-12-30")
# Excel serials from 1954 to 2119: wide enough for any CRM date, narrow
# enough that an amount or a count in a date column is not taken for a date.
SERIAL_RANGE = (20000, 80000)

# Amounts at or above 10 trillion are typos or overflowed cells, not deals;
# they would also pass the 2**53 limit of exact cents in float arithmetic.
MAX_AMOUNT = 1e13

NULL_TOKENS = {"", "-", "--", "—", "——", "/", "n/a", "na", "null", "none", "nan", "nat"}

_YMD = re.compile(
    r"^(?P<y>\d{4})[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})日?"
    r"(?:[ t]+(?P<H>\d{1,2})[:时](?P<M>\d{1,2})(?:[:分](?P<S>\d{1,2})(?:\.\d+)?秒?)?)?"
    r"\s*(?:z|[+-]\d{2}:?\d{2})?$"
)
_COMPACT = re.compile(r"^(?P<y>(?:19|20)\d{2})(?P<m>\d{2})(?P<d>\d{2})$")
_NUMERIC_DM = re.compile(
    r"^(?P<a>\d{1,2})[/.-](?P<b>\d{1,2})[/.-](?P<y>\d{4})"
    r"(?:[ t]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?$"
)
_DAY_MON_YEAR = re.compile(
    r"^(?P<d>\d{1,2})[- ](?P<mon>[a-z]{3,9})\.?[- ,]+(?P<y>\d{4})$"
)
_MON_DAY_YEAR = re.compile(r"^(?P<mon>[a-z]{3,9})\.? (?P<d>\d{1,2}),? (?P<y>\d{4})$")
_SERIAL_TEXT = re.compile(r"^\d{5}(?:\.\d+)?$")
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}


@dataclass
class Parsed:
    """A parsed column: values, the unreadable-cell mask, and column-level facts."""

    values: pd.Series
    bad: pd.Series
    note: str | None = None
    extra: pd.Series | None = None


def per_value(raw: pd.Series, convert, missing: object = None) -> pd.Series:
    """Apply `convert` once per distinct cell value, not once per cell.

    Exports repeat the same owners, stages and dates thousands of times;
    factorizing first keeps the Python work proportional to distinct values.
    Empty cells (None/NaN/NaT) get `missing`.
    """
    codes, uniques = pd.factorize(raw.astype(object), use_na_sentinel=True)
    converted = np.empty(len(uniques) + 1, dtype=object)
    converted[:-1] = [convert(value) for value in uniques]
    converted[-1] = missing
    return pd.Series(converted[codes], index=raw.index, dtype=object)


def _fold_one(value: object) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip()


def fold_cells(raw: pd.Series) -> pd.Series:
    """Text of each cell with width folded and spaces trimmed ('' for blanks)."""
    return per_value(raw, _fold_one, missing="").astype(str)


def blank_mask(raw: pd.Series) -> pd.Series:
    """True where a cell is empty: None, NaN, NaT or only spaces."""
    if raw.dtype.kind in "fMmiub":
        return raw.isna()
    return fold_cells(raw).str.casefold().isin(NULL_TOKENS)


def _assemble(parts: pd.DataFrame) -> pd.Series:
    """Build timestamps from year/month/day[/hour/minute/second] text columns."""
    numbers = {
        unit: pd.to_numeric(parts[name], errors="coerce")
        for unit, name in (("year", "y"), ("month", "m"), ("day", "d"))
    }
    for unit, name in (("hour", "H"), ("minute", "M"), ("second", "S")):
        column = parts[name] if name in parts else pd.Series(np.nan, index=parts.index)
        numbers[unit] = pd.to_numeric(column, errors="coerce").fillna(0)
    frame = pd.DataFrame(numbers)
    valid = (
        frame["month"].between(1, 12)
        & frame["day"].between(1, 31)
        & frame["hour"].between(0, 23)
        & frame["minute"].between(0, 59)
        & frame["second"].between(0, 59)
    )
    stamps = pd.Series(pd.NaT, index=parts.index, dtype="datetime64[us]")
    if valid.any():
        built = pd.to_datetime(frame[valid], errors="coerce")
        stamps.loc[valid] = built.astype("datetime64[us]")
    return stamps


def _serial_to_timestamp(serials: pd.Series) -> pd.Series:
    in_range = serials.between(*SERIAL_RANGE)
    stamps = EXCEL_EPOCH + pd.to_timedelta(serials.where(in_range), unit="D")
    return stamps.dt.round("s").astype("datetime64[us]")


def detect_date_order(text: pd.Series) -> str | None:
    """'DMY' or 'MDY' for d/m/y-style text, decided once for the whole column.

    A first part above 12 proves day-first, a second part above 12 proves
    month-first; with neither the column is ambiguous and None comes back.
    """
    parts = text.str.extract(_NUMERIC_DM).dropna(subset=["a"])
    if parts.empty:
        return None
    first, second = parts["a"].astype(int), parts["b"].astype(int)
    day_first, month_first = (first > 12).any(), (second > 12).any()
    if day_first and not month_first:
        return "DMY"
    if month_first and not day_first:
        return "MDY"
    return None


def parse_dates(raw: pd.Series, order: str | None = None) -> Parsed:
    """Read a date column: datetimes, Excel serials and the usual text forms.

    Text forms: 2024-03-05, 2024/3/5, 2024.3.8, 2024年3月5日, with an optional
    time and zone offset (the wall-clock time is kept); 05/03/2024 in one
    order for the whole column (detected, else `order`, else month-first with
    a note); 05-Mar-2024 and Mar 5, 2024; serials such as 45123 or '45352.5'.
    """
    if raw.dtype.kind == "M":
        values = raw.dt.tz_localize(None) if raw.dt.tz is not None else raw
        return Parsed(
            values.astype("datetime64[us]"), pd.Series(False, index=raw.index)
        )

    result = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us]")
    blank = blank_mask(raw)
    kinds = per_value(raw, type)
    stamp_mask = kinds.isin((datetime, pd.Timestamp, date)) & ~blank
    if stamp_mask.any():
        result.loc[stamp_mask] = pd.to_datetime(raw[stamp_mask]).astype(
            "datetime64[us]"
        )
    number_mask = kinds.isin((int, float, np.float64, np.int64)) & ~blank
    if number_mask.any():
        numbers = raw[number_mask].astype(float)
        compact = numbers.between(19000101, 21001231) & (numbers % 1 == 0)
        result.loc[number_mask] = _serial_to_timestamp(numbers)
        if compact.any():
            digits = numbers[compact].astype("int64").astype(str)
            result.loc[digits.index] = pd.to_datetime(
                digits, format="%Y%m%d", errors="coerce"
            ).astype("datetime64[us]")

    text_mask = ~(blank | stamp_mask | number_mask)
    note = None
    if text_mask.any():
        text = fold_cells(raw[text_mask]).str.casefold()
        parsed, note = _parse_date_text(text, order)
        result.loc[text_mask] = parsed
    bad = result.isna() & ~blank
    return Parsed(result, bad, note)


def _parse_date_text(
    text: pd.Series, order: str | None
) -> tuple[pd.Series, str | None]:
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    todo = pd.Series(True, index=text.index)

    for pattern in (_YMD, _COMPACT):
        parts = text[todo].str.extract(pattern)
        hit = parts["y"].notna()
        if hit.any():
            parsed.loc[hit[hit].index] = _assemble(parts[hit])
            todo.loc[hit[hit].index] = False

    note = None
    detected = detect_date_order(text[todo])
    chosen = detected or order
    parts = text[todo].str.extract(_NUMERIC_DM)
    hit = parts["y"].notna()
    if hit.any():
        if chosen is None:
            chosen = "MDY"
            note = "ambiguous_date_order"
        day, month = ("a", "b") if chosen == "DMY" else ("b", "a")
        named = parts[hit].rename(columns={day: "d", month: "m"})
        parsed.loc[hit[hit].index] = _assemble(named)
        todo.loc[hit[hit].index] = False
    numeric_hit = hit

    for pattern in (_DAY_MON_YEAR, _MON_DAY_YEAR):
        parts = text[todo].str.extract(pattern)
        hit = parts["y"].notna()
        if hit.any():
            parts = parts[hit].assign(m=parts.loc[hit, "mon"].map(_MONTHS))
            parsed.loc[hit[hit].index] = _assemble(parts)
            todo.loc[hit[hit].index] = False

    serial = text[todo & text.str.match(_SERIAL_TEXT)]
    if not serial.empty:
        parsed.loc[serial.index] = _serial_to_timestamp(serial.astype(float))
    order_fact = detected or (chosen if numeric_hit.any() else None)
    return parsed, note or (f"date_order:{order_fact}" if order_fact else None)


_CURRENCY_MARKS = (
    ("us$", "USD"),
    ("usd", "USD"),
    ("$", "USD"),
    ("rmb", "CNY"),
    ("cny", "CNY"),
    ("人民币", "CNY"),
    ("¥", "CNY"),
    ("元", "CNY"),
    ("eur", "EUR"),
    ("€", "EUR"),
    ("gbp", "GBP"),
    ("£", "GBP"),
    ("rub", "RUB"),
    ("₽", "RUB"),
)
_UNITS = (
    ("亿", 1e8),
    ("百万", 1e6),
    ("万", 1e4),
    ("w", 1e4),
    ("千", 1e3),
    ("k", 1e3),
    ("mn", 1e6),
    ("m", 1e6),
)
_NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)$")


_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")


def _read_amount(text: str) -> tuple[float | None, str | None, bool]:
    """(value, currency, ok) for one amount text; ok is False when unreadable.

    A comma is a thousands separator only between groups of three digits:
    '1,234,567.5' reads, while '1234,56' or '1.234,56' (decimal commas) are
    reported as unreadable rather than guessed 100× off.
    """
    cell = text.casefold()
    if cell in NULL_TOKENS:
        return None, None, True
    currency = None
    for mark, code in _CURRENCY_MARKS:
        if mark in cell:
            currency = currency or code
            cell = cell.replace(mark, "")
    negative = cell.startswith("(") and cell.endswith(")")
    cell = cell.strip("()").replace(" ", "").replace("'", "")
    scale = 1.0
    for unit, factor in _UNITS:
        if cell.endswith(unit):
            cell, scale = cell[: -len(unit)], factor
            break
    if "," in cell:
        if not _THOUSANDS.match(cell):
            return None, currency, False
        cell = cell.replace(",", "")
    if not _NUMBER.match(cell):
        return None, currency, False
    value = float(cell) * scale
    if not math.isfinite(value) or abs(value) >= MAX_AMOUNT:
        return None, currency, False
    return (-value if negative else value), currency, True


def parse_amounts(raw: pd.Series) -> Parsed:
    """Read amounts: 12000, '¥12,000', '1.2万', '3.5万元', '$1,234.50', '(500)'.

    '-' and similar placeholders are blank, not negative. `extra` holds the
    currency code each cell names (USD, CNY, ...), or None.
    """
    if raw.dtype.kind in "iuf":
        values = raw.astype(float)
        infinite = np.isinf(values) | values.abs().ge(MAX_AMOUNT)
        return Parsed(
            values.where(~infinite),
            pd.Series(infinite, index=raw.index),
            extra=pd.Series(None, index=raw.index, dtype=object),
        )
    blank = raw.isna()
    text = fold_cells(raw)
    lookup = {cell: _read_amount(cell) for cell in text[~blank].unique()}
    numbers = per_value(
        raw,
        lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        missing=False,
    ).astype(bool)
    values = pd.Series(np.nan, index=raw.index, dtype=float)
    currency = pd.Series(None, index=raw.index, dtype=object)
    bad = pd.Series(False, index=raw.index)
    picked = text[~blank & ~numbers].map(lookup)
    if not picked.empty:
        values.loc[picked.index] = picked.map(lambda r: r[0]).astype(float)
        currency.loc[picked.index] = picked.map(lambda r: r[1])
        bad.loc[picked.index] = ~picked.map(lambda r: r[2]).astype(bool)
    values.loc[numbers & ~blank] = raw[numbers & ~blank].astype(float)
    return Parsed(values, bad, extra=currency)


def parse_probabilities(raw: pd.Series) -> Parsed:
    """Read win probabilities into 0–1: '30%', '80％', 0.45, and 0–100 columns.

    Cells with a % sign are divided by 100. Bare numbers are read on one
    scale for the whole column: as fractions when all are ≤ 1, else as
    percentages, so '30%' and 0.45 in one column mean 0.30 and 0.45.
    """
    text = fold_cells(raw)
    percent = text.str.endswith("%")
    amounts = parse_amounts(text.str.rstrip("%").where(~raw.isna(), None))
    values = amounts.values.copy()
    bare = ~percent & values.notna()
    if (values[bare] > 1).any():
        values.loc[bare] = values[bare] / 100
    values.loc[percent] = values[percent] / 100
    bad = amounts.bad | values.lt(0) | values.gt(1)
    return Parsed(values.where(~bad), bad)


_TRUE = {"是", "有效", "y", "yes", "true", "1", "1.0", "✓", "√", "对", "active", "在职"}
_FALSE = {"否", "无效", "n", "no", "false", "0", "0.0", "✗", "×", "inactive", "离职"}


def parse_bools(raw: pd.Series) -> Parsed:
    """Read yes/no cells (是/否, Y/N, true/false, 1/0, 有效/无效) into booleans."""
    text = fold_cells(raw).str.casefold()
    values = pd.Series(pd.NA, index=raw.index, dtype="boolean")
    values.loc[text.isin(_TRUE)] = True
    values.loc[text.isin(_FALSE)] = False
    bad = values.isna() & (text != "")
    return Parsed(values, bad)


_MONTH_TEXT = re.compile(
    r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*月?(?:[-/.]\d{1,2}.*)?$"
)


def parse_months(raw: pd.Series, years: pd.Series | None = None) -> Parsed:
    """Read months as 'YYYY-MM': '2026-11', '2026年11月', a date, or 1–12 with a year.

    A bare month number needs the file's year column (`years`).
    """
    months = pd.Series(None, index=raw.index, dtype=object)
    stamps = per_value(
        raw, lambda v: isinstance(v, datetime | date | pd.Timestamp), missing=False
    ).astype(bool)
    if stamps.any():
        months.loc[stamps] = pd.to_datetime(raw[stamps]).dt.strftime("%Y-%m")
    text = fold_cells(raw)
    parts = text.str.extract(_MONTH_TEXT)
    hit = parts["y"].notna() & ~stamps
    valid = hit & pd.to_numeric(parts["m"], errors="coerce").between(1, 12)
    months.loc[valid] = parts.loc[valid, "y"] + "-" + parts.loc[valid, "m"].str.zfill(2)
    if years is not None:
        number = pd.to_numeric(text, errors="coerce")
        year = pd.to_numeric(fold_cells(years), errors="coerce")
        bare = months.isna() & number.between(1, 12) & year.notna()
        months.loc[bare] = (
            year[bare].astype(int).astype(str)
            + "-"
            + number[bare].astype(int).astype(str).str.zfill(2)
        )
    bad = months.isna() & (text != "")
    return Parsed(months, bad)
