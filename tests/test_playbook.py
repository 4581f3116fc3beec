"""The play library: seed, lookup by type/stage/tag/text, edits with history."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from sqlalchemy import func, select

from sales_core import playbook
from sales_core.cli import main
from sales_core.errors import KongpanError
from sales_core.playbook import (
    add_play,
    customer_type_key,
    customer_types,
    edit_play,
    find_plays,
    get_play,
    list_plays,
    load_seed,
    play_history,
    restore_play,
    retire_play,
    suggested_play,
    suggested_plays,
)
from sales_core.stages import default_model
from sales_core.store import Store

TYPE_PLAYS = {
    "budget_no_authority": "type.budget_no_authority",
    "hesitant": "type.hesitant",
    "price_comparer": "type.price_comparer",
    "busy_in_need": "type.busy_in_need",
}


@pytest.fixture
def store(store_url) -> Store:
    return Store(store_url)


def _keys(found) -> list[str]:
    return [play.key for play in found]


def test_seed_file_is_valid_and_covers_types_and_every_stage():
    seed = load_seed()
    kinds = {entry["kind"] for entry in seed}

    assert set(customer_types()) == set(TYPE_PLAYS)
    assert kinds == set(playbook.KINDS)
    for entry in seed:
        assert entry["title_zh"] and entry["title_en"], entry["key"]
        assert entry["steps_zh"] and entry["steps_en"], entry["key"]
        assert len(entry["steps_zh"]) == len(entry["steps_en"]), entry["key"]
    scripts = {stage for e in seed if e["kind"] in ("stage_sop", "template")
               for stage in e["stages"]}  # fmt: skip
    assert scripts == set(default_model().keys)  # all seven stages


def test_library_is_seeded_once(store, store_url):
    assert len(list_plays(store)) == len(load_seed())
    again = Store(store_url)
    playbook.ensure_playbook(again)
    with again.engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(playbook.plays)).scalar()
    assert count == len(load_seed())
    history = play_history(store)
    assert set(history["action"]) == {"seed"}
    assert set(history["changed_by"]) == {"playbook.toml"}


@pytest.mark.parametrize(
    ("spelling", "type_key"),
    [
        ("有预算没决策权", "budget_no_authority"),  # cn_weekly and demo
        ("有意向但犹豫", "hesitant"),  # cn_weekly
        ("有兴趣但犹豫", "hesitant"),  # demo
        ("喜欢比价", "price_comparer"),  # cn_weekly
        ("比价型", "price_comparer"),  # demo
        ("忙但有需求", "busy_in_need"),  # both
        ("Price Comparer", "price_comparer"),
        ("ＢＵＳＹ but in need", "busy_in_need"),
        ("有预算，没决策权", "budget_no_authority"),
        ("hesitant", "hesitant"),
    ],
)
def test_each_customer_type_returns_its_play(store, spelling, type_key):
    assert customer_type_key(spelling) == type_key
    assert _keys(find_plays(store, customer_type=spelling)) == [TYPE_PLAYS[type_key]]
    for stage in ("lead", "quoted", "deciding"):
        assert suggested_play(store, spelling, stage).key == TYPE_PLAYS[type_key]


@pytest.mark.parametrize("query", ["价格", "价格太高", "price", "PRICE is too high",
                                   "ｐｒｉｃｅ", "trust"])  # fmt: skip
def test_text_search_finds_the_objection_entry(store, query):
    assert "objection.price_high" in _keys(find_plays(store, text=query))


@pytest.mark.parametrize("query", ["价格太高", "PRICE is too high", "你们价格"])
def test_the_closest_title_comes_first(store, query):
    assert _keys(find_plays(store, text=query))[0] == "objection.price_high"


def test_text_search_looks_in_steps_and_tags_and_needs_every_word(store):
    # "floor price" is only in the price comparer's English steps.
    assert _keys(find_plays(store, text="floor price")) == [
        "type.price_comparer", "objection.competitor_cheaper"]  # fmt: skip
    assert _keys(find_plays(store, text="价格 交接")) == []
    assert "sop.won.handover" in _keys(find_plays(store, tag="Handover"))
    assert _keys(find_plays(store, text="no such words anywhere")) == []


def test_stage_and_kind_filters(store):
    quoted = _keys(find_plays(store, stage="已报价", kind="stage_sop"))
    assert quoted == ["sop.quoted.quoting_rules"]
    objections = find_plays(store, stage="negotiating", kind="objection")
    assert {play.kind for play in objections} == {"objection"}
    assert "objection.price_high" in _keys(objections)


def test_bad_filters_are_user_errors(store):
    with pytest.raises(KongpanError) as error:
        find_plays(store, stage="bogus")
    assert error.value.code == "playbook_bad_stage"
    with pytest.raises(KongpanError) as error:
        find_plays(store, customer_type="外星人")
    assert error.value.code == "playbook_bad_type"
    assert "有预算没决策权" in error.value.message("zh")


def test_retired_play_disappears_but_keeps_its_history(store):
    at = datetime(2026, 11, 21, 9, 30)
    retire_play(store, "objection.price_high", by="周文斌", note="合并到新条目", at=at)

    assert "objection.price_high" not in _keys(find_plays(store, text="价格"))
    assert "objection.price_high" not in _keys(list_plays(store))
    kept = get_play(store, "objection.price_high")
    assert kept.retired and kept.retired_by == "周文斌"
    history = play_history(store, "objection.price_high")
    assert list(history["action"]) == ["retire", "seed"]
    newest = history.iloc[0]
    assert (newest["changed_by"], newest["changed_at"], newest["note"]) == (
        "周文斌", at, "合并到新条目")  # fmt: skip
    assert newest["changes"] == {"retired": [False, True]}

    with pytest.raises(KongpanError) as error:
        edit_play(store, "objection.price_high", {"title_en": "x"}, by="周文斌")
    assert error.value.code == "playbook_retired"

    restore_play(store, "objection.price_high", by="孙建国")
    assert "objection.price_high" in _keys(find_plays(store, text="价格"))
    assert list(play_history(store, "objection.price_high")["action"]) == [
        "restore", "retire", "seed"]  # fmt: skip


def test_retired_type_play_is_no_longer_suggested(store):
    retire_play(store, "type.price_comparer", by="周文斌")
    assert find_plays(store, customer_type="比价型") == []
    assert suggested_play(store, "比价型", "quoted").key == "sop.quoted.quoting_rules"


def test_edit_records_who_what_and_when(store):
    at = datetime(2026, 11, 22, 14, 0)
    before = get_play(store, "type.hesitant")
    edited = edit_play(
        store, "type.hesitant",
        {"title_en": "Hesitating: a peer case, then a deadline",
         "tags": "案例, 限时, deadline", "steps_zh": "第一步\n\n第二步"},
        by="李娜", at=at,
    )  # fmt: skip

    assert edited.version == before.version + 1
    assert edited.in_lang("en").title == "Hesitating: a peer case, then a deadline"
    assert edited.tags == ("案例", "限时", "deadline")
    assert edited.in_lang("zh").steps == ("第一步", "第二步")
    change = play_history(store, "type.hesitant").iloc[0]
    assert change["action"] == "edit" and change["changed_by"] == "李娜"
    assert change["changed_at"] == at
    assert change["fields"] == ["steps_zh", "tags", "title_en"]
    assert change["changes"]["title_en"] == [
        before.text("title", "en"),
        "Hesitating: a peer case, then a deadline",
    ]

    unchanged = edit_play(store, "type.hesitant", {"tags": ["案例", "限时", "deadline"]},
                          by="李娜")  # fmt: skip
    assert unchanged.version == edited.version
    assert len(play_history(store, "type.hesitant")) == 2


def test_edits_need_an_editor_and_a_title(store):
    with pytest.raises(KongpanError) as error:
        edit_play(store, "type.hesitant", {"title_en": "x"}, by="  ")
    assert error.value.code == "playbook_no_editor"
    with pytest.raises(KongpanError) as error:
        edit_play(store, "type.hesitant", {"title_en": "", "title_zh": None}, by="李娜")
    assert error.value.code == "playbook_no_title"
    with pytest.raises(KongpanError) as error:
        edit_play(store, "no.such.play", {"title_en": "x"}, by="李娜")
    assert error.value.code == "playbook_unknown_play"


def test_added_play_is_found_and_its_key_is_unique(store):
    play = add_play(
        store,
        {"kind": "objection", "stages": ["谈单中"], "title_zh": "客户说「合同条款要改」",
         "body_zh": "含义：法务介入，说明在认真走流程。", "tags": "合同, contract",
         "keywords": "改合同"},
        by="王磊",
    )  # fmt: skip

    assert play.key == f"objection.{len(load_seed()) + 1}"
    assert play.stages == ("negotiating",)
    assert play.in_lang("en").title == "客户说「合同条款要改」"  # falls back to zh
    assert _keys(find_plays(store, text="合同条款"))[0] == play.key
    history = play_history(store, play.key)
    assert (
        list(history["action"]) == ["add"] and history.iloc[0]["changed_by"] == "王磊"
    )

    with pytest.raises(KongpanError) as error:
        add_play(store, {"kind": "timing", "title_en": "x"}, by="王磊", key=play.key)
    assert error.value.code == "playbook_key_taken"
    with pytest.raises(KongpanError) as error:
        add_play(store, {"kind": "timing", "stages": "somewhere"}, by="王磊")
    assert error.value.code == "playbook_bad_stage"


def test_suggestion_order_for_stages_without_a_type(store):
    assert suggested_play(store, None, "quoted").key == "sop.quoted.quoting_rules"
    assert suggested_play(store, "未知类型", "lead").key == "sop.lead.first_contact"
    # A won deal gets the handover checklist, whatever its type.
    assert suggested_play(store, "比价型", "won").key == "sop.won.handover"
    assert suggested_play(store, "喜欢比价", None).key == "type.price_comparer"
    assert suggested_play(store, None, None) is None
    assert suggested_play(store, "忙但有需求", "已报价", lang="en").title.startswith(
        "Busy but in need")  # fmt: skip


def test_suggested_plays_for_a_frame_of_deals(store):
    import pandas as pd

    deals = pd.DataFrame({"deal_id": ["a", "b", "c"],
                          "customer_type": ["喜欢比价", None, "新类型"],
                          "stage": ["quoted", "deciding", None]})  # fmt: skip
    table = suggested_plays(store, deals, lang="zh")
    assert list(table["play_key"]) == [
        "type.price_comparer", "sop.deciding.close_plan", None]  # fmt: skip
    assert table.loc[0, "play_title"].startswith("比价型")


def test_library_stage_coverage_has_a_script_for_every_stage(store):
    table = playbook.coverage_report(store)  # an empty store: no deals yet
    assert table["covered"].all()
    assert (table["deals"] == 0).all()

    retire_play(store, "sop.lost.review", by="周文斌")
    table = playbook.coverage_report(store).set_index("stage")
    assert not table.loc["lost", "covered"]
    assert table.loc["won", "script_keys"] == ["sop.won.handover"]


def test_library_version_changes_with_every_edit(store):
    first = playbook.library_version(store)
    edit_play(store, "type.busy_in_need", {"tags": ["短"]}, by="何丽")
    assert playbook.library_version(store) != first


def test_cli_find_prints_json(store_url, capsys):
    assert main(["--database", store_url, "playbook", "find", "--type", "喜欢比价",
                 "--json"]) == 0  # fmt: skip
    found = json.loads(capsys.readouterr().out)
    assert [play["key"] for play in found] == ["type.price_comparer"]
    assert found[0]["zh"]["title"].startswith("比价型")

    assert main(["--database", store_url, "playbook", "find", "--text", "价格",
                 "--stage", "quoted", "--json"]) == 0  # fmt: skip
    found = json.loads(capsys.readouterr().out)
    assert found[0]["key"] == "objection.price_high"


def test_cli_bad_input_is_a_message_not_a_traceback(store_url, capsys):
    assert main(["--database", store_url, "--lang", "zh", "playbook", "find",
                 "--stage", "bogus"]) == 1  # fmt: skip
    captured = capsys.readouterr()
    assert "不认识的阶段「bogus」" in captured.err
    assert "Traceback" not in captured.err
    assert main(["--database", store_url, "report", "plays", "--json"]) == 1
    assert "No deal snapshot" in capsys.readouterr().err


EXPORT_WITH_PLAYS = """商机编号,客户名称,负责人,销售阶段,客户类型,预计金额(元),备注
D1,甲公司,李娜,已成交,比价型,10000,type.price_comparer
D2,乙公司,李娜,谈单中,喜欢比价,20000,做了服务对比；客户认可
D3,丙公司,李娜,已报价,比价型,30000,
D4,丁公司,李娜,已成交,比价型,40000,
D5,戊公司,李娜,已成交,有意向但犹豫,50000,type.price_comparer
D6,己公司,李娜,新线索,比价型,60000,无
"""


def test_a_deals_column_can_name_the_play_used(store, store_url, tmp_path, capsys):
    export = tmp_path / "商机导出_2026-11-27.csv"
    export.write_text(EXPORT_WITH_PLAYS, encoding="utf-8")
    store.import_file(export)

    report = playbook.plays_report(store, play_column="note", min_deals=1)
    used = report.usage[report.usage["play"] == "type.price_comparer"]
    # D1 and D5 name the play's key, D2 one of its keywords (服务对比).
    assert sorted(used["deal_id"]) == ["D1", "D2", "D5"]
    assert set(used["via"]) == {"column"}
    cells = report.comparison[report.comparison["play"] == "type.price_comparer"]
    lead = cells.set_index("stage").loc["lead"]
    # Price comparers only (D5 is hesitant): with the play D1 (won) and D2
    # (negotiating), both past lead: 2/2; without it D3 (quoted), D4 (won) and
    # D6 (lead): 2/3 reached contacted.
    assert (lead["with_deals"], lead["with_next"]) == (2, 2)
    assert (lead["without_deals"], lead["without_next"]) == (3, 2)
    assert playbook.plays_report(store).usage.empty  # no follow-ups: no keywords

    args = ["--database", store_url, "report", "plays", "--play-column", "note",
            "--min-deals", "1", "--json"]  # fmt: skip
    assert main(args) == 0
    figures = json.loads(capsys.readouterr().out)
    by_play = {row["play"]: row for row in figures["plays"]}
    assert by_play["type.price_comparer"]["via_column"] == 3
