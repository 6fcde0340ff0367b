"""Conformance: every analyst query of the pack runs on a real Trino (Athena v3's engine)
and returns the same rows as the local DuckDB backend, over the same sample results.

The results tables are registered in Trino's Hive connector with DDL generated from
``basket_core.schemas`` (:mod:`athena.trino_ddl`) at the layout's locations, one partition per
run, plus the ``latest_*`` views of :mod:`athena.ddl`. Parameters are bound through the
Trino client's prepared statements.

Cost (2 cores): ~30 s to fetch and unpack Trino once into ``.cache/trino``, ~25-30 s to
start the server, ~10 s for the DDL and the queries.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from athena import local, pack, trino_ddl
from basket_core.schemas import PARTITION_COLUMNS, RESULT_DATASETS
from basket_devtools import sample_results
from basket_devtools.trino_server import TrinoServer

pytestmark = pytest.mark.trino

CATALOG = "hive"
DATABASE = "market_basket"

# values for parameters that have no default
REQUIRED = {"item": "milk", "run_a": sample_results.RUN_A, "run_b": sample_results.RUN_B}

# the parameter sets of tests/athena/test_query_pack.py (plus edge cases)
CASES: list[tuple[str, dict[str, Any]]] = [
    ("top_rules_by_lift", {"min_support": "0.1", "min_confidence": "0.6", "top_n": "3"}),
    ("top_rules_by_lift", {"segment": "UK", "min_confidence": "0.8"}),
    ("top_rules_by_lift", {"max_p": "1e-6", "include_redundant": "0"}),
    ("run_rules", {"include_redundant": "0", "max_p": "0.01"}),
    ("rules_with_antecedent_item", {"item": "milk"}),
    ("rules_with_antecedent_item", {"item": "jam"}),
    ("rules_with_antecedent_item", {"item": "milk' OR '1'='1"}),
    ("top_itemsets_by_size", {"min_size": "2", "top_n": "2"}),
    ("bought_together", {"item": "milk"}),
    ("bought_together", {"item": "milk", "top_n": "2"}),
    ("bought_together", {"item": "bread", "segment": "FR"}),
    (
        "rule_changes",
        {"run_a": sample_results.RUN_A, "run_b": sample_results.RUN_B, "min_lift_change": "0.1"},
    ),
    (
        "rule_changes",
        {"run_a": sample_results.RUN_A, "run_b": sample_results.RUN_B, "min_lift_change": "0.15"},
    ),
    ("rule_changes", {"run_a": sample_results.RUN_B, "run_b": sample_results.RUN_B}),
    ("changes_this_week", {}),
    ("changes_this_week", {"segment": "UK", "change": "weakened", "top_n": "1"}),
    ("changes_this_week", {"change": "gone"}),
    ("changes_this_week", {"days": "1"}),
    ("changes_this_week", {"days": "0"}),
    ("segment_comparison", {}),
    ("segment_comparison", {"min_support": "0.3", "min_confidence": "0.5"}),
    ("quarantine_summary", {}),
    ("quarantine_summary", {"run_id": sample_results.RUN_A}),
]


def all_cases() -> list[tuple[str, dict[str, Any]]]:
    """CASES, plus for every query of the pack: its defaults, an older run, one segment."""
    cases = list(CASES)
    for name in pack.names():
        q = pack.load(name)
        if any(p.required and p.name not in REQUIRED for p in q.params):
            continue  # reported by test_every_query_has_cases
        base = {p.name: REQUIRED[p.name] for p in q.params if p.required}
        cases.append((name, base))
        declared = {p.name for p in q.params}
        if "run_id" in declared:
            cases.append((name, {**base, "run_id": sample_results.RUN_A}))
        if "segment" in declared:
            cases.append((name, {**base, "segment": "FR"}))
    return cases


def _case_id(case: tuple[str, dict[str, Any]]) -> str:
    name, given = case
    return name + ("[" + ",".join(f"{k}={v}" for k, v in given.items()) + "]" if given else "")


@pytest.fixture(scope="module")
def results(trino_data_root: Path) -> Path:
    root = trino_data_root / "results"
    sample_results.write_sample(root)
    return root


def wait_for_catalog_nodes(conn: Any, timeout_s: float = 120.0) -> None:
    """Block until a scan of a Hive table runs. A fresh coordinator runs metadata and
    ``SELECT 1`` queries at once but schedules a connector's splits only once its own
    node is active for that catalog, seconds later (NO_NODES_AVAILABLE until then)."""
    from trino.exceptions import TrinoQueryError

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            trino_ddl.execute(conn, f"SELECT count(*) FROM {CATALOG}.{DATABASE}.runs")
            return
        except TrinoQueryError as exc:
            if exc.error_name != "NO_NODES_AVAILABLE" or time.monotonic() > deadline:
                raise
            time.sleep(1.0)


@pytest.fixture(scope="module")
def trino_conn(trino_server: TrinoServer, results: Path) -> Iterator[Any]:
    import trino

    root = trino_server.location(results)
    admin = trino.dbapi.connect(
        host=trino_server.host, port=trino_server.port, user="basket", catalog=CATALOG
    )
    for sql in trino_ddl.setup_statements(CATALOG, DATABASE, root):
        trino_ddl.execute(admin, sql)
    for run in sample_results.SAMPLE_RUNS:
        for sql in trino_ddl.register_run_statements(CATALOG, DATABASE, root, run.dt, run.run_id):
            trino_ddl.execute(admin, sql)
    wait_for_catalog_nodes(admin)
    admin.close()
    conn = trino.dbapi.connect(
        host=trino_server.host,
        port=trino_server.port,
        user="basket",
        catalog=CATALOG,
        schema=DATABASE,
    )
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def duck(results: Path) -> Any:
    return local.connect(results)


def normalise(value: Any) -> Any:
    """One comparable form: aware timestamps as naive UTC (Athena's ``timestamp``)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def same_value(a: Any, b: Any) -> bool:
    a, b = normalise(a), normalise(b)
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12) or (
            math.isinf(a) and a == b
        )
    return bool(a == b)


def test_every_query_has_cases() -> None:
    covered = {name for name, _ in all_cases()}
    missing = {
        name: [p.name for p in pack.load(name).params if p.required and p.name not in REQUIRED]
        for name in set(pack.names()) - covered
    }
    assert not missing, f"add test values to REQUIRED for these queries' parameters: {missing}"


def test_tables_are_typed_from_the_schemas(trino_conn: Any) -> None:
    rows = trino_ddl.execute(
        trino_conn,
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name NOT LIKE 'latest%'",
        [DATABASE],
    )
    got = {(t, c): ty for t, c, ty in rows}
    want = {
        (d.name, c.name): trino_ddl.trino_type(c.type)
        for d in RESULT_DATASETS
        for c in (*d.columns, *PARTITION_COLUMNS)
    }
    assert got == want


def test_partitions_and_latest_views(trino_conn: Any) -> None:
    runs = trino_ddl.execute(trino_conn, "SELECT dt, run_id FROM runs ORDER BY dt")
    assert runs == [["2026-01-01", sample_results.RUN_A], ["2026-01-02", sample_results.RUN_B]]
    for d in RESULT_DATASETS:
        latest = trino_ddl.execute(trino_conn, f"SELECT DISTINCT run_id FROM latest_{d.name}")
        assert latest == [[sample_results.RUN_B]], d.name
    counts = trino_ddl.execute(
        trino_conn, "SELECT run_id, count(*) FROM rules GROUP BY run_id ORDER BY run_id"
    )
    assert counts == [[sample_results.RUN_A, 6], [sample_results.RUN_B, 7]]


@pytest.mark.parametrize("case", all_cases(), ids=_case_id)
def test_query_matches_duckdb(trino_conn: Any, duck: Any, case: tuple[str, dict[str, Any]]) -> None:
    name, given = case
    q = pack.load(name)
    values = q.bind(given)
    duck_cols, duck_rows = local.run(duck, q, values)
    trino_cols, trino_rows = trino_ddl.run(trino_conn, q, values)
    assert trino_cols == duck_cols
    assert len(trino_rows) == len(duck_rows), (trino_rows, duck_rows)
    for i, (t, d) in enumerate(zip(trino_rows, duck_rows, strict=True)):
        diffs = [
            (col, tv, dv)
            for col, tv, dv in zip(trino_cols, t, d, strict=True)
            if not same_value(tv, dv)
        ]
        assert not diffs, f"row {i}: (column, trino, duckdb) {diffs}"


def test_sample_answers_are_not_all_empty(trino_conn: Any) -> None:
    """Guard against a vacuous match (both backends returning nothing)."""
    q = pack.load("top_rules_by_lift")
    _, rows = trino_ddl.run(trino_conn, q, q.bind({"top_n": "3", "min_confidence": "0.6"}))
    assert [r[2:4] for r in rows] == [("eggs", "milk"), ("milk", "eggs"), ("butter", "bread")]
