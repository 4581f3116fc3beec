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
    "too_many_columns": (
        "文件 {file} 的列数超过上限 {limit}（或表格范围异常巨大），已拒绝。",
        "File {file} has more than {limit} columns (or an absurdly large sheet "
        "range) and was refused.",
    ),
    "broken_csv": (
        "{file}：第 {line} 行起有未闭合的引号，后面的内容无法可靠拆分成行，请检查该行。",
        "{file}: a quote opened around line {line} is never closed, so the rest "
        "cannot be split into rows reliably; check that line.",
    ),
    "no_rows": (
        "{file}：表头下面没有可导入的行（工作表「{sheet}」），未导入，以免覆盖本周数据。",
        "{file}: no importable rows under the header (sheet '{sheet}'); nothing "
        "was imported, so this week's picture is not emptied.",
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
    "bad_date": (
        "日期「{value}」无法识别，请用 YYYY-MM-DD。",
        "'{value}' is not a date; use YYYY-MM-DD.",
    ),
    "bad_month": (
        "月份「{value}」无法识别，请用 YYYY-MM。",
        "'{value}' is not a month; use YYYY-MM.",
    ),
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
    "playbook_bad_type": (
        "不认识的客户类型「{value}」，可选：{choices}。",
        "Unknown customer type '{value}'; use one of: {choices}.",
    ),
    "playbook_bad_stage": (
        "不认识的阶段「{value}」，可选：{choices}。",
        "Unknown stage '{value}'; use one of: {choices}.",
    ),
    "playbook_bad_kind": (
        "不认识的打法类别「{value}」，可选：{choices}。",
        "Unknown play kind '{value}'; use one of: {choices}.",
    ),
    "playbook_no_title": (
        "打法需要一个标题（中文或英文）。",
        "A play needs a title (Chinese or English).",
    ),
    "playbook_no_editor": (
        "请填写修改人的名字，变更记录要写明是谁改的。",
        "Give the editor's name: every change records who made it.",
    ),
    "playbook_unknown_play": ("打法库里没有「{key}」。", "There is no play '{key}'."),
    "playbook_key_taken": (
        "打法编号「{key}」已被占用（包括已停用的打法）。",
        "The play key '{key}' is taken (retired plays included).",
    ),
    "playbook_retired": (
        "打法「{key}」已停用，请先恢复再修改。",
        "The play '{key}' is retired; restore it before editing.",
    ),
    "unknown_rep": (
        "这段时间里没有销售「{rep}」；有：{reps}。",
        "No rep '{rep}' in this period; reps: {reps}.",
    ),
    "bad_period": (
        "开始日期 {start} 晚于结束日期 {end}。",
        "The period starts on {start}, after its end {end}.",
    ),
    "bad_group_field": (
        "不能按「{value}」分组，可选：{choices}。",
        "Cannot compare by '{value}'; use one of {choices}.",
    ),
    "not_a_snapshot": (
        "{day} 没有商机快照；已有快照日期：{dates}。",
        "No deal snapshot is dated {day}; snapshot dates: {dates}.",
    ),
    "flow_order": (
        "起始快照 {start} 必须早于结束快照 {end}。",
        "The start snapshot {start} must be before the end snapshot {end}.",
    ),
    "unknown_deal": ("找不到商机 {deal_id}。", "No deal {deal_id} in any snapshot."),
    "source_bad_toml": (
        "数据源配置 {profile} 不是有效的 TOML：{reason}",
        "The source profile {profile} is not valid TOML: {reason}",
    ),
    "source_unknown_key": (
        "数据源配置 {profile}：不认识的设置「{key}」。",
        "Source profile {profile}: unknown setting '{key}'.",
    ),
    "source_missing_key": (
        "数据源配置 {profile}：缺少必填的设置「{key}」。",
        "Source profile {profile}: the setting '{key}' is required.",
    ),
    "source_bad_name": (
        "数据源配置 {profile}：「{key}」的值「{value}」不是表名或列名（只能有字母、数字和下划线）。",
        "Source profile {profile}: {key} = '{value}' is not a table or column name "
        "(letters, digits and _ only).",
    ),
    "source_bad_stage": (
        "数据源配置 {profile}：「{key}」映射到不存在的阶段「{value}」，可选：{choices}。",
        "Source profile {profile}: {key} maps to '{value}', which is not a stage; "
        "use one of: {choices}.",
    ),
    "source_bad_date": (
        "数据源配置 {profile}：「{key}」的值「{value}」不是日期（YYYY-MM-DD）。",
        "Source profile {profile}: {key} = '{value}' is not a date (YYYY-MM-DD).",
    ),
    "source_missing_table": (
        "数据源 {profile}：「{key}」指定的表「{table}」在数据库里不存在。",
        "Source {profile}: {key} names the table '{table}', which the database "
        "does not have.",
    ),
    "source_missing_column": (
        "数据源 {profile}：「{key}」指定的列「{column}」不在表「{table}」里。",
        "Source {profile}: {key} names the column '{column}', which table '{table}' "
        "does not have.",
    ),
    "source_no_url": (
        "数据源 {profile} 没有数据库地址：请设置环境变量 {variable}。",
        "Source {profile} has no database URL: set the environment variable "
        "{variable}.",
    ),
    "source_login_failed": (
        "数据库 {url} 拒绝登录：用户名或密码不对。",
        "The database {url} refused the login: wrong user name or password.",
    ),
    "source_unreachable": (
        "连不上数据库 {url}：请检查主机名和端口，以及数据库服务是否在运行。（{reason}）",
        "Cannot reach the database {url}: check the host name and port, and that "
        "the server is running. ({reason})",
    ),
    "source_no_database": (
        "{url} 指定的数据库不存在。",
        "The database named in {url} does not exist.",
    ),
    "source_failed": (
        "读取数据库 {url} 失败：{reason}",
        "Reading the database {url} failed: {reason}",
    ),
    "source_unknown": (
        "没有名为「{name}」的数据源配置；已有：{names}。",
        "No source profile '{name}'; profiles: {names}.",
    ),
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
