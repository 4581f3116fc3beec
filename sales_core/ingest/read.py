"""Reading upload bytes into a grid of cells: .xlsx/.xls via calamine, CSV by hand.

The grid keeps every row and column as the user sees them in Excel, so row
numbers in the report match what they look up: grid row i is sheet row i+1.
"""

from __future__ import annotations

import csv
import io
import logging
import re
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
MAX_COLUMNS = 500
MAX_CELLS = 40_000_000
# Cell references with two or three column letters (AA and beyond), cell
# references with seven-digit rows, and row numbers: the reader sizes its grid
# from the farthest of them, however the attribute is written.
_WIDE_REF = re.compile(rb"""r\s*=\s*["']([A-Za-z]{2,3})[0-9]{1,7}["']""")
_DEEP_REF = re.compile(rb"""r\s*=\s*["'][A-Za-z]{1,3}([0-9]{7})["']""")
_ROW_REF = re.compile(rb"""row\b[^>]*?\br\s*=\s*["']([0-9]{1,7})["']""")

EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
CSV_SUFFIXES = {".csv", ".txt", ".tsv"}


@dataclass
class RawSheet:
    """The cells of one sheet or CSV, with where they came from."""

    grid: pd.DataFrame  # object cells; row i is the user's row i + 1
    sheet: str | None
    encoding: str | None
    # For each grid column, its place in the sheet (0 = column A): columns
    # with no value at all are dropped on reading, letters stay the user's.
    positions: list[int] | None = None


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


def _looks_cyrillic(text: str) -> bool:
    """True for real Windows-1251 text, False for UTF-8 bytes misread as it.

    UTF-8 continuation bytes (0x80–0xBF) land on the punctuation half of
    the code page (Љ, —, ¬, ...), which real Russian text rarely uses.
    """
    foreign = [char for char in text[:20000] if ord(char) > 127]
    if not foreign:
        return False
    letters = sum("\u0410" <= char <= "\u044f" for char in foreign)
    odd = sum(0x80 <= char.encode("cp1251")[0] <= 0xBF for char in foreign)
    return letters >= len(foreign) // 2 and odd <= len(foreign) // 10


def decode_text(payload: bytes, file_name: str) -> tuple[str, str]:
    """Decode CSV bytes: UTF-8 (BOM or not), UTF-16 with BOM, GB18030, Cyrillic.

    Returns (text, encoding). Never decodes with replacement characters: a
    file that fits none of them is refused, naming the file.
    """
    candidates: list[tuple[bytes, str]] = []
    if payload.startswith(b"\xef\xbb\xbf"):
        candidates.append((payload[3:], "utf-8-sig"))
    elif payload.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates.append((payload, "utf-16"))
    body = payload[3:] if payload.startswith(b"\xef\xbb\xbf") else payload
    candidates += [(body, "utf-8"), (body, "gb18030"), (body, "cp1251")]
    for data, encoding in candidates:
        try:
            text = data.decode(encoding.replace("-sig", ""))
        except UnicodeDecodeError:
            continue
        if encoding == "gb18030" and not _looks_chinese(text):
            continue
        if encoding == "cp1251" and not _looks_cyrillic(text):
            continue
        return text, encoding
    raise ImportRefused("unknown_encoding", file=file_name)


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
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    line = 1
    try:
        for record in reader:
            rows.append(record)
            line_numbers.append(line)
            line = reader.line_num + 1
            if len(rows) > MAX_ROWS:
                raise ImportRefused("too_many_rows", file=file_name, limit=MAX_ROWS)
    except csv.Error as error:
        log.info("broken CSV %s at line %d: %s", file_name, line, error)
        raise ImportRefused("broken_csv", file=file_name, line=line) from None

    width = max((len(row) for row in rows), default=0)
    used = [False] * width
    for row in rows:
        for position, cell in enumerate(row):
            if not used[position] and cell.strip():
                used[position] = True
    positions = [position for position in range(width) if used[position]]
    if len(positions) > MAX_COLUMNS:
        raise ImportRefused("too_many_columns", file=file_name, limit=MAX_COLUMNS)
    grid = pd.DataFrame(
        [[row[p] if p < len(row) else "" for p in positions] for row in rows],
        dtype=object,
    )
    grid = grid.replace("", None)
    grid.index = pd.Index([n - 1 for n in line_numbers])
    return RawSheet(grid=grid, sheet=None, encoding=encoding, positions=positions)


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + (letter - 64)
    return number


def _check_zip(payload: bytes, file_name: str) -> None:
    """Refuse .xlsx archives that would inflate or allocate far too much.

    Besides the archive's own sizes, every worksheet is streamed once to find
    its last row and column: one cell at XFD1048576 in a tiny file would
    otherwise make the reader allocate the whole grid.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as archive:
            entries = archive.infolist()
            total = sum(entry.file_size for entry in entries)
            if total > MAX_UNZIPPED_BYTES or total > MAX_ZIP_RATIO * max(
                len(payload), 1
            ):
                raise ImportRefused("archive_bomb", file=file_name)
            for entry in entries:
                if entry.filename.startswith(
                    "xl/worksheets/"
                ) and entry.filename.endswith(".xml"):
                    _check_sheet_size(archive, entry, file_name)
    except zipfile.BadZipFile:
        raise ImportRefused("corrupt_excel", file=file_name) from None


def _check_sheet_size(
    archive: zipfile.ZipFile, entry: zipfile.ZipInfo, file_name: str
) -> None:
    last_row, last_column = 0, 26
    tail = b""
    with archive.open(entry) as stream:
        while chunk := stream.read(1 << 22):
            block = tail + chunk
            letters = set(_WIDE_REF.findall(block))
            if letters:
                widest = max(_column_number(text.upper()) for text in letters)
                last_column = max(last_column, widest)
            numbers = _ROW_REF.findall(block) + _DEEP_REF.findall(block)
            if numbers:
                last_row = max(last_row, max(map(int, numbers)))
            tail = block[-256:]
    if last_row > MAX_ROWS + 1:
        raise ImportRefused("too_many_rows", file=file_name, limit=MAX_ROWS)
    if last_column > MAX_COLUMNS * 4 or last_row * last_column > MAX_CELLS:
        raise ImportRefused("too_many_columns", file=file_name, limit=MAX_COLUMNS)


def _read_excel(payload: bytes, file_name: str) -> list[RawSheet]:
    if payload[:2] == b"PK":
        _check_zip(payload, file_name)
    try:
        book = pd.read_excel(
            io.BytesIO(payload),
            sheet_name=None,
            header=None,
            engine="calamine",
            dtype=object,
        )
    except Exception as error:  # calamine raises its own error types
        log.warning("cannot read %s as Excel: %s", file_name, error)
        raise ImportRefused("corrupt_excel", file=file_name) from error
    sheets = []
    for name, grid in book.items():
        if len(grid) > MAX_ROWS:
            raise ImportRefused("too_many_rows", file=file_name, limit=MAX_ROWS)
        positions = [
            i for i in range(grid.shape[1]) if grid[grid.columns[i]].notna().any()
        ]
        if len(positions) > MAX_COLUMNS:
            raise ImportRefused("too_many_columns", file=file_name, limit=MAX_COLUMNS)
        trimmed = grid.iloc[:, positions].astype(object)
        trimmed.columns = range(len(positions))
        sheets.append(
            RawSheet(grid=trimmed, sheet=str(name), encoding=None, positions=positions)
        )
    return sheets


def read_sheets(payload: bytes, file_name: str) -> list[RawSheet]:
    """Every sheet of the file as a raw grid (a CSV is one sheet)."""
    if len(payload) > MAX_FILE_BYTES:
        raise ImportRefused("file_too_large", file=file_name, limit=MAX_FILE_BYTES)
    if not payload:
        raise ImportRefused("empty_file", file=file_name)
    suffix = PurePath(file_name).suffix.lower()
    is_excel = suffix in EXCEL_SUFFIXES or payload[:4] in (
        b"PK\x03\x04",
        b"\xd0\xcf\x11\xe0",
    )
    if is_excel:
        return _read_excel(payload, file_name)
    if suffix and suffix not in CSV_SUFFIXES:
        raise ImportRefused("unsupported_type", file=file_name, suffix=suffix)
    return [_read_csv(payload, file_name)]
