"""The validation report of one file: what was read, kept, rejected and why."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from enum import StrEnum


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"  # the row is rejected


# Plain-language reasons per issue kind; {raw}, {suggestion} and {column}
# are filled from the issue. The UI translates the same kinds into Chinese.
REASONS_EN = {
    "unparseable_date": "'{raw}' is not a date",
    "unparseable_amount": "'{raw}' is not an amount",
    "unparseable_probability": "'{raw}' is not a probability",
    "unparseable_month": "'{raw}' is not a month",
    "unparseable_bool": "'{raw}' is not yes/no",
    "missing_amount": "no amount",
    "negative_amount": "negative amount {raw}",
    "unknown_stage": "unknown stage '{raw}'",
    "missing_stage": "no stage",
    "missing_identity": "no deal id, customer or deal name",
    "missing_required": "required value is empty",
    "duplicate_deal_id": "deal id '{raw}' appears earlier in the file",
    "key_collision": "same customer and deal name as an earlier row; kept apart as '{raw}'",
    "missing_owner_or_team": "neither owner nor team is given",
}


@dataclass
class Issue:
    """One problem found in one cell or row; `row` is the row the user sees."""

    row: int | None
    column: str | None
    kind: str
    severity: Severity
    raw: str | None = None
    suggestion: str | None = None
    field: str | None = None

    @property
    def reason(self) -> str:
        template = REASONS_EN.get(self.kind, self.kind)
        text = template.format(raw=self.raw, suggestion=self.suggestion)
        if self.suggestion:
            text += f" (did you mean '{self.suggestion}'?)"
        return text

    def as_dict(self) -> dict:
        return {**asdict(self), "severity": str(self.severity), "reason": self.reason}


@dataclass
class SkippedRow:
    row: int
    reason: str  # summary_row, footer_or_note


@dataclass
class ImportReport:
    """Counts and findings for one file.

    rows_read counts the non-blank rows below the header;
    rows_read = rows_imported + rows_rejected + len(rows_skipped).
    """

    file: str
    kind: str | None = None
    sheet: str | None = None
    encoding: str | None = None
    header_row: int | None = None
    date_order: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    unmapped_columns: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_imported: int = 0
    rows_rejected: int = 0
    blank_rows: int = 0
    rows_skipped: list[SkippedRow] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    as_of: date | None = None
    as_of_source: str | None = None

    def add(self, issue: Issue) -> None:
        self.issues.append(issue)

    @property
    def rejections(self) -> list[Issue]:
        return [issue for issue in self.issues if issue.severity == Severity.ERROR]

    @property
    def unknown_stages(self) -> dict[str, int]:
        """Raw stage values that matched no stage, with how many rows had each."""
        counts: dict[str, int] = {}
        for issue in self.issues:
            if issue.kind == "unknown_stage" and issue.field == "stage":
                counts[issue.raw or ""] = counts.get(issue.raw or "", 0) + 1
        return counts

    def as_dict(self) -> dict:
        """A JSON-ready summary, the shape the command line prints."""
        return {
            "file": self.file,
            "kind": self.kind,
            "sheet": self.sheet,
            "encoding": self.encoding,
            "header_row": self.header_row,
            "date_order": self.date_order,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "as_of_source": self.as_of_source,
            "rows_read": self.rows_read,
            "rows_imported": self.rows_imported,
            "rows_rejected": self.rows_rejected,
            "blank_rows": self.blank_rows,
            "rows_skipped": [asdict(skipped) for skipped in self.rows_skipped],
            "rejections": [
                {"row": i.row, "column": i.column, "reason": i.reason, "kind": i.kind}
                for i in self.rejections
            ],
            "issues": [
                i.as_dict() for i in self.issues if i.severity != Severity.ERROR
            ],
            "unmapped_columns": self.unmapped_columns,
            "unknown_stages": self.unknown_stages,
            "mapping": self.mapping,
            "notes": self.notes,
        }
