"""The one family of errors sales_core raises for users, in Chinese and English.

Pages and the command line catch `KongpanError` only and show `message(lang)`;
anything else is a bug and is logged with its traceback, never shown.
"""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "empty_file": ("文件 {file} 是空的。", "File {file} is empty."),
    "file_too_large": (
        "文件 {file} 超过上限 {limit} 字节。",
        "File {file} is larger than the limit of {limit} bytes.",
    ),
    "too_many_rows": (
        "文件 {file} 超过 {limit} 行的上限。",
        "File {file} has more than {limit} rows.",
    ),
    "unsupported_type": (
        "不支持 {suffix} 文件（{file}）：请上传 .xlsx、.xls 或 .csv。",
        "{file}: {suffix} files are not supported; upload .xlsx, .xls or .csv.",
    ),
    "unknown_encoding": (
        "无法识别 {file} 的编码：请另存为 UTF-8 或 GBK 的 CSV。",
        "Cannot tell the text encoding of {file}; save it as UTF-8 or GBK CSV.",
    ),
    "corrupt_excel": (
        "{file} 不是可读取的 Excel 文件（可能已损坏或加密）。",
        "{file} is not a readable Excel file (damaged or password-protected?).",
    ),
    "archive_bomb": (
        "{file} 解压后体积异常巨大，已拒绝。",
        "{file} would unpack to an unreasonable size and was refused.",
    ),
    "no_header": (
        "{file}：前 {rows} 行里找不到表头（如 客户名称、销售阶段、负责人）。",
        "{file}: no header row (such as Customer, Stage, Owner) in the first "
        "{rows} rows.",
    ),
    "unknown_kind": (
        "{file}：看不出这是商机、跟进记录、目标还是人员表，请手动选择类型。",
        "{file}: cannot tell whether this holds deals, follow-ups, targets or "
        "reps; choose the kind by hand.",
    ),
    "missing_column": (
        "{file}：缺少必需的列「{field}」（{kind}）。",
        "{file}: the required column '{field}' for {kind} is missing.",
    ),
    "bad_mapping": (
        "{file}：映射里的列「{column}」在文件中不存在。",
        "{file}: the mapped column '{column}' is not in the file.",
    ),
    "bad_date": ("日期「{value}」无法识别，请用 YYYY-MM-DD。", "'{value}' is not a date; "
                 "use YYYY-MM-DD."),
    "bad_month": ("月份「{value}」无法识别，请用 YYYY-MM。", "'{value}' is not a month; "
                  "use YYYY-MM."),
    "no_snapshot": (
        "还没有 {as_of} 或更早的商机快照，请先导入商机导出。",
        "No deal snapshot on or before {as_of}; import a deal export first.",
    ),
    "store_busy": (
        "数据库正忙（另一个导入正在进行），请稍后重试；本次导入未写入任何数据。",
        "The store is busy with another import; try again. Nothing was written.",
    ),
    "store_unreachable": (
        "无法连接数据库 {url}：{reason}",
        "Cannot reach the database {url}: {reason}",
    ),
    "no_as_of": (
        "{file}：看不出这份导出是哪一天的，请指定日期（--as-of 或导入页的日期）。",
        "{file}: cannot tell which day this export describes; give the date "
        "(--as-of, or the date on the import page).",
    ),
    "bad_kind": (
        "不认识的文件类型「{value}」，可选：deals、activities、targets、reps。",
        "Unknown kind '{value}'; use deals, activities, targets or reps.",
    ),
    "file_not_found": ("找不到文件 {file}。", "File {file} not found."),
}


class KongpanError(Exception):
    """An error the user can act on: a code plus the facts its message needs."""

    def __init__(self, code: str, **params: object) -> None:
        self.code = code
        self.params = params
        super().__init__(self.message("en"))

    def message(self, lang: str = "en") -> str:
        zh, en = MESSAGES.get(self.code, (self.code, self.code))
        template = zh if lang == "zh" else en
        try:
            return template.format(**self.params)
        except (KeyError, IndexError):
            return template


class ImportRefused(KongpanError):
    """A file that cannot be imported at all; the store is left untouched."""


class StoreBusy(KongpanError):
    """Another writer holds the store; the whole import can simply be retried."""

    def __init__(self) -> None:
        super().__init__("store_busy")
