"""Downloads of what a page shows: .xlsx (openpyxl) and .csv, formula-safe.

A cell of text that starts with = + - @ (or a tab or carriage return) would
run as a formula when a spreadsheet opens the file. In .csv such text gets a
leading apostrophe; in .xlsx every text cell is typed as a string, which no
spreadsheet evaluates, so the text stays exactly as stored. Numbers stay
numbers, so -500 is still written as -500.
"""

from __future__ import annotations

import io

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, TYPE_STRING

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: object) -> object:
    """Text that a spreadsheet would run as a formula, prefixed with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell neutralized and dates as plain values."""
    safe = frame.copy()
    for name in safe.columns:
        column = safe[name]
        if column.dtype.kind in "OSU" or pd.api.types.is_string_dtype(column):
            safe[name] = column.astype(object).map(neutralize)
        elif column.dtype.kind == "f" and _whole(column):
            safe[name] = column.astype("Int64")
    return safe


def _whole(column: pd.Series) -> bool:
    """True when every present value is a whole number (-500.0 → -500)."""
    present = column.dropna()
    if not len(present) or present.abs().max() >= 2**53:
        return False
    return bool((present == present.round()).all())


def _printable(text: str) -> str:
    """Text without the control characters an .xlsx cannot hold."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 with BOM, so Excel on a Chinese Windows opens it without mojibake."""
    return safe_frame(frame).to_csv(index=False).encode("utf-8-sig")


def to_xlsx_bytes(frame: pd.DataFrame, sheet: str = "Kongpan") -> bytes:
    """An .xlsx where every text cell is typed as a string, never a formula."""
    book = Workbook(write_only=False)
    page = book.active
    page.title = sheet[:31]
    page.append([_printable(neutralize(str(name))) for name in frame.columns])
    for record in frame.itertuples(index=False):
        cells = []
        for value in record:
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                cells.append(None)
            elif isinstance(value, pd.Timestamp):
                cells.append(value.to_pydatetime())
            elif hasattr(value, "item"):
                cells.append(value.item())
            elif isinstance(value, str):
                cells.append(_printable(value))
            else:
                cells.append(value)
        page.append(cells)
    for row in page.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = TYPE_STRING
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
