"""Which miner finds the frequent itemsets: ``auto``, ``pfp`` or ``mllib``.

* ``pfp``: Parallel FP-Growth with pyfim mining each group (:mod:`spark.pfp`), all
  segments in one pass; ``mining.groups`` groups per segment, or as many as the cores
  (and the ``mining.group_memory_mb`` budget) call for.
* ``auto``: ``pfp``, with a single group for a segment whose encoded baskets fit
  comfortably in one group's memory budget (no conditional copies, one pyfim call),
  more groups otherwise.
* ``mllib``: Spark MLlib ``FPGrowth`` per segment (:func:`spark.fpgrowth.mine_segment`),
  kept as the reference.

Every engine returns the same ``ITEMSETS`` columns with the same threshold
(``count >= min_count(min_support, n)``), so rules and outputs do not depend on it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from basket_core.config import MiningConfig
from spark.explosion import ExplosionGuard
from spark.fpcommon import min_count

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
    from pyspark.sql import DataFrame

    from spark.items import ItemCounts

ENGINES = ("auto", "pfp", "mllib")


@dataclass
class Mined:
    """The itemsets (lazy Spark DataFrame) and how they were found."""

    itemsets: DataFrame
    engine: str
    details: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    table: pa.Table | None = None
    """The itemsets (``MINED_ITEMSETS``) when they were mined in the driver."""


def resolve_engine(requested: str) -> str:
    """The engine that runs: ``pfp`` or ``mllib``."""
    if requested not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {requested!r}")
    return "mllib" if requested == "mllib" else "pfp"


def mine_itemsets(
    baskets: DataFrame,
    n_by_segment: dict[str, int],
    mining: MiningConfig,
    counts: ItemCounts | None = None,
) -> Mined:
    """Frequent itemsets of the listed segments of ``baskets`` (``segment``, ``items``).
    ``counts``: the item counts of ``baskets`` if already known (counted here otherwise).

    A segment sure to find more than ``mining.max_itemsets`` itemsets is refused before
    it is mined (:mod:`spark.explosion`); the ``pfp`` engine's driver path checks the
    baskets it fetched, with no Spark job of its own."""
    engine = resolve_engine(mining.engine)
    if not n_by_segment:
        raise ValueError("no segments to mine")
    guard = ExplosionGuard(mining.max_itemsets, mining.min_support, mining.max_size)
    if engine == "mllib":
        _check_explosion(baskets, n_by_segment, mining, counts, guard)
        return _mine_mllib(baskets, n_by_segment, mining)
    return _mine_pfp(baskets, n_by_segment, mining, counts, guard)


def _check_explosion(
    baskets: DataFrame,
    n_by_segment: dict[str, int],
    mining: MiningConfig,
    counts: ItemCounts | None,
    guard: ExplosionGuard,
) -> None:
    """The guard for an engine that mines in Spark: one pass over the baskets, skipped
    when the frequent items alone cannot make too many itemsets."""
    from spark.items import count_items

    counts = counts or count_items(baskets, mining.min_support)
    frequent: dict[str, tuple[int, frozenset[str]]] = {}
    for seg, n in n_by_segment.items():
        threshold = min_count(mining.min_support, n)
        counted = counts.segments[seg].candidates
        frequent[seg] = (threshold, frozenset(i for i, c in counted if c >= threshold))
    guard.check_baskets(baskets, frequent)


def _mine_mllib(baskets: DataFrame, n_by_segment: dict[str, int], mining: MiningConfig) -> Mined:
    from spark.fpgrowth import mine_segment

    parts = [
        mine_segment(
            baskets.where(baskets.segment == seg),
            segment=seg,
            n_baskets=n,
            min_support=mining.min_support,
            max_size=mining.max_size,
            partitions=mining.partitions,
        )
        for seg, n in n_by_segment.items()
    ]
    itemsets = parts[0]
    for p in parts[1:]:
        itemsets = itemsets.unionByName(p)
    return Mined(itemsets, "mllib", {"requested": mining.engine})


def _mine_pfp(
    baskets: DataFrame,
    n_by_segment: dict[str, int],
    mining: MiningConfig,
    counts: ItemCounts | None,
    guard: ExplosionGuard,
) -> Mined:
    from spark.pfp import mine_pfp
    from spark.session import default_parallelism, master

    t0 = time.perf_counter()
    spark = baskets.sparkSession
    run = mine_pfp(
        baskets,
        n_by_segment,
        min_support=mining.min_support,
        max_size=mining.max_size,
        groups=mining.groups,
        group_memory_mb=mining.group_memory_mb,
        parallelism=default_parallelism(spark),
        allow_single=mining.engine == "auto",
        local_master=master(spark).startswith("local"),
        counts=counts,
        guard=guard,
    )
    details = {
        "requested": mining.engine,
        "frequent_items": sum(run.vocab_sizes.values()),
        **run.plan.describe(),
    }
    timings = {"mine_prepare_s": round(time.perf_counter() - t0, 3), **run.timings}
    return Mined(run.itemsets, "pfp", details, timings, run.table)
