"""Reading a CRM's own database: the Maven pipeline as a CRM schema in PostgreSQL.

The module builds a CRM-like schema from ../shared/realdata/maven_crm in a
fresh PostgreSQL schema: its own table and column names (crm_opportunity,
opp_code, agent_name, stage_code, revenue, ...), numeric stage codes
(1 Prospecting, 2 Engaging, 8 Won, 9 Lost), a follow-up table (a visit on
each engage_date, a call on each close_date), monthly quotas and the agents
with their regional office. data/sources/example_maven.toml points at it.

The same sales_pipeline.csv is imported into a SQLite store the ordinary way,
with the same quotas as a targets file; progress and funnel figures from the
two must be equal. Expected counts are computed here from the CSV with the
csv module, not with Kongpan's code.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    inspect,
    text,
)
from sqlalchemy.pool import NullPool
from streamlit.testing.v1 import AppTest

from sales_core import service
from sales_core.errors import KongpanError
from sales_core.funnel_report import funnel_report
from sales_core.i18n import money
from sales_core.metrics.progress import progress_report
from sales_core.sources import (
    SqlSource,
    check_source,
    find_profile,
    load_profile,
    progress_window,
    source_funnel,
    source_progress,
)
from sales_core.sources.profile import parse_profile
from sales_core.stages import default_model
from sales_core.store import Store

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "sources" / "example_maven.toml"
URL_ENV = "KONGPAN_MAVEN_CRM_URL"
AS_OF = date(2017, 12, 31)
MONTH = "2017-12"
STAGE_CODES = {"Prospecting": 1, "Engaging": 2, "Won": 8, "Lost": 9}

crm = MetaData()
crm_opportunity = Table(
    "crm_opportunity", crm,
    Column("opp_code", String(16), primary_key=True),
    Column("agent_name", String(80), nullable=False),
    Column("product_name", String(80)),
    Column("account_name", String(120)),
    Column("stage_code", SmallInteger, nullable=False),
    Column("engaged_on", Date),
    Column("closed_on", Date),
    Column("revenue", Numeric(12, 2)),
)  # fmt: skip
crm_agent = Table(
    "crm_agent", crm,
    Column("agent_name", String(80), primary_key=True),
    Column("manager", String(80)),
    Column("regional_office", String(40)),
)  # fmt: skip
crm_followup = Table(
    "crm_followup", crm,
    Column("followup_id", Integer, primary_key=True, autoincrement=True),
    Column("opp_code", String(16)),
    Column("agent_name", String(80)),
    Column("happened_at", DateTime),
    Column("channel", String(20)),
    Column("summary", Text),
)  # fmt: skip
crm_quota = Table(
    "crm_quota", crm,
    Column("agent_name", String(80)),
    Column("quota_month", String(7)),
    Column("quota", Numeric(12, 2)),
)  # fmt: skip


# ---------------------------------------------------------------- the data


def _day(text_value: str) -> date | None:
    return date.fromisoformat(text_value) if text_value else None


@pytest.fixture(scope="module")
def maven_dir(shared_dir: Path) -> Path:
    return shared_dir / "realdata" / "maven_crm"


@pytest.fixture(scope="module")
def pipeline(maven_dir: Path) -> list[dict[str, str]]:
    with (maven_dir / "sales_pipeline.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def agents(maven_dir: Path) -> list[dict[str, str]]:
    with (maven_dir / "sales_teams.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def quotas(pipeline) -> dict[str, float]:
    """A December quota per agent with deals: 40,000 + 1,000 × rank by name."""
    names = sorted({row["sales_agent"] for row in pipeline})
    return {name: 40000.0 + 1000 * rank for rank, name in enumerate(names)}


def follow_ups(pipeline) -> list[dict]:
    """A visit at 10:00 on each engage_date and a call at 15:00 on each close_date."""
    rows = []
    for row in pipeline:
        for day, hour, channel in (("engage_date", 10, "visit"),
                                   ("close_date", 15, "call")):  # fmt: skip
            if row[day]:
                rows.append({
                    "opp_code": row["opportunity_id"],
                    "agent_name": row["sales_agent"],
                    "happened_at": datetime.fromisoformat(row[day]).replace(hour=hour),
                    "channel": channel,
                    "summary": f"{channel} {row['account'] or '-'}",
                })  # fmt: skip
    return rows


def load_crm(url: str, pipeline, agents, quotas) -> None:
    """Create the CRM tables and fill them from the Maven CSVs."""
    engine = create_engine(url, poolclass=NullPool)
    crm.create_all(engine)
    opportunities = [
        {
            "opp_code": row["opportunity_id"],
            "agent_name": row["sales_agent"],
            "product_name": row["product"],
            "account_name": row["account"] or None,
            "stage_code": STAGE_CODES[row["deal_stage"]],
            "engaged_on": _day(row["engage_date"]),
            "closed_on": _day(row["close_date"]),
            "revenue": Decimal(row["close_value"]) if row["close_value"] else None,
        }
        for row in pipeline
    ]
    with engine.begin() as conn:
        conn.execute(insert(crm_opportunity), opportunities)
        conn.execute(insert(crm_agent), [
            {"agent_name": row["sales_agent"], "manager": row["manager"],
             "regional_office": row["regional_office"]}
            for row in agents
        ])  # fmt: skip
        conn.execute(insert(crm_followup), follow_ups(pipeline))
        conn.execute(insert(crm_quota), [
            {"agent_name": name, "quota_month": MONTH, "quota": Decimal(str(amount))}
            for name, amount in quotas.items()
        ])  # fmt: skip
    engine.dispose()


@pytest.fixture(scope="module")
def crm_url(test_servers, pipeline, agents, quotas):
    """The CRM schema in a fresh PostgreSQL schema, for this module."""
    server = test_servers("postgresql")
    url = server.fresh_url()
    load_crm(url, pipeline, agents, quotas)
    yield url
    server.release(url)


@pytest.fixture(scope="module")
def source(crm_url: str):
    """The example profile, its URL variable pointing at the CRM schema."""
    before = os.environ.get(URL_ENV)
    os.environ[URL_ENV] = crm_url
    source = SqlSource(load_profile(EXAMPLE))
    yield source
    source.dispose()
    if before is None:
        os.environ.pop(URL_ENV, None)
    else:
        os.environ[URL_ENV] = before


@pytest.fixture(scope="module")
def csv_store(maven_dir: Path, quotas, tmp_path_factory) -> Store:
    """The same pipeline imported from the CSV, with the quotas as a targets file."""
    folder = tmp_path_factory.mktemp("maven_csv")
    store = Store(f"sqlite:///{folder}/kongpan.db")
    store.import_file(maven_dir / "sales_pipeline.csv", as_of=AS_OF)
    targets = "负责人,月份,业绩目标\n" + "".join(
        f"{name},{MONTH},{amount}\n" for name, amount in quotas.items()
    )
    store.import_file(targets.encode("utf-8"), file_name="targets.csv")
    return store


def without_team(figures: dict) -> dict:
    """The progress JSON without each rep's team label (the CSV has no team)."""
    return {**figures, "reps": [
        {key: value for key, value in rep.items() if key != "team"}
        for rep in figures["reps"]
    ]}  # fmt: skip


class Statements:
    """SQL text and parameters the source's engine sends, with rows fetched."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.sent: list[tuple[str, object]] = []

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, many) -> None:
        self.sent.append((statement, parameters))

    def selecting(self, table: str) -> list[tuple[str, object]]:
        return [(sql, params) for sql, params in self.sent
                if f"FROM {table}" in sql and "count(" not in sql.lower()]  # fmt: skip


# ---------------------------------------------------------------- equal figures


def test_progress_of_an_earlier_month_equals_the_imported_csv(source, csv_store):
    # June 2017 as the December 31 picture shows it: no quota, and the stage
    # win rates still come from the 180 days up to as_of.
    assert progress_window("2017-06", AS_OF) == (date(2017, 6, 1), AS_OF)
    from_csv = service.team_progress(csv_store, "2017-06", AS_OF).as_dict()
    from_crm = source_progress(source, "2017-06", AS_OF).as_dict()
    assert without_team(from_crm) == without_team(from_csv)
    assert from_crm["team"]["won_amount"] > 0
    assert from_crm["team"]["target"] is None


def test_progress_from_the_crm_equals_the_imported_csv(source, csv_store, quotas):
    from_csv = service.team_progress(csv_store, MONTH, AS_OF)
    from_crm = source_progress(source, MONTH, AS_OF)
    csv_figures, crm_figures = from_csv.as_dict(), from_crm.as_dict()
    assert without_team(crm_figures) == without_team(csv_figures)
    # Literal from the raw file (test_realdata_import): December's won total.
    assert crm_figures["team"]["won_amount"] == 1131573
    assert crm_figures["team"]["target"] == sum(quotas.values())
    assert len(crm_figures["reps"]) == 30
    # The CRM also knows each agent's office, which the CSV does not.
    assert {rep["team"] for rep in crm_figures["reps"]} == {"Central", "East", "West"}


@pytest.mark.parametrize(
    ("start", "end", "by"),
    [
        (date(2017, 1, 1), date(2017, 12, 31), "owner"),
        (date(2016, 10, 1), date(2017, 12, 31), "owner"),
        (date(2017, 4, 1), date(2017, 6, 30), "industry"),
    ],
)
def test_funnel_from_the_crm_equals_the_imported_csv(source, csv_store, start, end, by):
    from_csv = funnel_report(csv_store, start, end, by=by, as_of=AS_OF)
    from_crm = source_funnel(source, start, end, by=by)
    assert from_crm.as_dict() == from_csv.as_dict()
    assert from_crm.cohort_size == from_csv.cohort_size
    pd.testing.assert_frame_equal(from_crm.stages, from_csv.stages)
    assert from_crm.results == from_csv.results


def test_win_rate_by_agent_matches_the_raw_csv(source, pipeline):
    won, lost = Counter(), Counter()
    for row in pipeline:
        if row["close_date"].startswith("2017-"):
            if row["deal_stage"] == "Won":
                won[row["sales_agent"]] += 1
            elif row["deal_stage"] == "Lost":
                lost[row["sales_agent"]] += 1
    summary = source_funnel(source, date(2017, 1, 1), AS_OF)
    groups = {group["key"]: group for group in summary.as_dict()["groups"]}
    assert set(groups) == set(won) | set(lost)
    for agent, group in groups.items():
        assert (group["won"], group["lost"]) == (won[agent], lost[agent]), agent
        assert group["win_rate"] == won[agent] / (won[agent] + lost[agent])


def test_team_filter_is_the_office_of_each_agent(source, csv_store, agents):
    central = {
        row["sales_agent"] for row in agents if row["regional_office"] == "Central"
    }
    deals = csv_store.load_deals(AS_OF)
    targets = csv_store.load_targets(MONTH)
    expected = progress_report(
        deals[deals["owner"].isin(central)],
        targets[targets["owner"].isin(central)],
        MONTH, AS_OF, default_model(),
    ).as_dict()  # fmt: skip
    figures = source_progress(source, MONTH, AS_OF, teams=("Central",)).as_dict()
    assert without_team(figures) == without_team(expected)
    assert {rep["owner"] for rep in figures["reps"]} <= central
    assert {rep["team"] for rep in figures["reps"]} == {"Central"}


# ---------------------------------------------------------------- pushed down


def test_the_date_window_reaches_the_database(source, pipeline):
    start, end = progress_window(MONTH, AS_OF)
    assert (start, end) == (date(2017, 7, 5), date(2017, 12, 31))  # as_of − 179 days

    with Statements(source.engine) as sql:
        fetched = source.scoped(start, end).load_deals(AS_OF)
    ((statement, params),) = sql.selecting("crm_opportunity")
    where = statement.split("WHERE", 1)[1]
    for column in ("engaged_on", "closed_on", "stage_code"):
        assert column in where
    assert "2017-07-05" not in statement and "2018-01-01" not in statement
    values = set(params.values()) if isinstance(params, dict) else set(params)
    assert {date(2017, 7, 5), date(2018, 1, 1)} <= values  # bound, not spliced

    def in_window(day: str) -> bool:
        return bool(day) and start <= date.fromisoformat(day) <= end

    expected = [
        row for row in pipeline
        if row["deal_stage"] in ("Prospecting", "Engaging")
        or in_window(row["engage_date"]) or in_window(row["close_date"])
    ]  # fmt: skip
    assert len(fetched) == len(expected)
    assert len(fetched) < len(pipeline)
    assert set(fetched["deal_id"]) == {row["opportunity_id"] for row in expected}


def test_follow_ups_are_read_for_the_window_only(source, pipeline):
    with Statements(source.engine) as sql:
        december = source.load_activities(date(2017, 12, 1), date(2017, 12, 31))
    ((statement, params),) = sql.selecting("crm_followup")
    assert "happened_at >=" in statement and "happened_at <" in statement
    expected = [row for row in follow_ups(pipeline)
                if row["happened_at"].strftime("%Y-%m") == MONTH]  # fmt: skip
    assert len(december) == len(expected)
    assert december["activity_at"].min() >= pd.Timestamp("2017-12-01")
    assert set(december["kind"]) == {"visit", "call"}


def test_a_team_name_is_a_value_never_sql(source):
    hostile = "Central'); DROP TABLE crm_agent; --"
    with Statements(source.engine) as sql:
        deals = source.scoped(teams=(hostile,)).load_deals()
    assert deals.empty
    assert all(hostile not in statement for statement, _ in sql.sent)
    assert "crm_agent" in inspect(source.engine).get_table_names()


def test_the_source_cannot_write(source):
    with pytest.raises(Exception, match="read-only"), source.engine.begin() as conn:
        conn.execute(text("CREATE TABLE kongpan_should_not_exist (x int)"))


def test_connection_test_lists_tables_rows_and_teams(source, pipeline, agents):
    check = check_source(source.profile)
    assert check.dialect == "postgresql"
    assert check.rows["deals"] == len(pipeline) == 8800
    assert check.rows["reps"] == len(agents)
    assert check.rows["activities"] == len(follow_ups(pipeline))
    assert check.teams == ["Central", "East", "West"]
    assert check.as_of == AS_OF
    assert "kongpan_test_" in check.url


# ---------------------------------------------------------------- refused


def example_config() -> dict:
    import tomllib

    return tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("section", "field", "value"),
    [
        ("deals", "amount", "revenue; DROP TABLE crm_opportunity"),
        ("deals", "amount", 'revenue"--'),
        ("deals", "amount", "crm_opportunity.revenue"),
        ("deals", "stage", "stage code"),
        ("activities", "summary", "summary/**/OR/**/1=1"),
        ("targets", "target", "(SELECT 1)"),
    ],
)
def test_a_column_name_with_sql_in_it_is_refused(section, field, value):
    config = example_config()
    config[section]["columns"][field] = value
    with pytest.raises(KongpanError) as refused:
        parse_profile(config, EXAMPLE)
    assert refused.value.code == "source_bad_name"
    key = f"{section}.columns.{field}"
    for lang in ("en", "zh"):
        assert key in refused.value.message(lang)
        assert "example_maven.toml" in refused.value.message(lang)


def test_a_table_name_with_sql_in_it_is_refused():
    config = example_config()
    config["deals"]["table"] = "crm_opportunity WHERE 1=1"
    with pytest.raises(KongpanError) as refused:
        parse_profile(config, EXAMPLE)
    assert refused.value.code == "source_bad_name"
    assert "deals.table" in refused.value.message("en")


def test_a_missing_column_is_refused_naming_the_profile_key(crm_url):
    config = example_config()
    config["deals"]["columns"]["amount"] = "close_value"  # Maven's name, not the CRM's
    config["url"] = crm_url
    config.pop("url_env")
    source = SqlSource(parse_profile(config, EXAMPLE))
    with Statements(source.engine) as sql, pytest.raises(KongpanError) as refused:
        source.load_deals()
    source.dispose()
    assert refused.value.code == "source_missing_column"
    message = refused.value.message("en")
    assert "deals.columns.amount" in message and "close_value" in message
    assert "crm_opportunity" in message
    assert "deals.columns.amount" in refused.value.message("zh")
    assert not any("FROM crm_opportunity" in s for s, _ in sql.sent)  # no query ran


def test_a_missing_table_is_refused_naming_the_profile_key(crm_url):
    config = example_config()
    config["reps"]["table"] = "sales_teams"
    config["url"] = crm_url
    config.pop("url_env")
    source = SqlSource(parse_profile(config, EXAMPLE))
    with pytest.raises(KongpanError) as refused:
        check_source(source.profile)
    source.dispose()
    assert refused.value.code == "source_missing_table"
    assert "reps.table" in refused.value.message("en")
    assert "sales_teams" in refused.value.message("zh")


@pytest.mark.parametrize(
    ("change", "code", "key"),
    [
        (lambda c: c["deals"]["columns"].update(amout="revenue"),
         "source_unknown_key", "deals.columns.amout"),
        (lambda c: c["deals"]["columns"].pop("stage"),
         "source_missing_key", "deals.columns.stage"),
        (lambda c: c["deals"]["stages"].update({"8": "signed"}),
         "source_bad_stage", "deals.stages.8"),
        (lambda c: c.update(as_of="31/12/2017"), "source_bad_date", "as_of"),
        (lambda c: c.update(password="x"), "source_unknown_key", "password"),
    ],
)  # fmt: skip
def test_other_profile_mistakes_name_their_key(change, code, key):
    config = example_config()
    change(config)
    with pytest.raises(KongpanError) as refused:
        parse_profile(config, EXAMPLE)
    assert refused.value.code == code
    assert key in refused.value.message("en")


# ---------------------------------------------------------------- connecting


def profile_with_url(url: str):
    config = example_config()
    config["url"] = url
    config.pop("url_env")
    return parse_profile(config, EXAMPLE)


def test_a_wrong_password_is_said_so_without_showing_it(test_servers):
    test_servers("mysql")  # MariaDB checks passwords; the local PostgreSQL trusts
    url = "mysql+pymysql://root:Wr0ng-Pa55@127.0.0.1:3306/test"
    with pytest.raises(KongpanError) as refused:
        check_source(profile_with_url(url))
    assert refused.value.code == "source_login_failed"
    for lang in ("en", "zh"):
        message = refused.value.message(lang)
        assert "Wr0ng-Pa55" not in message
        assert "root:***@127.0.0.1:3306/test" in message


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://reader:Pa55w0rd@127.0.0.1:1/crm",
        "mysql+pymysql://reader:Pa55w0rd@127.0.0.1:1/crm",
    ],
    ids=["postgresql", "mysql"],
)
def test_an_unreachable_host_is_said_so(url):
    with pytest.raises(KongpanError) as refused:
        check_source(profile_with_url(url))
    assert refused.value.code == "source_unreachable"
    message = refused.value.message("en")
    assert "Pa55w0rd" not in message
    assert "reader:***@127.0.0.1:1/crm" in message
    assert "host name and port" in message


def test_a_missing_database_is_said_so(test_servers, tmp_path):
    test_servers("postgresql")
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/kongpan_no_such_crm"
    with pytest.raises(KongpanError) as refused:
        check_source(profile_with_url(url))
    assert refused.value.code == "source_no_database"

    missing_file = tmp_path / "crm.db"
    with pytest.raises(KongpanError) as refused:
        check_source(profile_with_url(f"sqlite:///{missing_file}"))
    assert refused.value.code == "source_no_database"
    assert not missing_file.exists()  # never created by looking


def test_a_missing_url_variable_is_said_so(monkeypatch):
    monkeypatch.delenv(URL_ENV, raising=False)
    with pytest.raises(KongpanError) as refused:
        SqlSource(load_profile(EXAMPLE))
    assert refused.value.code == "source_no_url"
    assert URL_ENV in refused.value.message("en")


def test_profiles_are_found_by_file_name(tmp_path, monkeypatch):
    assert find_profile("example_maven").title == "Maven CRM (example)"
    monkeypatch.setenv("KONGPAN_SOURCES_DIR", str(tmp_path))
    (tmp_path / "broken.toml").write_text("[deals\n", encoding="utf-8")
    with pytest.raises(KongpanError) as unknown:
        find_profile("example_maven")
    assert unknown.value.code == "source_unknown"
    assert "broken" in unknown.value.message("en")
    with pytest.raises(KongpanError) as broken:
        find_profile("broken")
    assert broken.value.code == "source_bad_toml"


# ---------------------------------------------------------------- other databases


@pytest.mark.parametrize("kind", ["mysql", "sqlite"])
def test_the_same_profile_reads_a_mysql_or_sqlite_copy_alike(
    server_url, kind, source, pipeline, agents, quotas
):
    url = server_url(kind)
    load_crm(url, pipeline, agents, quotas)
    copy = SqlSource(profile_with_url(url))
    start, end = progress_window(MONTH, AS_OF)
    with Statements(copy.engine) as sql:
        got = copy.scoped(start, end, ("East",)).load_deals()
    copy.dispose()
    want = source.scoped(start, end, ("East",)).load_deals()
    assert "WHERE" in sql.selecting("crm_opportunity")[0][0]
    key = ["deal_id"]
    pd.testing.assert_frame_equal(
        got.sort_values(key).reset_index(drop=True).drop(columns="source_row"),
        want.sort_values(key).reset_index(drop=True).drop(columns="source_row"),
    )
    assert len(got) > 0
    assert (got["closed_at"].dropna() >= pd.Timestamp(start)).all()
    assert got["created_at"].max() < pd.Timestamp(end + timedelta(days=1))


# ---------------------------------------------------------------- in the app


@pytest.fixture
def app_store(csv_store: Store, tmp_path: Path, monkeypatch) -> str:
    """The app's own store: a copy of the imported CSV (so no demo is loaded)."""
    csv_store.dispose()  # folds the WAL into the file before copying it
    copy = tmp_path / "app.db"
    shutil.copy(csv_store.url.removeprefix("sqlite:///"), copy)
    url = f"sqlite:///{copy}"
    monkeypatch.setenv("KONGPAN_DATABASE_URL", url)
    return url


def open_app() -> AppTest:
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    app.context = {"locale": "en-US"}
    app.run()
    assert not app.exception
    return app


def metric(app: AppTest, label: str) -> str:
    return next(item.value for item in app.metric if item.label == label)


def table_with(app: AppTest, column: str) -> pd.DataFrame:
    """The first table on screen with `column` (tables carry no key in AppTest)."""
    return next(t.value for t in app.dataframe if column in t.value.columns)


def test_the_app_reads_the_crm_once_it_is_picked(source, app_store, agents):
    app = open_app()
    picker = app.selectbox(key="data_source")
    assert picker.value == "uploaded"
    assert picker.options == ["Uploaded snapshots", "Maven CRM (example)"]

    picker.set_value("example_maven").run()
    app.switch_page("app_pages/sources.py").run()
    assert not app.exception
    assert app.title[0].value == "Data sources"
    assert metric(app, "Won this month") == money(1131573, "en")
    assert metric(app, "Target") == money(sum(range(40000, 70000, 1000)), "en")

    app.button(key="source_test").click().run()
    assert not app.exception
    assert (
        "Connected to postgresql+psycopg://postgres@127.0.0.1" in app.success[0].value
    )
    rows = table_with(app, "Rows")
    assert dict(zip(rows["Table"], rows["Rows"], strict=True))["deals"] == 8800

    central = {
        row["sales_agent"] for row in agents if row["regional_office"] == "Central"
    }
    app.multiselect(key="source_teams").set_value(["Central"]).run()
    assert not app.exception
    reps = table_with(app, "Rep")
    assert set(reps["Rep"]) <= central and set(reps["Team"]) == {"Central"}
    expected = source_progress(source, MONTH, AS_OF, teams=("Central",))
    assert metric(app, "Won this month") == money(expected.team.won_amount, "en")


def test_the_sources_page_on_uploaded_snapshots_in_chinese(source, app_store):
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    app.context = {"locale": "zh-CN"}
    app.run()
    picker = app.selectbox(key="data_source")
    assert picker.label == "数据来源"
    assert picker.options == ["已上传的快照", "Maven CRM (example)"]
    app.switch_page("app_pages/sources.py").run()
    assert not app.exception
    assert app.title[0].value == "数据来源"
    assert "上传的 CRM 导出快照" in app.info[0].value
    assert metric(app, "快照数") == "2"  # the pipeline and the targets file

    app.selectbox(key="lang").set_value("en").run()
    assert not app.exception
    assert app.selectbox(key="data_source").options[0] == "Uploaded snapshots"


def test_the_app_says_why_a_source_does_not_answer(source, app_store, monkeypatch):
    monkeypatch.setenv(URL_ENV, "postgresql+psycopg://reader:Pa55w0rd@127.0.0.1:1/crm")
    app = open_app()
    app.selectbox(key="data_source").set_value("example_maven").run()
    app.switch_page("app_pages/sources.py").run()
    assert not app.exception
    app.button(key="source_test").click().run()
    assert not app.exception
    messages = [error.value for error in app.error]
    assert messages and all("host name and port" in text for text in messages)
    assert all("Pa55w0rd" not in text for text in messages)
    assert any("reader:***@127.0.0.1:1/crm" in text for text in messages)


# ---------------------------------------------------------------- command line


def test_the_command_line_checks_and_reports_a_source(source, capsys):
    from sales_core.cli import main

    assert main(["source", "list"]) == 0
    assert "example_maven: Maven CRM (example)" in capsys.readouterr().out

    assert main(["source", "check", "example_maven", "--json"]) == 0
    check = json.loads(capsys.readouterr().out)
    assert check["rows"]["deals"] == 8800
    assert check["teams"] == ["Central", "East", "West"]
    assert "***" not in check["url"] and "kongpan_test_" in check["url"]

    argv = ["source", "progress", "example_maven", "--month", MONTH, "--json"]
    assert main([*argv, "--team", "East"]) == 0
    east = json.loads(capsys.readouterr().out)
    assert east == source_progress(source, MONTH, AS_OF, ("East",)).as_dict()

    assert main(["source", "check", "no_such_crm"]) == 1
    assert "No source profile 'no_such_crm'" in capsys.readouterr().err
