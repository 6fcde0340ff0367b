"""The analyst query pack on the local DuckDB backend, against known sample results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
from click.testing import CliRunner

from athena import local, pack
from basket.cli import main
from basket_devtools import sample_results


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("results")
    sample_results.write_sample(root)
    return root


@pytest.fixture(scope="module")
def con(results: Path) -> duckdb.DuckDBPyConnection:
    return local.connect(results)


def run(con: duckdb.DuckDBPyConnection, name: str, **given: Any) -> list[dict[str, Any]]:
    q = pack.load(name)
    cols, rows = local.run(con, q, q.bind(given))
    return [dict(zip(cols, r, strict=True)) for r in rows]


def pick(rows: list[dict[str, Any]], *keys: str) -> list[tuple[Any, ...]]:
    return [tuple(r[k] for k in keys) for r in rows]


def test_pack_is_complete_and_every_query_is_valid_trino() -> None:
    assert set(pack.names()) >= {  # the analyst pack; the dashboards add their own
        "bought_together",
        "changes_this_week",
        "quarantine_summary",
        "rule_changes",
        "rules_with_antecedent_item",
        "segment_comparison",
        "top_itemsets_by_size",
        "top_rules_by_lift",
    }
    for name in pack.names():
        q = pack.load(name)
        assert q.description and q.params is not None
        sqlglot.parse_one(
            pack.for_athena(q, {p.name: p.default or "x" for p in q.params})[0], read="trino"
        )


def test_local_views_mirror_athena_tables(con: duckdb.DuckDBPyConnection) -> None:
    runs = con.execute("SELECT dt, run_id FROM runs ORDER BY dt").fetchall()
    assert runs == [("2026-01-01", sample_results.RUN_A), ("2026-01-02", sample_results.RUN_B)]
    assert con.execute("SELECT DISTINCT run_id FROM latest_rules").fetchall() == [
        (sample_results.RUN_B,)
    ]
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'rules'"
        ).fetchall()
    )
    assert (
        types["antecedent"] == "VARCHAR[]"
        and types["dt"] == "VARCHAR"
        and types["count"] == "BIGINT"
    )


def test_top_rules_by_lift(con: duckdb.DuckDBPyConnection) -> None:
    rows = run(con, "top_rules_by_lift", min_support="0.1", min_confidence="0.6", top_n="3")
    assert pick(rows, "place", "segment", "antecedent", "consequent", "lift") == [
        (1, "FR", "eggs", "milk", 2.0),
        (2, "FR", "milk", "eggs", 2.0),
        (3, "FR", "butter", "bread", 1.5),
    ]
    uk = run(con, "top_rules_by_lift", segment="UK", min_confidence="0.8")
    assert pick(uk, "antecedent", "consequent", "confidence") == [("milk", "tea", 0.833333)]


def test_top_rules_by_lift_significant_and_not_redundant(
    con: duckdb.DuckDBPyConnection,
) -> None:
    every = run(con, "top_rules_by_lift")
    assert len(every) == 7 and every[-1]["redundant"] is True  # milk -> bread, lift < 1
    kept = run(con, "top_rules_by_lift", include_redundant="0")
    assert kept == every[:-1]
    significant = run(con, "top_rules_by_lift", max_p="1e-6")
    assert pick(significant, "antecedent", "consequent", "fisher_p_adjusted") == [
        ("eggs", "milk", 8.05056e-07),
        ("milk", "eggs", 8.05056e-07),
        ("butter", "bread", 2.54211e-09),
        ("bread", "butter", 2.54211e-09),
    ]
    assert pick(run(con, "top_rules_by_lift", segment="UK"), "improvement") == [
        (0.133333,),
        (0.114286,),
    ]


def test_changes_this_week(con: duckdb.DuckDBPyConnection) -> None:
    rows = run(con, "changes_this_week")
    assert pick(
        rows, "place", "change", "segment", "antecedent", "consequent", "lift_before", "lift_after"
    ) == [
        (1, "new", "FR", "eggs", "milk", None, 2.0),
        (2, "new", "FR", "milk", "eggs", None, 2.0),
        (3, "strengthened", "FR", "bread", "butter", 1.333333, 1.5),
        (4, "strengthened", "FR", "butter", "bread", 1.333333, 1.5),
        (5, "weakened", "UK", "milk", "tea", 1.333333, 1.190476),
        (6, "weakened", "UK", "tea", "milk", 1.333333, 1.190476),
        (7, "gone", "FR", "jam", "butter", 1.6, None),
    ]
    assert {(r["dt"], r["run_id"], r["previous_dt"]) for r in rows} == {
        ("2026-01-02", sample_results.RUN_B, "2026-01-01")
    }
    assert rows[4] | {"place": 0} == {
        "place": 0,
        "dt": "2026-01-02",
        "run_id": sample_results.RUN_B,
        "change": "weakened",
        "segment": "UK",
        "antecedent": "milk",
        "consequent": "tea",
        "lift_before": 1.333333,
        "lift_after": 1.190476,
        "lift_ratio": 0.892857,
        "confidence_before": 0.933333,
        "confidence_after": 0.833333,
        "confidence_delta": -0.1,
        "confidence_change_p": 0.0879745,
        "count_before": 56,
        "count_after": 50,
        "fisher_p_adjusted": 0.00301744,
        "previous_dt": "2026-01-01",
    }
    # the same rules as the pack's rule_changes between the two runs (its 'vanished' is 'gone')
    between = run(
        con,
        "rule_changes",
        run_a=sample_results.RUN_A,
        run_b=sample_results.RUN_B,
        min_lift_change="0.1",
    )
    assert sorted(pick(rows, "change", "segment", "antecedent", "consequent")) == sorted(
        (r["change"].replace("vanished", "gone"), r["segment"], r["antecedent"], r["consequent"])
        for r in between
    )
    uk = run(con, "changes_this_week", segment="UK", change="weakened", top_n="1")
    assert pick(uk, "antecedent", "consequent") == [("milk", "tea")]
    assert pick(run(con, "changes_this_week", change="gone"), "antecedent") == [("jam",)]
    assert len(run(con, "changes_this_week", days="1")) == 7  # the latest day only
    assert run(con, "changes_this_week", days="0") == []


def test_rules_with_antecedent_item(con: duckdb.DuckDBPyConnection) -> None:
    rows = run(con, "rules_with_antecedent_item", item="milk")
    assert pick(rows, "segment", "antecedent", "consequent", "lift") == [
        ("FR", "milk", "eggs", 2.0),
        ("UK", "milk", "tea", 1.190476),
        ("FR", "milk", "bread", 0.833333),
    ]
    assert run(con, "rules_with_antecedent_item", item="jam") == []  # only in the older run


def test_top_itemsets_by_size(con: duckdb.DuckDBPyConnection) -> None:
    rows = run(con, "top_itemsets_by_size", min_size="2", top_n="2")
    assert pick(rows, "size", "place", "segment", "items", "count") == [
        (2, 1, "UK", "milk, tea", 50),
        (2, 2, "FR", "bread, butter", 45),
        (3, 1, "FR", "bread, butter, milk", 12),
    ]


def test_bought_together(con: duckdb.DuckDBPyConnection) -> None:
    rows = run(con, "bought_together", item="milk")
    assert pick(rows, "segment", "other_item", "together") == [
        ("UK", "tea", 50),
        ("FR", "eggs", 24),
        ("FR", "bread", 20),
    ]
    assert [r["share_of_item_baskets"] for r in rows] == pytest.approx([50 / 60, 24 / 40, 20 / 40])


def test_rule_changes(con: duckdb.DuckDBPyConnection) -> None:
    rows = run(
        con,
        "rule_changes",
        run_a=sample_results.RUN_A,
        run_b=sample_results.RUN_B,
        min_lift_change="0.1",
    )
    assert pick(rows, "change", "segment", "antecedent", "consequent") == [
        ("new", "FR", "eggs", "milk"),
        ("new", "FR", "milk", "eggs"),
        ("strengthened", "FR", "bread", "butter"),
        ("strengthened", "FR", "butter", "bread"),
        ("vanished", "FR", "jam", "butter"),
        ("weakened", "UK", "milk", "tea"),
        ("weakened", "UK", "tea", "milk"),
    ]
    big = run(
        con,
        "rule_changes",
        run_a=sample_results.RUN_A,
        run_b=sample_results.RUN_B,
        min_lift_change="0.15",
    )
    assert {r["change"] for r in big} == {"new", "vanished", "strengthened"}  # 0.14 drop is below
    assert run(con, "rule_changes", run_a=sample_results.RUN_B, run_b=sample_results.RUN_B) == []


def test_rule_changes_keeps_the_largest_lift_moves(con: duckdb.DuckDBPyConnection) -> None:
    given = {"run_a": sample_results.RUN_A, "run_b": sample_results.RUN_B}
    every = run(con, "rule_changes", min_lift_change="0.1", **given)

    def moved(r: dict[str, Any]) -> float:
        return float(abs((r["lift_b"] or 0) - (r["lift_a"] or 0)))

    for top_n in range(1, len(every)):
        top = run(con, "rule_changes", min_lift_change="0.1", top_n=str(top_n), **given)
        assert len(top) == top_n and all(r in every for r in top)
        rest = [r for r in every if r not in top]
        assert min(map(moved, top)) >= max(map(moved, rest)), top_n
    weakened = run(con, "rule_changes", min_lift_change="0.1", change="weakened", **given)
    assert weakened == [r for r in every if r["change"] == "weakened"] and weakened
    uk = run(con, "rule_changes", min_lift_change="0.1", segment="UK", **given)
    assert uk == [r for r in every if r["segment"] == "UK"] and uk
    assert every[0]["confidence_a"] is None and every[0]["confidence_b"] is not None  # new


def test_rule_edges_from_item_edges_equal_the_edges_of_the_rules(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """Without a filter the edges come from the miner's item_edges; with a filter that
    keeps every rule they come from unnesting the rules: the same rows. A run mined before
    item_edges existed is answered from its rules."""
    for run_id in (sample_results.RUN_A, sample_results.RUN_B):
        for segment in ("", "FR"):
            given = {"run_id": run_id, "segment": segment, "top_n": "100"}
            fast = run(con, "rule_edges", **given)
            every_rule = run(con, "rule_edges", min_support="0.000001", **given)
            assert fast == every_rule and fast, (run_id, segment)
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    sample_results.write_sample(tmp_path)
    parts = list((tmp_path / "item_edges").rglob("*.parquet"))
    for part in parts:  # marked, to see which path answered
        table = pq.read_table(part)
        marked = pc.multiply(table["rules"], 1000)
        pq.write_table(
            table.set_column(table.schema.get_field_index("rules"), "rules", marked), part
        )
    answered = run(local.connect(tmp_path), "rule_edges", top_n="100")
    assert [r["rules"] for r in answered] == [
        1000 * r["rules"] for r in run(con, "rule_edges", top_n="100")
    ]
    for part in parts:
        part.unlink()
    legacy = run(local.connect(tmp_path), "rule_edges", top_n="100")
    assert legacy == run(con, "rule_edges", top_n="100")


def test_rule_changes_of_runs_without_rule_keys_match_on_the_rules_text(tmp_path: Path) -> None:
    """Runs mined before the rules carried rule_key: compared by their segment and items,
    with the same answer; and a run with keys beside one without is compared by text too."""
    import pyarrow.parquet as pq

    sample_results.write_sample(tmp_path)
    given = {"run_a": sample_results.RUN_A, "run_b": sample_results.RUN_B, "min_lift_change": "0.1"}
    keyed = run(local.connect(tmp_path), "rule_changes", **given)
    parts = sorted((tmp_path / "rules").rglob("*.parquet"))
    assert len(parts) == 2
    pq.write_table(pq.read_table(parts[0]).drop_columns(["rule_key"]), parts[0])
    one_keyed = run(local.connect(tmp_path), "rule_changes", **given)
    pq.write_table(pq.read_table(parts[1]).drop_columns(["rule_key"]), parts[1])
    none_keyed = run(local.connect(tmp_path), "rule_changes", **given)
    assert keyed == one_keyed == none_keyed and len(keyed) == 7


def test_segment_comparison(con: duckdb.DuckDBPyConnection) -> None:
    rows = run(con, "segment_comparison")
    assert pick(rows, "segment", "rules", "itemsets", "max_itemset_size", "strongest_rule") == [
        ("FR", 5, 8, 3, "eggs -> milk"),
        ("UK", 2, 3, 2, "milk -> tea"),
    ]
    assert rows[0]["avg_lift"] == pytest.approx((2 + 2 + 1.5 + 1.5 + 0.833333) / 5)


def test_quarantine_summary(con: duckdb.DuckDBPyConnection) -> None:
    rows = run(con, "quarantine_summary")
    assert pick(rows, "reason", "field", "n_rows") == [
        ("non_positive_quantity", "Quantity", 3),
        ("cancellation", "InvoiceNo", 2),
        ("blank_item", "Description", 1),
    ]
    assert sum(r["share"] for r in rows) == pytest.approx(1.0)
    older = run(con, "quarantine_summary", run_id=sample_results.RUN_A)
    assert pick(older, "reason", "field", "n_rows") == [
        ("duplicate", "", 3),
        ("bad_quantity", "Quantity", 2),
    ]


def test_parameters_are_bound_never_spliced() -> None:
    evil = "milk' OR '1'='1"
    q = pack.load("rules_with_antecedent_item")
    values = q.bind({"item": evil, "top_n": "5"})
    sql, params = pack.for_athena(q, values)
    assert evil not in sql and "OR '1'" not in sql and ":item" not in sql
    assert sql.count("?") == len(params) == 5  # :segment is used twice
    assert params == ["'milk'' OR ''1''=''1'", "0.0", "''", "''", "5"]
    duck = pack.for_duckdb(q)
    assert "$item" in duck and evil not in duck


def test_empty_result_for_injection_attempt(con: duckdb.DuckDBPyConnection) -> None:
    assert run(con, "rules_with_antecedent_item", item="milk' OR '1'='1") == []


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({}, "needs --param item"),
        ({"item": "x", "nope": "1"}, "no parameter 'nope'"),
        ({"item": "x", "top_n": "many"}, "not a valid int"),
        ({"item": "x", "min_confidence": "nan"}, "not a valid double"),
    ],
)
def test_bad_parameters_are_named(given: dict[str, str], message: str) -> None:
    with pytest.raises(pack.QueryError, match=message):
        pack.load("rules_with_antecedent_item").bind(given)


def test_pack_files_must_declare_their_parameters() -> None:
    with pytest.raises(pack.QueryError, match="undeclared"):
        pack.parse("x", "-- doc\nSELECT :a")
    with pytest.raises(pack.QueryError, match="unused"):
        pack.parse("x", "-- @param a int = 1\nSELECT 1")
    q = pack.parse("x", "-- doc\n-- @param a string = '' : text\nSELECT ':b', a::int, :a -- :c")
    assert [p.name for p in q.params] == ["a"]
    with pytest.raises(pack.QueryError, match="unknown query"):
        pack.load("../etc/passwd")


def test_empty_dataset_is_an_empty_typed_view(tmp_path: Path) -> None:
    c = local.connect(tmp_path)
    assert run(c, "top_rules_by_lift") == []
    assert run(c, "changes_this_week") == []


def test_files_from_before_a_column_read_it_as_null(tmp_path: Path) -> None:
    """Runs mined before the significance columns and the rule_changes dataset existed."""
    import pyarrow.parquet as pq

    sample_results.write_sample(tmp_path)
    new = ("fisher_p_adjusted", "improvement", "redundant", "chi_squared", "consequent_size")
    for part in (tmp_path / "rules").rglob("*.parquet"):
        pq.write_table(pq.read_table(part).drop_columns(list(new)), part)
    for part in (tmp_path / "rule_changes").rglob("*.parquet"):
        part.unlink()
    c = local.connect(tmp_path)
    rows = run(c, "top_rules_by_lift", include_redundant="0")
    assert len(rows) == 7 and {r["fisher_p_adjusted"] for r in rows} == {None}
    assert run(c, "top_rules_by_lift", max_p="0.05") == []  # no p-value: not significant
    assert run(c, "changes_this_week") == []


@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
def test_cli_query_local(results: Path, fmt: str) -> None:
    args = ["query", "bought_together", "--param", "item=milk", "-p", "top_n=2"]
    out = CliRunner().invoke(
        main, [*args, "--backend", "local", "--output", str(results), "--format", fmt]
    )
    assert out.exit_code == 0, out.output
    if fmt == "json":
        assert [r["other_item"] for r in json.loads(out.output)] == ["tea", "eggs"]
    elif fmt == "csv":
        assert out.output.splitlines()[0].startswith("place,segment,other_item")
        assert len(out.output.splitlines()) == 3
    else:
        assert "tea" in out.output


def test_cli_query_errors_and_listing(results: Path) -> None:
    out = CliRunner().invoke(main, ["query", "bought_together", "--output", str(results)])
    assert out.exit_code != 0 and "needs --param item" in out.output
    listing = CliRunner().invoke(main, ["query", "--list"])
    assert listing.exit_code == 0 and "rule_changes" in listing.output and "run_a" in listing.output
