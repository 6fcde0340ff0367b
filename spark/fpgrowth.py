"""Frequent itemsets with Spark MLlib FP-Growth, per segment."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from basket_core.schemas import ITEMSETS

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame


def min_count(min_support: float, n_baskets: int) -> int:
    """Smallest basket count that meets ``min_support``: ``ceil(min_support * n)``, computed
    so that float noise (``0.07 * 100 = 7.000000000000001``) does not move the threshold.
    An itemset is frequent when its count is at least this."""
    if not 0.0 < min_support <= 1.0:
        raise ValueError(f"min_support must be in (0, 1], got {min_support}")
    return max(1, math.ceil(round(min_support * n_baskets, 9)))


def mine_segment(
    baskets: DataFrame,
    *,
    segment: str,
    n_baskets: int,
    min_support: float,
    max_size: int | None = None,
    partitions: int | None = None,
) -> DataFrame:
    """FP-Growth over one segment's baskets (column ``items``: distinct items).

    Returns ``ITEMSETS`` columns. MLlib has no length limit, so ``max_size`` filters.
    """
    from pyspark.ml.fpm import FPGrowth
    from pyspark.sql import functions as F

    if max_size is not None and max_size < 1:
        raise ValueError(f"max_size must be >= 1, got {max_size}")
    # MLlib keeps counts >= ceil(minSupport * n); aim between two integers so that
    # its float arithmetic lands exactly on min_count.
    threshold = (min_count(min_support, n_baskets) - 0.5) / n_baskets
    fp = FPGrowth(itemsCol="items", minSupport=threshold)
    if partitions:
        fp = fp.setNumPartitions(partitions)
    found = fp.fit(baskets.select("items")).freqItemsets
    out = found.select(
        F.lit(segment).alias("segment"),
        F.array_sort("items").alias("items"),
        F.size("items").alias("size"),
        F.col("freq").cast("bigint").alias("count"),
        (F.col("freq") / F.lit(float(n_baskets))).alias("support"),
    )
    if max_size is not None:
        out = out.where(F.col("size") <= max_size)
    return out.select(*ITEMSETS.names)
