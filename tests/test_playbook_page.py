"""AppTest: the Playbook page searches, edits and retires plays, and the
changes persist after a rerun and in a new session."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sales_core import playbook
from sales_core.store import Store

ROOT = Path(__file__).resolve().parents[1]
PRICE_TITLE_EN = 'Objection · Customer says: "Your price is too high"'


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    """A store with the demo and the seeded library, built once, copied per test."""
    path = tmp_path_factory.mktemp("playbook-demo") / "kongpan.db"
    store = Store(f"sqlite:///{path}")
    assert store.load_demo()
    playbook.ensure_playbook(store)
    store.engine.dispose()
    return path


def _open(demo_db: Path, store_url: str, locale: str = "en-US") -> AppTest:
    shutil.copy(demo_db, store_url.removeprefix("sqlite:///"))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.context = {"locale": locale}
    app.run()
    assert not app.exception
    app.switch_page("app_pages/playbook.py").run()
    assert not app.exception
    return app


def _library(app: AppTest) -> list[str]:
    """Labels of the library's search results (one expander per play).

    Titles are Markdown-escaped on screen (a title is shown as typed); the
    escapes are removed here to compare with the plain titles.
    """
    return [_unescaped(expander.label) for expander in app.expander]


def _unescaped(text: str) -> str:
    """Screen text without the Markdown escapes that keep titles literal."""
    return re.sub(r"\\(.)", r"\1", text)


def _table_with(app: AppTest, column: str):
    """The first table on screen with `column` (tables carry no key in AppTest)."""
    return next(t.value for t in app.dataframe if column in t.value.columns)


def _store() -> Store:
    """The store the app under test uses (KONGPAN_DATABASE_URL)."""
    return Store()


def _search(app: AppTest, text: str = "", stage=None, customer_type=None, tag=None):
    app.text_input(key="pb_text").set_value(text)
    app.selectbox(key="pb_stage").set_value(stage)
    app.selectbox(key="pb_type").set_value(customer_type)
    app.selectbox(key="pb_tag").set_value(tag)
    app.run()
    assert not app.exception
    return _library(app)


def test_search_by_text_stage_customer_type_and_tag(demo_db, store_url):
    app = _open(demo_db, store_url)
    assert app.title[0].value == "Playbook"
    assert len(_library(app)) == len(playbook.load_seed())

    assert PRICE_TITLE_EN in _search(app, "价格")
    assert _search(app, "price too high") == [PRICE_TITLE_EN]
    assert _search(app, stage="won") == [
        "Stage SOP · Won: post-sale handover checklist"
    ]
    comparer = "Price comparer: talk service and detail, avoid a price war"
    assert _search(app, customer_type="price_comparer") == [
        f"Customer-type play · {comparer}"
    ]
    assert _search(app, tag="handover") == [
        "Stage SOP · Won: post-sale handover checklist"]  # fmt: skip
    assert any(caption.value == "1 plays found" for caption in app.caption)
    steps = [block.value for block in app.code]
    assert any(step.startswith("1. File the contract") for step in steps)


def test_chinese_search_shows_chinese_plays(demo_db, store_url):
    app = _open(demo_db, store_url, locale="zh-CN")
    assert app.title[0].value == "打法库"
    assert "异议应对 · 客户说「你们价格太高了」" in _search(app, "价格")
    assert _search(app, stage="won") == ["阶段 SOP · 已成交：售后交接清单"]


def test_edit_a_play_and_the_change_persists_after_a_rerun(demo_db, store_url):
    app = _open(demo_db, store_url)
    app.text_input(key="pb_editor").set_value("李娜")
    app.selectbox(key="pb_edit_key").set_value("type.hesitant").run()
    suffix = "type.hesitant_v1"
    app.text_input(key=f"pb_edit_title_en_{suffix}").set_value(
        "Hesitating: a peer case, then a real deadline")  # fmt: skip
    app.text_area(key=f"pb_edit_steps_en_{suffix}").set_value(
        "Ask what worries them.\nShow one peer case.")  # fmt: skip
    app.button(key="pb_edit_submit").click().run()
    assert not app.exception
    assert [_unescaped(s.value) for s in app.success] == [
        "Saved: Hesitating: a peer case, then a real deadline (version 2)"]  # fmt: skip

    app.run()  # a plain rerun: the saved play is read back from the store
    assert not app.exception
    label = "Customer-type play · Hesitating: a peer case, then a real deadline"
    assert _search(app, "real deadline") == [label]
    assert "1. Ask what worries them.\n2. Show one peer case." in [
        block.value for block in app.code]  # fmt: skip
    history = _table_with(app, "Fields changed")
    assert (history.iloc[0]["Who"], history.iloc[0]["Action"]) == ("李娜", "edited")
    assert history.iloc[0]["Fields changed"] == "steps_en, title_en"

    fresh = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    fresh.context = {"locale": "en-US"}
    fresh.run()
    fresh.switch_page("app_pages/playbook.py").run()
    assert label in _search(fresh, "deadline")
    play = playbook.get_play(_store(), "type.hesitant", "en")
    assert (play.version, play.updated_by, play.title) == (
        2, "李娜", "Hesitating: a peer case, then a real deadline")  # fmt: skip


def test_saving_without_a_name_is_refused(demo_db, store_url):
    app = _open(demo_db, store_url)
    app.selectbox(key="pb_edit_key").set_value("type.busy_in_need").run()
    app.text_input(key="pb_edit_title_en_type.busy_in_need_v1").set_value("Changed")
    app.button(key="pb_edit_submit").click().run()
    assert not app.exception
    assert any("editor's name" in error.value for error in app.error)
    assert playbook.get_play(_store(), "type.busy_in_need").version == 1


def test_retire_hides_the_play_and_keeps_its_history(demo_db, store_url):
    app = _open(demo_db, store_url)
    app.text_input(key="pb_editor").set_value("周文斌")
    app.selectbox(key="pb_edit_key").set_value("objection.price_high").run()
    app.text_input(key="pb_retire_note").set_value("重写中")
    app.button(key="pb_retire").click().run()
    assert not app.exception
    assert _unescaped(app.success[0].value).startswith(
        'Retired: Customer says: "Your price'
    )

    assert PRICE_TITLE_EN not in _search(app, "价格")
    assert PRICE_TITLE_EN in [text.value for text in app.text]  # the retired tab
    newest = _table_with(app, "Fields changed").iloc[0]
    assert (newest["Who"], newest["Action"], newest["Note"]) == ("周文斌", "retired",
                                                                "重写中")  # fmt: skip

    app.button(key="pb_restore_objection.price_high").click().run()
    assert not app.exception
    assert PRICE_TITLE_EN in _search(app, "价格")


def test_add_a_play_in_the_app(demo_db, store_url):
    app = _open(demo_db, store_url)
    app.text_input(key="pb_editor").set_value("王磊")
    app.selectbox(key="pb_add_kind").set_value("timing")
    app.multiselect(key="pb_add_stages").set_value(["deciding"])
    app.text_input(key="pb_add_title_zh").set_value("月底前一周：确认流程而不是催单")
    app.text_area(key="pb_add_steps_zh").set_value("确认盖章流程\n确认付款时间")
    app.text_input(key="pb_add_keywords").set_value("确认盖章流程")
    app.button(key="pb_add_submit").click().run()
    assert not app.exception
    assert _unescaped(app.success[0].value) == "Added: 月底前一周：确认流程而不是催单"
    assert "Timing rule · 月底前一周：确认流程而不是催单" in _search(app, "盖章流程")
