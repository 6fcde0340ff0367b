"""Rules derived in the driver (:mod:`spark.rules_table`) equal the cluster's
(:func:`spark.rules.untested_rules`, itself checked against mlxtend, pyfim and brute force
in test_rule_measures): the same rules, column types and doubles to the last bit, over
segments, multi-item consequents, odd item names and thresholds that keep nothing."""

from __future__ import annotations

import math
import random
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from basket_core.schemas import MINED_ITEMSETS, spark_schema
from spark.redundancy import MAX_ANTECEDENT_ITEMS
from spark.rules import BASKETS, P_VALUES, RuleOptions, untested_rules
from spark.rules_table import untested_rules_table
from tests import reference as ref

ODD = ref.ODD_NAMES


def _itemsets(
    segments: dict[str, list[list[str]]], min_count: int
) -> tuple[list[Any], dict[str, int]]:
    rows = []
    for segment, baskets in segments.items():
        for items, count in ref.brute_force(baskets, min_count).items():
            rows.append((segment, sorted(items), len(items), count, count / len(baskets)))
    return rows, {segment: len(baskets) for segment, baskets in segments.items()}


def _both(
    spark: Any, rows: list[Any], baskets: dict[str, int], options: RuleOptions
) -> tuple[pa.Table, pa.Table]:
    frame = spark.createDataFrame(rows, spark_schema(MINED_ITEMSETS))
    cluster = untested_rules(frame, options, baskets).toArrow()
    driver = untested_rules_table(frame.toArrow(), options, baskets)
    return cluster, driver


def _same(cluster: pa.Table, driver: pa.Table) -> None:
    assert driver.column_names == cluster.column_names
    assert [f.type for f in driver.schema] == [f.type for f in cluster.schema]
    assert driver.num_rows == cluster.num_rows
    order = [("rule_key", "ascending"), ("segment", "ascending")]
    got, want = driver.sort_by(order).to_pylist(), cluster.sort_by(order).to_pylist()
    for g, w in zip(got, want, strict=True):
        for name, value in w.items():
            mine = g[name]
            if isinstance(value, float) and math.isnan(value):
                assert isinstance(mine, float) and math.isnan(mine), (name, g, w)
            else:
                # == on doubles: the same operations in the same order, so the same bits
                assert mine == value and type(mine) is type(value), (name, mine, value)


@pytest.mark.parametrize(
    ("max_consequent", "min_confidence"), [(1, 0.0001), (1, 0.3), (2, 0.3), (3, 0.0001), (2, 1.0)]
)
def test_driver_rules_equal_the_clusters(
    spark: Any, max_consequent: int, min_confidence: float
) -> None:
    segments = {
        "all": ref.random_baskets(300, 14, seed=3, mean_size=4.0),
        "FR": ref.random_baskets(90, 9, seed=4, mean_size=5.0),
        "odd": [random.Random(i).sample(ODD, k=1 + i % 5) for i in range(60)],
    }
    rows, baskets = _itemsets(segments, 6)
    options = RuleOptions(min_confidence=min_confidence, max_consequent=max_consequent)
    cluster, driver = _both(spark, rows, baskets, options)
    if min_confidence < 1.0:
        assert cluster.num_rows > 100 and set(cluster.column("segment").to_pylist()) == set(
            segments
        )
    _same(cluster, driver)


def test_no_itemsets_and_no_rules(spark: Any) -> None:
    options = RuleOptions(min_confidence=0.5)
    for rows in ([], [("all", ["a"], 1, 5, 0.5), ("all", ["b"], 1, 4, 0.4)]):
        cluster, driver = _both(spark, rows, {"all": 10}, options)
        assert cluster.num_rows == 0
        _same(cluster, driver)


def test_the_schema_is_the_declared_one_and_refuses_what_the_cluster_refuses(spark: Any) -> None:
    rows, baskets = _itemsets({"all": ref.random_baskets(50, 8, seed=1)}, 3)
    driver = untested_rules_table(
        spark.createDataFrame(rows, spark_schema(MINED_ITEMSETS)).toArrow(),
        RuleOptions(min_confidence=0.1),
        baskets,
    )
    assert BASKETS in driver.column_names and not set(P_VALUES) & set(driver.column_names)
    huge = [
        (
            "all",
            [f"i{k:02d}" for k in range(MAX_ANTECEDENT_ITEMS + 2)],
            MAX_ANTECEDENT_ITEMS + 2,
            3,
            0.3,
        )
    ]
    table = spark.createDataFrame(huge, spark_schema(MINED_ITEMSETS)).toArrow()
    with pytest.raises(ValueError, match="improvement needs every subset"):
        untested_rules_table(table, RuleOptions(min_confidence=0.1), {"all": 10})
    with pytest.raises(ValueError, match="max_consequent > 1 splits"):
        untested_rules_table(table, RuleOptions(min_confidence=0.1, max_consequent=2), {"all": 10})


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    baskets=st.lists(
        st.sets(st.sampled_from(ODD[:7]), min_size=1, max_size=6).map(sorted),
        min_size=6,
        max_size=40,
    ),
    min_count=st.integers(min_value=1, max_value=4),
    min_confidence=st.sampled_from([0.01, 0.301, 0.5, 1.0]),
    max_consequent=st.integers(min_value=1, max_value=3),
)
def test_property_driver_rules_equal_the_clusters(
    spark: Any, baskets: list[list[str]], min_count: int, min_confidence: float, max_consequent: int
) -> None:
    rows, n = _itemsets({"all": baskets}, min_count)
    options = RuleOptions(min_confidence=min_confidence, max_consequent=max_consequent)
    _same(*_both(spark, rows, n, options))


@pytest.mark.parametrize(
    "options",
    [
        RuleOptions(min_confidence=0.2),
        RuleOptions(min_confidence=0.2, max_consequent=2, prune_redundant=True),
        RuleOptions(min_confidence=0.1, max_p=0.05, p_adjust="holm"),
    ],
)
def test_kept_rules_and_their_edges_equal_the_clusters(spark: Any, options: RuleOptions) -> None:
    """:func:`~spark.rules.select_rules_table` and :func:`~spark.edges.item_edges_table`
    on rules held in the driver: the cluster's kept rules and edges."""
    from spark.edges import item_edges, item_edges_table
    from spark.held import local_relation
    from spark.rules import rule_tests, select_rules, select_rules_table

    segments = {
        "all": ref.random_baskets(300, 14, seed=3, mean_size=4.0),
        "odd": [random.Random(i).sample(ODD, k=1 + i % 5) for i in range(60)],
    }
    rows, baskets = _itemsets(segments, 6)
    frame = spark.createDataFrame(rows, spark_schema(MINED_ITEMSETS))
    held = rule_tests(options.p_adjust).table(
        untested_rules_table(frame.toArrow(), options, baskets)
    )
    cluster_rules = select_rules(local_relation(spark, held), options)
    kept = select_rules_table(held, options)
    assert 0 < kept.num_rows < held.num_rows or not (options.prune_redundant or options.max_p)
    assert sorted(kept.column("rule_key").to_pylist()) == sorted(
        r.rule_key for r in cluster_rules.select("rule_key").collect()
    )
    want = item_edges(cluster_rules).toArrow()
    got = item_edges_table(kept)
    assert got.column_names == want.column_names
    assert [f.type for f in got.schema] == [f.type for f in want.schema]
    order = [("segment", "ascending"), ("source", "ascending"), ("target", "ascending")]
    assert got.sort_by(order).to_pylist() == want.sort_by(order).to_pylist()
    assert got.num_rows > 20
