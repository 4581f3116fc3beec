"""Value parsers of sales_core/ingest/values.py, cell by cell, with literal results."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from sales_core.ingest.values import (
    blank_mask,
    detect_date_order,
    parse_amounts,
    parse_bools,
    parse_dates,
    parse_months,
    parse_probabilities,
)


def column(*values: object) -> pd.Series:
    return pd.Series(list(values), dtype=object)


def one_date(value: object, order: str | None = None) -> pd.Timestamp | None:
    parsed = parse_dates(column(value), order)
    result = parsed.values.iloc[0]
    return None if pd.isna(result) else result


# Dates


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (45123, "2023-07-16 00:00"),
        (45352.5, "2024-03-01 12:00"),
        ("45352.5", "2024-03-01 12:00"),
        ("45123", "2023-07-16 00:00"),
        ("2024/3/5", "2024-03-05 00:00"),
        ("2024-03-05", "2024-03-05 00:00"),
        ("2024.3.8", "2024-03-08 00:00"),
        ("2024年3月5日", "2024-03-05 00:00"),
        ("２０２４年３月５日", "2024-03-05 00:00"),
        ("20240305", "2024-03-05 00:00"),
        ("2024-03-05 14:30", "2024-03-05 14:30"),
        ("2024-03-05 14:30:15.123", "2024-03-05 14:30:15"),
        ("2024-03-05T14:30:00+08:00", "2024-03-05 14:30"),
        ("2024-03-05T14:30:00Z", "2024-03-05 14:30"),
        ("05-Mar-2024", "2024-03-05 00:00"),
        ("5 March 2024", "2024-03-05 00:00"),
        ("Mar 5, 2024", "2024-03-05 00:00"),
        ("  2024/3/5  ", "2024-03-05 00:00"),
        (datetime(2024, 3, 5, 9, 0), "2024-03-05 09:00"),
        (date(2024, 3, 6), "2024-03-06 00:00"),
    ],
)
def test_parse_dates_reads_each_form(raw: object, expected: str) -> None:
    parsed = parse_dates(column(raw))
    assert parsed.values.iloc[0] == pd.Timestamp(expected)
    assert not parsed.bad.iloc[0]


@pytest.mark.parametrize("raw", ["下周", "2024-02-30", "2024-13-01", 100, "tbd"])
def test_parse_dates_flags_unreadable_cells(raw: object) -> None:
    parsed = parse_dates(column(raw, "2024-03-05"))
    assert pd.isna(parsed.values.iloc[0])
    assert parsed.bad.tolist() == [True, False]


@pytest.mark.parametrize("raw", [None, "", "  ", "-", "—", "N/A", float("nan")])
def test_parse_dates_blank_is_empty_not_bad(raw: object) -> None:
    parsed = parse_dates(column(raw))
    assert pd.isna(parsed.values.iloc[0])
    assert parsed.bad.tolist() == [False]


def test_parse_dates_serial_range_leaves_small_numbers_alone() -> None:
    """A count or an amount below 20000 in a date column is not a date."""
    parsed = parse_dates(column(12, 19999, 20000, 80000, 80001))
    assert parsed.values.tolist()[2] == pd.Timestamp("1954-10-03")
    assert parsed.values.tolist()[3] == pd.Timestamp("2119-01-11")
    assert parsed.bad.tolist() == [True, True, False, False, True]


def test_parse_dates_datetime_column_passes_through() -> None:
    raw = pd.Series([pd.Timestamp("2024-03-05 14:30"), pd.Timestamp("2024-03-06")])
    parsed = parse_dates(raw)
    assert parsed.values.tolist() == [
        pd.Timestamp("2024-03-05 14:30"),
        pd.Timestamp("2024-03-06"),
    ]
    assert parsed.bad.tolist() == [False, False]


def test_parse_dates_tz_aware_column_keeps_wall_clock() -> None:
    raw = pd.Series(pd.to_datetime(["2024-03-05 14:30"]).tz_localize("Asia/Shanghai"))
    parsed = parse_dates(raw)
    assert parsed.values.iloc[0] == pd.Timestamp("2024-03-05 14:30")
    assert parsed.values.dt.tz is None


def test_parse_dates_detects_day_first_for_the_whole_column() -> None:
    parsed = parse_dates(column("05/03/2024", "01/04/2024", "13/03/2024"))
    assert parsed.values.tolist() == [
        pd.Timestamp("2024-03-05"),
        pd.Timestamp("2024-04-01"),
        pd.Timestamp("2024-03-13"),
    ]
    assert parsed.note == "date_order:DMY"


def test_parse_dates_detects_month_first_for_the_whole_column() -> None:
    parsed = parse_dates(column("03/05/2024", "04/01/2024", "03/13/2024 09:05"))
    assert parsed.values.tolist() == [
        pd.Timestamp("2024-03-05"),
        pd.Timestamp("2024-04-01"),
        pd.Timestamp("2024-03-13 09:05"),
    ]
    assert parsed.note == "date_order:MDY"


def test_parse_dates_ambiguous_column_is_month_first_with_a_note() -> None:
    parsed = parse_dates(column("05/03/2024", "01/04/2024"))
    assert parsed.values.tolist() == [
        pd.Timestamp("2024-05-03"),
        pd.Timestamp("2024-01-04"),
    ]
    assert parsed.note == "ambiguous_date_order"


def test_parse_dates_given_order_decides_an_ambiguous_column() -> None:
    parsed = parse_dates(column("05/03/2024", "01/04/2024"), "DMY")
    assert parsed.values.tolist() == [
        pd.Timestamp("2024-03-05"),
        pd.Timestamp("2024-04-01"),
    ]
    # The report should say which order was used.
    assert parsed.note == "date_order:DMY"


def test_parse_dates_contradicting_column_flags_the_loser() -> None:
    """13/03 proves DMY, 03/13 proves MDY: one order, the other cell is bad."""
    parsed = parse_dates(column("13/03/2024", "03/13/2024"))
    assert parsed.bad.sum() == 1
    assert parsed.values.notna().sum() == 1


@pytest.mark.parametrize(
    ("texts", "order"),
    [
        (["05/03/2024", "13/03/2024"], "DMY"),
        (["03/13/2024", "03/05/2024"], "MDY"),
        (["05/03/2024", "01/04/2024"], None),
        (["13/03/2024", "03/13/2024"], None),
        (["2024-03-05"], None),
    ],
)
def test_detect_date_order(texts: list[str], order: str | None) -> None:
    assert detect_date_order(pd.Series(texts)) == order


# Amounts


@pytest.mark.parametrize(
    ("raw", "value", "currency"),
    [
        ("¥12,000", 12000.0, "CNY"),
        ("￥8,500.50", 8500.5, "CNY"),
        ("1.2万", 12000.0, None),
        ("3.5万元", 35000.0, "CNY"),
        ("35,000元", 35000.0, "CNY"),
        ("1,100万", 11000000.0, None),
        ("2亿", 200000000.0, None),
        ("1.5亿元", 150000000.0, "CNY"),
        ("15k", 15000.0, None),
        ("15K", 15000.0, None),
        ("$1,234.50", 1234.5, "USD"),
        ("USD 3,400", 3400.0, "USD"),
        ("RMB 100", 100.0, "CNY"),
        ("人民币5000", 5000.0, "CNY"),
        ("€5", 5.0, "EUR"),
        ("12,000.00 元", 12000.0, "CNY"),
        ("20 000", 20000.0, None),
        ("(500)", -500.0, None),
        ("-500", -500.0, None),
        ("１２０００", 12000.0, None),
        (7, 7.0, None),
        (8.5, 8.5, None),
    ],
)
def test_parse_amounts_reads_each_form(
    raw: object, value: float, currency: str | None
) -> None:
    parsed = parse_amounts(column(raw))
    assert parsed.values.iloc[0] == value
    assert not parsed.bad.iloc[0]
    got = parsed.extra.iloc[0]
    assert (None if pd.isna(got) else got) == currency


@pytest.mark.parametrize("raw", ["-", "--", "—", "", None, "N/A"])
def test_parse_amounts_placeholders_are_blank(raw: object) -> None:
    parsed = parse_amounts(column(raw, "100"))
    assert pd.isna(parsed.values.iloc[0])
    assert parsed.bad.tolist() == [False, False]


@pytest.mark.parametrize("raw", ["待定", "TBD", "12,000元左右", "abc"])
def test_parse_amounts_flags_unreadable_text(raw: str) -> None:
    parsed = parse_amounts(column("¥1,000", raw))
    assert parsed.values.iloc[0] == 1000.0
    assert pd.isna(parsed.values.iloc[1])
    assert parsed.bad.tolist() == [False, True]


def test_parse_amounts_numeric_column_passes_through() -> None:
    parsed = parse_amounts(pd.Series([1, 2.5, None]))
    assert parsed.values.tolist()[:2] == [1.0, 2.5]
    assert pd.isna(parsed.values.iloc[2])
    assert parsed.bad.tolist() == [False, False, False]


def test_parse_amounts_mixed_column_sums_right() -> None:
    parsed = parse_amounts(column(12000, "1.2万", "3.5万元", "-", "待定", "1,100万"))
    assert parsed.values.sum() == 11059000.0
    assert parsed.bad.tolist() == [False, False, False, False, True, False]


# Probabilities


def test_parse_probabilities_percent_text_and_fractions_in_one_column() -> None:
    parsed = parse_probabilities(column("65.0%", "0.45", 0.3, None, "80％", "-"))
    values = parsed.values.tolist()
    assert values[:3] == pytest.approx([0.65, 0.45, 0.3])
    assert values[4] == pytest.approx(0.8)
    assert pd.isna(values[3]) and pd.isna(values[5])
    assert parsed.bad.tolist() == [False] * 6


@pytest.mark.parametrize(
    "raw", [[30, 45, 80.0], ["30", "45", "80"], ["30%", "45%", "80%"]]
)
def test_parse_probabilities_0_to_100_column(raw: list[object]) -> None:
    parsed = parse_probabilities(column(*raw))
    assert parsed.values.tolist() == pytest.approx([0.3, 0.45, 0.8])


def test_parse_probabilities_whole_percent_column_with_a_100() -> None:
    parsed = parse_probabilities(column("10", "100", "0"))
    assert parsed.values.tolist() == pytest.approx([0.1, 1.0, 0.0])


@pytest.mark.parametrize("raw", ["150%", "abc", "-5%", "很高"])
def test_parse_probabilities_flags_out_of_range_or_text(raw: str) -> None:
    parsed = parse_probabilities(column(raw, "50%"))
    assert pd.isna(parsed.values.iloc[0])
    assert parsed.values.iloc[1] == pytest.approx(0.5)
    assert parsed.bad.tolist() == [True, False]


# Yes/no


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("是", True),
        ("否", False),
        ("有效", True),
        ("无效", False),
        ("Y", True),
        ("n", False),
        ("Yes", True),
        ("NO", False),
        ("TRUE", True),
        ("false", False),
        ("1", True),
        ("0", False),
        (1, True),
        (0.0, False),
        ("√", True),
        ("×", False),
        (" 是 ", True),
    ],
)
def test_parse_bools(raw: object, expected: bool) -> None:
    parsed = parse_bools(column(raw))
    assert parsed.values.iloc[0] is expected or parsed.values.iloc[0] == expected
    assert parsed.bad.tolist() == [False]


def test_parse_bools_blank_and_unknown() -> None:
    parsed = parse_bools(column("", None, "也许"))
    assert parsed.values.isna().tolist() == [True, True, True]
    assert parsed.bad.tolist() == [False, False, True]


# Months


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11", "2026-11"),
        ("2026年11月", "2026-11"),
        ("2026 年 11 月", "2026-11"),
        ("2026/1", "2026-01"),
        ("2026.3", "2026-03"),
        ("2026-11-01", "2026-11"),
        (datetime(2026, 11, 1), "2026-11"),
        (pd.Timestamp("2026-02-01"), "2026-02"),
    ],
)
def test_parse_months(raw: object, expected: str) -> None:
    parsed = parse_months(column(raw))
    assert parsed.values.iloc[0] == expected
    assert parsed.bad.tolist() == [False]


@pytest.mark.parametrize("raw", ["2026-13", "2026-00", "下月", "11"])
def test_parse_months_flags_unreadable(raw: str) -> None:
    parsed = parse_months(column(raw))
    assert pd.isna(parsed.values.iloc[0])
    assert parsed.bad.tolist() == [True]


def test_parse_months_bare_number_takes_the_year_column() -> None:
    parsed = parse_months(column(11, "3", 13, "x"), column(2026, "2026", 2026, 2026))
    assert parsed.values.tolist()[:2] == ["2026-11", "2026-03"]
    assert parsed.bad.tolist() == [False, False, True, True]


def test_blank_mask() -> None:
    raw = column("", " ", "-", "n/a", "x", None, "\u3000", 0, "0")
    assert blank_mask(raw).tolist() == [
        True,
        True,
        True,
        True,
        False,
        True,
        True,
        False,
        False,
    ]
