"""Athena DDL generated from basket_core.schemas: parses as Athena SQL, matches the schemas."""

from __future__ import annotations

from datetime import date

import pytest
import sqlglot
from sqlglot import exp

from athena import catalog, ddl
from basket_core.schemas import PARTITION_COLUMNS, RESULT_DATASETS, RULES

ROOT = "s3://basket-results-test/market-basket"
DB = "market_basket"


def _parse(sql: str) -> exp.Expression:
    dialect = "trino" if " VIEW " in sql else "athena"  # Athena views are Trino SQL
    tree = sqlglot.parse_one(sql, read=dialect)
    assert not isinstance(tree, exp.Command), f"sqlglot fell back to a raw command: {sql}"
    return tree


def all_statements() -> list[str]:
    return ddl.setup_statements(DB, ROOT) + ddl.add_partition_statements(
        DB, ROOT, date(2026, 1, 2), "20260102T010000Z-bbbbbb", attempt="p0123456789abcdef0123"
    )


@pytest.mark.parametrize("sql", all_statements(), ids=lambda s: s.split("\n")[0][:60])
def test_every_statement_parses_as_athena_sql(sql: str) -> None:
    _parse(sql)


@pytest.mark.parametrize("dataset", RESULT_DATASETS, ids=lambda d: d.name)
def test_table_columns_and_types_come_from_the_schema(dataset: object) -> None:
    from basket_core.schemas import Dataset

    assert isinstance(dataset, Dataset)
    tree = _parse(ddl.create_table(DB, dataset, ROOT))
    defs = [c for c in tree.find_all(exp.ColumnDef)]
    got = [(c.name, c.args["kind"].sql("hive").lower()) for c in defs]
    want = [(c.name, c.type) for c in (*dataset.columns, *PARTITION_COLUMNS)]
    assert got == want
    sql = ddl.create_table(DB, dataset, ROOT)
    assert f"LOCATION '{ROOT}/{dataset.name}/'" in sql
    assert "STORED AS PARQUET" in sql and "PARTITIONED BY (`dt` string" in sql


def test_partition_statement_targets_the_run_folder() -> None:
    sql = ddl.add_partition(DB, RULES, ROOT + "/", date(2026, 1, 2), "r-1")
    assert sql == (
        "ALTER TABLE `market_basket`.`rules` ADD IF NOT EXISTS PARTITION "
        f"(dt = '2026-01-02', run_id = 'r-1') LOCATION '{ROOT}/rules/dt=2026-01-02/run_id=r-1/'"
    )
    assert "MSCK" not in " ".join(all_statements())


def test_partition_statements_move_the_partition_to_the_published_attempt() -> None:
    statements = ddl.add_partition_statements(
        DB, ROOT, date(2026, 1, 2), "r-1", datasets=(RULES,), attempt="a1"
    )
    where = f"'{ROOT}/rules/dt=2026-01-02/run_id=r-1/attempt=a1/'"
    assert statements == [
        "ALTER TABLE `market_basket`.`rules` ADD IF NOT EXISTS PARTITION "
        f"(dt = '2026-01-02', run_id = 'r-1') LOCATION {where}",
        "ALTER TABLE `market_basket`.`rules` PARTITION (dt = '2026-01-02', run_id = 'r-1') "
        f"SET LOCATION {where}",
    ]
    with pytest.raises(ValueError):
        ddl.partition_location(ROOT, RULES, date(2026, 1, 2), "r-1", attempt="../x")


def test_latest_views_pick_the_newest_succeeded_run() -> None:
    views = [s for s in ddl.setup_statements(DB, ROOT) if " VIEW " in s]
    assert [v.split('"')[3] for v in views] == [f"latest_{d.name}" for d in RESULT_DATASETS]
    order = "ORDER BY r.dt DESC, r.finished_at DESC"  # basket_core.layout.latest_order
    assert all("r.status = 'succeeded'" in v and order in v for v in views)


def test_a_backfill_never_becomes_the_latest_run_in_the_views(tmp_path: object) -> None:
    """Runs on DuckDB through the same view SQL: a later-finished run of an older day, and
    a failed run of a newer day, are both passed over."""
    import duckdb

    from athena import local

    con = duckdb.connect(":memory:")
    con.execute(
        "CREATE TABLE runs AS SELECT * FROM (VALUES "
        "('2026-01-02', 'daily-2026-01-02', 'succeeded', TIMESTAMP '2026-01-03 02:00:00'), "
        "('2025-12-01', 'backfill-2025-12-01', 'succeeded', TIMESTAMP '2026-01-05 09:00:00'), "
        "('2026-01-03', 'daily-2026-01-03', 'failed', TIMESTAMP '2026-01-04 02:00:00')) "
        "AS t(dt, run_id, status, finished_at)"
    )
    con.execute("CREATE TABLE rules AS SELECT dt, run_id FROM runs")
    con.execute(local.latest_view(RULES))
    assert con.execute("SELECT run_id FROM latest_rules").fetchall() == [("daily-2026-01-02",)]


@pytest.mark.parametrize(
    "bad", ["Bad-Name", "x; DROP TABLE y", "", "a b"], ids=["dash", "injection", "empty", "space"]
)
def test_names_are_validated_not_escaped(bad: str) -> None:
    with pytest.raises(ValueError):
        ddl.create_database(bad)


def test_run_ids_and_roots_are_validated() -> None:
    with pytest.raises(ValueError):
        ddl.add_partition(DB, RULES, ROOT, date(2026, 1, 1), "x' OR '1'='1")
    with pytest.raises(ValueError):
        ddl.create_table(DB, RULES, "/local/path")


def test_glue_definitions_match_the_ddl() -> None:
    ti = catalog.table_input(RULES, ROOT)
    assert [(c["Name"], c["Type"]) for c in ti["StorageDescriptor"]["Columns"]] == [
        (c.name, c.type) for c in RULES.columns
    ]
    assert [c["Name"] for c in ti["PartitionKeys"]] == ["dt", "run_id"]
    assert ti["StorageDescriptor"]["Location"] == ddl.table_location(ROOT, RULES)
    view = catalog.view_input(DB, RULES)
    assert view["TableType"] == "VIRTUAL_VIEW"
    assert view["ViewOriginalText"].startswith("/* Presto View: ")


def test_trino_registers_a_run_at_its_current_attempt() -> None:
    from athena import trino_ddl

    keys = [
        "p/_attempts/dt=2026-01-02/run_id=daily-2026-01-02.json",
        "p/_attempts/dt=2026-01-01/run_id=r-1.json",
        "p/_attempts/dt=2026-01-01/run_id=r-1.json.tmp",
    ]
    assert trino_ddl.pointer_runs(keys) == [
        (date(2026, 1, 1), "r-1"),
        (date(2026, 1, 2), "daily-2026-01-02"),
    ]
    moves = trino_ddl.move_statements("hive", DB, ROOT, date(2026, 1, 2), "r-1", "a1")
    forget, register = moves[[d.name for d in RESULT_DATASETS].index("rules")]
    assert "system.unregister_partition(" in forget and "location" not in forget
    assert register.endswith(f"location => '{ROOT}/rules/dt=2026-01-02/run_id=r-1/attempt=a1')")
    # the same folder Athena's partition points at (Trino takes it without the slash)
    assert (
        ddl.partition_location(ROOT, RULES, date(2026, 1, 2), "r-1", "a1").rstrip("/") in register
    )
