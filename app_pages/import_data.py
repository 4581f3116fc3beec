"""Data import: upload exports, check mapping and report, then commit snapshots."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import streamlit as st

from app_ui.common import lang, plain, show_error, showing_demo, snapshots, store, tr
from sales_core.errors import KongpanError
from sales_core.i18n import issue_reason
from sales_core.ingest.parse import ParsedFile, parse_file
from sales_core.ingest.read import MAX_FILE_BYTES
from sales_core.schema import FIELDS, Kind
from sales_core.stages import default_model

NOT_MAPPED = "—"
AUTO = "auto"


@st.cache_data(show_spinner=False, max_entries=32)
def _parse(
    payload: bytes,
    name: str,
    kind: str | None,
    mapping_json: str | None,
    as_of: date | None,
) -> ParsedFile:
    mapping = json.loads(mapping_json) if mapping_json else None
    return parse_file(payload, name, kind=kind, mapping=mapping, as_of=as_of)


def _parse_or_stop(payload, name, kind, mapping, as_of) -> ParsedFile | None:
    try:
        mapping_json = (
            json.dumps(mapping, ensure_ascii=False, sort_keys=True) if mapping else None
        )
        return _parse(payload, name, kind, mapping_json, as_of)
    except Exception as error:
        show_error(error)
        return None


def _issue_table(issues, language: str) -> pd.DataFrame:
    model = default_model()
    return pd.DataFrame(
        [
            {
                tr("Row"): issue.row,
                tr("Column"): issue.column,
                tr("Reason"): issue_reason(
                    issue.kind,
                    issue.raw,
                    model.name(issue.suggestion, language)
                    if issue.suggestion
                    else None,
                    language,
                    issue.reason,
                ),
                tr("Severity"): issue.severity.value,
            }
            for issue in issues
        ]
    )


def _mapping_editor(parsed: ParsedFile, file_key: str) -> dict[str, str]:
    """Selectboxes field → column, starting from the detected mapping."""
    language = lang()
    options = [NOT_MAPPED, *parsed.headers]
    chosen: dict[str, str] = {}
    columns = st.columns(3)
    for position, spec in enumerate(FIELDS[parsed.kind]):
        current = parsed.report.mapping.get(spec.name, NOT_MAPPED)
        label = spec.zh if language == "zh" else spec.en
        value = columns[position % 3].selectbox(
            f"{label} ({spec.name})",
            options,
            index=options.index(current) if current in options else 0,
            key=f"map-{file_key}-{spec.name}",
        )
        if value != NOT_MAPPED:
            chosen[spec.name] = value
    return chosen


def _show_report(parsed: ParsedFile) -> None:
    report = parsed.report
    language = lang()
    counts = st.columns(4)
    counts[0].metric(tr("Rows read"), report.rows_read)
    counts[1].metric(tr("Imported"), report.rows_imported)
    counts[2].metric(tr("Rejected"), report.rows_rejected)
    counts[3].metric(tr("Blank rows"), report.blank_rows)
    if report.rejections:
        st.markdown(f"**{tr('Rejected rows')}**")
        st.dataframe(_issue_table(report.rejections, language), hide_index=True)
    warnings = [issue for issue in report.issues if issue.severity != "error"]
    if warnings:
        with st.expander(f"{tr('Warnings')} ({len(warnings)})"):
            st.dataframe(_issue_table(warnings, language), hide_index=True)
    if report.rows_skipped:
        st.markdown(f"**{tr('Skipped rows')}**")
        st.dataframe(
            pd.DataFrame(
                {
                    tr("Row"): [skipped.row for skipped in report.rows_skipped],
                    tr("Reason"): [
                        tr(f"reason_{skipped.reason}")
                        for skipped in report.rows_skipped
                    ],
                }
            ),
            hide_index=True,
        )
    if report.unmapped_columns:
        st.caption(
            f"{tr('Unmapped columns')}: "
            + ", ".join(plain(column) for column in report.unmapped_columns)
        )
    if report.unknown_stages:
        st.warning(
            f"{tr('Unknown stage values')}: "
            + ", ".join(
                f"{plain(value)} ×{count}"
                for value, count in report.unknown_stages.items()
            )
        )
    _show_notes(report.notes)


def _show_notes(notes: list[str]) -> None:
    """File-level notes ('code:detail') as warnings in the user's language."""
    for note in notes:
        code, _, detail = note.partition(":")
        st.warning(tr(f"note_{code}", detail=plain(detail)))


def _commit(parsed: ParsedFile) -> None:
    bar = st.progress(0.0, text=tr("Importing"))

    def step(fraction: float, _stage: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=tr("Importing"))

    noted = len(parsed.report.notes)
    try:
        result = store().import_parsed(parsed, progress=step, imported_by="app")
    except Exception as error:
        bar.empty()
        show_error(error)
        return
    bar.progress(1.0, text=tr("Import done."))
    if result.duplicate_of:
        st.info(
            tr("already_imported", file=parsed.file_name, snapshot=result.duplicate_of)
        )
    else:
        st.success(
            tr(
                "imported_ok",
                file=parsed.file_name,
                snapshot=result.snapshot_id,
                rows=parsed.report.rows_imported,
            )
        )
        _show_notes(result.report.notes[noted:])


def _one_file(upload, index: int) -> ParsedFile | None:
    payload = upload.getvalue()
    file_key = f"{index}-{upload.file_id}" if hasattr(upload, "file_id") else str(index)
    st.markdown(f"#### 📄 {plain(upload.name)}")
    if len(payload) > MAX_FILE_BYTES:
        show_error(
            KongpanError("file_too_large", file=upload.name, limit=MAX_FILE_BYTES)
        )
        return None

    kinds = [AUTO, *(kind.value for kind in Kind)]
    left, middle, right = st.columns(3)
    kind_choice = left.selectbox(
        tr("Detected kind"),
        kinds,
        key=f"kind-{file_key}",
        format_func=lambda value: value if value == AUTO else tr(value),
    )
    kind = None if kind_choice == AUTO else kind_choice
    profiles = store().profiles(kind) if kind else store().profiles()
    profile = middle.selectbox(
        tr("Mapping profile"), [NOT_MAPPED, *profiles], key=f"profile-{file_key}"
    )
    mapping = profiles.get(profile) if profile != NOT_MAPPED else None

    parsed = _parse_or_stop(payload, upload.name, kind, mapping, None)
    if parsed is None:
        return None
    if kind is None:
        st.caption(f"{tr('Detected kind')}: **{tr(parsed.kind.value)}**")

    with st.expander(tr("Column mapping")):
        chosen = _mapping_editor(parsed, file_key)
        name_column, button_column = st.columns([3, 1])
        profile_name = name_column.text_input(
            tr("Profile name"), key=f"profile-name-{file_key}"
        )
        saving = button_column.button(
            tr("Save profile"), key=f"save-profile-{file_key}"
        )
        if saving and profile_name.strip():
            store().save_profile(profile_name.strip(), parsed.kind, chosen)
            st.success(tr("Profile saved."))
    if chosen != parsed.report.mapping:
        parsed = _parse_or_stop(payload, upload.name, parsed.kind.value, chosen, None)
        if parsed is None:
            return None

    as_of = right.date_input(
        tr("Date the export describes"), value=parsed.as_of, key=f"as-of-{file_key}"
    )
    if parsed.report.as_of_source and as_of == parsed.as_of:
        right.caption(tr(f"as_of_source_{parsed.report.as_of_source}"))
    if as_of and as_of != parsed.as_of:
        parsed = _parse_or_stop(
            payload, upload.name, parsed.kind.value, parsed.report.mapping, as_of
        )
        if parsed is None:
            return None

    _show_report(parsed)
    if st.button(
        f"{tr('Import')} {upload.name}", key=f"import-{file_key}", type="primary"
    ):
        _commit(parsed)
    return parsed


st.title(tr("Data import"))
uploads = st.file_uploader(
    tr("Upload CRM exports"),
    type=["xlsx", "xls", "xlsm", "ods", "csv", "tsv", "txt"],
    accept_multiple_files=True,
    help=tr("upload_help"),
    key="uploads",
)
if not uploads:
    st.caption(
        tr(
            "Choose files to see the mapping and the validation report "
            "before importing."
        )
    )
if showing_demo():
    st.info(tr("demo_replace_hint"))
for position, upload in enumerate(uploads or []):
    with st.container(border=True):
        _one_file(upload, position)

st.subheader(tr("Past snapshots"))
history = snapshots()  # after this run's imports: a new data version
if history.empty:
    st.caption(tr("No snapshots yet."))
else:
    history = history.assign(
        kind=history["kind"].map(tr), origin=history["origin"].map(tr)
    )
    st.dataframe(
        history.rename(
            columns={
                "snapshot_id": tr("Snapshot"),
                "kind": tr("Kind"),
                "file_name": tr("File"),
                "as_of": tr("As of"),
                "imported_at": tr("Imported at"),
                "origin": tr("Origin"),
                "rows_read": tr("Read"),
                "rows_imported": tr("Imported"),
                "rows_rejected": tr("Rejected"),
            }
        ),
        hide_index=True,
        key="snapshot_table",
    )
