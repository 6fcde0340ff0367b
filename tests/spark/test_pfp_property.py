"""Property test: on random basket sets and thresholds, every engine finds exactly the
brute-force itemsets, and the rules derived from them agree to 1e-9.

Thresholds include supports exactly at an itemset's count, baskets of a single item,
results that are empty, several segments, and item names with commas, quotes, spaces
and non-ASCII characters."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from basket_core.config import MiningConfig
from spark.engine import mine_itemsets
from spark.fpcommon import min_count
from spark.rules import derive_rules
from tests import reference as ref

NAMES = ["a", "b,c", 'say "hi"', "crème brûlée", "日本", " x ", "'", 'z,"q"']
ENGINES = {
    "mllib": {"engine": "mllib"},
    "auto": {"engine": "auto"},  # one group, mined in the driver (local master)
    "pfp-1": {"engine": "pfp", "groups": 1},  # one group, mined on an executor
    "pfp-3": {"engine": "pfp", "groups": 3},
}

baskets_st = st.lists(
    st.lists(st.sampled_from(NAMES), min_size=1, max_size=6, unique=True).map(sorted),
    min_size=1,
    max_size=30,
)


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[str, list[list[str]]], float]:
    """Segments of baskets and a min support; the support often equals an observed count
    exactly (an itemset right at the threshold), sometimes exceeds every count (empty)."""
    segments = {f"s{i}": draw(baskets_st) for i in range(draw(st.integers(1, 2)))}
    first = next(iter(segments.values()))
    n = len(first)
    seen = sorted(Counter(i for b in first for i in b).values())
    k = draw(st.one_of(st.sampled_from(seen), st.integers(1, n)))
    return segments, k / n


def _itemsets(df: Any) -> dict[tuple[str, frozenset[str]], int]:
    return {(r["segment"], frozenset(r["items"])): r["count"] for r in df.collect()}


def _rules(df: Any) -> dict[tuple[str, tuple[str, ...], tuple[str, ...]], tuple[float, ...]]:
    metrics = [c for c in df.columns if c not in ("segment", "antecedent", "consequent")]
    return {
        (r["segment"], tuple(r["antecedent"]), tuple(r["consequent"])): tuple(
            float(r[m]) for m in metrics
        )
        for r in df.collect()
    }


def _close(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(
        (math.isinf(x) and math.isinf(y)) or x == pytest.approx(y, abs=1e-9, rel=0)
        for x, y in zip(a, b, strict=True)
    )


def _engines_agree(spark, case) -> None:  # type: ignore[no-untyped-def]
    segments, min_support = case
    rows = [(seg, b) for seg, bs in segments.items() for b in bs]
    df = spark.createDataFrame(rows, "segment string, items array<string>").cache()
    n_by_segment = {seg: len(bs) for seg, bs in segments.items()}
    expected = {
        (seg, items): count
        for seg, bs in segments.items()
        for items, count in ref.brute_force(bs, min_count(min_support, len(bs))).items()
    }
    rules = {}
    for name, knobs in ENGINES.items():
        mining = MiningConfig(min_support=min_support, **knobs)  # type: ignore[arg-type]
        found = mine_itemsets(df, n_by_segment, mining).itemsets.cache()
        assert _itemsets(found) == expected, name
        rules[name] = _rules(derive_rules(found, min_confidence=0.01))
        found.unpersist()
    df.unpersist()
    base = rules.pop("mllib")
    for name, other in rules.items():
        assert set(other) == set(base), name
        assert all(_close(other[k], base[k]) for k in base), name


PROPERTY = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}


@settings(max_examples=4, **PROPERTY)  # type: ignore[arg-type]
@given(case=cases())
def test_engines_agree_with_brute_force(spark, case) -> None:  # type: ignore[no-untyped-def]
    _engines_agree(spark, case)


@pytest.mark.slow
@settings(max_examples=40, **PROPERTY)  # type: ignore[arg-type]
@given(case=cases())
def test_engines_agree_with_brute_force_soak(spark, case) -> None:  # type: ignore[no-untyped-def]
    _engines_agree(spark, case)
