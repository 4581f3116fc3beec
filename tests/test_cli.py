"""The command line: one-line errors, never a traceback; the --json shape."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
C13 = REPO_ROOT / "tests" / "cases" / "C13_weekly_2024W12.csv"

IMPORT_KEYS = {
    "file",
    "kind",
    "snapshot_id",
    "as_of",
    "rows_read",
    "rows_imported",
    "rows_rejected",
    "blank_rows",
    "rejections",
    "unmapped_columns",
    "unknown_stages",
    "duplicate_of",
}

# Row 3 repeats D-1 (rejected), row 4 has no id, customer or name (rejected),
# row 5 is blank, row 6 has an unknown stage; 渠道经理 maps to nothing.
MESSY = (
    "商机编号,客户名称,销售阶段,负责人,预计成交金额,跟进时间,渠道经理\n"
    "D-1,甲公司,已报价,张三,1000,2024-03-20,王五\n"
    "D-1,甲公司,谈单中,张三,1500,2024-03-21,王五\n"
    ",,已联系,张三,500,2024-03-21,\n"
    ",,,,,,\n"
    "D-2,乙公司,暂停跟进,李四,2000,2024-03-22,赵六\n"
    "D-3,丙公司,赢单,李四,3000,2024-03-22,\n"
)


def run_cli(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "KONGPAN_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "sales_core", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line_error(completed: subprocess.CompletedProcess) -> str:
    assert completed.returncode != 0
    assert "Traceback" not in completed.stderr
    assert "Traceback" not in completed.stdout
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, completed.stderr
    return lines[0]


@pytest.fixture
def messy_csv(tmp_path: Path) -> Path:
    path = tmp_path / "messy_2024-03-22.csv"
    path.write_text(MESSY, encoding="utf-8")
    return path


def test_missing_file(store_url: str, tmp_path: Path) -> None:
    missing = tmp_path / "nope_2024-03-22.csv"
    line = assert_one_line_error(run_cli(store_url, "import", str(missing)))
    assert "nope_2024-03-22.csv" in line
    assert "not found" in line


def test_bad_as_of(store_url: str) -> None:
    line = assert_one_line_error(
        run_cli(store_url, "import", str(C13), "--as-of", "2024-13-45")
    )
    assert "2024-13-45" in line


def test_bad_as_of_on_report(store_url: str) -> None:
    line = assert_one_line_error(
        run_cli(
            store_url,
            "report",
            "progress",
            "--month",
            "2024-03",
            "--as-of",
            "22/03/2024",
        )
    )
    assert "22/03/2024" in line


@pytest.mark.parametrize("month", ["2024-13", "March", "2024/03/01", "24-3-1"])
def test_bad_month(store_url: str, month: str) -> None:
    line = assert_one_line_error(
        run_cli(store_url, "report", "progress", "--month", month)
    )
    assert month in line


@pytest.mark.parametrize("name", ["deals_2024-03-22.pdf", "deals_2024-03-22.json"])
def test_unknown_file_type(store_url: str, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"%PDF-1.7 not a sheet")
    line = assert_one_line_error(run_cli(store_url, "import", str(path)))
    assert name in line
    assert Path(name).suffix in line


def test_corrupt_xlsx(store_url: str, tmp_path: Path) -> None:
    path = tmp_path / "broken_2024-03-22.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not a zip archive")
    line = assert_one_line_error(run_cli(store_url, "import", str(path)))
    assert "broken_2024-03-22.xlsx" in line


def test_report_on_an_empty_store(store_url: str) -> None:
    line = assert_one_line_error(
        run_cli(store_url, "report", "progress", "--month", "2024-03")
    )
    assert "snapshot" in line.lower()


def test_one_bad_file_does_not_stop_the_others(store_url: str, tmp_path: Path) -> None:
    missing = tmp_path / "gone.csv"
    completed = run_cli(store_url, "import", str(missing), str(C13))
    assert completed.returncode != 0
    assert "Traceback" not in completed.stderr
    assert "C13_weekly_2024W12.csv" in completed.stdout
    assert "5 imported" in completed.stdout


def test_import_json_keys_and_values(store_url: str, messy_csv: Path) -> None:
    completed = run_cli(store_url, "import", str(messy_csv), "--json")
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert IMPORT_KEYS - set(result) == set()
    assert result["file"] == "messy_2024-03-22.csv"
    assert result["kind"] == "deals"
    assert result["snapshot_id"] == 1
    assert result["as_of"] == "2024-03-22"
    assert result["rows_read"] == 5
    assert result["rows_imported"] == 3
    assert result["rows_rejected"] == 2
    assert result["blank_rows"] == 1
    rejections = sorted(
        (r["row"], r["column"], r["kind"]) for r in result["rejections"]
    )
    assert rejections == [
        (3, "商机编号", "duplicate_deal_id"),
        (4, None, "missing_identity"),
    ]
    assert all(set(r) >= {"row", "column", "reason"} for r in result["rejections"])
    assert all(r["reason"] for r in result["rejections"])
    assert result["unmapped_columns"] == ["渠道经理"]
    assert result["unknown_stages"] == {"暂停跟进": 1}
    assert result["duplicate_of"] is None


def test_import_json_second_time_names_the_first_snapshot(
    store_url: str, messy_csv: Path
) -> None:
    run_cli(store_url, "import", str(messy_csv), "--json")
    completed = run_cli(store_url, "import", str(messy_csv), "--json")
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert result["duplicate_of"] == 1
    assert result["snapshot_id"] is None
    assert result["message_kind"] == "already_imported"


def test_import_json_error_line(store_url: str, tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    completed = run_cli(store_url, "import", str(missing), "--json")
    assert completed.returncode != 0
    assert "Traceback" not in completed.stderr
    result = json.loads(completed.stdout)
    assert result["file"] == str(missing)
    assert result["error"] == "file_not_found"
    assert "nope.csv" in result["message"]


def test_import_as_of_and_kind_options(store_url: str, tmp_path: Path) -> None:
    path = tmp_path / "deals.csv"
    path.write_text(
        "商机编号,客户名称,销售阶段,预计成交金额\nX-1,甲公司,已报价,1000\n",
        encoding="utf-8",
    )
    undated = run_cli(store_url, "import", str(path))
    line = assert_one_line_error(undated)
    assert "deals.csv" in line
    dated = run_cli(
        store_url,
        "import",
        str(path),
        "--as-of",
        "2024-03-29",
        "--kind",
        "deals",
        "--json",
    )
    assert dated.returncode == 0, dated.stderr
    result = json.loads(dated.stdout)
    assert (result["as_of"], result["kind"], result["rows_imported"]) == (
        "2024-03-29",
        "deals",
        1,
    )


def test_progress_json_after_import(store_url: str, tmp_path: Path) -> None:
    path = tmp_path / "won_2024-03-22.csv"
    path.write_text(
        "商机编号,客户名称,销售阶段,负责人,预计成交金额,成交日期\n"
        "W-1,甲公司,已成交,高飞,12000,2024-03-20\n"
        "W-2,乙公司,已成交,高飞,7000,2024-02-28\n"
        "W-3,丙公司,已成交,马兰,5000,2024-03-22\n"
        "W-4,丁公司,谈单中,马兰,9000,\n",
        encoding="utf-8",
    )
    run_cli(store_url, "import", str(path))
    completed = run_cli(store_url, "report", "progress", "--month", "2024-03", "--json")
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert report["month"] == "2024-03"
    assert report["as_of"] == "2024-03-22"
    assert report["team"]["won_amount"] == 17000
    won = {rep["owner"]: rep["won_amount"] for rep in report["reps"]}
    assert won == {"高飞": 12000, "马兰": 5000}


def test_zh_messages(store_url: str, tmp_path: Path) -> None:
    line = assert_one_line_error(
        run_cli(store_url, "--lang", "zh", "import", str(tmp_path / "缺失.csv"))
    )
    assert line == f"找不到文件 {tmp_path / '缺失.csv'}。"
