"""Playbook: plays per customer type, objection scripts, stage SOPs, and which win."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_ui import playbook as book
from app_ui.common import (
    display_text,
    downloads,
    lang,
    plain,
    show_error,
    snapshot_dates,
    stage_name,
    store,
    tr,
)
from sales_core import playbook
from sales_core.i18n import money, t
from sales_core.metrics.plays import MIN_DEALS
from sales_core.playbook import KINDS, Play, customer_type_name, customer_types
from sales_core.schema import Kind, field_spec
from sales_core.stages import default_model

MODEL = default_model()
FLASH = "playbook_flash"
# (column suffix in metrics.plays.compare_plays, shown name, is a rate)
GROUP_COLUMNS = (
    ("deals", "deals", False), ("conversion", "next stage", True),
    ("conversion_low", "next stage 95% low", True),
    ("conversion_high", "next stage 95% high", True),
    ("win_rate", "win rate", True), ("win_low", "win rate 95% low", True),
    ("win_high", "win rate 95% high", True),
)  # fmt: skip
language = lang()
type_keys = list(customer_types())


# Labels use the language of this run, not lang() at call time: AppTest
# calls a selectbox's format_func again outside the session.
def _kind_name(kind: str) -> str:
    return t(f"kind_{kind}", language)


def _type_name(key: str | None) -> str:
    return customer_type_name(key, language)


def _stage(key: str | None) -> str:
    return MODEL.name(key, language)


def _deal_field(name: str) -> str:
    spec = field_spec(Kind.DEALS, name)
    return spec.zh if language == "zh" else spec.en


def _any(value: object, name) -> str:
    return t("(any)", language) if value is None else name(value)


def _numbered(steps: tuple[str, ...]) -> str:
    return "\n".join(f"{number}. {step}" for number, step in enumerate(steps, 1))


def _show_play(play: Play) -> None:
    """One play: meaning, steps and template (copyable), and who changed it last."""
    st.text(play.body)
    if play.steps:
        st.caption(tr("Steps"))
        st.code(_numbered(play.steps), language=None, wrap_lines=True)
    if play.template:
        st.caption(tr("Template"))
        st.code(play.template, language=None, wrap_lines=True)
    facts = [
        _kind_name(play.kind),
        _type_name(play.customer_type) if play.customer_type else None,
        " / ".join(stage_name(key) for key in play.stages) or tr("any stage"),
        " · ".join(play.tags) or None,
        tr("changed_by", who=play.updated_by, when=f"{play.updated_at:%Y-%m-%d %H:%M}",
           version=play.version),
    ]  # fmt: skip
    st.text(" | ".join(fact for fact in facts if fact))


def _comparison_table(
    cells: pd.DataFrame, titles: dict[str, str]
) -> tuple[pd.DataFrame, list[str]]:
    """The with/without comparison as shown, and the names of its rate columns."""
    table = {
        tr("Play"): cells["play"].map(titles),
        tr("Stage"): cells["stage"].map(stage_name),
        tr("Customer type"): cells["customer_type"].map(_type_name),
    }
    rate_names = []
    for group, label in (("with", "With"), ("without", "Without")):
        for field, shown, is_rate in GROUP_COLUMNS:
            name = tr(f"{label}: {shown}")
            table[name] = cells[f"{group}_{field}"]
            if is_rate:
                rate_names.append(name)
    table[tr("Verdict")] = [
        tr("too few deals") if too_few
        else tr("clear difference") if conversion or win
        else tr("no clear difference")
        for too_few, conversion, win in zip(
            cells["too_few"], cells["conversion_differs"], cells["win_rate_differs"],
            strict=True)
    ]  # fmt: skip
    return pd.DataFrame(table), rate_names


def _flash() -> None:
    message = st.session_state.pop(FLASH, None)
    if message:
        st.success(message)


def _saved(message: str) -> None:
    st.session_state[FLASH] = message
    st.rerun()


st.title(tr("Playbook"))
st.caption(tr("playbook_intro"))
_flash()

dates = snapshot_dates()
as_of = None
if dates:
    as_of = st.selectbox(tr("As of"), sorted(dates, reverse=True), key="playbook_as_of")

library_tab, context_tab, outcome_tab, history_tab = st.tabs(
    [tr("Library"), tr("Plays in context"), tr("Which plays win"), tr("Change history")]
)

# ---------------------------------------------------------------- library

with library_tab:
    left, middle, right, far = st.columns([3, 2, 2, 2])
    text = left.text_input(tr("Search (中文 or English)"), key="pb_text")
    stage = middle.selectbox(tr("Stage"), [None, *MODEL.keys], key="pb_stage",
                             format_func=lambda key: _any(key, _stage))  # fmt: skip
    customer_type = right.selectbox(
        tr("Customer type"), [None, *type_keys], key="pb_type",
        format_func=lambda key: _any(key, _type_name),
    )  # fmt: skip
    tag = far.selectbox(tr("Tag"), [None, *book.tags()], key="pb_tag",
                        format_func=lambda value: _any(value, str))  # fmt: skip

    try:
        found = book.find(customer_type, stage, tag, text or None, language)
    except Exception as error:  # every failure reaches the user as a message
        show_error(error)
        found = []
    st.caption(tr("plays_found", count=len(found)))
    for play in found:
        with st.expander(f"{_kind_name(play.kind)} · {plain(play.title)}"):
            _show_play(play)

    st.divider()
    st.subheader(tr("Add, edit or retire plays"))
    editor = st.text_input(
        tr("Your name (recorded with every change)"), key="pb_editor"
    )
    edit_tab, add_tab, retired_tab = st.tabs(
        [tr("Edit or retire"), tr("Add a play"), tr("Retired plays")]
    )

with edit_tab:
    active = {play.key: play for play in book.plays(language)}
    chosen = st.selectbox(tr("Play"), list(active), key="pb_edit_key",
                          format_func=lambda key: active[key].title)  # fmt: skip
    if chosen:
        play = active[chosen]
        fields = play.fields()
        suffix = f"{play.key}_v{play.version}"
        with st.form(f"pb_edit_form_{suffix}"):
            top = st.columns(3)
            kind = top[0].selectbox(tr("Play kind"), KINDS,
                                    index=KINDS.index(play.kind),
                                    format_func=_kind_name,
                                    key=f"pb_edit_kind_{suffix}")  # fmt: skip
            types = [None, *type_keys]
            kind_type = top[1].selectbox(
                tr("Customer type"), types, index=types.index(play.customer_type)
                if play.customer_type in types else 0,
                format_func=lambda key: _any(key, _type_name),
                key=f"pb_edit_type_{suffix}",
            )  # fmt: skip
            stages = top[2].multiselect(tr("Stages"), MODEL.keys,
                                        default=list(play.stages),
                                        format_func=_stage,
                                        key=f"pb_edit_stages_{suffix}")  # fmt: skip
            values = {"kind": kind, "customer_type": kind_type, "stages": stages}
            for name, label in (("tags", "Tags (comma-separated)"),
                                ("keywords", "keywords_help")):  # fmt: skip
                values[name] = st.text_input(
                    tr(label), ", ".join(fields[name]), key=f"pb_edit_{name}_{suffix}"
                )
            zh_side, en_side = st.columns(2)
            for side, code in ((zh_side, "zh"), (en_side, "en")):
                side.markdown(f"**{tr('Chinese' if code == 'zh' else 'English')}**")
                values[f"title_{code}"] = side.text_input(
                    tr("Title"), fields[f"title_{code}"] or "",
                    key=f"pb_edit_title_{code}_{suffix}")  # fmt: skip
                values[f"body_{code}"] = side.text_area(
                    tr("What it means / when to use"), fields[f"body_{code}"] or "",
                    key=f"pb_edit_body_{code}_{suffix}")  # fmt: skip
                values[f"steps_{code}"] = side.text_area(
                    tr("Steps (one per line)"), "\n".join(fields[f"steps_{code}"]),
                    key=f"pb_edit_steps_{code}_{suffix}")  # fmt: skip
                values[f"template_{code}"] = side.text_area(
                    tr("Template"), fields[f"template_{code}"] or "",
                    key=f"pb_edit_template_{code}_{suffix}")  # fmt: skip
            submitted = st.form_submit_button(tr("Save changes"), key="pb_edit_submit")
        if submitted:
            try:
                saved = playbook.edit_play(store(), play.key, values, by=editor)
                _saved(tr("saved_play", title=plain(saved.in_lang(language).title),
                          version=saved.version))  # fmt: skip
            except Exception as error:
                show_error(error)

        reason = st.text_input(tr("Why retire it (optional)"), key="pb_retire_note")
        if st.button(tr("Retire this play"), key="pb_retire"):
            try:
                playbook.retire_play(store(), play.key, by=editor, note=reason or None)
                _saved(tr("retired_play", title=plain(play.title)))
            except Exception as error:
                show_error(error)

with add_tab, st.form("pb_add_form", clear_on_submit=False):
    top = st.columns(3)
    new_kind = top[0].selectbox(tr("Play kind"), KINDS, format_func=_kind_name,
                                key="pb_add_kind")  # fmt: skip
    new_type = top[1].selectbox(tr("Customer type"), [None, *type_keys],
                                format_func=lambda key: _any(key, _type_name),
                                key="pb_add_type")  # fmt: skip
    new_stages = top[2].multiselect(tr("Stages"), MODEL.keys, format_func=_stage,
                                    key="pb_add_stages")  # fmt: skip
    new_values = {"kind": new_kind, "customer_type": new_type, "stages": new_stages}
    for code in ("zh", "en"):
        label = tr("Chinese" if code == "zh" else "English")
        new_values[f"title_{code}"] = st.text_input(
            f"{tr('Title')} ({label})", key=f"pb_add_title_{code}"
        )
        new_values[f"body_{code}"] = st.text_area(
            f"{tr('What it means / when to use')} ({label})", key=f"pb_add_body_{code}"
        )
        new_values[f"steps_{code}"] = st.text_area(
            f"{tr('Steps (one per line)')} ({label})", key=f"pb_add_steps_{code}"
        )
        new_values[f"template_{code}"] = st.text_area(
            f"{tr('Template')} ({label})", key=f"pb_add_template_{code}"
        )
    new_values["tags"] = st.text_input(tr("Tags (comma-separated)"), key="pb_add_tags")
    new_values["keywords"] = st.text_input(tr("keywords_help"), key="pb_add_keywords")
    if st.form_submit_button(tr("Add play"), key="pb_add_submit"):
        try:
            added = playbook.add_play(store(), new_values, by=editor)
            _saved(tr("added_play", title=plain(added.in_lang(language).title)))
        except Exception as error:
            show_error(error)

with retired_tab:
    retired = [play for play in book.plays(language, include_retired=True)
               if play.retired]  # fmt: skip
    if not retired:
        st.caption(tr("No retired plays."))
    for play in retired:
        with st.container(border=True, key=f"pb_retired_{play.key}"):
            st.text(f"{_kind_name(play.kind)} · {play.title}")
            st.text(tr("retired_by", who=play.retired_by,
                       when=f"{play.retired_at:%Y-%m-%d %H:%M}"))  # fmt: skip
            if st.button(tr("Restore"), key=f"pb_restore_{play.key}"):
                try:
                    playbook.restore_play(store(), play.key, by=editor)
                    _saved(tr("restored_play", title=plain(play.title)))
                except Exception as error:
                    show_error(error)

# ---------------------------------------------------------------- in context

with context_tab:
    st.subheader(tr("Win rate so far by customer type"))
    rates = book.win_rates(as_of, MIN_DEALS)
    if rates.empty:
        st.info(tr("No snapshots yet."))
    else:
        rate_table = pd.DataFrame({
            tr("Customer type"): rates["customer_type"].map(_type_name),
            tr("As exported"): rates["spellings"].map(" / ".join),
            tr("Deals"): rates["deals"], tr("Open"): rates["open"],
            tr("Won"): rates["won"], tr("Lost"): rates["lost"],
            tr("Win rate"): rates["win_rate"], tr("95% low"): rates["win_low"],
            tr("95% high"): rates["win_high"],
            tr("Too few deals"): rates["too_few"],
            tr("Play for this type"): [
                (play.title if (play := book.suggested(key, None, language)) else "—")
                for key in rates["customer_type"]
            ],
        })  # fmt: skip
        st.dataframe(
            rate_table, hide_index=True, key="pb_win_rates",
            column_config={
                name: st.column_config.NumberColumn(format="percent")
                for name in (tr("Win rate"), tr("95% low"), tr("95% high"))
            },
        )  # fmt: skip
        st.caption(tr("win_rate_note", min_deals=MIN_DEALS))
        downloads(rate_table, "kongpan_win_rate_by_customer_type", "pb_rates")

    st.subheader(tr("Suggested play on a deal card"))
    deals = book.open_deals(as_of) if as_of else pd.DataFrame()
    if deals.empty:
        st.caption(tr("No open deals in this snapshot."))
    else:
        deal_rows = deals.set_index("deal_id")
        deal_id = st.selectbox(
            tr("Sample deal"), list(deal_rows.index), key="pb_sample_deal",
            format_func=lambda key: f"{display_text(deal_rows.at[key, 'customer'])} · "
            f"{_stage(deal_rows.at[key, 'stage'])} · "
            f"{money(deal_rows.at[key, 'amount'], language)}",
        )  # fmt: skip
        deal = deal_rows.loc[deal_id]
        raw_type = (
            deal["customer_type"] if isinstance(deal["customer_type"], str) else None
        )
        with st.container(border=True, key="pb_card"):
            name = display_text(deal["deal_name"])
            st.text(
                f"{display_text(deal['customer'])} · {deal_id if name == '—' else name}"
            )
            columns = st.columns(4)
            columns[0].metric(tr("Stage"), stage_name(deal["stage"]))
            columns[1].metric(tr("Customer type"), raw_type or "—")
            columns[2].metric(tr("Amount"), money(deal["amount"], language))
            columns[3].metric(tr("Owner"), display_text(deal["owner"]))
            suggestion = book.suggested(raw_type, deal["stage"], language)
            if suggestion is None:
                st.text(tr("No play fits this deal yet."))
            else:
                st.text(f"{tr('Suggested play')}: {suggestion.title}")
                st.code(_numbered(suggestion.steps), language=None, wrap_lines=True)

    st.subheader(tr("Is there a script for the stage we get stuck in?"))
    titles = {play.key: play.title for play in book.plays(language)}
    cover = book.coverage(as_of)
    cover_table = pd.DataFrame({
        tr("Stage"): cover["stage"].map(stage_name),
        tr("Script or SOP"): cover["script_keys"].map(
            lambda keys: " / ".join(titles.get(key, key) for key in keys) or "—"),
        tr("Has a script"): cover["covered"],
        tr("Plays for this stage"): cover["plays"],
        tr("Deals now"): cover["deals"], tr("Idle deals"): cover["idle_deals"],
        tr("Stuck without a script"): cover["stuck_without_script"],
    })  # fmt: skip
    st.dataframe(cover_table, hide_index=True, key="pb_coverage")

# ---------------------------------------------------------------- outcomes

with outcome_tab:
    st.caption(tr("outcome_note"))
    left, right = st.columns(2)
    min_deals = left.number_input(
        tr("Too few below (deals)"), min_value=1, value=MIN_DEALS, step=1,
        key="pb_min_deals",
    )  # fmt: skip
    play_column = right.selectbox(
        tr("Deal column where the play is written (optional)"),
        [None, *playbook.PLAY_COLUMNS], key="pb_play_column",
        format_func=lambda name: t("(none)", language) if name is None
        else _deal_field(name),
    )  # fmt: skip
    if as_of is None:
        st.info(tr("No snapshots yet."))
    else:
        try:
            judged = book.report(as_of, int(min_deals), play_column)
        except Exception as error:
            show_error(error)
            judged = None
        if judged is not None:
            everything = {p.key: p.title for p in book.plays(language, True)}
            summary = judged.summary
            st.dataframe(
                pd.DataFrame({
                    tr("Play"): summary["play"].map(everything),
                    tr("Play kind"): summary["kind"].map(_kind_name),
                    tr("Deals using it"): summary["deals_using"],
                    tr("Cells compared"): summary["cells"],
                    tr("With enough deals"): summary["cells_enough_deals"],
                    tr("Clear difference"): summary["cells_differ"],
                }),
                hide_index=True, key="pb_play_summary",
            )  # fmt: skip
            cells = judged.comparison
            if cells.empty:
                st.caption(tr("No play was used on any deal yet."))
            else:
                comparison, rate_names = _comparison_table(cells, everything)
                st.dataframe(
                    comparison, hide_index=True, key="pb_comparison",
                    column_config={
                        name: st.column_config.NumberColumn(format="percent")
                        for name in rate_names
                    },
                )  # fmt: skip
                downloads(comparison, f"kongpan_plays_{as_of}", "pb_comparison")

# ---------------------------------------------------------------- history

with history_tab:
    changes = book.history()
    everything = {p.key: p.title for p in book.plays(language, True)}
    st.dataframe(
        pd.DataFrame({
            tr("When"): changes["changed_at"], tr("Who"): changes["changed_by"],
            tr("Play"): changes["play_key"].map(lambda key: everything.get(key, key)),
            tr("Action"): changes["action"].map(lambda action: tr(f"action_{action}")),
            tr("Fields changed"): changes["fields"].map(", ".join),
            tr("Note"): changes["note"],
        }),
        hide_index=True, key="pb_history",
    )  # fmt: skip
