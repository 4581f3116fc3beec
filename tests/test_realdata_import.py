"""Real CRM exports through the command line, checked against independent sums.

The exports stay in ../shared (the `shared_dir` fixture); nothing is copied
into the repo. Expected figures come from the raw files read with the csv
module, or from ../shared/cn_weekly/EXPECTED.json.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from sales_core.stages import default_model
from sales_core.store import Store

pytestmark = pytest.mark.realdata

REPO_ROOT = Path(__file__).resolve().parents[1]


def run_cli(url: str, *args: str) -> subprocess.CompletedProcess:
    """`python -m sales_core ARGS` against the store at `url`."""
    env = {**os.environ, "KONGPAN_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "sales_core", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def json_lines(completed: subprocess.CompletedProcess) -> list[dict]:
    assert completed.returncode == 0, completed.stderr
    assert "Traceback" not in completed.stderr
    return [json.loads(line) for line in completed.stdout.splitlines() if line]


def write_targets_xlsx(path: Path, targets: dict[str, float], month: str) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["负责人", "月份", "业绩目标"])
    for owner, amount in targets.items():
        sheet.append([owner, month, amount])
    book.save(path)


# Maven CRM (sales_pipeline.csv)


@pytest.fixture(scope="module")
def maven_pipeline(shared_dir: Path) -> Path:
    path = shared_dir / "realdata" / "maven_crm" / "sales_pipeline.csv"
    if not path.exists():
        pytest.skip(f"{path} is missing")
    return path


def maven_won_in(path: Path, month: str) -> dict[str, float]:
    """Σ close_value of Won deals with close_date in `month`, per agent."""
    won: dict[str, float] = defaultdict(float)
    with path.open(newline="", encoding="utf-8") as handle:
        for record in csv.DictReader(handle):
            if record["deal_stage"] == "Won" and record["close_date"].startswith(month):
                won[record["sales_agent"]] += float(record["close_value"])
    return dict(won)


def test_maven_pipeline_import_and_december_progress(
    maven_pipeline: Path, store_url: str, tmp_path: Path
) -> None:
    imported = json_lines(
        run_cli(
            store_url, "import", str(maven_pipeline), "--as-of", "2017-12-31", "--json"
        )
    )
    assert len(imported) == 1
    result = imported[0]
    assert result["kind"] == "deals"
    assert result["as_of"] == "2017-12-31"
    assert result["rows_read"] == 8800
    assert result["rows_imported"] + result["rows_rejected"] == 8800
    assert len(result["rejections"]) == result["rows_rejected"]
    for rejection in result["rejections"]:
        assert isinstance(rejection["row"], int) and rejection["row"] >= 2
        assert rejection["reason"]
    assert result["unknown_stages"] == {}
    assert result["snapshot_id"] is not None

    won = maven_won_in(maven_pipeline, "2017-12")
    assert len(won) == 30
    assert sum(won.values()) == 1131573  # literal: the raw file's own total

    targets = {agent: 40000.0 + 1000 * i for i, agent in enumerate(sorted(won))}
    sheet = tmp_path / "targets_2017-12.xlsx"
    write_targets_xlsx(sheet, targets, "2017-12")
    loaded = json_lines(run_cli(store_url, "import", str(sheet), "--json"))
    assert loaded[0]["kind"] == "targets"
    assert loaded[0]["rows_imported"] == 30

    report = json_lines(
        run_cli(store_url, "report", "progress", "--month", "2017-12", "--json")
    )[0]
    assert report["month"] == "2017-12"
    assert report["as_of"] == "2017-12-31"
    assert report["team"]["won_amount"] == pytest.approx(sum(won.values()))
    assert report["team"]["target"] == pytest.approx(sum(targets.values()))
    by_rep = {rep["owner"]: rep for rep in report["reps"]}
    assert set(by_rep) == set(won)
    for agent, amount in won.items():
        assert by_rep[agent]["won_amount"] == pytest.approx(amount), agent
        assert by_rep[agent]["target"] == pytest.approx(targets[agent]), agent


def test_maven_us_dates_variant_reads_the_same_december(
    shared_dir: Path, maven_pipeline: Path, store_url: str
) -> None:
    variant = shared_dir / "realdata" / "maven_crm" / "variants"
    variant = variant / "sales_pipeline_us_dates.csv"
    if not variant.exists():
        pytest.skip(f"{variant} is missing")
    result = Store(store_url).import_file(variant, as_of=date(2017, 12, 31))
    assert result.report.date_order == "MDY"
    assert result.report.rows_read == 8800
    deals = Store(store_url).load_deals()
    december = deals[
        (deals["stage"] == "won")
        & (deals["closed_at"].dt.strftime("%Y-%m") == "2017-12")
    ]
    assert december["amount"].sum() == pytest.approx(
        sum(maven_won_in(maven_pipeline, "2017-12").values())
    )


# cn_weekly: three weekly deal exports, targets and follow-ups


@pytest.fixture(scope="module")
def cn_weekly(shared_dir: Path) -> Path:
    path = shared_dir / "cn_weekly"
    if not (path / "EXPECTED.json").exists():
        pytest.skip(f"{path} is missing")
    return path


@pytest.fixture(scope="module")
def cn_expected(cn_weekly: Path) -> dict:
    return json.loads((cn_weekly / "EXPECTED.json").read_text(encoding="utf-8"))


@pytest.fixture
def cn_store(cn_weekly: Path, cn_expected: dict, store_url: str) -> str:
    """The cn_weekly exports imported through the command line."""
    files = [cn_weekly / name for name in cn_expected["files"]]
    files += sorted(cn_weekly.glob("业绩目标_*.xlsx"))
    files += sorted(cn_weekly.glob("跟进记录_*.xlsx"))
    assert len(files) == 5
    results = json_lines(run_cli(store_url, "import", *map(str, files), "--json"))
    assert [r["kind"] for r in results] == [
        "deals",
        "deals",
        "deals",
        "targets",
        "activities",
    ]
    assert all(r["rows_rejected"] == 0 for r in results), results
    assert [r["as_of"] for r in results[:3]] == cn_expected["as_of"]
    return store_url


def test_cn_weekly_progress_matches_expected(cn_store: str, cn_expected: dict) -> None:
    report = json_lines(
        run_cli(
            cn_store,
            "report",
            "progress",
            "--month",
            "2026-11",
            "--as-of",
            "2026-11-27",
            "--json",
        )
    )[0]
    expected = cn_expected["mtd_won_2026_11_as_of_2026_11_27"]
    assert report["team"]["won_amount"] == expected["team"]
    by_rep = {rep["owner"]: rep for rep in report["reps"]}
    won = {
        owner: rep["won_amount"] for owner, rep in by_rep.items() if rep["won_amount"]
    }
    assert won == expected["by_rep"]
    targets = {owner: rep["target"] for owner, rep in by_rep.items()}
    assert targets == cn_expected["targets_2026_11"]
    assert report["team"]["target"] == sum(cn_expected["targets_2026_11"].values())


def test_cn_weekly_snapshots_stages_and_activities(
    cn_store: str, cn_expected: dict
) -> None:
    store = Store(cn_store)
    as_of = [date.fromisoformat(d) for d in cn_expected["as_of"]]
    assert store.snapshot_dates() == as_of
    per_snapshot = [len(store.load_deals(day)) for day in as_of]
    assert per_snapshot == cn_expected["deals_per_snapshot"]

    model = default_model()
    last = store.load_deals(as_of[-1])
    stages = Counter(model.name(key, "zh") for key in last["stage"])
    assert dict(stages) == cn_expected["stage_counts_last"]
    assert len(store.load_activities()) == cn_expected["activities"]

    targets = store.load_targets("2026-11")
    assert (
        dict(zip(targets["owner"], targets["target"], strict=True))
        == (cn_expected["targets_2026_11"])
    )


def test_cn_weekly_reimport_is_a_no_op(
    cn_store: str, cn_weekly: Path, cn_expected: dict
) -> None:
    before = Store(cn_store).snapshots()
    files = [str(cn_weekly / name) for name in cn_expected["files"]]
    results = json_lines(run_cli(cn_store, "import", *files, "--json"))
    assert [r["message_kind"] for r in results] == ["already_imported"] * 3
    assert all(r["duplicate_of"] for r in results)
    assert len(Store(cn_store).snapshots()) == len(before)
    assert len(Store(cn_store).load_activities()) == cn_expected["activities"]
