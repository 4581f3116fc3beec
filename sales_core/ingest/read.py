"""Reading upload bytes into a grid of cells: .xlsx/.xls via calamine, CSV by hand.

The grid keeps every row and column as the user sees them in Excel, so row
numbers in the report match what they look up: grid row i is sheet row i+1.
"""

from __future__ import annotations

import csv
import io
import logging
import zipfile
from dataclasses import dataclass
from pathlib import PurePath

import pandas as pd

from sales_core.errors import ImportRefused

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_ROWS = 1_000_000
MAX_UNZIPPED_BYTES = 600 * 1024 * 1024
MAX_ZIP_RATIO = 150

EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
CSV_SUFFIXES = {".csv", ".txt", ".tsv"}


@dataclass
class RawSheet:
    """The cells of one sheet or CSV, with where they came from."""

    grid: pd.DataFrame  # object cells; row i is the user's row i + 1
    sheet: str | None
    encoding: str | None


def _looks_chinese(text: str) -> bool:
    """True when most CJK characters are common ones (GB2312 level 1).

    Text in another 8-bit code page decoded as GB18030 turns into rare
    characters; real Chinese is dominated by the 3,755 common ones.
    """
    common = rare = 0
    for char in text[:20000]:
        if "\u4e00" <= char <= "\u9fff":
            try:
                lead = char.encode("gb2312")[0]
            except UnicodeEncodeError:
                rare += 1
                continue
            if lead < 0xD8:
                common += 1
            else:
                rare += 1
    return common >= rare


def decode_text(payload: bytes, file_name: str) -> tuple[str, str]:
    """Decode CSV bytes: UTF-8 (BOM or not), else GB18030, else Windows-1251.

    Returns (text, encoding). Never decodes with replacement characters.
    """
    if payload.startswith(b"\xef\xbb\xbf"):
        return payload[3:].decode("utf-8"), "utf-8-sig"
    if payload.startswith((b"\xff\xfe", b"\xfe\xff")):
        return payload.decode("utf-16"), "utf-16"
    try:
        return payload.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = payload.decode("gb18030")
        if _looks_chinese(text):
            return text, "gb18030"
    except UnicodeDecodeError:
        pass
    try:
        return payload.decode("cp1251"), "cp1251"
    except UnicodeDecodeError:
        raise ImportRefused("unknown_encoding", file=file_name) from None


def _read_csv(payload: bytes, file_name: str) -> RawSheet:
    text, encoding = decode_text(payload, file_name)
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = "\t" if file_name.lower().endswith(".tsv") else ","

    rows: list[list[str]] = []
    line_numbers: list[int] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 1
    for record in reader:
        rows.append(record)
        line_numbers.append(line)
        line = reader.line_num + 1
        if len(rows) > MAX_ROWS:
            raise ImportRefused("too_many_rows", file=file_name, limit=MAX_ROWS)

    width = max((len(row) for row in rows), default=0)
    grid = pd.DataFrame(
        [row + [""] * (width - len(row)) for row in rows], dtype=object
    )
    grid = grid.replace("", None)
    grid.index = pd.Index([n - 1 for n in line_numbers])
    return RawSheet(grid=grid, sheet=None, encoding=encoding)


def _check_zip(payload: bytes, file_name: str) -> None:
    """Refuse .xlsx archives that would inflate to far more than they weigh."""
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            total = sum(entry.file_size for entry in archive.infolist())
    except zipfile.BadZipFile:
        raise ImportRefused("corrupt_excel", file=file_name) from None
    if total > MAX_UNZIPPED_BYTES or total > MAX_ZIP_RATIO * max(len(payload), 1):
        raise ImportRefused("archive_bomb", file=file_name)


def _read_excel(payload: bytes, file_name: str) -> list[RawSheet]:
    if payload[:2] == b"PK":
        _check_zip(payload, file_name)
    try:
        book = pd.read_excel(
            io.BytesIO(payload), sheet_name=None, header=None, engine="calamine",
            dtype=object,
        )
    except Exception as error:  # calamine raises its own error types
        log.warning("cannot read %s as Excel: %s", file_name, error)
        raise ImportRefused("corrupt_excel", file=file_name) from error
    sheets = []
    for name, grid in book.items():
        if len(grid) > MAX_ROWS:
            raise ImportRefused("too_many_rows", file=file_name, limit=MAX_ROWS)
        sheets.append(RawSheet(grid=grid.astype(object), sheet=str(name), encoding=None))
    return sheets


def read_sheets(payload: bytes, file_name: str) -> list[RawSheet]:
    """Every sheet of the file as a raw grid (a CSV is one sheet)."""
    if len(payload) > MAX_FILE_BYTES:
        raise ImportRefused("file_too_large", file=file_name, limit=MAX_FILE_BYTES)
    if not payload:
        raise ImportRefused("empty_file", file=file_name)
    suffix = PurePath(file_name).suffix.lower()
    is_excel = suffix in EXCEL_SUFFIXES or payload[:4] in (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")
    if is_excel:
        return _read_excel(payload, file_name)
    if suffix and suffix not in CSV_SUFFIXES:
        raise ImportRefused("unsupported_type", file=file_name, suffix=suffix)
    return [_read_csv(payload, file_name)]
