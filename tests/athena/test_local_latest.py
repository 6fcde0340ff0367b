"""The local backend names the latest run as a constant (its views and a query's
``run_id`` of ''), so DuckDB reads that run's files only, and follows a newer run."""

from __future__ import annotations

from pathlib import Path

import sqlglot

from athena import ddl, local, pack
from basket_devtools import sample_results


def test_latest_run_sql_is_the_athena_one() -> None:
    athena = sqlglot.transpile(ddl.latest_run_subquery(), read="trino", write="duckdb")[0]
    assert sqlglot.parse_one(local.LATEST_RUN_SQL, read="duckdb") == sqlglot.parse_one(
        athena, read="duckdb"
    )


def test_latest_views_and_run_id_name_the_latest_run_and_follow_a_newer_one(
    tmp_path: Path,
) -> None:
    sample_results.write_run(tmp_path, sample_results.SAMPLE_RUNS[0])
    con = local.connect(tmp_path)
    rules = pack.load("run_rules")
    assert local.resolve_latest(con, rules, rules.bind({}))["run_id"] == sample_results.RUN_A
    assert local.resolve_latest(con, rules, rules.bind({"run_id": "x"}))["run_id"] == "x"
    view = "SELECT sql FROM duckdb_views() WHERE view_name = 'latest_rules'"
    assert f"'{sample_results.RUN_A}'" in con.execute(view).fetchall()[0][0]  # a constant

    sample_results.write_run(tmp_path, sample_results.SAMPLE_RUNS[1])  # a newer run
    _, rows = local.run(con, rules, rules.bind({}))
    assert {r[1] for r in rows} == {sample_results.RUN_B}
    latest = con.execute("SELECT DISTINCT run_id FROM latest_rules").fetchall()
    assert latest == [(sample_results.RUN_B,)]
    assert f"'{sample_results.RUN_B}'" in con.execute(view).fetchall()[0][0]


def test_a_connection_without_runs_leaves_run_id_to_the_query(tmp_path: Path) -> None:
    con = local.connect(tmp_path)  # no results at all: every view is empty
    rules = pack.load("run_rules")
    assert local.resolve_latest(con, rules, rules.bind({}))["run_id"] == ""
    assert local.run(con, rules, rules.bind({}))[1] == []
