"""Import benchmark (DESIGN.md section 7): Kongpan's import against the raw parsers.

    python bench/bench_import.py FILE... [--repeat 3] [--skip-openpyxl] [--check]

For each .xlsx file, in one process and one run:
  fastexcel        fastexcel.read_excel(path).load_sheet(0).to_pandas()
  fastexcel-arrow  ... .load_sheet(0) only (the parse, no pandas frame)
  calamine         CalamineWorkbook.from_path(path).get_sheet_by_index(0).to_python()
  pd-calamine      pandas.read_excel(path, engine="calamine")
  pd-openpyxl      pandas.read_excel(path, engine="openpyxl")  (once; slow)
  kongpan-parse    sales_core.ingest.parse.parse_file(payload, name)
                   (reading, header detection, mapping, normalization, validation)
  kongpan-store    Store(url).import_file(payload, name) into a fresh temp SQLite
For a .csv file: csv.reader and pandas.read_csv against the two Kongpan steps.

Each step runs --repeat times (best time kept; pd-openpyxl runs once). Prints
a table with the ratios the budget names and writes JSON to bench/out/.
Budget: kongpan-parse <= 2x fastexcel and pd-openpyxl >= 7x kongpan-parse.
"""

from __future__ import annotations

import argparse
import csv
import gc
import io
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from importlib import metadata
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = REPO_ROOT / "bench" / "out"
sys.path.insert(0, str(REPO_ROOT))

BUDGET_VS_FASTEXCEL = 2.0  # kongpan-parse / fastexcel at most
BUDGET_VS_OPENPYXL = 7.0  # pd-openpyxl / kongpan-parse at least
PACKAGES = ["pandas", "numpy", "fastexcel", "python-calamine", "openpyxl",
            "pyarrow", "SQLAlchemy", "streamlit"]  # fmt: skip


def load_kongpan():
    """The two Kongpan entry points, or exit with a clear message."""
    try:
        from sales_core.ingest.parse import parse_file
        from sales_core.store import Store
    except Exception as exc:  # noqa: BLE001 - any import failure is reported
        sys.exit(
            "bench_import: cannot import Kongpan's importer "
            "(sales_core.ingest.parse.parse_file, sales_core.store.Store): "
            f"{type(exc).__name__}: {exc}"
        )
    return parse_file, Store


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Best wall time of `repeat` calls, and the last call's result."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        result = None
        gc.collect()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def _rows_of(result: object) -> int | None:
    """Rows in a step's result, for the sanity column."""
    if result is None:
        return None
    report = getattr(result, "report", None)
    if report is not None:
        return getattr(report, "rows_imported", None)
    if hasattr(result, "shape"):
        return int(result.shape[0])
    if hasattr(result, "height"):
        return int(result.height)
    if isinstance(result, list):
        return len(result) - 1  # header row
    return None


def excel_steps(path: Path, skip_openpyxl: bool) -> dict[str, tuple[Callable, int]]:
    import fastexcel
    import pandas as pd
    from python_calamine import CalamineWorkbook

    steps: dict[str, tuple[Callable, int]] = {}

    def fastexcel_pandas():
        return fastexcel.read_excel(str(path)).load_sheet(0).to_pandas()

    steps["fastexcel"] = (fastexcel_pandas, 0)
    steps["fastexcel-arrow"] = (
        lambda: fastexcel.read_excel(str(path)).load_sheet(0),
        0,
    )
    steps["calamine"] = (
        lambda: CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python(),
        0,
    )
    steps["pd-calamine"] = (lambda: pd.read_excel(path, engine="calamine"), 0)
    if not skip_openpyxl:
        steps["pd-openpyxl"] = (lambda: pd.read_excel(path, engine="openpyxl"), 1)
    return steps


def _csv_encoding(payload: bytes) -> str:
    if payload.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def csv_steps(payload: bytes) -> dict[str, tuple[Callable, int]]:
    import pandas as pd

    encoding = _csv_encoding(payload)

    def csv_reader():
        return list(csv.reader(io.StringIO(payload.decode(encoding), newline="")))

    return {
        "csv-reader": (csv_reader, 0),
        "pd-read_csv": (lambda: pd.read_csv(io.BytesIO(payload), encoding=encoding), 0),
    }


def bench_file(path: Path, args, parse_file, Store) -> dict:
    payload = path.read_bytes()  # also warms the page cache for the path readers
    name = path.name
    is_csv = path.suffix.lower() in {".csv", ".txt", ".tsv"}
    steps = csv_steps(payload) if is_csv else excel_steps(path, args.skip_openpyxl)

    scratch = Path(tempfile.mkdtemp(prefix="kongpan-bench-"))
    counter = iter(range(1_000_000))

    def kongpan_store():
        url = f"sqlite:///{scratch}/store-{next(counter)}.db"
        return Store(url).import_file(payload, name)

    steps["kongpan-parse"] = (lambda: parse_file(payload, name), 0)
    steps["kongpan-store"] = (kongpan_store, 0)

    results: dict[str, dict] = {}
    for step, (fn, fixed_repeat) in steps.items():
        repeat = fixed_repeat or args.repeat
        print(f"  {step:<16}", end="", flush=True)
        try:
            seconds, result = timed(fn, repeat)
        except Exception as exc:  # noqa: BLE001 - a failed step is reported, not fatal
            print(f"FAILED: {type(exc).__name__}: {exc}")
            results[step] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        rows = _rows_of(result)
        print(f"{seconds:8.3f} s   rows={rows}")
        entry = {"seconds": round(seconds, 4), "repeat": repeat, "rows": rows}
        report = getattr(result, "report", None)
        if report is not None:
            entry["report"] = {
                key: getattr(report, key, None)
                for key in ("rows_read", "rows_imported", "rows_rejected")
            }
            entry["issues"] = len(getattr(report, "issues", []) or [])
        results[step] = entry
        del result
    for leftover in scratch.glob("*"):
        leftover.unlink()
    scratch.rmdir()

    return {
        "file": str(path),
        "bytes": len(payload),
        "kind": "csv" if is_csv else "excel",
        "steps": results,
        "ratios": ratios(results, is_csv),
    }


def _seconds(results: dict, step: str) -> float | None:
    return results.get(step, {}).get("seconds")


def ratios(results: dict, is_csv: bool) -> dict[str, float | None]:
    def ratio(a: str, b: str) -> float | None:
        top, bottom = _seconds(results, a), _seconds(results, b)
        return round(top / bottom, 2) if top and bottom else None

    if is_csv:
        return {
            "kongpan/read_csv": ratio("kongpan-parse", "pd-read_csv"),
            "kongpan/csv-reader": ratio("kongpan-parse", "csv-reader"),
            "store/kongpan": ratio("kongpan-store", "kongpan-parse"),
        }
    return {
        "kongpan/fastexcel": ratio("kongpan-parse", "fastexcel"),
        "kongpan/fastexcel-arrow": ratio("kongpan-parse", "fastexcel-arrow"),
        "kongpan/calamine": ratio("kongpan-parse", "calamine"),
        "kongpan/pd-calamine": ratio("kongpan-parse", "pd-calamine"),
        "openpyxl/kongpan": ratio("pd-openpyxl", "kongpan-parse"),
        "store/kongpan": ratio("kongpan-store", "kongpan-parse"),
        "store/fastexcel": ratio("kongpan-store", "fastexcel"),
    }


def budget_misses(entry: dict) -> list[str]:
    """The section 7 budget for an Excel file; empty when it holds."""
    if entry["kind"] != "excel":
        return []
    misses = []
    r = entry["ratios"]
    vs_fast, vs_openpyxl = r.get("kongpan/fastexcel"), r.get("openpyxl/kongpan")
    if vs_fast is None:
        misses.append("kongpan/fastexcel not measured")
    elif vs_fast > BUDGET_VS_FASTEXCEL:
        misses.append(f"kongpan/fastexcel = {vs_fast} > {BUDGET_VS_FASTEXCEL}")
    if vs_openpyxl is not None and vs_openpyxl < BUDGET_VS_OPENPYXL:
        misses.append(f"openpyxl/kongpan = {vs_openpyxl} < {BUDGET_VS_OPENPYXL}")
    return misses


def print_table(entry: dict) -> None:
    print(f"\n{entry['file']} ({entry['bytes'] / 1e6:.1f} MB)")
    print(f"  {'step':<16}{'seconds':>9}")
    for step, data in entry["steps"].items():
        shown = f"{data['seconds']:9.3f}" if "seconds" in data else "   failed"
        print(f"  {step:<16}{shown}")
    for name, value in entry["ratios"].items():
        print(f"  {name:<24}{'-' if value is None else f'{value:.2f}x'}")
    if entry["kind"] == "excel":
        misses = budget_misses(entry)
        print("  budget: " + ("ok" if not misses else "MISSED: " + "; ".join(misses)))


def machine() -> dict:
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "packages": versions,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per step (best kept)"
    )
    parser.add_argument("--skip-openpyxl", action="store_true", help="skip pd-openpyxl")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if a budget is missed"
    )
    parser.add_argument("--out", type=Path, default=None, help="JSON file to write")
    args = parser.parse_args(argv)

    missing = [str(path) for path in args.files if not path.is_file()]
    if missing:
        parser.error(f"no such file: {', '.join(missing)}")
    parse_file, Store = load_kongpan()

    run = {
        "started": datetime.now().isoformat(timespec="seconds"),
        "machine": machine(),
        "repeat": args.repeat,
        "files": [],
    }
    for path in args.files:
        print(f"{path}:")
        run["files"].append(bench_file(path, args, parse_file, Store))
    for entry in run["files"]:
        print_table(entry)

    out = args.out or OUT_DIR / f"bench_import-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(run, ensure_ascii=False, indent=2, default=str) + "\n")
    print(f"\nwrote {out}")

    misses = [m for entry in run["files"] for m in budget_misses(entry)]
    return 1 if args.check and misses else 0


if __name__ == "__main__":
    sys.exit(main())
