"""Interface text in Chinese and English, and numbers formatted per language.

Text is keyed by its English wording; Chinese comes from `ZH` here and from
the `[zh]` table of each `data/i18n/*.toml` file (one per page area, so areas
do not edit one shared dict). A key whose English text is a placeholder name
(such as "calendar_note") has its English wording in `_EN` or an `[en]` table.
"""

from __future__ import annotations

import math
import tomllib
from functools import lru_cache
from pathlib import Path

I18N_DIR = Path(__file__).resolve().parent.parent / "data" / "i18n"

LANGS = ("zh", "en")

ZH: dict[str, str] = {
    "Kongpan": "控盘",
    "Language": "语言",
    "Team progress": "团队进度",
    "Data import": "数据导入",
    "Month": "月份",
    "As of": "数据日期",
    "Won this month": "本月已成交",
    "Target": "目标",
    "Completion": "完成率",
    "Working-day pace": "工作日进度",
    "Expected by now": "按进度应完成",
    "Gap": "差距",
    "Forecast (P50)": "月底预测（P50）",
    "Forecast range P10–P90": "预测区间 P10–P90",
    "Is the month safe?": "这个月稳不稳？",
    "ahead of pace": "领先进度",
    "behind pace": "落后进度",
    "no target set": "未设目标",
    "Reps, most behind first": "销售排名（落后最多的在前）",
    "Key customers expected to close this month": "本月预计成交的重点客户",
    "No open deal is expected to close this month.": "本月没有预计成交的在途商机。",
    "Rep": "销售",
    "Team": "团队",
    "Won": "已成交",
    "Customer": "客户",
    "Stage": "阶段",
    "Amount": "金额",
    "Expected close": "预计成交日期",
    "Deal ID": "商机编号",
    "Owner": "负责人",
    "working days": "个工作日",
    "Download": "下载",
    "Edit targets": "编辑目标",
    "Save targets": "保存目标",
    "Targets saved.": "目标已保存。",
    "Month-end outcome": "月底结果分布",
    "Won so far": "已成交",
    "Weighted open deals": "在途加权",
    "Won vs expected by now": "已成交 vs 按进度应完成",
    "Expected by now (pace × target)": "按进度应完成（进度 × 目标）",
    "Working days": "工作日",
    "calendar_note": (
        "已安装的日历还没有 {year} 年的官方放假调休安排，工作日按法定节假日估算，"
        "公布后可能相差几天。"
    ),
    "data_note": "数据截至 {as_of}（最新快照），不是今天的日期。",
    "data_note_older": "数据截至 {as_of}（所选的较早快照）。",
    "Upload CRM exports": "上传 CRM 导出文件",
    "upload_help": "Excel（.xlsx/.xls）或 CSV（UTF-8、GBK），中英文表头均可；可多选。",
    "Detected kind": "识别的类型",
    "deals": "商机",
    "activities": "跟进记录",
    "targets": "业绩目标",
    "reps": "销售人员",
    "Column mapping": "列映射",
    "(not mapped)": "（不导入）",
    "Mapping profile": "映射方案",
    "Profile name": "方案名称",
    "Save profile": "保存方案",
    "Profile saved.": "方案已保存。",
    "Date the export describes": "导出数据的日期",
    "Rows read": "读取行数",
    "Imported": "可导入",
    "Rejected": "拒绝",
    "Blank rows": "空行",
    "Rejected rows": "被拒绝的行",
    "Warnings": "提醒",
    "Skipped rows": "跳过的行",
    "Unmapped columns": "未映射的列",
    "Unknown stage values": "无法识别的阶段",
    "Import": "导入",
    "Importing": "正在导入",
    "imported_ok": "{file}：已导入为快照 #{snapshot}（{rows} 行）。",
    "already_imported": "{file}：同样的文件已导入过（快照 #{snapshot}），本次未重复导入。",
    "Past snapshots": "历史快照",
    "No snapshots yet.": "还没有快照。",
    "Row": "行",
    "Column": "列",
    "Reason": "原因",
    "Severity": "级别",
    "Value": "原值",
    "as_of_source_file_name": "取自文件名",
    "as_of_source_title_row": "取自标题行的导出时间",
    "as_of_source_newest_date": "文件里没有导出日期，暂用文件中最新的日期，请核对",
    "as_of_source_given": "手动指定",
    "Demo data": "演示数据",
    "demo_note": "当前显示的是演示数据；在「数据导入」上传你们的 CRM 导出即可换成真实数据。",
    "Something went wrong; the details are in the server log.": "出错了，详情已写入服务器日志。",
    "File": "文件",
    "Kind": "类型",
    "Imported at": "导入时间",
    "Origin": "来源",
    "Read": "读取",
    "Snapshot": "快照",
    "reason_summary_row": "合计/汇总行",
    "reason_footer_or_note": "表尾备注",
    "Suggestion": "建议",
    "Choose files to see the mapping and the validation report before importing.": (
        "选择文件后，先核对列映射和校验报告，再导入。"
    ),
    "note_as_of_from_newest_date": "文件里没有导出日期：暂用文件中最新的日期 {detail}，请核对右上角的日期。",
    "note_ambiguous_date_order": "列「{detail}」的日期可以读成 日/月 也可以读成 月/日，已按 月/日 读取，请核对。",
    "note_amount_unit": "列「{detail}」的表头带单位，金额已按该单位换算。",
    "note_mixed_currency": "文件里有多种币种（{detail}），金额未换算，合计时请注意。",
    "note_file_name_has_several_dates": "文件名里有多个日期，已取最后一个，请核对日期。",
    "note_as_of_sources_disagree": "文件名和标题行的导出时间不一致（{detail}），已按文件名，请核对。",
    "note_won_without_close_date": "{detail} 个已成交商机没有成交日期，不计入任何月份的成交额。",
    "note_key_collision_across_files": "有 {detail} 个没有编号的商机（同一客户、同一商机名）也出现在同一天的另一份导出里，看板上只显示最后导入的那一条；请在导出里加上商机编号。",
    "no_target_hint": "还没有本月目标：在「数据导入」上传业绩目标表，或在本页下方「编辑目标」里填写。",
    "demo_replace_hint": "现在是演示数据；导入第一份真实的商机导出后，演示数据会被整体替换。",
    "Import done.": "导入完成。",
    "upload": "上传",
    "Close date passed": "预计日期已过",
    "call": "电话",
    "visit": "拜访",
    "message": "消息",
    "email": "邮件",
    "meeting": "会议",
    "demo": "演示",
    "P10": "P10（保守）",
    "P50": "P50（中位）",
    "P90": "P90（乐观）",
}

# Plain reasons for report issues, Chinese side of ingest.report.REASONS_EN.
REASONS_ZH = {
    "unparseable_date": "「{raw}」不是日期",
    "unparseable_amount": "「{raw}」不是金额",
    "unparseable_probability": "「{raw}」不是概率",
    "unparseable_month": "「{raw}」不是月份",
    "unparseable_bool": "「{raw}」不是 是/否",
    "missing_amount": "没有金额",
    "negative_amount": "金额为负：{raw}",
    "unknown_stage": "无法识别的阶段「{raw}」",
    "missing_stage": "没有阶段",
    "missing_identity": "没有商机编号、客户或商机名称",
    "missing_required": "必填项为空",
    "duplicate_deal_id": "商机编号「{raw}」在文件前面已出现",
    "key_collision": "客户和商机名称与前面某行相同，已分开保存为「{raw}」",
    "missing_owner_or_team": "负责人和团队都为空",
}


@lru_cache(maxsize=1)
def _catalog() -> tuple[dict[str, str], dict[str, str]]:
    """(Chinese, English) text: the tables here plus every data/i18n/*.toml."""
    chinese, english = dict(ZH), dict(_EN)
    for path in sorted(I18N_DIR.glob("*.toml")):
        with path.open("rb") as handle:
            extra = tomllib.load(handle)
        chinese.update(extra.get("zh", {}))
        english.update(extra.get("en", {}))
    return chinese, english


def t(text: str, lang: str, **params: object) -> str:
    """`text` in `lang`, with {placeholders} filled."""
    chinese, english = _catalog()
    template = chinese.get(text, text) if lang == "zh" else english.get(text, text)
    return template.format(**params) if params else template


_EN = {
    "calendar_note": (
        "The installed calendar does not have {year}'s official holiday schedule "
        "yet; working days use the statutory holidays only and may be off by a "
        "few days once it is published."
    ),
    "data_note": "Figures as of {as_of} (the newest snapshot), not today's date.",
    "data_note_older": "Figures as of {as_of} (an earlier snapshot you picked).",
    "upload_help": "Excel (.xlsx/.xls) or CSV (UTF-8, GBK), Chinese or English "
    "headers; several files at once.",
    "imported_ok": "{file}: imported as snapshot #{snapshot} ({rows} rows).",
    "already_imported": "{file}: the same file is already imported (snapshot "
    "#{snapshot}); nothing was added.",
    "as_of_source_file_name": "from the file name",
    "as_of_source_title_row": "from the export time in the title row",
    "as_of_source_newest_date": "no export date in the file: the newest date in it "
    "is used; please check",
    "as_of_source_given": "given by hand",
    "demo_note": "You are looking at demo data; upload your CRM exports on Data "
    "import to replace it.",
    "reason_summary_row": "total/summary row",
    "reason_footer_or_note": "footer note",
    "working days": "working days",
    "note_as_of_from_newest_date": "No export date in the file: its newest date "
    "{detail} is used; check the date above.",
    "note_ambiguous_date_order": "Dates in column '{detail}' read either day/month or "
    "month/day; they were read month/day. Please check.",
    "note_amount_unit": "The header of '{detail}' names a unit; amounts were scaled "
    "by it.",
    "note_mixed_currency": "The file mixes currencies ({detail}); amounts are not "
    "converted, so totals mix them.",
    "note_file_name_has_several_dates": "The file name holds several dates; the last "
    "one is used. Please check the date.",
    "note_as_of_sources_disagree": "The file name and the title row's export time "
    "disagree ({detail}); the file name's date is used. Please check.",
    "note_won_without_close_date": "{detail} won deals have no close date and count "
    "in no month's won amount.",
    "note_key_collision_across_files": "{detail} deals without an id (same customer "
    "and deal name) are also in another export of the same day; only the one "
    "imported last is shown. Add a deal id column to the exports.",
    "no_target_hint": "No target for this month yet: upload a targets sheet on Data "
    "import, or fill them in under 'Edit targets' below.",
    "demo_replace_hint": "This is demo data; the first real deal export you import "
    "replaces all of it.",
    "P10": "P10 (cautious)",
    "P50": "P50 (median)",
    "P90": "P90 (optimistic)",
}


def issue_reason(
    kind: str, raw: object, suggestion: str | None, lang: str, english: str
) -> str:
    """A report issue's reason in `lang` (`english` is the report's own text)."""
    if lang != "zh":
        return english
    text = REASONS_ZH.get(kind, english).format(raw=raw)
    if suggestion:
        text += f"（是不是「{suggestion}」？）"
    return text


def money(value: float | None, lang: str) -> str:
    """An amount for display: 149.9万 / 1.2亿 in Chinese, 1,499,000 in English."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    size = abs(value)
    if lang == "zh" and round(size / 1e4, 1) >= 1e4:
        text = f"{size / 1e8:,.2f}亿"
    elif lang == "zh" and size >= 1e4:
        text = f"{size / 1e4:,.1f}万"
    else:
        text = f"{size:,.0f}"
    shown_zero = text.strip("0.,万亿") == ""
    return text if value >= 0 or shown_zero else f"-{text}"


def percent(value: float | None) -> str:
    """A ratio as a percentage with one decimal, or a dash when unknown."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value * 100:.1f}%"


def lang_from_locale(locale: str | None) -> str:
    """'zh' for a Chinese browser locale, else 'en'."""
    return "zh" if locale and locale.lower().startswith("zh") else "en"
