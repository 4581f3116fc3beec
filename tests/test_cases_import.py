"""The import cases from real bug reports (tests/cases/*.expected.json).

Each case file names an input and what a well-built importer must do with
it. `load_case` parses the input and `assert_expect` checks every key of the
case's `expect` block; each case test then adds its `must_not` lines. The
variants at the bottom rebuild the same kind of fault in other shapes (CSV
instead of xlsx, GBK, openpyxl-written sheets), so the kind is covered, not
only the one file.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from openpyxl.styles import Font, PatternFill

from sales_core.ingest.parse import ParsedFile, parse_file
from sales_core.ingest.report import ImportReport, Issue
from sales_core.stages import default_model

CASES_DIR = Path(__file__).resolve().parent / "cases"

# Case field names → ours. follow_up_at is a deal's last follow-up.
CASE_FIELDS = {"follow_up_at": "last_touch_at", "won_at": "closed_at"}
STAGE_FIELDS = ("stage", "lost_at_stage")
MODEL = default_model()
WON, LOST = MODEL.won_key, MODEL.lost_key


# Helpers


@dataclass
class Case:
    """One case: its expectations and what parse_file made of its input."""

    id: str
    expect: dict
    must_not: list[str]
    parsed: ParsedFile

    @property
    def frame(self) -> pd.DataFrame:
        return self.parsed.frame

    @property
    def report(self) -> ImportReport:
        return self.parsed.report

    def cell(self, row: int, field: str) -> object:
        """Our value for the user's `row` and a case field, in the case's terms."""
        name = CASE_FIELDS.get(field, field)
        hits = self.frame.loc[self.frame["row"] == row, name]
        assert len(hits) == 1, f"{self.id}: row {row} imported {len(hits)} times"
        return case_value(hits.iloc[0], name)


def case_value(value: object, field: str) -> object:
    """Our canonical value as the case files write it (ISO dates, zh stages)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if field in STAGE_FIELDS:
        return MODEL.name(value, "zh")
    if isinstance(value, datetime | pd.Timestamp):
        stamp = pd.Timestamp(value)
        if stamp == stamp.normalize():
            return stamp.date().isoformat()
        return stamp.isoformat()
    if isinstance(value, int | float | np.number):
        return float(value)
    return value


def load_case(case_id: str) -> Case:
    spec = json.loads((CASES_DIR / f"{case_id}.expected.json").read_text("utf-8"))
    path = CASES_DIR / spec["input"]
    parsed = parse_file(path.read_bytes(), path.name)
    return Case(case_id, spec["expect"], spec.get("must_not", []), parsed)


def _issue_matches(issue: Issue, wanted: dict) -> bool:
    """True when `issue` has every attribute `wanted` names (suggestion as zh)."""
    for key, value in wanted.items():
        if key == "suggestion":
            value = MODEL.match(value) if value is not None else None
        if key == "field":
            value = CASE_FIELDS.get(value, value)
        if getattr(issue, key) != value:
            return False
    return True


def assert_issues(case: Case) -> None:
    """Each expected issue is there once; extras only when the case allows."""
    issues = list(case.report.issues)
    for wanted in case.expect.get("issues", []):
        same_cell = [
            i for i in issues if i.row == wanted["row"] and i.kind == wanted["kind"]
        ]
        assert len(same_cell) == 1, (
            f"{case.id}: expected one {wanted['kind']} issue on row {wanted['row']}, "
            f"got {same_cell} among {issues}"
        )
        assert _issue_matches(same_cell[0], wanted), (
            f"{case.id}: {same_cell[0]} does not match {wanted}"
        )
        issues.remove(same_cell[0])
    allowed = case.expect.get("allowed_extra_issues", [])
    extras = [i for i in issues if not any(_issue_matches(i, a) for a in allowed)]
    if case.expect.get("no_other_issues") or "allowed_extra_issues" in case.expect:
        assert extras == [], f"{case.id}: unexpected issues {extras}"


def column_names(parsed: ParsedFile) -> list[str]:
    """Every column name the import keeps or shows: frame, mapping, leftovers."""
    report = parsed.report
    return [
        *map(str, parsed.frame.columns),
        *report.mapping.values(),
        *report.unmapped_columns,
        *parsed.headers,
    ]


def assert_expect(case: Case) -> None:
    """Check every key of a case's `expect` block against the parse."""
    expect, frame, report = case.expect, case.frame, case.report

    if "rows_imported" in expect:
        assert report.rows_imported == expect["rows_imported"]
        assert len(frame) == expect["rows_imported"]
    if "rows_total" in expect:
        assert report.rows_read == expect["rows_total"]
    if "imported_rows" in expect:
        assert frame["row"].tolist() == expect["imported_rows"]
    if "header_row" in expect:
        assert report.header_row == expect["header_row"]
    skipped = [(s.row, s.reason) for s in report.rows_skipped]
    wanted_skips = [(s["row"], s["reason"]) for s in expect.get("rows_skipped", [])]
    assert skipped == wanted_skips, f"{case.id}: skipped rows {skipped}"

    for cell in expect.get("cells", []):
        actual = case.cell(cell["row"], cell["field"])
        wanted = cell["value"]
        if isinstance(wanted, int | float) and not isinstance(wanted, bool):
            assert actual == pytest.approx(wanted), (case.id, cell, actual)
        else:
            assert actual == wanted, (case.id, cell, actual)

    if "sum_amount" in expect:
        assert frame["amount"].sum() == pytest.approx(expect["sum_amount"])
    if "date_order_detected" in expect:
        assert report.date_order == expect["date_order_detected"]
    if "encoding_detected_one_of" in expect:
        assert report.encoding in expect["encoding_detected_one_of"]
    if expect.get("no_replacement_chars"):
        texts = [v for v in frame.to_numpy().ravel() if isinstance(v, str)]
        texts += column_names(case.parsed)
        assert not [t for t in texts if "\ufffd" in t]
    if "issues" in expect or "allowed_extra_issues" in expect:
        assert_issues(case)
    for fragment in expect.get("no_column_name_contains", []):
        names = column_names(case.parsed)
        assert not [n for n in names if fragment in n], (fragment, names)
    if "columns_kept_max" in expect:
        assert len(case.parsed.headers) <= expect["columns_kept_max"]
        assert (
            len(report.mapping) + len(report.unmapped_columns)
            <= (expect["columns_kept_max"])
        )

    stage = frame["stage"]
    if "won_count" in expect:
        assert int((stage == WON).sum()) == expect["won_count"]
    if "won_amount" in expect:
        won_amount = frame.loc[stage == WON, "amount"].sum()
        assert won_amount == pytest.approx(expect["won_amount"])
    if "lost_count" in expect:
        assert int((stage == LOST).sum()) == expect["lost_count"]
    if expect.get("flagged_rows_counted_in_any_stage_total") is False:
        flagged = {
            i.row for i in report.issues if i.kind in ("unknown_stage", "missing_stage")
        }
        assert flagged, f"{case.id}: no stage issue flagged"
        kept = frame[frame["row"].isin(flagged)]
        assert kept["stage"].isna().all(), kept[["row", "stage"]]


# One test per case


def test_c01_serial_and_mixed_dates() -> None:
    case = load_case("C01")
    assert_expect(case)
    frame = case.frame
    # must_not: serials left as numbers in the date field
    assert frame["last_touch_at"].dtype.kind == "M"
    assert frame.loc[frame["row"] == 4, "last_touch_at"].iloc[0] == pd.Timestamp(
        "2024-03-01 12:00"
    )
    # must_not: the amount 45123 turned into a date
    assert frame["amount"].dtype.kind == "f"
    # must_not: row 8 dropped or the file failed over one text date
    assert 8 in frame["row"].tolist()
    assert case.report.rows_rejected == 0


def test_c02_dayfirst_dates_usd() -> None:
    case = load_case("C02")
    assert_expect(case)
    frame = case.frame
    # must_not: NaT for 13/03 or 31/03 because the format came from row 2
    assert frame["expected_close"].notna().all()
    # must_not: amounts kept as text, or USD summed unlabelled
    assert frame["amount"].dtype.kind == "f"
    assert frame["currency"].tolist() == ["USD"] * 5
    assert case.report.notes.count("ambiguous_date_order") == 0


def test_c03_gbk_excel_export() -> None:
    case = load_case("C03")
    assert_expect(case)
    # must_not: mojibake; every header and name decoded
    assert case.report.mapping["customer"] == "客户名称"
    assert case.frame["owner"].tolist() == ["陈静", "刘洋", "赵敏", "刘洋", "陈静"]
    assert case.frame["amount"].tolist() == [12000, 86500, 5000, 23800, 3200]


def test_c05_title_grouped_header_totals() -> None:
    case = load_case("C05")
    assert_expect(case)
    mapping = case.report.mapping
    # must_not: title or group labels as column names
    assert mapping["customer"] == "客户名称"
    assert mapping["amount"] == "预计成交金额"
    # must_not: 序号 read as the amount or as a deal id
    assert "序号" not in mapping.values()
    assert case.report.unmapped_columns == ["序号"]
    # must_not: the 合计 row imported (pipeline doubled to 452000)
    assert case.frame["amount"].sum() != 452000
    assert case.report.rows_read == 7  # 5 deals + 合计 + the note row
    assert case.report.rows_read == (
        case.report.rows_imported
        + case.report.rows_rejected
        + len(case.report.rows_skipped)
    )


def test_c05_built_deal_keys_hold_no_nan() -> None:
    """Without an id column the key is customer|deal name; no 'nan' in it."""
    case = load_case("C05")
    keys = case.frame["deal_id"].tolist()
    assert [key for key in keys if "nan" in key] == []
    assert len(set(keys)) == 5


def test_c06_amounts_as_text() -> None:
    case = load_case("C06")
    assert_expect(case)
    frame = case.frame
    # must_not: the whole column kept as text because of '待定'
    assert frame["amount"].dtype.kind == "f"
    # must_not: '-' read as negative or as an error
    assert not frame["amount"].lt(0).any()
    row9 = [i for i in case.report.issues if i.row == 9]
    assert [i.kind for i in row9] in ([], ["missing_amount"])
    # must_not: '30%' as 30 next to 0.45 as 0.45
    assert frame["win_probability"].dropna().between(0, 1).all()


def test_c07_trailing_formatted_blanks() -> None:
    case = load_case("C07")
    assert_expect(case)
    report = case.report
    # must_not: ~295 empty deals, or 'missing customer' for each of them
    assert report.rows_read == 4
    assert report.issues == []
    # must_not: stop at the blank row 4 and lose rows 5-6
    assert report.blank_rows == 1
    # must_not: empty columns G-K kept
    assert case.parsed.headers == [
        "客户名称",
        "销售阶段",
        "负责人",
        "预计成交金额",
        "跟进时间",
        "备注",
    ]


def test_c09_legacy_biff() -> None:
    case = load_case("C09")
    assert_expect(case)
    # must_not: dates as serial numbers
    assert case.frame["last_touch_at"].dtype.kind == "M"
    assert case.report.sheet == "商机明细"


def test_c12_stage_aliases_typos() -> None:
    case = load_case("C12")
    assert_expect(case)
    frame, report = case.frame, case.report
    # must_not: the typo 已成较 mapped to won silently
    assert frame.loc[frame["row"] == 10, "stage"].isna().all()
    # must_not: rows 10-13 dropped without a report
    assert report.rows_read == report.rows_imported + report.rows_rejected
    # must_not: ' won ' and 'WON' counted as unknown
    assert report.unknown_stages == {"已成较": 1, "Loose": 1, "暂停跟进": 1}


# Variants: the same kinds of fault in other shapes


def xlsx_bytes(rows: list[list[object]], styled_blank: tuple[int, int] | None = None):
    """An .xlsx written by openpyxl; `styled_blank` formats empty rows/cols."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "商机"
    for row in rows:
        sheet.append(row)
    if styled_blank:
        last_row, last_col = styled_blank
        fill = PatternFill("solid", fgColor="FFFF00")
        for r in range(1, last_row + 1):
            for c in range(1, last_col + 1):
                cell = sheet.cell(row=r, column=c)
                if r > len(rows) or c > len(rows[0]):
                    cell.fill = fill
                    # Exports leave '' or a lone space in formatted cells.
                    cell.value = " " if (r + c) % 3 == 0 else ""
        for c in range(len(rows[0]) + 1, last_col + 1):
            sheet.cell(row=1, column=c).font = Font(bold=True)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[list[object]], encoding: str = "utf-8") -> bytes:
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return text.getvalue().encode(encoding)


def make_file(rows: list[list[object]], fmt: str) -> tuple[bytes, str]:
    """(payload, file name) for rows as xlsx, UTF-8 CSV or GBK CSV."""
    if fmt == "xlsx":
        return xlsx_bytes(rows), "weekly.xlsx"
    if fmt == "csv-gbk":
        return csv_bytes(rows, "gbk"), "weekly.csv"
    if fmt == "csv-bom":
        return csv_bytes(rows, "utf-8-sig"), "weekly.csv"
    return csv_bytes(rows), "weekly.csv"


TITLED_ZH = [
    ["华北区销售周报 2024年第12周", None, None, None, None, None, None],
    ["客户信息", None, "商机信息", None, None, "跟进情况", None],
    ["序号", "客户名称", "销售阶段", "预计成交金额", "负责人", "跟进时间", "下一步"],
    [1, "北京燕山石化配件有限公司", "已报价", 30000, "孙琳", "2024-03-18", "改报价"],
    [2, "天津港口物流有限公司", "谈单中", 50000, "孙琳", "2024-03-19", "约面谈"],
    [3, "石家庄药业有限公司", "已成交", 20000, "钱坤", "2024-03-20", "交付"],
    ["合计", None, None, 100000, None, None, None],
    [None, None, None, None, None, None, None],
    ["制表人：钱坤", "审核：孙琳", None, None, None, None, None],
]
TITLED_EN = [
    ["Weekly pipeline report - week 12", None, None, None, None],
    ["No.", "Customer", "Stage", "Amount", "Owner"],
    [1, "Northwind Traders", "Proposal", 30000, "Alice"],
    [2, "Blue Harbor Ltd", "Negotiation", 50000, "Ben"],
    [3, "Cedar Point Inc", "Closed Won", 20000, "Alice"],
    ["Grand Total", None, None, 100000, None],
    [None, None, None, None, None],
    ["Note: amounts in USD", None, None, None, None],
]


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "csv-gbk"])
@pytest.mark.parametrize(
    ("rows", "header_row", "skipped"),
    [
        (TITLED_ZH, 3, [(7, "summary_row"), (9, "footer_or_note")]),
        (TITLED_EN, 2, [(6, "summary_row"), (8, "footer_or_note")]),
    ],
    ids=["zh", "en"],
)
def test_title_rows_and_totals_are_skipped_and_reported(
    rows: list[list[object]], header_row: int, skipped: list, fmt: str
) -> None:
    payload, name = make_file(rows, fmt)
    parsed = parse_file(payload, name)
    report = parsed.report
    assert report.header_row == header_row
    assert parsed.frame["row"].tolist() == [
        header_row + 1,
        header_row + 2,
        header_row + 3,
    ]
    assert [(s.row, s.reason) for s in report.rows_skipped] == skipped
    assert parsed.frame["amount"].sum() == 100000
    assert [MODEL.name(s, "zh") for s in parsed.frame["stage"]] == [
        "已报价",
        "谈单中",
        "已成交",
    ]
    names = column_names(parsed)
    assert not [n for n in names if "周报" in n or "report" in n or "Unnamed" in n]
    assert report.mapping.get("deal_id") is None
    assert report.mapping["amount"] in ("预计成交金额", "Amount")
    if fmt == "csv-gbk" and header_row == 3:  # the English sheet is plain ASCII
        assert report.encoding == "gb18030"


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
@pytest.mark.parametrize(
    ("dates", "order", "expected"),
    [
        (
            ["05/03/2024", "01/04/2024", "13/03/2024", "31/03/2024"],
            "DMY",
            ["2024-03-05", "2024-04-01", "2024-03-13", "2024-03-31"],
        ),
        (
            ["03/05/2024", "04/01/2024", "03/13/2024", "12/31/2024"],
            "MDY",
            ["2024-03-05", "2024-04-01", "2024-03-13", "2024-12-31"],
        ),
        (
            ["05.03.2024", "13.03.2024", "01.04.2024", "02.04.2024"],
            "DMY",
            ["2024-03-05", "2024-03-13", "2024-04-01", "2024-04-02"],
        ),
    ],
    ids=["dmy", "mdy", "dmy-dots"],
)
def test_one_date_order_for_the_whole_column(
    dates: list[str], order: str, expected: list[str], fmt: str
) -> None:
    rows = [["Deal ID", "Account", "Stage", "Amount", "Close Date"]]
    rows += [
        [f"D-{i}", f"Account {i}", "Proposal", 1000 * (i + 1), text]
        for i, text in enumerate(dates)
    ]
    payload, name = make_file(rows, fmt)
    parsed = parse_file(payload, name)
    assert parsed.report.date_order == order
    got = [case_value(v, "expected_close") for v in parsed.frame["expected_close"]]
    assert got == expected
    assert parsed.report.issues == []


def test_mixed_date_forms_in_an_openpyxl_sheet() -> None:
    """Real datetimes, numbers, serial text and Chinese dates in one column."""
    rows = [
        ["商机编号", "客户名称", "销售阶段", "预计成交金额", "跟进时间"],
        ["A-1", "甲公司", "已联系", 45123, datetime(2024, 3, 5)],
        ["A-2", "乙公司", "已报价", 20000, 45123],
        ["A-3", "丙公司", "谈单中", 30000, "45352.5"],
        ["A-4", "丁公司", "新线索", 40000, "2024年3月5日"],
        ["A-5", "戊公司", "待决策", 50000, "2024/3/5"],
        ["A-6", "己公司", "已联系", 60000, "过两天"],
    ]
    for fmt in ("xlsx", "csv"):
        parsed = parse_file(*make_file(rows, fmt))
        got = [case_value(v, "last_touch_at") for v in parsed.frame["last_touch_at"]]
        assert got == [
            "2024-03-05",
            "2023-07-16",
            "2024-03-01T12:00:00",
            "2024-03-05",
            "2024-03-05",
            None,
        ], fmt
        assert parsed.frame["amount"].tolist()[0] == 45123
        issues = [(i.row, i.column, i.kind, i.raw) for i in parsed.report.issues]
        assert issues == [(7, "跟进时间", "unparseable_date", "过两天")], fmt
        assert parsed.report.rows_imported == 6


def test_amounts_as_text_in_a_csv() -> None:
    rows = [
        ["客户名称", "销售阶段", "预计成交金额", "赢率"],
        ["甲", "已报价", "¥12,000", "30%"],
        ["乙", "已报价", "1.2万", "0.45"],
        ["丙", "已报价", "3.5万元", "80％"],
        ["丁", "已报价", "2亿", "50 %"],
        ["戊", "已报价", "-", ""],
        ["己", "已报价", "待定", "10%"],
        ["庚", "已报价", "15k", "5%"],
        ["辛", "已报价", "1,100万", "40%"],
    ]
    parsed = parse_file(csv_bytes(rows), "amounts.csv")
    frame = parsed.frame
    amounts = [case_value(v, "amount") for v in frame["amount"]]
    assert amounts == [12000, 12000, 35000, 2e8, None, None, 15000, 11000000]
    probabilities = [case_value(v, "p") for v in frame["win_probability"]]
    assert probabilities == pytest.approx([0.3, 0.45, 0.8, 0.5, None, 0.1, 0.05, 0.4])
    kinds = {(i.row, i.kind, i.raw) for i in parsed.report.issues}
    assert kinds == {(6, "missing_amount", None), (7, "unparseable_amount", "待定")}


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_trailing_formatted_blanks_and_empty_columns(fmt: str) -> None:
    rows = [
        ["客户名称", "销售阶段", "负责人", "预计成交金额", "跟进时间", "备注"],
        ["沈阳机床厂", "已联系", "韩雪", 26000, "2024-03-11", None],
        ["大连渔具店", "已报价", "韩雪", 9000, "2024-03-12", None],
        [None] * 6,
        ["长春软件园", "谈单中", "曹阳", 64000, "2024-03-13", None],
        ["哈尔滨乳业", "新线索", "曹阳", 15000, "2024-03-14", None],
    ]
    if fmt == "xlsx":
        payload, name = xlsx_bytes(rows, styled_blank=(300, 11)), "blanks.xlsx"
    else:
        padded = [row + [None] * 5 for row in rows] + [[None] * 11] * 20
        payload, name = csv_bytes(padded), "blanks.csv"
    parsed = parse_file(payload, name)
    assert parsed.frame["row"].tolist() == [2, 3, 5, 6]
    assert parsed.report.rows_read == 4
    assert parsed.report.blank_rows == 1
    assert parsed.report.issues == []
    assert len(parsed.headers) == 6
    assert parsed.report.unmapped_columns == []


@pytest.mark.parametrize(
    ("raw", "key", "suggestion"),
    [
        ("Won", WON, None),
        ("ＷＯＮ", WON, None),
        (" won ", WON, None),
        ("Closed Won", WON, None),
        ("closed-won", WON, None),
        ("赢单", WON, None),
        ("已成交\u3000", WON, None),
        ("输单", LOST, None),
        ("Closed Lost", LOST, None),
        ("商务谈判", "negotiating", None),
        ("Proposal/Price Quote", "quoted", None),
        ("已成较", None, WON),
        ("Loose", None, LOST),
        ("暂停跟进", None, None),
    ],
)
def test_stage_aliases_fold_and_typos_are_flagged(
    raw: str, key: str | None, suggestion: str | None
) -> None:
    rows = [
        ["商机编号", "客户名称", "销售阶段", "预计成交金额"],
        ["S-1", "甲", raw, 1000],
    ]
    parsed = parse_file(csv_bytes(rows), "stages.csv")
    assert parsed.frame["stage"].tolist() == [key]
    issues = [
        (i.row, i.column, i.kind, i.raw, i.suggestion) for i in parsed.report.issues
    ]
    if key is None:
        assert issues == [(2, "销售阶段", "unknown_stage", raw.strip(), suggestion)]
    else:
        assert issues == []


@pytest.mark.parametrize(
    ("encoding", "reported"),
    [("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030"), ("gb18030", "gb18030")],
)
def test_chinese_csv_encodings_decode_without_loss(
    encoding: str, reported: str
) -> None:
    rows = [
        ["商机编号", "客户名称", "销售阶段", "负责人", "预计成交金额"],
        ["G-1", "天山·丝路商贸有限公司", "已报价", "赵敏", "￥5,000"],
        ["G-2", "广州南沙潮汕餐饮店", "已成交", "刘洋", "23800"],
        ["合计", None, None, None, "28800"],
    ]
    parsed = parse_file(csv_bytes(rows, encoding), "gbk.csv")
    assert parsed.report.encoding == reported
    assert parsed.frame["customer"].tolist() == [
        "天山·丝路商贸有限公司",
        "广州南沙潮汕餐饮店",
    ]
    assert [(s.row, s.reason) for s in parsed.report.rows_skipped] == [
        (4, "summary_row")
    ]
    assert parsed.frame["amount"].sum() == 28800


def test_given_date_order_is_used_and_reported() -> None:
    """An ambiguous column read with the user's DMY says so in the report."""
    rows = [
        ["Deal ID", "Account", "Stage", "Close Date"],
        ["D-1", "Northwind", "Proposal", "05/03/2024"],
        ["D-2", "Blue Harbor", "Proposal", "01/04/2024"],
    ]
    parsed = parse_file(csv_bytes(rows), "ambiguous.csv", date_order="DMY")
    got = [case_value(v, "expected_close") for v in parsed.frame["expected_close"]]
    assert got == ["2024-03-05", "2024-04-01"]
    assert parsed.report.date_order == "DMY"

    guessed = parse_file(csv_bytes(rows), "ambiguous.csv")
    assert guessed.report.date_order == "MDY"
    assert "ambiguous_date_order:Close Date" in guessed.report.notes


def test_xlsx_column_without_header_gets_its_letter_not_nan() -> None:
    """An unlabelled column with data is shown as (C); empty ones are dropped."""
    rows = [
        ["客户名称", "销售阶段", None, "预计成交金额", None],
        ["甲公司", "已报价", "备用", 1000, None],
        ["乙公司", "已联系", None, 2000, None],
    ]
    parsed = parse_file(xlsx_bytes(rows), "unlabelled.xlsx")
    assert parsed.headers == ["客户名称", "销售阶段", "(C)", "预计成交金额"]
    assert parsed.report.unmapped_columns == ["(C)"]
