"""Funnel figures on the Maven CRM pipeline, checked against the raw CSV.

sales_pipeline.csv (8,800 deals, 2016-10 to 2017-12) is imported as one
snapshot dated 2017-12-31: engage_date is mapped to created_at, close_date
to the close, and Prospecting / Engaging / Won / Lost onto lead / contacted /
won / lost by the stage aliases. Every expected number is counted here
straight from the file with the csv module, without Kongpan's importer.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from sales_core.cli import main
from sales_core.funnel_report import funnel_report, stage_history
from sales_core.stages import default_model
from sales_core.store import Store

AS_OF = date(2017, 12, 31)
YEAR = (date(2017, 1, 1), date(2017, 12, 31))
Z = 1.959963984540054  # the 97.5% point of the standard normal


def _pipeline(shared_dir: Path) -> Path:
    return shared_dir / "realdata" / "maven_crm" / "sales_pipeline.csv"


def _textbook_wilson(won: int, closed: int) -> tuple[float, float]:
    """Wilson's score interval as Agresti & Coull (1998) write it:
    (x + z²/2)/(n + z²) ± z·√n/(n + z²) · √(p̂(1 − p̂) + z²/4n)."""
    p = won / closed
    centre = (won + Z * Z / 2) / (closed + Z * Z)
    half = (
        Z
        * math.sqrt(closed)
        / (closed + Z * Z)
        * math.sqrt(p * (1 - p) + Z * Z / (4 * closed))
    )
    return centre - half, centre + half


@pytest.fixture(scope="module")
def raw_rows(shared_dir: Path) -> list[dict[str, str]]:
    with _pipeline(shared_dir).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def maven_store(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Store:
    """One store holding the pipeline as a single snapshot dated 2017-12-31."""
    url = f"sqlite:///{tmp_path_factory.mktemp('maven')}/kongpan.db"
    store = Store(url)
    result = store.import_file(_pipeline(shared_dir), as_of=AS_OF)
    assert result.snapshot_id is not None
    return store


@pytest.fixture(scope="module")
def events(maven_store: Store):
    """Stage history rebuilt once for the module (the slow part of a report)."""
    return stage_history(maven_store, AS_OF, default_model())


def _closed_in_2017(rows: list[dict[str, str]]) -> dict[str, tuple[int, int]]:
    """(won, lost) per sales_agent over deals closed in 2017, from the raw CSV."""
    won, lost = Counter(), Counter()
    for row in rows:
        if not row["close_date"].startswith("2017-"):
            continue
        if row["deal_stage"] == "Won":
            won[row["sales_agent"]] += 1
        elif row["deal_stage"] == "Lost":
            lost[row["sales_agent"]] += 1
    return {agent: (won[agent], lost[agent]) for agent in set(won) | set(lost)}


def test_win_rate_by_agent_matches_the_raw_csv(maven_store, events, raw_rows) -> None:
    expected = _closed_in_2017(raw_rows)
    assert len(expected) == 30  # 30 agents have closed deals
    summary = funnel_report(maven_store, *YEAR, by="owner", as_of=AS_OF, events=events)
    groups = summary.groups.set_index("key")
    assert set(groups.index) == set(expected)
    for agent, (won, lost) in expected.items():
        group = groups.loc[agent]
        assert (group["won"], group["lost"]) == (won, lost), agent
        assert group["win_rate"] == won / (won + lost)
        low, high = _textbook_wilson(won, won + lost)
        assert abs(group["low"] - low) < 1e-9, agent
        assert abs(group["high"] - high) < 1e-9, agent
        rest_won = sum(w for a, (w, _) in expected.items() if a != agent)
        rest_closed = sum(w + x for a, (w, x) in expected.items() if a != agent)
        rest_low, rest_high = _textbook_wilson(rest_won, rest_closed)
        assert abs(group["rest_low"] - rest_low) < 1e-9
        assert abs(group["rest_high"] - rest_high) < 1e-9
        apart = high < rest_low or low > rest_high
        assert bool(group["flagged"]) == (apart and won + lost >= 10), agent
    total_won = sum(w for w, _ in expected.values())
    total_closed = sum(w + x for w, x in expected.values())
    assert summary.results.win_rate == total_won / total_closed  # 4238 / 6711


def test_cli_json_gives_the_same_groups(maven_store, raw_rows, capsys) -> None:
    code = main(
        [
            "--database",
            maven_store.url,
            "report",
            "funnel",
            "--from",
            "2017-01-01",
            "--to",
            "2017-12-31",
            "--by",
            "owner",
            "--as-of",
            "2017-12-31",
            "--json",
        ]
    )
    assert code == 0
    figures = json.loads(capsys.readouterr().out)
    expected = _closed_in_2017(raw_rows)
    assert {group["key"] for group in figures["groups"]} == set(expected)
    for group in figures["groups"]:
        won, lost = expected[group["key"]]
        assert (group["won"], group["lost"]) == (won, lost)
        assert group["win_rate"] == won / (won + lost)
        low, high = _textbook_wilson(won, won + lost)
        assert abs(group["low"] - low) < 1e-9 and abs(group["high"] - high) < 1e-9
        assert group["too_few"] is (won + lost < 10)


def test_cohort_funnel_from_engage_dates(maven_store, events, raw_rows) -> None:
    # Cohort = deals engaged from 2016-10-01 to 2017-12-31; Prospecting rows
    # have no engage_date and belong to no cohort.
    summary = funnel_report(
        maven_store, date(2016, 10, 1), YEAR[1], as_of=AS_OF, events=events
    )
    engaged = [row for row in raw_rows if row["engage_date"]]
    stages = Counter(row["deal_stage"] for row in engaged)
    assert summary.undated == sum(1 for row in raw_rows if not row["engage_date"])
    assert summary.cohort_size == len(engaged)
    table = summary.stages.set_index("stage")
    # Every engaged deal reached lead; contacted = Engaging + Won; no Lost row
    # says where it was lost, so all lost deals are in the unknown bucket.
    assert table.loc["lead", "reached"] == len(engaged)
    assert table.loc["contacted", "reached"] == stages["Engaging"] + stages["Won"]
    assert table.loc["won", "reached"] == stages["Won"]
    assert table.loc["unknown", "lost_here"] == stages["Lost"]
    assert table.loc["lead", "lost_here"] == 0
    # One snapshot holds no stage changes, and no lost deal says where it was
    # lost: no visit has two known ends, so time in stage stays empty.
    assert summary.time_in_stage["visits"].tolist() == [0] * 5
