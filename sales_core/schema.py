"""Canonical tables: the fields of each file kind and what type each holds.

Every importer, store query and metric speaks these names; CRM headers are
mapped onto them once, in `ingest`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from sales_core.text import fold

COLUMNS_CONFIG = Path(__file__).resolve().parent.parent / "data" / "columns.toml"


class Kind(StrEnum):
    """What one imported file holds."""

    DEALS = "deals"
    ACTIVITIES = "activities"
    TARGETS = "targets"
    REPS = "reps"


class FieldType(StrEnum):
    TEXT = "text"
    DATE = "date"
    AMOUNT = "amount"
    PROBABILITY = "probability"
    BOOL = "bool"
    STAGE = "stage"
    MONTH = "month"
    INTEGER = "integer"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: FieldType
    zh: str
    en: str


def _spec(name: str, kind: FieldType, zh: str, en: str) -> FieldSpec:
    return FieldSpec(name, kind, zh, en)


T, D, A = FieldType.TEXT, FieldType.DATE, FieldType.AMOUNT

FIELDS: dict[Kind, tuple[FieldSpec, ...]] = {
    Kind.DEALS: (
        _spec("deal_id", T, "商机编号", "Deal ID"),
        _spec("deal_name", T, "商机名称", "Deal name"),
        _spec("customer", T, "客户", "Customer"),
        _spec("owner", T, "负责人", "Owner"),
        _spec("team", T, "团队", "Team"),
        _spec("stage", FieldType.STAGE, "阶段", "Stage"),
        _spec("amount", A, "金额", "Amount"),
        _spec("currency", T, "币种", "Currency"),
        _spec("win_probability", FieldType.PROBABILITY, "赢率", "Probability"),
        _spec("created_at", D, "创建日期", "Created"),
        _spec("expected_close", D, "预计成交日期", "Expected close"),
        _spec("closed_at", D, "成交/关闭日期", "Closed"),
        _spec("lost_reason", T, "流失原因", "Lost reason"),
        _spec("lost_at_stage", FieldType.STAGE, "流失阶段", "Lost at stage"),
        _spec("source", T, "来源", "Source"),
        _spec("intent", T, "意向等级", "Intent"),
        _spec("industry", T, "行业", "Industry"),
        _spec("customer_type", T, "客户类型", "Customer type"),
        _spec("product", T, "产品", "Product"),
        _spec("next_step", T, "下一步", "Next step"),
        _spec("next_step_due", D, "下一步期限", "Next step due"),
        _spec("last_touch_at", D, "最后跟进", "Last touch"),
        _spec("note", T, "备注", "Note"),
    ),
    Kind.ACTIVITIES: (
        _spec("activity_at", D, "跟进时间", "Time"),
        _spec("owner", T, "跟进人", "Rep"),
        _spec("customer", T, "客户", "Customer"),
        _spec("deal_id", T, "商机编号", "Deal ID"),
        _spec("kind", T, "跟进方式", "Method"),
        _spec("effective", FieldType.BOOL, "有效沟通", "Effective"),
        _spec("summary", T, "跟进内容", "Summary"),
        _spec("next_step", T, "下一步", "Next step"),
        _spec("next_step_due", D, "下次联系", "Next contact"),
    ),
    Kind.TARGETS: (
        _spec("owner", T, "负责人", "Owner"),
        _spec("team", T, "团队", "Team"),
        _spec("month", FieldType.MONTH, "月份", "Month"),
        _spec("year", FieldType.INTEGER, "年份", "Year"),
        _spec("target", A, "目标", "Target"),
    ),
    Kind.REPS: (
        _spec("name", T, "姓名", "Name"),
        _spec("team", T, "团队", "Team"),
        _spec("supervisor", T, "主管", "Supervisor"),
        _spec("active", FieldType.BOOL, "在职", "Active"),
        _spec("left_on", D, "离职日期", "Left on"),
    ),
}

# Free text kept as typed (only spaces trimmed): no width folding, so notes
# and names keep their own punctuation. Other text fields are folded.
FREE_TEXT = frozenset(
    {"deal_name", "customer", "lost_reason", "next_step", "note", "summary"}
)

# A file of a kind must map these fields; rows missing them are rejected.
REQUIRED: dict[Kind, tuple[str, ...]] = {
    Kind.DEALS: ("stage",),
    Kind.ACTIVITIES: ("activity_at",),
    Kind.TARGETS: ("month", "target"),
    Kind.REPS: ("name",),
}

# Headers that, when present, say which kind a file is.
SIGNATURE: dict[Kind, tuple[str, ...]] = {
    Kind.DEALS: ("stage",),
    Kind.ACTIVITIES: ("activity_at", "summary", "kind", "effective"),
    Kind.TARGETS: ("target",),
    Kind.REPS: ("supervisor", "active", "left_on"),
}


def field_names(kind: Kind) -> list[str]:
    return [spec.name for spec in FIELDS[kind]]


def field_spec(kind: Kind, name: str) -> FieldSpec:
    return next(spec for spec in FIELDS[kind] if spec.name == name)


@lru_cache(maxsize=4)
def header_aliases(path: Path = COLUMNS_CONFIG) -> dict[Kind, dict[str, list[str]]]:
    """Folded header text → canonical fields, per kind, in priority order.

    Returns {kind: {folded header: [field, ...]}}; a header listed for several
    fields keeps them in the order the config gives.
    """
    with path.open("rb") as handle:
        config = tomllib.load(handle)
    table: dict[Kind, dict[str, list[str]]] = {}
    for kind in Kind:
        known = set(field_names(kind))
        by_header: dict[str, list[str]] = {}
        for name, headers in config.get(kind.value, {}).items():
            if name not in known:
                raise ValueError(f"{path}: [{kind.value}] has unknown field {name!r}")
            for header in headers:
                by_header.setdefault(fold(header), []).append(name)
        table[kind] = by_header
    return table
