"""Frequent itemsets with Spark MLlib FP-Growth, per segment."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spark.fpcommon import as_itemsets, check_max_size, min_count

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame


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

    check_max_size(max_size)
    # MLlib keeps counts >= ceil(minSupport * n); aim between two integers so that
    # its float arithmetic lands exactly on min_count.
    threshold = (min_count(min_support, n_baskets) - 0.5) / n_baskets
    fp = FPGrowth(itemsCol="items", minSupport=threshold)
    if partitions:
        fp = fp.setNumPartitions(partitions)
    found = fp.fit(baskets.select("items")).freqItemsets
    out = as_itemsets(
        found,
        segment=F.lit(segment),
        count=F.col("freq").cast("bigint"),
        n_baskets=F.lit(float(n_baskets)),
    )
    if max_size is not None:
        out = out.where(F.col("size") <= max_size)
    return out
