"""From upload bytes to a canonical frame and its validation report.

`parse_file` reads nothing from the store and writes nothing: it picks the
sheet, finds the header under any title rows, maps headers onto canonical
fields, normalizes every value column by column and says, row by row, what it
kept, flagged, skipped or rejected. The store commits the result in one
transaction.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import PurePath

import pandas as pd

from sales_core.errors import ImportRefused
from sales_core.ingest.columns import (
    HEADER_SCAN_ROWS,
    detect_kind,
    find_header_row,
    map_columns,
    missing_required,
)
from sales_core.ingest.read import RawSheet, read_sheets
from sales_core.ingest.report import ImportReport, Issue, Severity, SkippedRow
from sales_core.ingest.values import (
    detect_date_order,
    fold_cells,
    parse_amounts,
    parse_bools,
    parse_dates,
    parse_months,
    parse_probabilities,
    per_value,
)
from sales_core.schema import FIELDS, FREE_TEXT, FieldType, Kind, field_names
from sales_core.stages import StageModel, default_model
from sales_core.text import clean_text, customer_key, fold

log = logging.getLogger(__name__)

_SUMMARY_WORDS = frozenset(
    {
        "合计",
        "总计",
        "小计",
        "汇总",
        "本页合计",
        "本月合计",
        "总合计",
        "累计合计",
        "total",
        "totals",
        "grandtotal",
        "subtotal",
        "sum",
    }
)
_SUMMARY_FIRST = frozenset(word[0] for word in _SUMMARY_WORDS) | {"ｔ", "ｓ", "ｇ"}
_BRACKETED = re.compile(r"[(\[（【][^)\]）】]*[)\]）】]")
_HEADER_UNIT = re.compile(r"[(\[（【]([^)\]）】]*)[)\]）】]\s*$")
_UNIT_SCALES = (("亿", 1e8), ("百万", 1e6), ("万", 1e4), ("千", 1e3))
_LATIN_THOUSANDS = re.compile(r"(?<![a-z])(?:k|thousands?)(?![a-z])")
_UNIT_CURRENCIES = (
    ("usd", "USD"),
    ("$", "USD"),
    ("美元", "USD"),
    ("eur", "EUR"),
    ("€", "EUR"),
    ("欧元", "EUR"),
    ("港元", "HKD"),
    ("hkd", "HKD"),
    ("日元", "JPY"),
    ("jpy", "JPY"),
    ("rmb", "CNY"),
    ("cny", "CNY"),
    ("¥", "CNY"),
    ("人民币", "CNY"),
    ("元", "CNY"),
)
_PLAIN_NUMBER = re.compile(r"^[\s\d,.+\-()¥$￥]*$")
_NOTE_LABEL = re.compile(r"^[^\d:：]{1,10}[:：]")
_NOTE_START = ("注", "备注", "说明", "数据来源", "note", "source:", "prepared by")
_NAME_DATE = re.compile(r"(?<!\d)(20\d{2})[-_.年]?(\d{2})[-_.月]?(\d{2})(?!\d)")
_NAME_WEEK = re.compile(r"(?<!\d)(20\d{2})[-_ ]?w(\d{1,2})(?!\d)", re.IGNORECASE)
_TITLE_STAMP = re.compile(
    r"(?:导出时间|导出日期|导出于|截至|截止|统计时间|统计日期|数据日期|export(?:ed)?(?: at| on)?"
    r"|as of|generated(?: at| on)?)\s*[:：]?\s*"
    r"(\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2})",
    re.IGNORECASE,
)

ACTIVITY_KINDS = {
    "call": ("电话", "致电", "通话", "call", "phone", "phone call"),
    "visit": ("拜访", "上门", "面访", "实地", "visit", "on-site", "onsite"),
    "message": (
        "微信",
        "短信",
        "消息",
        "企业微信",
        "钉钉",
        "message",
        "wechat",
        "sms",
        "chat",
    ),
    "email": ("邮件", "电子邮件", "email", "e-mail", "mail"),
    "meeting": (
        "会议",
        "视频会议",
        "线上会议",
        "演示",
        "meeting",
        "video call",
        "demo",
    ),
}


@dataclass
class ParsedFile:
    """One file read into canonical rows, ready for the store to commit."""

    kind: Kind
    frame: pd.DataFrame  # canonical fields plus `row`, the user's row number
    report: ImportReport
    sha256: str
    as_of: date | None
    headers: list[str] = field(default_factory=list)

    @property
    def file_name(self) -> str:
        return self.report.file


def payload_of(source: object) -> bytes:
    """The bytes of an upload, a path or raw bytes, whatever its read position.

    Streamlit reruns hand back the same UploadedFile with its position at the
    end; reading it again would give nothing, so the whole buffer is taken.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    if isinstance(source, str | PurePath):
        try:
            with open(source, "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            raise ImportRefused("file_not_found", file=str(source)) from None
    getvalue = getattr(source, "getvalue", None)
    if callable(getvalue):
        return bytes(getvalue())
    source.seek(0)
    return source.read()


def _header_texts(cells: list[object]) -> list[str | None]:
    return [clean_text(cell) for cell in cells]


def _pick_sheet(
    sheets: list[RawSheet], kind: Kind | None
) -> tuple[RawSheet, int, list[str | None], Kind | None]:
    """The sheet whose header row reads best (of the wanted kind, if given)."""
    best = None
    for sheet in sheets:
        position, score = find_header_row(sheet.grid)
        if position is None:
            continue
        headers = _header_texts(sheet.grid.iloc[position].tolist())
        found = detect_kind(headers)
        fits = kind is None or found in (None, kind)
        has_rows = bool(sheet.grid.iloc[position + 1 :].notna().any().any())
        rank = (fits, has_rows, found is not None, score)
        if best is None or rank > best[0]:
            best = (rank, sheet, position, headers, found)
    if best is None:
        return sheets[0], -1, [], None
    return best[1], best[2], best[3], best[4]


def _column_label(index: int) -> str:
    """Excel's letter for a zero-based column index (0 → A, 27 → AB)."""
    label = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        label = chr(65 + rest) + label
    return label


def _as_of_from_name(file_name: str) -> tuple[date | None, bool]:
    """A date in the file name, and whether the name holds several dates.

    商机导出_2026-11-27.xlsx gives 2026-11-27; 2024W12 gives that ISO week's
    Friday; a range such as 2026-11-01至2026-11-27 gives its last date.
    """
    stem = PurePath(file_name).stem
    days = []
    for match in _NAME_DATE.finditer(stem):
        try:
            days.append(date(*(int(part) for part in match.groups())))
        except ValueError:
            continue
    if days:
        return days[-1], len(set(days)) > 1
    week = _NAME_WEEK.search(stem)
    if week:
        try:
            return date.fromisocalendar(
                int(week.group(1)), int(week.group(2)), 5
            ), False
        except ValueError:
            return None, False
    return None, False


def _as_of_from_title(title_cells: list[object]) -> date | None:
    """An export timestamp in a title row: '商机列表（导出时间：2026-11-13 18:00）'."""
    for cell in title_cells:
        text = clean_text(cell)
        if not text:
            continue
        match = _TITLE_STAMP.search(text)
        if match:
            parsed = parse_dates(pd.Series([match.group(1).replace(" ", "")]))
            stamp = parsed.values.iloc[0]
            if pd.notna(stamp):
                return stamp.date()
    return None


def _is_summary_word(text: object) -> bool:
    """'合计', '合 计', '合计(元)', 'Total:', 'Grand Total' — a totals label."""
    if not isinstance(text, str) or len(text) > 24:
        return False
    if text[:1].casefold() not in _SUMMARY_FIRST:
        return False
    key = _BRACKETED.sub("", fold(text)).replace(" ", "").rstrip(":：")
    return key in _SUMMARY_WORDS


def _note_role(cells: list[str | None]) -> str | None:
    """'footer_or_note' for rows such as '制表人：周敏  审核：吴刚'."""
    filled = [cell for cell in cells if isinstance(cell, str) and cell]
    if not filled:
        return None
    if all(_NOTE_LABEL.match(cell) for cell in filled):
        return "footer_or_note"
    if len(filled) == 1 and fold(filled[0]).startswith(_NOTE_START):
        return "footer_or_note"
    return None


def _header_unit(header: str | None) -> tuple[float, str | None, str | None]:
    """(scale, currency, unit text) named in a header such as '预计金额（万元）'."""
    match = _HEADER_UNIT.search(header or "")
    if not match:
        return 1.0, None, None
    unit = fold(match.group(1))
    scale = next((factor for mark, factor in _UNIT_SCALES if mark in unit), 1.0)
    if scale == 1.0 and _LATIN_THOUSANDS.search(unit):
        scale = 1e3
    currency = next((code for mark, code in _UNIT_CURRENCIES if mark in unit), None)
    return scale, currency, match.group(1)


def _file_date_order(
    coded: dict[int, _Coded], fields: dict[str, int], kind: Kind
) -> str | None:
    """One d/m order for the whole file when its date columns agree.

    A column that proves day-first (a 25 in the first place) decides the
    columns that cannot prove anything, such as 03/11/2026 alone.
    """
    proven = set()
    for spec in FIELDS[kind]:
        if spec.type == FieldType.DATE and spec.name in fields:
            text = fold_cells(coded[fields[spec.name]].uniques).str.casefold()
            order = detect_date_order(text)
            if order:
                proven.add(order)
    return proven.pop() if len(proven) == 1 else None


def _clean_cell(value: object) -> str | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return clean_text(value)


def _free_text_cell(value: object) -> str | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return clean_text(value, fold_width=False)


@dataclass
class _Coded:
    """A raw column as codes into its distinct values (-1 for empty cells).

    Every parser runs on the distinct values only; `expand` spreads a result
    back over the rows. A 100,000-row export with a few hundred owners or
    dates costs a few hundred conversions per column instead of 100,000.
    """

    codes: pd.Series
    uniques: pd.Series

    @classmethod
    def of(cls, raw: pd.Series) -> _Coded:
        codes, uniques = pd.factorize(raw.astype(object), use_na_sentinel=True)
        return cls(pd.Series(codes, index=raw.index), pd.Series(uniques, dtype=object))

    def rows(self, index: pd.Index) -> _Coded:
        return _Coded(self.codes.loc[index], self.uniques)

    def expand(self, values: pd.Series) -> pd.Series:
        spread = values.reset_index(drop=True).reindex(self.codes.to_numpy())
        spread.index = self.codes.index
        return spread

    def expand_mask(self, mask: pd.Series) -> pd.Series:
        return self.expand(mask).eq(True)


def _activity_kind(text: str | None) -> str | None:
    if text is None:
        return None
    folded = fold(text)
    for kind, words in ACTIVITY_KINDS.items():
        if any(word in folded for word in words):
            return kind
    return folded


class _Rows:
    """Collects row-level findings while the columns are parsed."""

    def __init__(self, report: ImportReport, rows: pd.Series, headers: dict[str, str]):
        self.report = report
        self.rows = rows
        self.headers = headers
        self.rejected: set[int] = set()

    def flag(
        self,
        mask: pd.Series,
        kind: str,
        column: str | None,
        raw: pd.Series | None,
        severity: Severity = Severity.WARNING,
        suggestions: pd.Series | None = None,
    ) -> None:
        for index in mask[mask].index:
            value = None if raw is None else raw.loc[index]
            self.report.add(
                Issue(
                    row=int(self.rows.loc[index]),
                    column=self.headers.get(column) if column else None,
                    kind=kind,
                    severity=severity,
                    raw=None if value is None else str(value),
                    suggestion=_present(suggestions, index),
                    field=column,
                )
            )
            if severity == Severity.ERROR:
                self.rejected.add(index)


def _present(values: pd.Series | None, index: object) -> str | None:
    if values is None:
        return None
    value = values.loc[index]
    return None if value is None or value != value else str(value)


def _empty_column(kind: FieldType, index: pd.Index) -> pd.Series:
    """A column for a field the file does not have, typed like a parsed one."""
    if kind == FieldType.DATE:
        return pd.Series(pd.NaT, index=index, dtype="datetime64[us]")
    if kind in (FieldType.AMOUNT, FieldType.PROBABILITY, FieldType.INTEGER):
        return pd.Series(float("nan"), index=index, dtype=float)
    return pd.Series(None, index=index, dtype=object)


def _parse_values(
    body: pd.DataFrame,
    coded: dict[int, _Coded],
    kind: Kind,
    fields: dict[str, int],
    rows: _Rows,
    model: StageModel,
    date_order: str | None,
) -> pd.DataFrame:
    """Turn mapped raw columns into typed canonical columns, flagging bad cells."""
    frame = pd.DataFrame(index=body.index)
    report = rows.report
    date_order = date_order or _file_date_order(coded, fields, kind)
    for spec in FIELDS[kind]:
        if spec.name not in fields:
            frame[spec.name] = _empty_column(spec.type, body.index)
            continue
        raw = body[fields[spec.name]]
        column = coded[fields[spec.name]]
        distinct = column.uniques
        if spec.type == FieldType.DATE:
            parsed = parse_dates(distinct, date_order)
            if parsed.note and parsed.note.startswith("date_order:"):
                report.date_order = parsed.note.split(":", 1)[1]
            elif parsed.note:
                report.date_order = "MDY"
                report.notes.append(f"{parsed.note}:{rows.headers.get(spec.name)}")
            frame[spec.name] = column.expand(parsed.values)
            bad = column.expand_mask(parsed.bad)
            rows.flag(bad, "unparseable_date", spec.name, raw)
        elif spec.type == FieldType.AMOUNT:
            parsed = parse_amounts(distinct)
            scale, unit_currency, unit = _header_unit(rows.headers.get(spec.name))
            bare = distinct.map(
                lambda value: (
                    not isinstance(value, str) or bool(_PLAIN_NUMBER.match(value))
                )
            )
            scaled = parsed.values.where(~bare.astype(bool), parsed.values * scale)
            frame[spec.name] = column.expand(scaled).astype(float)
            if unit and (scale != 1.0 or unit_currency):
                report.notes.append(f"amount_unit:{rows.headers.get(spec.name)}")
            if unit_currency and parsed.extra is not None:
                parsed.extra = parsed.extra.where(parsed.extra.notna(), unit_currency)
            rows.flag(
                column.expand_mask(parsed.bad), "unparseable_amount", spec.name, raw
            )
            if parsed.extra is not None:
                frame[f"_{spec.name}_currency"] = column.expand(parsed.extra)
            frame[f"_{spec.name}_raw"] = column.expand(distinct.map(_clean_cell))
        elif spec.type == FieldType.PROBABILITY:
            parsed = parse_probabilities(distinct)
            frame[spec.name] = column.expand(parsed.values).astype(float)
            rows.flag(
                column.expand_mask(parsed.bad),
                "unparseable_probability",
                spec.name,
                raw,
            )
        elif spec.type == FieldType.BOOL:
            parsed = parse_bools(distinct)
            values = column.expand(parsed.values.astype(object))
            frame[spec.name] = values.where(values.notna(), None)
            rows.flag(
                column.expand_mask(parsed.bad), "unparseable_bool", spec.name, raw
            )
        elif spec.type == FieldType.MONTH:
            years = body[fields["year"]] if "year" in fields else None
            parsed = parse_months(raw, years)
            frame[spec.name] = parsed.values
            rows.flag(parsed.bad, "unparseable_month", spec.name, raw)
        elif spec.type == FieldType.STAGE:
            text = distinct.map(_clean_cell)
            keys = text.map(lambda value: model.match(value) if value else None)
            unknown = column.expand_mask(text.notna() & keys.isna())
            frame[spec.name] = column.expand(keys)
            if unknown.any():
                shown = column.expand(text)
                hints = shown[unknown].map(model.suggest)
                rows.flag(unknown, "unknown_stage", spec.name, shown, suggestions=hints)
        elif spec.type == FieldType.INTEGER:
            frame[spec.name] = pd.to_numeric(
                column.expand(distinct.map(_clean_cell)), errors="coerce"
            )
        else:
            cleaner = _free_text_cell if spec.name in FREE_TEXT else _clean_cell
            frame[spec.name] = column.expand(distinct.map(cleaner))
    return frame


def _finish_deals(frame: pd.DataFrame, rows: _Rows, model: StageModel) -> None:
    """Deal rules: identity, stage present, amounts, close dates, currency."""
    index = frame.index
    missing_stage = frame["stage"].isna() & ~index.isin(_flagged(rows, "unknown_stage"))
    rows.flag(missing_stage, "missing_stage", "stage", None)

    currency = frame.pop("_amount_currency") if "_amount_currency" in frame else None
    if currency is not None:
        frame["currency"] = frame["currency"].where(frame["currency"].notna(), currency)
    currencies = sorted({str(code).upper() for code in frame["currency"].dropna()})
    if len(currencies) > 1:
        rows.report.notes.append("mixed_currency:" + ",".join(currencies))

    bad_amount = index.isin(_flagged(rows, "unparseable_amount"))
    missing = frame["amount"].isna() & ~bad_amount
    rows.flag(missing, "missing_amount", "amount", None, Severity.INFO)
    shown = frame.pop("_amount_raw") if "_amount_raw" in frame else frame["amount"]
    negative = frame["amount"].lt(0)
    rows.flag(negative, "negative_amount", "amount", shown)

    closed = frame["stage"].isin([model.won_key, model.lost_key])
    fill_close = closed & frame["closed_at"].isna() & frame["expected_close"].notna()
    frame.loc[fill_close, "closed_at"] = frame.loc[fill_close, "expected_close"]
    undated_wins = int(
        (frame["stage"].eq(model.won_key) & frame["closed_at"].isna()).sum()
    )
    if undated_wins:
        rows.report.notes.append(f"won_without_close_date:{undated_wins}")

    ids = frame["deal_id"]
    customers = frame["customer"]
    names = frame["deal_name"]
    no_identity = ids.isna() & customers.isna() & names.isna()
    rows.flag(no_identity, "missing_identity", None, None, Severity.ERROR)

    built = ids.isna() & ~no_identity
    if built.any():
        keys = (
            per_value(customers[built], customer_key, missing="")
            + "|"
            + per_value(names[built], fold, missing="")
        )
        seen: dict[str, int] = {}
        for position, key in keys.items():
            count = seen.get(key, 0) + 1
            seen[key] = count
            deal_key = f"~{key}" if count == 1 else f"~{key}#{count}"
            frame.loc[position, "deal_id"] = deal_key
            if count > 1:
                rows.flag(
                    pd.Series(index == position, index=index),
                    "key_collision",
                    "customer",
                    pd.Series(deal_key, index=index),
                )

    given = frame["deal_id"].where(~built)
    duplicate = given.notna() & given.duplicated(keep="first")
    rows.flag(duplicate, "duplicate_deal_id", "deal_id", given, Severity.ERROR)


def _flagged(rows: _Rows, kind: str) -> set:
    flagged_rows = {issue.row for issue in rows.report.issues if issue.kind == kind}
    return set(rows.rows[rows.rows.isin(flagged_rows)].index)


def _finish_activities(frame: pd.DataFrame, rows: _Rows) -> None:
    """A follow-up without a readable time cannot be placed: reject it."""
    frame["kind"] = per_value(frame["kind"], _activity_kind)
    unreadable = frame.index.isin(_flagged(rows, "unparseable_date"))
    missing = frame["activity_at"].isna() & ~unreadable
    rows.flag(missing, "missing_required", "activity_at", None, Severity.ERROR)
    for index in frame.index[unreadable & frame["activity_at"].isna()]:
        rows.rejected.add(index)


def _finish_targets(frame: pd.DataFrame, rows: _Rows) -> None:
    nobody = frame["owner"].isna() & frame["team"].isna()
    rows.flag(nobody, "missing_owner_or_team", None, None, Severity.ERROR)
    for name in ("month", "target"):
        rows.flag(frame[name].isna(), "missing_required", name, None, Severity.ERROR)


def _finish_reps(frame: pd.DataFrame, rows: _Rows) -> None:
    rows.flag(frame["name"].isna(), "missing_required", "name", None, Severity.ERROR)
    frame["active"] = frame["active"].where(frame["active"].notna(), True)


def _newest_date(frame: pd.DataFrame, kind: Kind) -> date | None:
    """The newest past date in the file's own date columns.

    Dates after the day of the import are typos (2062 for 2026) or plans,
    never the day an export describes, so they are left out.
    """
    latest = pd.Timestamp(date.today()) + pd.Timedelta(days=1)
    columns = [
        spec.name
        for spec in FIELDS[kind]
        if spec.type == FieldType.DATE
        and spec.name not in ("expected_close", "next_step_due")
    ]
    newest = None
    for name in columns:
        value = frame[name][frame[name] < latest].max() if name in frame else None
        if value is not None and pd.notna(value) and (newest is None or value > newest):
            newest = value
    return newest.date() if newest is not None else None


def parse_file(
    payload: bytes,
    file_name: str,
    kind: Kind | str | None = None,
    mapping: dict[str, str] | None = None,
    as_of: date | None = None,
    date_order: str | None = None,
    model: StageModel | None = None,
) -> ParsedFile:
    """Read one export into canonical rows and a validation report.

    `mapping` ({field: header}) overrides the alias table; `kind` overrides
    detection. as_of comes from the argument, else a date in the file name,
    else an export timestamp in a title row, else the newest date in the file
    (with a note saying so). Raises ImportRefused when the file as a whole
    cannot be read; bad cells and rows only go into the report.
    """
    model = model or default_model()
    kind = Kind(kind) if kind else None
    sheets = read_sheets(payload, file_name)
    sheet, header_at, headers, found = _pick_sheet(sheets, kind)
    if header_at < 0:
        raise ImportRefused("no_header", file=file_name, rows=HEADER_SCAN_ROWS)
    kind = kind or found
    if kind is None:
        raise ImportRefused("unknown_kind", file=file_name)

    report = ImportReport(
        file=file_name, kind=kind.value, sheet=sheet.sheet, encoding=sheet.encoding
    )
    grid = sheet.grid
    report.header_row = int(grid.index[header_at]) + 1

    body = grid.iloc[header_at + 1 :]
    coded = {i: _Coded.of(body[i]) for i in range(grid.shape[1])}
    texts = {i: column.uniques.map(_clean_cell) for i, column in coded.items()}
    present = {i for i, text in texts.items() if text.notna().any()}
    columns = [i for i in range(grid.shape[1]) if headers[i] or i in present]
    places = sheet.positions or list(range(grid.shape[1]))
    labels = {i: headers[i] or f"({_column_label(places[i])})" for i in columns}

    if mapping:
        by_header = {label: i for i, label in labels.items()}
        fields = {}
        for name, header in mapping.items():
            if header is None or header == "":
                continue
            if header not in by_header:
                raise ImportRefused("bad_mapping", file=file_name, column=header)
            if name in field_names(kind):
                fields[name] = by_header[header]
    else:
        fields = map_columns(
            [headers[i] if i in columns else None for i in range(len(headers))], kind
        ).fields
    lacking = missing_required(fields, kind)
    if lacking:
        raise ImportRefused(
            "missing_column", file=file_name, field=lacking[0], kind=kind.value
        )
    used = set(fields.values())
    report.mapping = {name: labels[i] for name, i in fields.items()}
    report.unmapped_columns = [labels[i] for i in columns if i not in used]

    body = body[columns]
    cell_text = pd.DataFrame(
        {i: coded[i].expand(texts[i]) for i in columns}, index=body.index
    )
    filled = cell_text.notna().any(axis=1)
    last_filled = filled[filled].index.max() if filled.any() else None
    if last_filled is not None:
        report.blank_rows = int((~filled & (body.index <= last_filled)).sum())
    body = body[filled]
    cell_text = cell_text[filled]

    user_rows = pd.Series(body.index + 1, index=body.index)
    summary = pd.Series(False, index=body.index)
    for i in columns:
        summary |= per_value(cell_text[i], _is_summary_word, missing=False).astype(bool)
    if kind == Kind.DEALS and "deal_id" in fields:
        deal_ids = cell_text[fields["deal_id"]]
        id_is_label = per_value(deal_ids, _is_summary_word, missing=False).astype(bool)
        summary &= deal_ids.isna() | id_is_label
    roles = pd.Series(None, index=body.index, dtype=object)
    roles[summary] = "summary_row"

    leftmost = pd.Series(None, index=body.index, dtype=object)
    for i in columns:
        leftmost = leftmost.where(leftmost.notna(), cell_text[i])
    first = per_value(leftmost, fold, missing="")
    note_like = first.str.match(_NOTE_LABEL) | first.str.startswith(_NOTE_START)
    sparse = cell_text.notna().sum(axis=1) <= max(3, len(columns) // 2)
    for index in body.index[sparse & note_like & ~summary]:
        roles.loc[index] = _note_role(cell_text.loc[index].tolist())
    if kind == Kind.DEALS and "stage" in fields:
        has_stage = cell_text[fields["stage"]].notna()
        roles = roles.where(~has_stage | (roles == "summary_row"), None)
    for index, role in roles[roles.notna()].items():
        report.rows_skipped.append(
            SkippedRow(row=int(user_rows.loc[index]), reason=role)
        )
    keep = roles.isna()
    body = body[keep]
    user_rows = user_rows[keep]
    report.rows_read = int(filled.sum())

    rows = _Rows(report, user_rows, report.mapping)
    coded = {i: coded[i].rows(body.index) for i in columns}
    frame = _parse_values(body, coded, kind, fields, rows, model, date_order)
    if kind == Kind.DEALS:
        _finish_deals(frame, rows, model)
    elif kind == Kind.ACTIVITIES:
        _finish_activities(frame, rows)
    elif kind == Kind.TARGETS:
        _finish_targets(frame, rows)
    else:
        _finish_reps(frame, rows)
    frame = frame[field_names(kind)].copy()
    for spec in FIELDS[kind]:
        if spec.type in (FieldType.TEXT, FieldType.STAGE, FieldType.MONTH):
            column = frame[spec.name].astype(object)
            frame[spec.name] = column.where(column.notna(), None)
    frame.insert(0, "row", user_rows.astype(int))

    rejected = frame.index.isin(list(rows.rejected))
    frame = frame[~rejected].reset_index(drop=True)
    report.rows_rejected = int(rejected.sum())
    report.rows_imported = len(frame)
    if kind in (Kind.DEALS, Kind.ACTIVITIES) and frame.empty:
        raise ImportRefused("no_rows", file=file_name, sheet=sheet.sheet or "-")

    title_cells = grid.iloc[:header_at].stack().tolist() if header_at else []
    named, several = _as_of_from_name(file_name)
    stamped = _as_of_from_title(title_cells)
    if several:
        report.notes.append("file_name_has_several_dates")
    if named and stamped and named != stamped:
        report.notes.append(f"as_of_sources_disagree:{named}:{stamped}")
    if as_of is not None:
        report.as_of, report.as_of_source = as_of, "given"
    elif named is not None:
        report.as_of, report.as_of_source = named, "file_name"
    elif stamped is not None:
        report.as_of, report.as_of_source = stamped, "title_row"
    else:
        report.as_of = _newest_date(frame, kind)
        report.as_of_source = "newest_date"
        if report.as_of is not None:
            report.notes.append(f"as_of_from_newest_date:{report.as_of}")

    sha256 = hashlib.sha256(payload).hexdigest()
    log.info(
        "parsed %s: %s, %d read, %d imported, %d rejected",
        file_name,
        kind.value,
        report.rows_read,
        report.rows_imported,
        report.rows_rejected,
    )
    return ParsedFile(
        kind=kind,
        frame=frame,
        report=report,
        sha256=sha256,
        as_of=report.as_of,
        headers=[labels[i] for i in columns],
    )
