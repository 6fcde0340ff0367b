"""The itemset-explosion guard: the bounds hold against the miner's real output, and a run
sure to explode is refused before mining with a message that says what to change."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import Any

import pytest

from basket_core.errors import OptionError
from spark.explosion import (
    bounds_from_counts,
    bounds_from_lists,
    guard,
    itemset_bounds,
    subsets,
)


def test_subsets_counts_nonempty_subsets_up_to_the_size_limit() -> None:
    assert subsets(3, None) == 7
    assert subsets(30, None) == 2**30 - 1
    assert subsets(5, 2) == 5 + 10
    assert subsets(2, 5) == 3


def _brute_force(baskets: list[set[str]], min_count: int, max_size: int | None) -> int:
    items = sorted(set().union(*baskets))
    found = 0
    for size in range(1, (max_size or len(items)) + 1):
        for combo in combinations(items, size):
            if sum(1 for b in baskets if set(combo) <= b) >= min_count:
                found += 1
    return found


@pytest.mark.parametrize(("min_count", "max_size"), [(1, None), (2, None), (3, 2), (5, None)])
def test_bounds_bracket_the_true_count(spark: Any, min_count: int, max_size: int | None) -> None:
    import random

    rng = random.Random(min_count * 31 + (max_size or 0))
    vocabulary = [f"i{n}" for n in range(12)]
    baskets = [set(rng.sample(vocabulary, rng.randint(1, 8))) for _ in range(40)]
    counts = {i: sum(i in b for b in baskets) for i in vocabulary}
    frequent = frozenset(i for i, c in counts.items() if c >= min_count)
    df = spark.createDataFrame(
        [("", sorted(b)) for b in baskets], "segment string, items array<string>"
    )
    (b,) = itemset_bounds(df, {"": (min_count, frequent)}, max_size)
    true = _brute_force(baskets, min_count, max_size)
    assert b.lower <= true <= b.upper, (b, true)
    assert b.frequent_items == len(frequent)
    # the driver path's bounds, from the same baskets cut down to frequent item ids
    ids = {item: n for n, item in enumerate(sorted(frequent))}
    cut = [[ids[i] for i in sorted(basket) if i in ids] for basket in baskets]
    held = bounds_from_lists("", min_count, len(frequent), cut, max_size)
    assert held.lower <= true <= held.upper, (held, true)
    # the same histogram; the shared items may differ only by which of equally large
    # baskets were taken
    assert (held.upper, held.largest_basket) == (b.upper, b.largest_basket)


def test_one_huge_basket_at_min_count_one_is_refused_before_mining(
    spark: Any, settings: Any, tmp_path: Path
) -> None:
    """300 ordinary lines plus one 30-item basket at min support 0.01 (min count 1): 2^30 itemsets."""
    from click.testing import CliRunner

    from basket.cli import main

    lines = ["InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,StoreID"]
    for tx in range(65):
        for n in range(4):
            lines.append(f"T{tx},S{n},item {(tx + n) % 9},1,2026-11-01 10:00:00,1.0,C1,S1")
    lines += [f"BIG,S{n},big item {n},1,2026-11-01 11:00:00,1.0,C2,S1" for n in range(30)]
    csv = tmp_path / "pos.csv"
    csv.write_text("\n".join(lines) + "\n")
    settings.paths.output_dir.mkdir(parents=True, exist_ok=True)
    result = CliRunner().invoke(
        main,
        ["mine", "-i", str(csv), "--min-support", "0.01", "-o", str(tmp_path / "out")],
        obj=settings,
    )
    assert result.exit_code == 2, result.output
    last = result.output.strip().splitlines()[-1]
    assert "at least 1,073,741,823 itemsets" in last and "--min-support" in last
    assert not (tmp_path / "out" / "itemsets").exists()


def test_guard_lets_a_bounded_run_through_and_names_the_segment() -> None:
    ok = bounds_from_counts("", 10, 50, {5: 1000}, 2, None)
    guard([ok], max_itemsets=5_000_000, min_support=0.01)
    bad = bounds_from_counts("France", 1, 40, {25: 1, 3: 10}, 25, None)
    with pytest.raises(OptionError, match="in segment 'France'"):
        guard([bad], max_itemsets=1_000_000, min_support=0.001)
    capped = bounds_from_counts("France", 1, 40, {25: 1, 3: 10}, 25, 2)
    guard([capped], max_itemsets=1_000_000, min_support=0.001)  # --max-size 2: 325 sets


@pytest.mark.parametrize(
    "knobs",
    [
        {"engine": "auto"},  # the driver path: bounds from the baskets it fetched
        {"engine": "pfp", "groups": 2},  # one Spark pass before the groups are mined
        {"engine": "mllib"},
    ],
    ids=["driver", "groups", "mllib"],
)
def test_every_engine_refuses_a_run_sure_to_explode(spark: Any, knobs: dict[str, Any]) -> None:
    """Ten baskets holding the same 20 items at min count 5: 2^20 - 1 itemsets for sure."""
    from basket_core.config import MiningConfig
    from spark.engine import mine_itemsets

    items = [f"item {n}" for n in range(20)]
    rows = [("all", items)] * 10 + [("all", [f"other {n}"]) for n in range(10)]
    df = spark.createDataFrame(rows, "segment string, items array<string>")
    mining = MiningConfig(min_support=0.25, max_itemsets=100_000, **knobs)
    with pytest.raises(OptionError, match="at least 1,048,575 itemsets"):
        mine_itemsets(df, {"all": 20}, mining)
    # the same baskets with --max-size 2: 210 itemsets, let through and mined
    capped = MiningConfig(min_support=0.25, max_itemsets=100_000, max_size=2, **knobs)
    assert mine_itemsets(df, {"all": 20}, capped).itemsets.count() == 20 + 190


def test_an_unbounded_but_possible_run_goes_on_with_one_clear_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loose = bounds_from_counts("", 10, 40, {30: 1, 3: 1000}, 3, None)
    assert loose.lower <= 5_000_000 < loose.upper
    with caplog.at_level("WARNING", logger="spark.explosion"):
        guard([loose], max_itemsets=5_000_000, min_support=0.01)  # not refused
    (record,) = caplog.records
    message = record.getMessage()
    assert "mining goes on" in message and "5,000,000" in message
    assert f"between {loose.lower:,} and {loose.upper:,}" in message
    assert "30 frequent items" in message and "--min-support" in message
