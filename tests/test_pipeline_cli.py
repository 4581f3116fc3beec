"""`report flow` and `report board` on real weekly exports (cn_weekly, checked
against its EXPECTED.json) and case C17 (stage moves between two snapshots)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from sales_core import pipeline_report
from sales_core.cli import main
from sales_core.metrics.flow import stage_transitions
from sales_core.stages import default_model
from sales_core.store import Store

CASES = Path(__file__).resolve().parent / "cases"
MODEL = default_model()


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def cn_weekly_url(shared_dir, tmp_path_factory) -> str:
    """The three cn_weekly deal exports imported once through the CLI."""
    url = f"sqlite:///{tmp_path_factory.mktemp('cn_weekly')}/kongpan.db"
    exports = sorted((shared_dir / "cn_weekly").glob("商机导出_*.xlsx"))
    assert len(exports) == 3
    assert main(["--database", url, "import", *map(str, exports), "--json"]) == 0
    return url


@pytest.fixture(scope="module")
def expected(shared_dir) -> dict:
    return json.loads((shared_dir / "cn_weekly" / "EXPECTED.json").read_text("utf-8"))


def test_flow_matches_expected_week_over_week_exactly(cn_weekly_url, expected, capsys):
    weeks = expected["week_over_week"]
    assert [(w["from"], w["to"]) for w in weeks] == [
        ("2026-11-13", "2026-11-20"),
        ("2026-11-20", "2026-11-27"),
    ]
    for week in weeks:
        code, out, err = run_cli(
            capsys,
            "--database",
            cn_weekly_url,
            "report",
            "flow",
            "--from",
            week["from"],
            "--to",
            week["to"],
            "--json",
        )
        assert code == 0, err
        figures = json.loads(out)
        assert figures["from"] == week["from"]
        assert figures["to"] == week["to"]
        # every id list, in full
        assert figures["deals"] == week["deals"]
        # every amount, exactly
        assert figures["open_amount"] == week["open_amount"]


def test_flow_text_output_and_bad_dates(cn_weekly_url, capsys):
    code, out, _ = run_cli(
        capsys,
        "--database",
        cn_weekly_url,
        "report",
        "flow",
        "--from",
        "2026-11-20",
        "--to",
        "2026-11-27",
    )
    assert code == 0
    assert "disappeared: 1 (SJ-2026-0004)" in out

    code, out, err = run_cli(
        capsys,
        "--database",
        cn_weekly_url,
        "report",
        "flow",
        "--from",
        "2026-11-21",
        "--to",
        "2026-11-27",
        "--json",
    )
    assert code == 1
    assert "2026-11-21" in err and "2026-11-13, 2026-11-20, 2026-11-27" in err
    assert "Traceback" not in err

    code, _, err = run_cli(
        capsys,
        "--database",
        cn_weekly_url,
        "report",
        "flow",
        "--from",
        "2026-11-27",
        "--to",
        "2026-11-13",
    )
    assert code == 1
    assert "must be before" in err

    code, _, err = run_cli(
        capsys,
        "--database",
        cn_weekly_url,
        "--lang",
        "zh",
        "report",
        "flow",
        "--from",
        "11/13",
        "--to",
        "2026-11-20",
    )
    assert code == 1
    assert "YYYY-MM-DD" in err


def test_board_json_per_stage_and_flagged_ids(cn_weekly_url, expected, capsys):
    code, out, err = run_cli(
        capsys, "--database", cn_weekly_url, "report", "board", "--json"
    )
    assert code == 0, err
    figures = json.loads(out)
    assert figures["as_of"] == "2026-11-27"

    counts = {row["stage"]: row["count"] for row in figures["stages"]}
    expected_counts = {
        MODEL.match(name): count
        for name, count in expected["stage_counts_last"].items()
    }
    assert counts == {key: expected_counts[key] for key in MODEL.open_keys}
    amounts = {row["stage"]: row["amount"] for row in figures["stages"]}
    # lead on 11-27: 0035 255000 + 0037 320000 + 0041 71000 + 0053 119000
    #   + 0054 93000 + 0055 170000 + 0058 375000 = 1,403,000
    assert amounts["lead"] == 1_403_000
    # negotiating: 0026 167000 + 0028 63000 + 0045 47000 = 277,000
    assert amounts["negotiating"] == 277_000
    # idle on 11-27: 0008 quoted, touched 11-03 (24 d > 14); 0035 lead 11-15
    # (12 > 7); 0041 lead 11-16 (11 > 7); 0047 contacted 11-15 (12 > 10)
    assert figures["idle"] == [
        "SJ-2026-0008",
        "SJ-2026-0035",
        "SJ-2026-0041",
        "SJ-2026-0047",
    ]
    # 0001's next step was due 2026-10-20, long before 11-27; 0055's is 11-30
    assert "SJ-2026-0001" in figures["overdue"]
    assert "SJ-2026-0055" not in figures["overdue"]


def test_board_as_of_an_earlier_snapshot_and_a_team_filter(cn_weekly_url, capsys):
    code, out, _ = run_cli(
        capsys,
        "--database",
        cn_weekly_url,
        "report",
        "board",
        "--as-of",
        "2026-11-13",
        "--team",
        "华南组",
        "--json",
    )
    assert code == 0
    figures = json.loads(out)
    assert figures["as_of"] == "2026-11-13"
    store = Store(cn_weekly_url)
    deals = store.load_deals(date(2026, 11, 13))
    south_open = deals[
        (deals["team"] == "华南组") & deals["stage"].isin(MODEL.open_keys)
    ]
    assert sum(row["count"] for row in figures["stages"]) == len(south_open)


# ---------------------------------------------------------------- C17


@pytest.fixture
def c17_store(store_url) -> Store:
    store = Store(store_url)
    for name in ("C17_snapshot_2024W11.csv", "C17_snapshot_2024W12.csv"):
        store.import_file(CASES / name)
    return store


def _stage_name(key: str) -> str:
    return MODEL.name(key, "zh")


def test_c17_transitions_as_the_case_expects(c17_store):
    case = json.loads((CASES / "C17.expected.json").read_text("utf-8"))["expect"]
    week_11, week_12 = c17_store.snapshot_dates()
    flow = pipeline_report.flow(c17_store, week_11, week_12)
    moves = stage_transitions(flow, MODEL)

    moved = [
        {
            "from": _stage_name(row.from_stage),
            "to": _stage_name(row.to_stage),
            "count": row.count,
            **({"backward": True} if row.backward else {}),
        }
        for row in moves[moves["kind"] == "moved"].itertuples()
    ]
    key = lambda row: (row["from"], row["to"])  # noqa: E731
    assert sorted(moved, key=key) == sorted(case["transitions"], key=key)
    unchanged = [
        {"stage": _stage_name(row.from_stage), "count": row.count}
        for row in moves[moves["kind"] == "unchanged"].itertuples()
    ]
    assert unchanged == case["unchanged"]
    assert flow.bucket("new") == case["new_in_w12"]
    assert flow.bucket("disappeared") == case["missing_in_w12"]
    # must_not: K-09 is not lost, K-08 is no conversion from an earlier stage
    assert "K-09" not in flow.bucket("lost")
    assert flow.bucket("lost") == ["K-07"]
    assert "K-08" not in flow.bucket("advanced")
    assert (moves["count"] > 0).all()


def test_c17_sankey_has_no_zero_links_and_separate_week_nodes(c17_store):
    week_11, week_12 = c17_store.snapshot_dates()
    moves = pipeline_report.transitions(c17_store, week_11, week_12)
    figure = pipeline_report.transitions_figure(
        moves,
        _stage_name,
        {"before": "W11", "after": "W12", "new": "新增", "missing": "导出中消失"},
    )
    sankey = figure.data[0]
    values = list(sankey.link.value)
    labels = list(sankey.node.label)

    assert values and all(value > 0 for value in values)
    assert sum(values) == 9  # 7 deals in both + K-08 new + K-09 missing
    # W11 and W12 stages are separate nodes: every link runs from the older
    # side to the newer side, so there is no cycle and 谈单中 → 已报价 shows
    sources = [labels[i] for i in sankey.link.source]
    targets = [labels[i] for i in sankey.link.target]
    assert all(name.endswith("(W11)") or name == "新增" for name in sources)
    assert all(name.endswith("(W12)") or name == "导出中消失" for name in targets)
    assert ("谈单中 (W11)", "已报价 (W12)") in set(zip(sources, targets, strict=True))
    # K-09 goes to "missing from the export", never to 流失
    assert ("已联系 (W11)", "导出中消失") in set(zip(sources, targets, strict=True))
    assert targets.count("流失 (W12)") == 1  # K-07 only


def test_c17_flow_through_the_cli(c17_store, store_url, capsys):
    code, out, err = run_cli(
        capsys,
        "--database",
        store_url,
        "report",
        "flow",
        "--from",
        "2024-03-15",
        "--to",
        "2024-03-22",
        "--json",
    )
    assert code == 0, err
    figures = json.loads(out)
    assert figures["deals"]["disappeared"] == ["K-09"]
    assert figures["deals"]["moved_back"] == ["K-05"]
    # open before: K-01..K-07 and K-09 = 11000+12000+13000+14000+15000+16000
    #   +17000+19000 = 117000; after: K-01..K-05 and K-08 = 11000+12000+13000
    #   +14000+15000+18000 = 83000 = 117000 + 18000 − 16000 − 17000 − 19000
    assert figures["open_amount"] == {
        "open_before": 117000.0,
        "new": 18000.0,
        "reopened": 0.0,
        "amount_up": 0.0,
        "amount_down": 0.0,
        "won": 16000.0,
        "lost": 17000.0,
        "disappeared": 19000.0,
        "open_after": 83000.0,
    }


def test_board_as_of_between_snapshots_uses_the_snapshot_date(cn_weekly_url, capsys):
    code, out, _ = run_cli(
        capsys,
        "--database",
        cn_weekly_url,
        "report",
        "board",
        "--as-of",
        "2026-11-25",
        "--json",
    )
    assert code == 0
    assert json.loads(out)["as_of"] == "2026-11-20"

    code, _, err = run_cli(
        capsys, "--database", cn_weekly_url, "report", "board", "--as-of", "2026-01-01"
    )
    assert code == 1
    assert "No deal snapshot on or before 2026-01-01" in err


def test_stage_history_rebuilt_from_the_three_snapshots(cn_weekly_url):
    events = pipeline_report.stage_history(Store(cn_weekly_url))
    deal_5 = events[events["deal_id"] == "SJ-2026-0005"]
    # contacted (11-13) → quoted (11-20) → won on its closed_at 11-25: the
    # jump from quoted to won passed negotiating and deciding (inferred)
    assert list(deal_5["stage"]) == [
        "lead",
        "contacted",
        "quoted",
        "negotiating",
        "deciding",
        "won",
    ]
    assert list(deal_5["inferred"]) == [False, False, False, True, True, False]
    assert deal_5["entered_at"].iloc[-1] == pd.Timestamp("2026-11-25")
    assert deal_5["how"].iloc[-1] == "exported"
    # the window of the jump is (11-20, 11-27]
    jump = deal_5[deal_5["stage"] == "deciding"].iloc[0]
    assert (jump["window_start"], jump["window_end"]) == (
        pd.Timestamp("2026-11-20"),
        pd.Timestamp("2026-11-27"),
    )
    # every deal seen in any snapshot has events; disappeared 0004 keeps its own
    assert events["deal_id"].nunique() == 59
    assert set(events.loc[events["deal_id"] == "SJ-2026-0004", "stage"]) == {
        "lead",
        "contacted",
    }
