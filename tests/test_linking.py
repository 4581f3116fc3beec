"""Linking follow-ups to deals: by id, else by folded customer name, and the
records that link to no deal or to several."""

from __future__ import annotations

import pandas as pd
import pytest

from sales_core.linking import link_activities


def deals_frame(rows: list[tuple]) -> pd.DataFrame:
    """(deal_id, customer, owner, created_at, closed_at, as_of) rows."""
    frame = pd.DataFrame(
        rows,
        columns=["deal_id", "customer", "owner", "created_at", "closed_at", "as_of"],
    )
    for column in ("created_at", "closed_at", "as_of"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def activities_frame(rows: list[tuple]) -> pd.DataFrame:
    """(activity_at, owner, customer, deal_id) rows."""
    frame = pd.DataFrame(rows, columns=["activity_at", "owner", "customer", "deal_id"])
    frame["activity_at"] = pd.to_datetime(frame["activity_at"])
    return frame


DEALS = deals_frame(
    [
        ("SJ-1", "杭州恒信机械有限公司", "李娜", "2026-09-01", None, "2026-11-20"),
        ("SJ-2", "ABC科技股份有限公司", "张伟", "2026-09-01", None, "2026-11-20"),
        # one customer, two reps: the record's rep picks the deal
        ("SJ-3", "苏州卓越食品有限公司", "赵磊", "2026-09-01", None, "2026-11-20"),
        ("SJ-4", "苏州卓越食品有限公司", "刘洋", "2026-09-01", None, "2026-11-20"),
        # one customer, one rep: the deal open on the record's day
        (
            "SJ-5",
            "宁波新力电子有限公司",
            "王强",
            "2026-08-01",
            "2026-09-30",
            "2026-11-20",
        ),
        ("SJ-6", "宁波新力电子有限公司", "王强", "2026-10-08", None, "2026-11-20"),
        # one customer, one rep, both open: cannot tell
        ("SJ-7", "广州新力科技有限公司", "陈静", "2026-09-01", None, "2026-11-20"),
        ("SJ-8", "广州新力科技有限公司", "陈静", "2026-09-05", None, "2026-11-20"),
        # only in an older snapshot (vanished from the newest export)
        ("SJ-9", "东莞润泽医疗器械有限公司", "李娜", "2026-09-01", None, "2026-11-13"),
    ]
)


@pytest.mark.parametrize(
    ("record", "deal", "how"),
    [
        (("2026-11-02", "李娜", "杭州恒信机械有限公司", "SJ-1"), "SJ-1", "deal_id"),
        # full-width deal id (letters and dash) folds to the stored one
        (("2026-11-02", "李娜", None, "ＳＪ－1"), "SJ-1", "deal_id"),
        (("2026-11-02", "李娜", None, " sj-1 "), "SJ-1", "deal_id"),
        # unknown id: falls back to the customer name
        (("2026-11-02", "李娜", "杭州恒信机械有限公司", "SJ-404"), "SJ-1", "customer"),
        # space before the suffix, and no suffix at all
        (("2026-11-02", "李娜", "杭州恒信机械 有限公司", None), "SJ-1", "customer"),
        (("2026-11-02", "李娜", "杭州恒信机械", None), "SJ-1", "customer"),
        # full-width letters, other suffix variant, ideographic space
        (("2026-11-02", "张伟", "ＡＢＣ科技　有限公司", None), "SJ-2", "customer"),
        (("2026-11-02", "张伟", "ABC科技有限责任公司", None), "SJ-2", "customer"),
        (("2026-11-02", "赵磊", "苏州卓越食品有限公司", None), "SJ-3", "customer"),
        (("2026-11-02", "刘洋", "苏州卓越食品有限公司", None), "SJ-4", "customer"),
        (("2026-09-15", "王强", "宁波新力电子有限公司", None), "SJ-5", "customer"),
        (("2026-10-20", "王强", "宁波新力电子有限公司", None), "SJ-6", "customer"),
        (("2026-11-02", "陈静", "广州新力科技有限公司", None), None, "ambiguous"),
        (("2026-11-02", "李娜", "东莞润泽医疗器械有限公司", "SJ-9"), "SJ-9", "deal_id"),
        (("2026-11-02", "李娜", "上海无名贸易有限公司", None), None, "none"),
        (("2026-11-02", "李娜", None, None), None, "none"),
    ],
)
def test_link_activities_links_by_id_then_customer(record, deal, how) -> None:
    """Each record links to the deal, by the rule, that the table says."""
    result = link_activities(activities_frame([record]), DEALS)
    row = result.activities.iloc[0]
    assert row["link"] == how
    assert row["linked_deal_id"] == deal


def test_ambiguous_records_carry_their_candidates() -> None:
    """Two open deals of one rep for one customer: both are listed, none chosen."""
    result = link_activities(
        activities_frame([("2026-11-02", "陈静", "广州新力科技", None)]), DEALS
    )
    assert len(result.ambiguous) == 1
    assert result.ambiguous.iloc[0]["candidates"] == ("SJ-7", "SJ-8")
    assert result.linked.empty and result.unlinked.empty


def test_counts_report_every_record_once() -> None:
    records = activities_frame(
        [
            ("2026-11-02", "李娜", "杭州恒信机械有限公司", "SJ-1"),
            ("2026-11-03", "李娜", "杭州恒信机械有限公司", None),
            ("2026-11-03", "陈静", "广州新力科技有限公司", None),
            ("2026-11-04", "李娜", "上海无名贸易有限公司", "X-1"),
            ("2026-11-05", "李娜", None, None),
        ]
    )
    result = link_activities(records, DEALS)
    assert result.counts() == {"deal_id": 1, "customer": 1, "none": 2, "ambiguous": 1}
    assert len(result.activities) == len(records)
    assert list(result.unlinked["customer"].fillna("-")) == [
        "上海无名贸易有限公司",
        "-",
    ]


def test_history_rows_use_the_newest_customer_and_every_owner() -> None:
    """A deal reassigned between snapshots still links to records of its old rep."""
    history = deals_frame(
        [
            ("SJ-1", "杭州恒信机械", "李娜", "2026-09-01", None, "2026-11-13"),
            ("SJ-1", "杭州恒信机械有限公司", "王强", "2026-09-01", None, "2026-11-20"),
            ("SJ-2", "杭州恒信机械有限公司", "张伟", "2026-09-01", None, "2026-11-20"),
        ]
    )
    result = link_activities(
        activities_frame([("2026-11-10", "李娜", "杭州恒信机械有限公司", None)]),
        history,
    )
    assert result.activities.iloc[0]["linked_deal_id"] == "SJ-1"
