"""Write a big, deterministic weekly deals export for the import benchmark.

    python bench/make_big_xlsx.py OUT.xlsx [--rows 100000] [--seed 20261127]
    python bench/make_big_xlsx.py OUT.csv  [--encoding utf-8-sig|gbk]

20 columns with Chinese headers, as a CRM's 商机导出 has them: real date
cells in Excel, amounts as numbers, a few blanks where a CRM leaves them
(成交日期 only for won/lost deals, 流失原因 only for lost ones). The same
arguments give the same bytes (fixed seed, fixed timestamps in the zip).
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import re
import sys
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

HEADERS = [
    "商机编号", "客户名称", "负责人", "所属团队", "线索来源", "意向等级", "行业",
    "客户类型", "销售阶段", "预计金额(元)", "创建日期", "预计成交日期", "成交日期",
    "流失原因", "最后跟进时间", "下一步", "下次跟进日期", "产品", "备注", "币种",
]  # fmt: skip

AS_OF = date(2026, 11, 27)
FIXED_ZIP_TIME = (2026, 11, 27, 18, 0, 0)
FIXED_STAMP = "2026-11-27T18:00:00Z"

CITIES = ["杭州", "上海", "苏州", "深圳", "广州", "佛山", "东莞", "成都", "武汉", "南京",
          "宁波", "无锡", "合肥", "西安", "长沙", "青岛", "厦门", "天津", "重庆", "郑州"]  # fmt: skip
WORDS = ["恒信", "启航", "盛世", "润泽", "华元", "远景", "博达", "金桥", "新锐", "鼎盛",
         "万通", "宏图", "天成", "凯晟", "瑞丰", "永泰", "中科", "联创", "汇智", "嘉禾"]  # fmt: skip
TRADES = [
    "机械",
    "医疗器械",
    "科技",
    "物流",
    "食品",
    "电子",
    "建材",
    "化工",
    "贸易",
    "软件",
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = [
    "伟",
    "娜",
    "磊",
    "敏",
    "静",
    "强",
    "洋",
    "勇",
    "艳",
    "杰",
    "涛",
    "明",
    "超",
    "霞",
    "平",
]
TEAMS = ["华东组", "华南组", "华北组", "西南组", "大客户部", "渠道组"]
SOURCES = ["官网", "展会", "转介绍", "电话营销", "老客户", "渠道", "广告", "公众号"]
INTENTS = ["A", "B", "C"]
INDUSTRIES = ["制造", "物流", "医疗", "教育", "零售", "金融", "互联网", "能源"]
CUSTOMER_TYPES = ["有意向但犹豫", "忙但有需求", "价格敏感", "决策链长", "老客户复购"]
STAGES = [  # (stage as the CRM names it, weight)
    ("新线索", 18), ("已联系", 16), ("已报价", 14), ("谈单中", 10),
    ("待决策", 7), ("已成交", 20), ("流失", 15),
]  # fmt: skip
LOST_REASONS = [
    "价格太高",
    "选择了竞品",
    "预算取消",
    "需求变化",
    "联系不上",
    "决策人变动",
]
NEXT_STEPS = [
    "电话回访",
    "发送方案",
    "演示产品",
    "报价跟进",
    "催审批",
    "上门拜访",
    "签合同",
    "",
]
PRODUCTS = ["标准版", "专业版", "企业版", "实施服务", "年度维保", "定制开发"]
NOTES = ["", "", "", "客户要求月底前给报价", "已加微信", "需要再约技术交流",
         "预算在审批中", "老板亲自关注", "竞品也在接触"]  # fmt: skip


def make_rows(count: int, seed: int):
    """Yield `count` rows of the 20 columns, the same for the same seed."""
    rnd = random.Random(seed)
    stage_names = [name for name, _ in STAGES]
    stage_weights = [weight for _, weight in STAGES]
    owners = [s + g for s in SURNAMES for g in GIVEN[:4]]
    owner_team = {owner: TEAMS[i % len(TEAMS)] for i, owner in enumerate(owners)}
    customers = [
        f"{c}{w}{t}有限公司" for c in CITIES for w in WORDS for t in TRADES
    ]  # 4,000 names
    for i in range(1, count + 1):
        owner = rnd.choice(owners)
        stage = rnd.choices(stage_names, stage_weights)[0]
        created = AS_OF - timedelta(days=rnd.randint(5, 400))
        expected = created + timedelta(days=rnd.randint(14, 150))
        closed = lost = None
        if stage == "已成交":
            closed = min(AS_OF, created + timedelta(days=rnd.randint(7, 120)))
        elif stage == "流失":
            closed = min(AS_OF, created + timedelta(days=rnd.randint(7, 120)))
            lost = rnd.choice(LOST_REASONS)
        touch = datetime.combine(
            min(AS_OF, created + timedelta(days=rnd.randint(0, 60))),
            datetime.min.time(),
        ) + timedelta(minutes=rnd.randint(8 * 60, 19 * 60))
        next_due = touch.date() + timedelta(days=rnd.randint(1, 21))
        yield [
            f"SJ-2026-{i:06d}",
            rnd.choice(customers),
            owner,
            owner_team[owner],
            rnd.choice(SOURCES),
            rnd.choice(INTENTS),
            rnd.choice(INDUSTRIES),
            rnd.choice(CUSTOMER_TYPES),
            stage,
            float(rnd.randint(5, 2000) * 1000),
            created,
            expected,
            closed,
            lost,
            touch,
            rnd.choice(NEXT_STEPS) or None,
            next_due,
            rnd.choice(PRODUCTS),
            rnd.choice(NOTES) or None,
            "人民币",
        ]


def write_xlsx(out: Path, rows) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    fixed = datetime(*FIXED_ZIP_TIME)
    workbook.properties.created = fixed
    workbook.properties.modified = fixed
    workbook.properties.creator = "kongpan bench"
    sheet = workbook.create_sheet("商机")
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    out.write_bytes(_fixed_zip_times(buffer.getvalue()))


def _fixed_zip_times(data: bytes) -> bytes:
    """Rewrite the zip with fixed member timestamps, so the bytes repeat."""
    source = zipfile.ZipFile(io.BytesIO(data))
    target_buffer = io.BytesIO()
    with zipfile.ZipFile(target_buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps "now"
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*",
                    rb"\g<1>" + FIXED_STAMP.encode(),
                    content,
                )
            target.writestr(member, content)
    return target_buffer.getvalue()


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.strftime("%Y/%m/%d")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def write_csv(out: Path, rows, encoding: str) -> None:
    with open(out, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for row in rows:
            writer.writerow([_csv_cell(value) for value in row])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="output file: .xlsx or .csv")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument(
        "--encoding", default="utf-8-sig", help="CSV only: utf-8-sig, utf-8, gbk"
    )
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rows = make_rows(args.rows, args.seed)
    suffix = args.out.suffix.lower()
    if suffix == ".xlsx":
        write_xlsx(args.out, rows)
    elif suffix == ".csv":
        write_csv(args.out, rows, args.encoding)
    else:
        parser.error("OUT must end in .xlsx or .csv")
    size = args.out.stat().st_size / 1e6
    print(
        f"wrote {args.out}: {args.rows:,} rows x {len(HEADERS)} columns, {size:.1f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
