"""Regression tests for the import hardening (the tester's defect reports).

Each test below failed on the importer before the hardening commit and
passes now. Inputs are built in the test (openpyxl, csv, or sheet XML zipped
by hand so a "huge" sheet stays a 2 KB file).

Never let calamine read a sheet whose cell refs reach far corners: it sizes
its grid from them (XFD1048576 asked for 512 GB and aborted the process).
Every test that hands such a file to parse_file swaps pandas.read_excel for
`_calamine_forbidden`, so a missed pre-scan fails the test instead.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import subprocess
import sys
import time
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import python_calamine

from sales_core.errors import ImportRefused
from sales_core.export import to_xlsx_bytes
from sales_core.ingest.parse import parse_file
from sales_core.ingest.report import Severity, SkippedRow
from sales_core.schema import Kind

REPO_ROOT = Path(__file__).resolve().parents[1]
DEALS = ["商机编号", "客户名称", "负责人", "销售阶段", "预计金额", "成交日期"]


# Helpers


def xlsx(rows: list[list[object]] | None = None, sheets: dict | None = None) -> bytes:
    """An .xlsx written by openpyxl: one sheet of `rows`, or `sheets` by name."""
    book = openpyxl.Workbook()
    page = book.active
    for number, (name, sheet_rows) in enumerate((sheets or {"Sheet1": rows}).items()):
        if number:
            page = book.create_sheet(name)
        else:
            page.title = name
        for row in sheet_rows:
            page.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csvb(
    rows: list[list[object]], encoding: str = "utf-8", delimiter: str = ","
) -> bytes:
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter).writerows(rows)
    return text.getvalue().encode(encoding)


_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)
# Row 1: 客户名称 | 销售阶段 | 预计金额 in A1:C1, as Excel writes cells.
_HEADER_ROW = (
    '<row r="1"><c r="A1" t="inlineStr"><is><t>客户名称</t></is></c>'
    '<c r="B1" t="inlineStr"><is><t>销售阶段</t></is></c>'
    '<c r="C1" t="inlineStr"><is><t>预计金额</t></is></c></row>'
)


def sheet_xlsx(rows_xml: str, prefix: str = "") -> bytes:
    """A minimal .xlsx whose one sheet holds `rows_xml` (as mkdim.py builds it).

    With `prefix` the sheet's elements use that namespace prefix (x:row, x:c).
    """
    tag = f"{prefix}:" if prefix else ""
    xmlns = f"xmlns{':' + prefix if prefix else ''}"
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<{tag}worksheet {xmlns}="http://schemas.openxmlformats.org/spreadsheetml/'
        f'2006/main"><{tag}sheetData>{rows_xml}</{tag}sheetData></{tag}worksheet>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return buffer.getvalue()


def far_cell_xlsx(ref: str, row: int) -> bytes:
    """The header row plus one numeric cell at `ref` (in row `row`)."""
    return sheet_xlsx(_HEADER_ROW + f'<row r="{row}"><c r="{ref}"><v>1</v></c></row>')


@pytest.fixture
def no_calamine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test (never abort the process) if calamine is asked to read."""

    def _calamine_forbidden(*args: object, **kwargs: object) -> None:
        # pytest.fail raises a BaseException, which the reader's
        # `except Exception` cannot turn into corrupt_excel.
        pytest.fail("the sheet reached calamine: the size pre-scan let it through")

    monkeypatch.setattr(pd, "read_excel", _calamine_forbidden)
    monkeypatch.setattr(python_calamine, "load_workbook", _calamine_forbidden)


def refused(payload: bytes, file_name: str, **options: object) -> ImportRefused:
    with pytest.raises(ImportRefused) as caught:
        parse_file(payload, file_name, **options)
    return caught.value


def issue_kinds(parsed, kind: str) -> list[tuple[int | None, str | None]]:
    return [(i.row, i.raw) for i in parsed.report.issues if i.kind == kind]


# 1. Sheet size pre-scan: a tiny xlsx cannot make the reader allocate the grid


@pytest.mark.usefixtures("no_calamine")
@pytest.mark.parametrize(
    ("ref", "row"),
    [("XFD1", 1), ("XFD20000", 20000)],
    ids=["XFD1", "XFD20000"],
)
def test_far_column_in_a_tiny_xlsx_is_refused_before_reading(
    ref: str, row: int
) -> None:
    payload = far_cell_xlsx(ref, row)
    assert len(payload) < 3000
    started = time.perf_counter()
    error = refused(payload, "商机导出_2026-11-27.xlsx")
    assert error.code == "too_many_columns"
    assert error.params["limit"] == 500
    assert time.perf_counter() - started < 5


@pytest.mark.usefixtures("no_calamine")
def test_cell_at_xfd1048576_is_refused_before_reading() -> None:
    # The corner breaks both limits; the pre-scan checks rows first, so the
    # code may name either. What matters: refused, fast, calamine untouched.
    started = time.perf_counter()
    error = refused(far_cell_xlsx("XFD1048576", 1048576), "商机导出_2026-11-27.xlsx")
    assert error.code in {"too_many_rows", "too_many_columns"}
    assert time.perf_counter() - started < 5


@pytest.mark.usefixtures("no_calamine")
def test_sheet_reaching_row_1000002_is_refused_as_too_many_rows() -> None:
    payload = far_cell_xlsx("A1000002", 1000002)
    started = time.perf_counter()
    error = refused(payload, "商机导出_2026-11-27.xlsx")
    assert error.code == "too_many_rows"
    assert error.params["limit"] == 1_000_000
    assert time.perf_counter() - started < 5


def test_normal_hand_built_sheet_still_reads() -> None:
    """The pre-scan leaves an ordinary small sheet alone."""
    rows = _HEADER_ROW + (
        '<row r="2"><c r="A2" t="inlineStr"><is><t>甲公司</t></is></c>'
        '<c r="B2" t="inlineStr"><is><t>谈单中</t></is></c><c r="C2"><v>100</v></c></row>'
    )
    parsed = parse_file(sheet_xlsx(rows), "商机导出_2026-11-27.xlsx")
    assert parsed.frame[["customer", "amount"]].to_dict("records") == [
        {"customer": "甲公司", "amount": 100.0}
    ]


# Still open: the pre-scan matches only the bytes `<c r="`, but calamine
# honours the cell ref however the XML spells it.
BYPASSES = {
    "attribute_order": '<row r="1048576"><c s="0" r="XFD1048576"><v>1</v></c></row>',
    "single_quotes": "<row r='1048576'><c r='XFD1048576'><v>1</v></c></row>",
    "newline_before_r": '<row r="1048576"><c\nr="XFD1048576"><v>1</v></c></row>',
    "cells_without_r": '<row r="1048576">' + "<c><v>1</v></c>" * 16384 + "</row>",
}


@pytest.mark.usefixtures("no_calamine")
@pytest.mark.parametrize("rows_xml", BYPASSES.values(), ids=BYPASSES.keys())
def test_far_cell_written_another_valid_way_is_refused_too(rows_xml: str) -> None:
    error = refused(sheet_xlsx(_HEADER_ROW + rows_xml), "商机导出_2026-11-27.xlsx")
    assert error.code in {"too_many_rows", "too_many_columns"}


@pytest.mark.usefixtures("no_calamine")
def test_far_cell_with_namespace_prefix_is_refused_too() -> None:
    header = (
        _HEADER_ROW.replace("<row", "<x:row")
        .replace("</row", "</x:row")
        .replace("<c ", "<x:c ")
        .replace("</c>", "</x:c>")
        .replace("<is>", "<x:is>")
        .replace("</is>", "</x:is>")
        .replace("<t>", "<x:t>")
        .replace("</t>", "</x:t>")
    )
    far = '<x:row r="1048576"><x:c r="XFD1048576"><x:v>1</x:v></x:c></x:row>'
    error = refused(sheet_xlsx(header + far, prefix="x"), "商机导出_2026-11-27.xlsx")
    assert error.code in {"too_many_rows", "too_many_columns"}


# 2. Units named in the header


def test_wan_yuan_header_scales_amounts_and_notes_it() -> None:
    parsed = parse_file(
        xlsx([["客户名称", "销售阶段", "预计金额（万元）"], ["甲", "已成交", "12.5"]]),
        "商机导出_2026-11-27.xlsx",
    )
    assert parsed.frame[["customer", "amount", "currency"]].to_dict("records") == [
        {"customer": "甲", "amount": 125000.0, "currency": "CNY"}
    ]
    units = [note for note in parsed.report.notes if note.startswith("amount_unit:")]
    assert len(units) == 1
    assert "预计金额" in units[0]
    assert "万元" in units[0]


def test_wan_yuan_header_scales_targets() -> None:
    parsed = parse_file(
        xlsx([["负责人", "月份", "目标(万元)"], ["张三", "2026-11", "50"]]),
        "业绩目标_2026-11.xlsx",
    )
    assert parsed.kind == Kind.TARGETS
    assert parsed.frame[["owner", "month", "target"]].to_dict("records") == [
        {"owner": "张三", "month": "2026-11", "target": 500000.0}
    ]
    assert parsed.report.notes == ["amount_unit:目标(万元)"]


def test_usd_thousands_header_scales_and_sets_currency() -> None:
    parsed = parse_file(
        csvb([["Customer", "Stage", "Amount (USD k)"], ["Acme", "Closed Won", "12.5"]]),
        "deals_2026-11-27.csv",
    )
    assert parsed.frame[["customer", "amount", "currency"]].to_dict("records") == [
        {"customer": "Acme", "amount": 12500.0, "currency": "USD"}
    ]
    assert "amount_unit:Amount (USD k)" in parsed.report.notes


def test_cell_with_its_own_unit_in_a_wan_yuan_column_is_not_scaled_twice() -> None:
    parsed = parse_file(
        xlsx([["客户名称", "销售阶段", "预计金额（万元）"], ["乙", "谈单中", "30万"]]),
        "商机导出_2026-11-27.xlsx",
    )
    amount = parsed.frame["amount"].iloc[0]
    flagged = issue_kinds(parsed, "unparseable_amount") == [(2, "30万")]
    assert amount == 300000.0 or (math.isnan(amount) and flagged)


# 3. Summary rows


def test_total_in_the_owner_column_of_a_targets_sheet_is_skipped() -> None:
    parsed = parse_file(
        xlsx(
            [
                ["团队", "负责人", "月份", "目标"],
                ["华东", "张三", "2026-11", "50万"],
                ["华东", "李四", "2026-11", "50万"],
                ["华东", "合计", "2026-11", "100万"],
            ]
        ),
        "业绩目标_2026-11.xlsx",
    )
    assert parsed.frame[["owner", "target"]].to_dict("records") == [
        {"owner": "张三", "target": 500000.0},
        {"owner": "李四", "target": 500000.0},
    ]
    assert parsed.report.rows_skipped == [SkippedRow(row=4, reason="summary_row")]


def test_summary_labels_are_skipped_and_lookalike_customers_kept() -> None:
    rows = [
        ["客户名称", "商机名称", "销售阶段", "预计金额", "成交日期"],
        ["Total Energies", "油站改造", "已成交", "50万", "2026-11-03"],
        ["Sum Industries", "ERP", "已成交", "10万", "2026-11-04"],
        ["合计(元)", "", "", "60万", ""],
        ["合 计", "", "", "60万", ""],
        ["Totals", "", "", "60万", ""],
        ["本页合计", "", "", "60万", ""],
    ]
    parsed = parse_file(xlsx(rows), "商机导出_2026-11-27.xlsx")
    assert parsed.frame[["customer", "amount"]].to_dict("records") == [
        {"customer": "Total Energies", "amount": 500000.0},
        {"customer": "Sum Industries", "amount": 100000.0},
    ]
    assert parsed.report.rows_skipped == [
        SkippedRow(row=4, reason="summary_row"),
        SkippedRow(row=5, reason="summary_row"),
        SkippedRow(row=6, reason="summary_row"),
        SkippedRow(row=7, reason="summary_row"),
    ]


def test_row_with_a_deal_id_is_a_summary_only_when_the_id_says_so() -> None:
    rows = [
        ["商机编号", "客户名称", "商机名称", "销售阶段", "预计金额"],
        ["D1", "合计", "门店", "已成交", "5"],
        ["D2", "Acme", "合计", "已成交", "7"],
        ["合计", "", "", "", "12"],
    ]
    parsed = parse_file(xlsx(rows), "商机导出_2026-11-27.xlsx")
    assert parsed.frame[["deal_id", "customer", "deal_name", "amount"]].to_dict(
        "records"
    ) == [
        {"deal_id": "D1", "customer": "合计", "deal_name": "门店", "amount": 5.0},
        {"deal_id": "D2", "customer": "Acme", "deal_name": "合计", "amount": 7.0},
    ]
    assert parsed.report.rows_skipped == [SkippedRow(row=4, reason="summary_row")]


# 4. Control characters


def test_control_characters_are_dropped_from_names_at_import() -> None:
    parsed = parse_file(
        csvb(
            [
                DEALS,
                ["D1", "甲\x01公司", "张三", "已成交", "1", "2026-11-03"],
                ["D2", "乙\x00公司", "张三", "已成交", "2", "2026-11-03"],
                ["D3", "丙\x1f公司", "张三", "已成交", "3", "2026-11-03"],
            ]
        ),
        "商机导出_2026-11-27.csv",
    )
    assert parsed.frame["customer"].tolist() == ["甲公司", "乙公司", "丙公司"]


def test_xlsx_export_of_text_with_control_characters_does_not_raise() -> None:
    frame = pd.DataFrame({"客\x01户": ["ok\x01bad", "x\x00y"], "金额": [1, 2]})
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(frame)))
    assert [[cell.value for cell in row] for row in book.active.iter_rows()] == [
        ["客户", "金额"],
        ["okbad", 1],
        ["xy", 2],
    ]


# 5. Decimal commas and absurd amounts


def test_decimal_commas_are_reported_not_guessed() -> None:
    amounts = [
        "1234,56",
        "12,50",
        "1.234,56",
        "1,2万",
        "1,234,567.5",
        "12.000",
        "9" * 400,
    ]
    rows = [DEALS] + [
        [f"D{i}", "甲", "张三", "谈单中", amount, ""]
        for i, amount in enumerate(amounts)
    ]
    parsed = parse_file(csvb(rows), "商机导出_2026-11-27.csv")
    values = parsed.frame.set_index("deal_id")["amount"]
    for deal in ("D0", "D1", "D2", "D3", "D6"):
        assert math.isnan(values[deal]), deal
    assert values["D4"] == 1234567.5
    assert values["D5"] == 12.0
    assert not (values.abs() == math.inf).any()
    bad = [i for i in parsed.report.issues if i.kind == "unparseable_amount"]
    assert [(i.row, i.raw) for i in bad] == [
        (2, "1234,56"),
        (3, "12,50"),
        (4, "1.234,56"),
        (5, "1,2万"),
        (8, "9" * 400),
    ]
    assert {i.severity for i in bad} == {Severity.WARNING}
    assert parsed.report.rows_imported == 7


# 6. Broken CSV quoting


def test_unclosed_quote_refuses_the_csv_naming_the_line() -> None:
    text = (
        "商机编号,客户名称,销售阶段,预计金额\n"
        "D1,甲,已成交,100\n"
        'D2,"乙,已成交,200\n'
        "D3,丙,已成交,300\n"
    )
    error = refused(text.encode(), "商机导出_2026-11-27.csv")
    assert error.code == "broken_csv"
    assert error.params["line"] == 3
    assert "3" in error.message("en")


# 7. One date order for the whole file


def test_day_first_created_date_decides_the_closed_date_order() -> None:
    parsed = parse_file(
        csvb(
            [
                [
                    "Deal ID",
                    "Customer",
                    "Stage",
                    "Amount",
                    "Created Date",
                    "Closed Date",
                ],
                ["D1", "Acme", "Closed Won", "1000", "25/10/2026", "03/11/2026"],
            ]
        ),
        "deals_2026-11-27.csv",
    )
    assert parsed.frame["created_at"].tolist() == [pd.Timestamp("2026-10-25")]
    assert parsed.frame["closed_at"].tolist() == [pd.Timestamp("2026-11-03")]
    assert parsed.report.date_order == "DMY"
    assert not [n for n in parsed.report.notes if n.startswith("ambiguous_date_order")]


# 8. The day an export describes


def test_date_range_in_file_name_gives_its_last_day_and_a_note() -> None:
    parsed = parse_file(
        xlsx([DEALS, ["D1", "甲", "张三", "已成交", "100", "2026-11-03"]]),
        "商机_2026-11-01至2026-11-27.xlsx",
    )
    assert parsed.as_of == date(2026, 11, 27)
    assert parsed.report.as_of_source == "file_name"
    assert "file_name_has_several_dates" in parsed.report.notes


def test_file_name_and_title_row_disagreeing_is_noted() -> None:
    parsed = parse_file(
        xlsx(
            [
                ["商机列表（导出时间：2026-11-20 18:00）"],
                DEALS,
                ["D1", "甲", "张三", "已成交", "100", "2026-11-03"],
            ]
        ),
        "商机导出_2026-11-27.xlsx",
    )
    assert parsed.as_of == date(2026, 11, 27)
    assert "as_of_sources_disagree:2026-11-27:2026-11-20" in parsed.report.notes


def test_newest_date_fallback_ignores_a_typo_year() -> None:
    header = DEALS + ["创建日期"]
    parsed = parse_file(
        csvb(
            [
                header,
                ["D1", "甲", "张三", "已成交", "100", "2024-03-05", "2024-02-01"],
                ["D2", "乙", "李四", "谈单中", "100", "", "2062-03-01"],
            ]
        ),
        "deals.csv",
    )
    assert parsed.as_of == date(2024, 3, 5)
    assert parsed.report.as_of_source == "newest_date"
    assert "as_of_from_newest_date:2024-03-05" in parsed.report.notes


# 9. Template sheets and empty files


@pytest.mark.parametrize(
    "template_first", [False, True], ids=["data_first", "template_first"]
)
def test_sheet_with_rows_wins_over_an_empty_template(template_first: bool) -> None:
    data = [
        ["商机名称", "客户名称", "销售阶段", "预计金额"],
        ["ERP", "甲", "已成交", "100"],
        ["CRM", "乙", "谈单中", "200"],
    ]
    template = [
        [
            "商机编号",
            "商机名称",
            "客户名称",
            "负责人",
            "销售阶段",
            "预计金额",
            "成交日期",
        ]
    ]
    sheets = (
        {"模板": template, "数据": data}
        if template_first
        else {"数据": data, "模板": template}
    )
    parsed = parse_file(xlsx(sheets=sheets), "商机导出_2026-11-27.xlsx")
    assert parsed.report.sheet == "数据"
    assert parsed.frame["customer"].tolist() == ["甲", "乙"]


def test_header_only_deals_csv_is_refused_as_no_rows() -> None:
    error = refused(csvb([DEALS]), "商机导出_2026-11-27.csv")
    assert error.code == "no_rows"


# 10. Follow-up logs that show the deal's stage


def test_follow_up_export_with_a_stage_column_is_activities() -> None:
    parsed = parse_file(
        xlsx(
            [
                ["跟进时间", "跟进人", "客户名称", "商机阶段", "跟进方式", "跟进内容"],
                ["2026-11-20 10:00", "张三", "甲公司", "谈单中", "电话", "聊价格"],
            ]
        ),
        "跟进记录_2026-11-27.xlsx",
    )
    assert parsed.kind == Kind.ACTIVITIES
    assert len(parsed.frame) == 1


# 11. Mixed currencies


def test_mixed_currencies_are_noted() -> None:
    parsed = parse_file(
        csvb(
            [
                DEALS + ["币种"],
                ["D1", "A", "张三", "已成交", "$100,000", "2026-11-03", ""],
                ["D2", "B", "张三", "已成交", "¥100,000", "2026-11-03", ""],
                ["D3", "C", "张三", "已成交", "50000", "2026-11-03", "EUR"],
            ]
        ),
        "商机导出_2026-11-27.csv",
    )
    assert parsed.frame[["amount", "currency"]].to_dict("records") == [
        {"amount": 100000.0, "currency": "USD"},
        {"amount": 100000.0, "currency": "CNY"},
        {"amount": 50000.0, "currency": "EUR"},
    ]
    assert "mixed_currency:CNY,EUR,USD" in parsed.report.notes


# 12. Encodings


def test_utf8_bom_before_a_gbk_body_never_raises_unicode_decode_error() -> None:
    payload = b"\xef\xbb\xbf" + csvb(
        [
            ["客户名称", "销售阶段", "预计金额", "成交日期"],
            ["北京字节", "已成交", "1000", "2026-11-03"],
        ],
        "gbk",
    )
    try:
        parsed = parse_file(payload, "deals_2026-11-27.csv")
    except ImportRefused as error:
        assert error.code == "unknown_encoding"
        return
    assert parsed.report.encoding == "gb18030"
    assert parsed.frame["customer"].tolist() == ["北京字节"]


def _utf8_with_one_latin1_byte(chinese_rows: int) -> bytes:
    rows = [["Customer", "Deal Name", "Stage", "Amount", "Closed Date"]]
    rows += [
        [
            f"北京字节科技有限公司{n}号"
            if chinese_rows > 1
            else "北京字节科技有限公司",
            "ERP",
            "Closed Won",
            "1000",
            "2026-11-03",
        ]
        for n in range(chinese_rows)
    ]
    rows.append(["Café Lumière", "CRM", "Closed Won", "2000", "2026-11-04"])
    return csvb(rows).replace("Café".encode(), b"Caf\xe9")


def _refused_or_read_right(payload: bytes) -> None:
    try:
        parsed = parse_file(payload, "deals_2026-11-27.csv")
    except ImportRefused as error:
        assert error.code == "unknown_encoding"
        return
    assert parsed.report.encoding != "cp1251"
    assert parsed.frame["customer"].str.startswith("北京字节科技有限公司").any()


def test_utf8_with_one_latin1_byte_is_not_read_as_cp1251() -> None:
    _refused_or_read_right(_utf8_with_one_latin1_byte(1))


def test_utf8_with_one_latin1_byte_and_many_chinese_rows_is_not_read_as_cp1251() -> (
    None
):
    _refused_or_read_right(_utf8_with_one_latin1_byte(5))


def test_real_windows_1251_csv_still_decodes() -> None:
    rows = [
        ["Customer", "Deal Name", "Stage", "Amount", "Closed Date"],
        ["ООО Ромашка", "Поставка оборудования", "Closed Won", "1000", "2026-11-03"],
        ["АО Северсталь", "Внедрение системы", "Closed Won", "2000", "2026-11-04"],
    ]
    parsed = parse_file(csvb(rows, "cp1251"), "deals_2026-11-27.csv")
    assert parsed.report.encoding == "cp1251"
    assert parsed.frame["customer"].tolist() == ["ООО Ромашка", "АО Северсталь"]


# 13. Width


def test_csv_with_20000_trailing_empty_columns_is_quick_and_clean() -> None:
    text = (
        "客户名称,销售阶段,预计金额"
        + "," * 20000
        + "\n甲,已成交,100"
        + "," * 20000
        + "\n"
    )
    started = time.perf_counter()
    parsed = parse_file(text.encode(), "商机导出_2026-11-27.csv")
    # A guard against the old 10–40 s, not a benchmark (now well under 1 s).
    assert time.perf_counter() - started < 5
    assert parsed.headers == ["客户名称", "销售阶段", "预计金额"]
    assert parsed.report.unmapped_columns == []
    assert parsed.frame[["customer", "amount"]].to_dict("records") == [
        {"customer": "甲", "amount": 100.0}
    ]


def test_csv_with_600_filled_columns_is_refused() -> None:
    rows = [
        ["客户名称", "销售阶段", "预计金额"] + [f"列{i}" for i in range(597)],
        ["甲", "已成交", "100"] + ["x"] * 597,
    ]
    error = refused(csvb(rows), "商机导出_2026-11-27.csv")
    assert error.code == "too_many_columns"
    assert error.params["limit"] == 500


def test_xlsx_with_600_filled_columns_is_refused() -> None:
    rows = [
        ["客户名称", "销售阶段", "预计金额"] + [f"列{i}" for i in range(597)],
        ["甲", "已成交", "100"] + ["x"] * 597,
    ]
    error = refused(xlsx(rows), "商机导出_2026-11-27.xlsx")
    assert error.code == "too_many_columns"


# 14. Compact dates and stage spellings


def test_numeric_yyyymmdd_in_an_xlsx_date_column() -> None:
    parsed = parse_file(
        xlsx(
            [
                ["商机编号", "客户名称", "销售阶段", "预计金额", "成交日期"],
                ["D1", "甲", "已成交", 100, 20261103],
            ]
        ),
        "商机导出_2026-11-27.xlsx",
    )
    assert parsed.frame["closed_at"].tolist() == [pd.Timestamp("2026-11-03")]


def test_stage_spellings_with_spaces_underscores_and_punctuation_match() -> None:
    spellings = ["Closed_Won", "已 成交", "已成交。", "closedwon"]
    parsed = parse_file(
        xlsx(
            [["商机编号", "客户名称", "销售阶段", "预计金额", "成交日期"]]
            + [[f"D{i}", "甲", s, 100, "2026-11-03"] for i, s in enumerate(spellings)]
        ),
        "商机导出_2026-11-27.xlsx",
    )
    assert parsed.frame["stage"].tolist() == ["won", "won", "won", "won"]
    assert parsed.report.unknown_stages == {}


# Command line: one bad file does not stop the batch


def test_cli_batch_goes_on_after_a_bad_file(tmp_path: Path) -> None:
    bom_gbk = tmp_path / "a_bom_gbk_2026-11-20.csv"
    bom_gbk.write_bytes(
        b"\xef\xbb\xbf"
        + csvb(
            [DEALS, ["D1", "北京字节", "张三", "已成交", "1000", "2026-11-03"]], "gbk"
        )
    )
    latin1 = tmp_path / "b_latin1_2026-11-24.csv"
    latin1.write_bytes(_utf8_with_one_latin1_byte(1))
    folder = tmp_path / "c_folder.csv"  # not a file: an internal error
    folder.mkdir()
    good = tmp_path / "d_good_2026-11-27.csv"
    good.write_bytes(
        csvb([DEALS, ["D1", "甲公司", "张三", "已成交", "3000", "2026-11-03"]])
    )

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "sales_core",
            "import",
            str(bom_gbk),
            str(latin1),
            str(folder),
            str(good),
            "--json",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "KONGPAN_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in completed.stderr
    lines = [json.loads(line) for line in completed.stdout.splitlines()]
    assert len(lines) == 4
    first, second, third, fourth = lines
    assert (first["encoding"], first["as_of"], first["rows_imported"]) == (
        "gb18030",
        "2026-11-20",
        1,
    )
    assert first["snapshot_id"]
    assert (second["file"], second["error"]) == (str(latin1), "unknown_encoding")
    assert (third["file"], third["error"]) == (str(folder), "internal_error")
    assert (fourth["as_of"], fourth["rows_imported"]) == ("2026-11-27", 1)
    assert fourth["snapshot_id"]
    assert completed.returncode != 0
