"""Significance, redundancy, multi-item consequents and closed/maximal itemsets, against
independent implementations: pyfim's rule evaluation (chi-squared and Fisher p-values)
and closed/maximal mining, SciPy, R's p.adjust (transcribed), mlxtend's
association_rules, and brute force over the antecedents' subsets.

The itemsets fed to the rule code come from brute-force counting, so these tests check
the rule side alone; the miner's itemsets are checked in test_mine_correctness."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from basket_core import rule_key
from basket_core.schemas import ITEM_EDGES, MINED_ITEMSETS, RULES, spark_schema
from spark.held import hold
from spark.itemset_kinds import with_kinds
from spark.rules import RuleOptions, derive_rules, rule_tests, select_rules, untested_rules
from spark.significance import adjusted_p
from tests import reference as ref

Key = tuple[tuple[str, ...], tuple[str, ...]]

SHAPES = {
    # skewed popularity with planted pairs: many rules, tied p-values among them
    "skewed": dict(n=400, n_items=25, seed=11, mean_size=3.0, min_count=8),
    # few items, big baskets: long antecedents, many sub-rules per rule
    "dense": dict(n=120, n_items=9, seed=5, mean_size=5.0, min_count=12),
}


def _baskets(shape: dict[str, Any]) -> list[list[str]]:
    return ref.random_baskets(
        shape["n"], shape["n_items"], seed=shape["seed"], mean_size=shape["mean_size"]
    )


def _itemsets_df(spark, found: ref.Itemsets, n: int):  # type: ignore[no-untyped-def]
    rows = [("all", sorted(s), len(s), c, c / n) for s, c in found.items()]
    return spark.createDataFrame(rows, spark_schema(MINED_ITEMSETS))


def _rules(spark, baskets, min_count: int, **options: Any) -> dict[Key, dict[str, Any]]:  # type: ignore[no-untyped-def]
    found = ref.brute_force(baskets, min_count)
    df = derive_rules(
        _itemsets_df(spark, found, len(baskets)),
        options=RuleOptions(**options),
        baskets={"all": len(baskets)},
    )
    assert df.columns == RULES.names
    return {(tuple(r["antecedent"]), tuple(r["consequent"])): r.asDict() for r in df.collect()}


def _close(a: float, b: float, rel: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-300)


@pytest.fixture(params=list(SHAPES))
def shape(request: pytest.FixtureRequest) -> dict[str, Any]:
    return SHAPES[request.param]


def test_p_values_equal_pyfim_and_scipy(spark, shape) -> None:  # type: ignore[no-untyped-def]
    from scipy.stats import chi2_contingency, fisher_exact

    baskets, n = _baskets(shape), shape["n"]
    # 0.301: no confidence of these counts sits on the threshold, where pyfim's percent
    # arithmetic and ours could round differently
    ours = _rules(spark, baskets, shape["min_count"], min_confidence=0.301, p_adjust="none")
    theirs = ref.pyfim_rule_tests(baskets, shape["min_count"], 0.301)
    assert set(ours) == set(theirs) and len(ours) > 20
    for key, (chi2_p, fisher_p) in theirs.items():
        rule = ours[key]
        assert _close(rule["chi_squared_p"], chi2_p), (key, rule["chi_squared_p"], chi2_p)
        # pyfim sums the hypergeometric tail in log space: up to ~3e-9 off the exact sum
        # here (6.500569755552021e-05 against an exact 6.500569733996057e-05, which ours
        # gives to the last digit), so pyfim is held to 1e-7 and the exact sum to 1e-12
        assert _close(rule["fisher_p"], fisher_p, rel=1e-7), (key, rule["fisher_p"], fisher_p)
        assert rule["fisher_p_adjusted"] == rule["fisher_p"]  # p_adjust none
    for key, rule in ours.items():
        a = rule["count"]
        exact = ref.fisher_greater_exact(a, rule["antecedent_count"], rule["consequent_count"], n)
        assert _close(rule["fisher_p"], exact, rel=1e-12), (key, rule["fisher_p"], exact)
    for key, rule in list(ours.items())[:40]:
        a = rule["count"]
        b = rule["antecedent_count"] - a
        c = rule["consequent_count"] - a
        table = [[a, b], [c, n - a - b - c]]
        assert _close(rule["fisher_p"], fisher_exact(table, alternative="greater").pvalue)
        statistic = chi2_contingency(table, correction=False).statistic
        assert _close(rule["chi_squared"], statistic, rel=1e-9), key


@pytest.mark.parametrize("method", ["bonferroni", "holm", "fdr"])
def test_adjusted_p_values_equal_r_p_adjust(spark, method: str) -> None:  # type: ignore[no-untyped-def]
    shape = SHAPES["skewed"]
    rules = _rules(spark, _baskets(shape), shape["min_count"], min_confidence=0.2, p_adjust=method)
    keys = sorted(rules)
    raw = [rules[k]["fisher_p"] for k in keys]
    assert len(set(raw)) < len(raw), "the data should hold tied p-values"
    expected = ref.p_adjust(raw, method)
    for key, want in zip(keys, expected, strict=True):
        assert _close(rules[key]["fisher_p_adjusted"], want, rel=1e-12), (key, method)


@pytest.mark.parametrize("method", ["bonferroni", "holm", "fdr", "none"])
def test_rules_held_in_the_driver_equal_rules_cached_in_spark(spark, method: str) -> None:  # type: ignore[no-untyped-def]
    """The job holds a run's rules and computes their p-values (SciPy) and the correction
    (numpy) in the driver; a run with more rules than ``mining.held_rows`` computes them in
    Spark (pandas UDFs, a window) and caches the rules. Same rows, columns, types and
    doubles either way, and R's ``p.adjust`` values."""
    shape = SHAPES["skewed"]
    baskets = _baskets(shape)
    itemsets = _itemsets_df(spark, ref.brute_force(baskets, shape["min_count"]), len(baskets))
    untested = untested_rules(itemsets, RuleOptions(min_confidence=0.2), {"all": len(baskets)})
    cached: list[Any] = []
    held, held_count = hold(untested, 100_000, cached, finish=rule_tests(method))
    in_spark, spark_count = hold(untested, 0, cached, finish=rule_tests(method))
    assert cached == [in_spark] and not held.is_cached
    assert held.columns == in_spark.columns == RULES.names
    assert held.schema == in_spark.schema  # types and nullability: the written Parquet's

    def by_key(df: Any) -> dict[Key, dict[str, Any]]:
        return {(tuple(r["antecedent"]), tuple(r["consequent"])): r.asDict() for r in df.collect()}

    ours, theirs = by_key(held), by_key(in_spark)
    assert held_count == spark_count == len(ours) > 50
    assert ours == theirs  # every column, the adjusted p-values to the last bit
    keys = sorted(ours)
    raw = [ours[k]["fisher_p"] for k in keys]
    want = raw if method == "none" else ref.p_adjust(raw, method)
    assert all(
        _close(ours[k]["fisher_p_adjusted"], w, rel=1e-12) for k, w in zip(keys, want, strict=True)
    )
    in_spark.unpersist()


@pytest.mark.parametrize("method", ["bonferroni", "holm", "fdr"])
def test_adjusted_p_ties_share_one_value_as_r_gives(method: str) -> None:
    p = [0.04, 0.01, 0.04, 0.2, 0.01, 0.5, 0.04, 1.0]
    got = adjusted_p(np.array(p), method).tolist()
    assert got == pytest.approx(ref.p_adjust(p, method), rel=1e-15)
    assert got[0] == got[2] == got[6] and got[1] == got[4]
    assert adjusted_p(np.array([]), method).tolist() == []
    with pytest.raises(ValueError, match="unknown p-value adjustment"):
        adjusted_p(np.array(p), "sidak")  # type: ignore[arg-type]


@pytest.mark.parametrize("max_consequent", [1, 2])
def test_improvement_and_redundant_equal_brute_force(spark, shape, max_consequent: int) -> None:  # type: ignore[no-untyped-def]
    baskets = _baskets(shape)
    found = ref.brute_force(baskets, shape["min_count"])
    rules = _rules(
        spark, baskets, shape["min_count"], min_confidence=0.1, max_consequent=max_consequent
    )
    assert any(len(a) >= 3 for a, _ in rules), "long antecedents should be covered"
    flags = set()
    for (antecedent, consequent), rule in rules.items():
        improvement, redundant = ref.improvement(found, len(baskets), antecedent, consequent)
        assert math.isclose(rule["improvement"], improvement, abs_tol=1e-12), antecedent
        assert rule["redundant"] is redundant, (antecedent, consequent)
        flags.add(redundant)
    assert flags == {True, False}


@pytest.mark.parametrize("max_consequent", [2, 3])
def test_multi_item_consequents_equal_mlxtend(spark, shape, max_consequent: int) -> None:  # type: ignore[no-untyped-def]
    baskets = _baskets(shape)
    ours = _rules(
        spark, baskets, shape["min_count"], min_confidence=0.301, max_consequent=max_consequent
    )
    theirs = ref.mlxtend_rules(baskets, shape["min_count"], 0.301, max_consequent=max_consequent)
    assert set(ours) == set(theirs.index)
    assert max(len(c) for _, c in ours) == max_consequent
    by_key = dict(zip(theirs.index, theirs.to_dict("records"), strict=True))
    for key, rule in ours.items():
        row = by_key[key]
        assert rule["consequent_size"] == len(key[1])
        assert rule["rule_key"] == rule_key.rule_key("all", *key)  # the reference definition
        for ours_name, theirs_name in ref.MLXTEND_METRICS.items():
            want = float(row[theirs_name])
            got = rule[ours_name]
            assert (math.isinf(got) and math.isinf(want)) or math.isclose(
                got, want, rel_tol=1e-9, abs_tol=1e-12
            ), (key, ours_name, got, want)


def test_closed_and_maximal_equal_pyfim(spark, shape) -> None:  # type: ignore[no-untyped-def]
    baskets = _baskets(shape)
    found = ref.brute_force(baskets, shape["min_count"])
    flagged = with_kinds(_itemsets_df(spark, found, len(baskets))).collect()
    assert len(flagged) == len(found)
    closed = {frozenset(r["items"]) for r in flagged if r["closed"]}
    maximal = {frozenset(r["items"]) for r in flagged if r["maximal"]}
    assert closed == ref.pyfim_itemsets_of_kind(baskets, shape["min_count"], "c")
    assert maximal == ref.pyfim_itemsets_of_kind(baskets, shape["min_count"], "m")
    assert maximal <= closed <= set(found) and maximal < set(found)


def test_select_rules_prunes_redundant_and_filters_by_adjusted_p(spark) -> None:  # type: ignore[no-untyped-def]
    shape = SHAPES["skewed"]
    baskets = _baskets(shape)
    found = ref.brute_force(baskets, shape["min_count"])
    options = RuleOptions(min_confidence=0.2, prune_redundant=True, max_p=0.01)
    every = derive_rules(
        _itemsets_df(spark, found, len(baskets)), options=options, baskets={"all": len(baskets)}
    ).cache()
    kept = select_rules(every, options).collect()
    rows = every.collect()
    expected = [r for r in rows if not r["redundant"] and r["fisher_p_adjusted"] <= 0.01]
    assert 0 < len(kept) == len(expected) < len(rows)
    # the correction counts every rule found, not only those kept
    assert {r["fisher_p_adjusted"] for r in kept} <= {r["fisher_p_adjusted"] for r in rows}
    every.unpersist()


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    baskets=st.lists(
        st.sets(st.sampled_from("abcdefg"), min_size=1, max_size=6).map(sorted),
        min_size=8,
        max_size=40,
    ),
    min_count=st.integers(min_value=2, max_value=5),
)
@example(baskets=[["a"], ["a", "b"]] * 4, min_count=2)  # an item in every basket
def test_property_rules_match_references(spark, baskets, min_count) -> None:  # type: ignore[no-untyped-def]
    """Any small basket set: multi-item rules equal mlxtend's, p-values pyfim's and
    SciPy's, improvement the brute force's, closed/maximal pyfim's."""
    found = ref.brute_force(baskets, min_count)
    n = len(baskets)
    if not any(len(s) >= 2 for s in found):
        return
    ours = _rules(spark, baskets, min_count, min_confidence=0.301, max_consequent=2)
    theirs = ref.mlxtend_rules(baskets, min_count, 0.301, max_consequent=2)
    assert set(ours) == set(theirs.index)
    tests = ref.pyfim_rule_tests(baskets, min_count, 0.301)
    for key, rule in ours.items():
        improvement, redundant = ref.improvement(found, n, *key)
        assert rule["redundant"] is redundant
        assert math.isclose(rule["improvement"], improvement, abs_tol=1e-12)
        exact = ref.fisher_greater_exact(
            rule["count"], rule["antecedent_count"], rule["consequent_count"], n
        )
        assert _close(rule["fisher_p"], exact, rel=1e-12)
        if key in tests:
            assert _close(rule["chi_squared_p"], tests[key][0])
            assert _close(rule["fisher_p"], tests[key][1], rel=1e-7)
    flagged = with_kinds(_itemsets_df(spark, found, n)).collect()
    # by the definitions: pyfim's closed sets leave out the items in every basket (hypothesis
    # found baskets [a], [a, b], ... where {a}, in all eight, is closed and pyfim omits it)
    assert {frozenset(r["items"]) for r in flagged if r["closed"]} == ref.itemsets_of_kind(
        found, "c"
    )
    assert {frozenset(r["items"]) for r in flagged if r["maximal"]} == ref.itemsets_of_kind(
        found, "m"
    )


def test_item_edges_equal_the_edges_of_the_rules(spark, shape) -> None:  # type: ignore[no-untyped-def]
    """Every antecedent item to every consequent item, counted and maxed as
    ``basket_devtools.sample_results.edge_rows`` does in Python (multi-item consequents
    included)."""
    from basket_devtools.sample_results import edge_rows
    from spark.edges import item_edges

    baskets = _baskets(shape)
    found = ref.brute_force(baskets, shape["min_count"])
    rules = derive_rules(
        _itemsets_df(spark, found, len(baskets)),
        options=RuleOptions(min_confidence=0.3, max_consequent=2),
        baskets={"all": len(baskets)},
    )
    edges = item_edges(rules)
    assert edges.columns == ITEM_EDGES.names
    got = {(r["segment"], r["source"], r["target"]): r.asDict() for r in edges.collect()}
    want = {(e["segment"], e["source"], e["target"]): e for e in edge_rows(rules.collect())}
    assert got.keys() == want.keys() and len(got) > 10
    for key, edge in got.items():
        assert edge == want[key], key
