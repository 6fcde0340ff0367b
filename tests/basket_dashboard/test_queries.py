"""The pack queries the dashboard reads (athena/queries/run_*.sql, rule_edges.sql), on the
local DuckDB backend against the known sample results, and valid as Athena (Trino) SQL."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest
import sqlglot

from athena import local, pack
from basket_devtools import sample_results

DASHBOARD_QUERIES = {
    "rule_edges",
    "run_itemsets",
    "run_items",
    "run_list",
    "run_rules",
    "run_segments",
    "run_summary",
}


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    root = tmp_path_factory.mktemp("results")
    sample_results.write_sample(root)
    return local.connect(root)


def run(con: duckdb.DuckDBPyConnection, name: str, **given: Any) -> list[dict[str, Any]]:
    q = pack.load(name)
    cols, rows = local.run(con, q, q.bind(given))
    return [dict(zip(cols, r, strict=True)) for r in rows]


def all_rules(run: sample_results.SampleRun) -> list[dict[str, Any]]:
    return [
        sample_results.rule_row(seg, a, c, run.counts)
        for seg, pairs in run.rules.items()
        for a, c in pairs
    ]


def test_dashboard_queries_are_in_the_pack_and_valid_trino() -> None:
    assert set(pack.names()) >= DASHBOARD_QUERIES
    for name in sorted(DASHBOARD_QUERIES):
        q = pack.load(name)
        assert q.description, name
        sql, params = pack.for_athena(q, q.bind({}))
        assert "?" in sql and len(params) == sql.count("?")
        sqlglot.parse_one(sql, read="trino")


def test_run_summary_latest_and_by_id(con: duckdb.DuckDBPyConnection) -> None:
    latest = run(con, "run_summary")
    assert len(latest) == 1 and latest[0]["run_id"] == sample_results.RUN_B
    r = latest[0]
    assert (r["baskets"], r["distinct_items"], r["itemsets"], r["rules"]) == (200, 5, 11, 7)
    assert r["rejected_rows"] == 10
    older = run(con, "run_summary", run_id=sample_results.RUN_A)
    assert older[0]["rules"] == len(all_rules(sample_results.SAMPLE_RUNS[0]))
    assert run(con, "run_summary", run_id="no-such-run") == []


def test_run_list_newest_first(con: duckdb.DuckDBPyConnection) -> None:
    rows = run(con, "run_list")
    assert [r["run_id"] for r in rows] == [sample_results.RUN_B, sample_results.RUN_A]
    assert [r["run_id"] for r in run(con, "run_list", top_n=1)] == [sample_results.RUN_B]


def test_run_rules_filters(con: duckdb.DuckDBPyConnection) -> None:
    rules_b = all_rules(sample_results.SAMPLE_RUNS[1])
    rows = run(con, "run_rules")
    assert len(rows) == len(rules_b)
    assert [r["lift"] for r in rows] == sorted((r["lift"] for r in rules_b), reverse=True)
    strong = run(con, "run_rules", min_lift=1.5, min_confidence=0.7)
    expected = {
        (r["antecedent"][0], r["consequent"][0])
        for r in rules_b
        if r["lift"] >= 1.5 and r["confidence"] >= 0.7
    }
    assert {(r["antecedent"], r["consequent"]) for r in strong} == expected
    tea = run(con, "run_rules", item="TeA")
    assert {(r["antecedent"], r["consequent"]) for r in tea} == {("tea", "milk"), ("milk", "tea")}
    uk = run(con, "run_rules", segment="UK", run_id=sample_results.RUN_A)
    assert {r["segment"] for r in uk} == {"UK"} and {r["run_id"] for r in uk} == {
        sample_results.RUN_A
    }
    assert run(con, "run_rules", min_support=0.9) == []


def test_run_itemsets_segments_and_items(con: duckdb.DuckDBPyConnection) -> None:
    top = run(con, "run_itemsets", top_n=3)
    assert [(r["segment"], r["items"], r["support"]) for r in top] == [
        ("UK", "tea", 0.7),
        ("FR", "bread", 0.6),
        ("UK", "milk", 0.6),
    ]
    pairs = run(con, "run_itemsets", segment="FR", min_size=2)
    assert [r["items"] for r in pairs] == [
        "bread, butter",
        "eggs, milk",
        "bread, milk",
        "bread, butter, milk",
    ]
    assert run(con, "run_segments") == [
        {"segment": "FR", "itemsets": 8, "rules": 5},
        {"segment": "UK", "itemsets": 3, "rules": 2},
    ]
    items = run(con, "run_items")
    assert items[0] == {"place": 1, "item": "milk", "baskets": 100}  # 40 FR + 60 UK
    assert [r["item"] for r in run(con, "run_items", segment="UK")] == ["tea", "milk"]


def test_rule_edges_split_itemsets_into_item_pairs(con: duckdb.DuckDBPyConnection) -> None:
    edges = run(con, "rule_edges", segment="FR")
    assert {(e["source"], e["target"]) for e in edges} == {
        ("bread", "butter"),
        ("butter", "bread"),
        ("milk", "bread"),
        ("eggs", "milk"),
        ("milk", "eggs"),
    }
    assert edges[0]["lift"] == 2.0
    assert len(run(con, "rule_edges", top_n=2)) == 2
