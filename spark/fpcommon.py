"""What every FP-growth engine shares: the threshold, the checks of the mining options and
the ``MINED_ITEMSETS`` result (its columns, and the empty result).

The MLlib engine (:mod:`spark.fpgrowth`), Parallel FP-Growth (:mod:`spark.pfp`) and the
item counts (:mod:`spark.items`) all take the threshold and the output shape from here,
so every engine finds the same itemsets and returns them in the same columns.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from basket_core.schemas import MINED_ITEMSETS, spark_schema

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
    from pyspark.sql import Column, DataFrame, SparkSession


def check_min_support(min_support: float) -> None:
    if not 0.0 < min_support <= 1.0:
        raise ValueError(f"min_support must be in (0, 1], got {min_support}")


def check_max_size(max_size: int | None) -> None:
    if max_size is not None and max_size < 1:
        raise ValueError(f"max_size must be >= 1, got {max_size}")


def min_count(min_support: float, n_baskets: int) -> int:
    """Smallest basket count that meets ``min_support``: ``ceil(min_support * n)``, computed
    so that float noise (``0.07 * 100 = 7.000000000000001``) does not move the threshold.
    An itemset is frequent when its count is at least this."""
    check_min_support(min_support)
    return max(1, math.ceil(round(min_support * n_baskets, 9)))


def as_itemsets(
    found: DataFrame, *, segment: Column, count: Column, n_baskets: Column
) -> DataFrame:
    """Found itemsets (a column ``items``) as the ``ITEMSETS`` columns: items sorted, their
    number, the basket count and ``support = count / n_baskets``."""
    from pyspark.sql import functions as F

    return found.select(
        segment.alias("segment"),
        F.array_sort("items").alias("items"),
        F.size("items").alias("size"),
        count.alias("count"),
        (count / n_baskets).alias("support"),
    ).select(*MINED_ITEMSETS.names)


def as_itemsets_table(found: pa.Table) -> pa.Table:
    """:func:`as_itemsets` on found itemsets held in the driver (``segment``, ``items``,
    ``count``, ``n_baskets``): the same values, in the ``MINED_ITEMSETS`` columns as
    declared."""
    import numpy as np
    import pyarrow as pa

    from basket_core.schemas import arrow_schema

    items = [sorted(found_items) for found_items in found.column("items").to_pylist()]
    count = found.column("count").to_numpy().astype(np.int64)
    n_baskets = found.column("n_baskets").to_numpy().astype(np.float64)
    return pa.Table.from_arrays(
        [
            found.column("segment"),
            pa.array(items, pa.list_(pa.string())),
            pa.array([len(i) for i in items], pa.int32()),
            pa.array(count, pa.int64()),
            pa.array(count.astype(np.float64) / n_baskets, pa.float64()),
        ],
        schema=arrow_schema(MINED_ITEMSETS),
    )


def empty_itemsets(spark: SparkSession) -> DataFrame:
    """The result of a run that finds nothing: no rows, the ``ITEMSETS`` columns."""
    return spark.createDataFrame([], spark_schema(MINED_ITEMSETS))
