"""Closed and maximal frequent itemsets, flagged in Spark (or in the driver, for itemsets
mined there).

An itemset is *closed* when no proper superset has the same count, and *maximal* when no
proper superset is frequent. Counts only fall as sets grow, so looking one item up is
enough: if any frequent superset has the same count, so does one with one item more. Each
itemset of k + 1 items is expanded into its k subsets of k items (one join, no collect).
With ``mining.max_size`` the largest sets have no mined supersets: they count as closed
and maximal within that limit, as pyfim's ``zmax`` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
    from pyspark.sql import DataFrame

ItemsetKind = Literal["all", "closed", "maximal"]


def with_kinds(itemsets: DataFrame) -> DataFrame:
    """``itemsets`` (segment, items, size, count, support) plus ``closed`` and
    ``maximal``."""
    from pyspark.sql import functions as F

    one_less = (
        itemsets.where(F.col("size") >= 2)
        .select(
            F.col("segment").alias("_seg"),
            F.col("count").alias("_super_count"),
            F.explode(F.transform("items", lambda x: F.array_remove("items", x))).alias("_sub"),
        )
        .groupBy("_seg", "_sub")
        .agg(F.max("_super_count").alias("_best_super"))
    )
    joined = itemsets.join(
        one_less,
        (F.col("segment") == F.col("_seg")) & (F.col("items") == F.col("_sub")),
        "left",
    )
    return joined.select(
        *itemsets.columns,
        (F.col("_best_super").isNull() | (F.col("_best_super") < F.col("count"))).alias("closed"),
        F.col("_best_super").isNull().alias("maximal"),
    )


def keep(itemsets: DataFrame, kind: ItemsetKind) -> DataFrame:
    """The itemsets of one kind (flagged by :func:`with_kinds`)."""
    from pyspark.sql import functions as F

    if kind == "all":
        return itemsets
    if kind not in ("closed", "maximal"):
        raise ValueError(f"unknown itemset kind {kind!r}: all, closed or maximal")
    return itemsets.where(F.col(kind))


def with_kinds_table(itemsets: pa.Table) -> pa.Table:
    """:func:`with_kinds` on ``MINED_ITEMSETS`` rows held in the driver as Arrow: the same
    flags (one item less, the largest count among the supersets), in the ``ITEMSETS``
    columns as declared. A few thousand itemsets take milliseconds here; over Spark
    Connect the join, its upload and the result's fetch took 0.15-0.4 s of a warm mine."""
    import pyarrow as pa

    from basket_core.schemas import ITEMSETS, arrow_schema

    segments = itemsets.column("segment").to_pylist()
    item_lists = itemsets.column("items").to_pylist()
    counts = itemsets.column("count").to_pylist()
    best_super: dict[tuple[str, tuple[str, ...]], int] = {}
    for segment, items, count in zip(segments, item_lists, counts, strict=True):
        if len(items) < 2:
            continue
        for i in range(len(items)):
            key = (segment, (*items[:i], *items[i + 1 :]))
            if best_super.get(key, -1) < count:
                best_super[key] = count
    supers = [
        best_super.get((segment, tuple(items)))
        for segment, items in zip(segments, item_lists, strict=True)
    ]
    closed = [s is None or s < c for s, c in zip(supers, counts, strict=True)]
    maximal = [s is None for s in supers]
    schema = arrow_schema(ITEMSETS)
    columns = [itemsets.column(name) for name in schema.names[:-2]]
    return pa.Table.from_arrays(
        [*columns, pa.array(closed, pa.bool_()), pa.array(maximal, pa.bool_())], schema=schema
    )
