"""Basket and item counts per segment, counted once in Spark and shared by the run report
(baskets, distinct items) and the miner (thresholds, vocabulary, memory estimate).

One pass over the baskets: the counts of every (segment, item) are computed once (and
cached: Spark would not reuse that exchange across the three uses), then one collect
brings three small results back together:

* per segment, the basket count, the number of distinct items and of item occurrences;
* per segment, the items that may be frequent (``count >= min_support * n - 1``, a bound
  below every exact threshold, so :func:`spark.pfp.vocabulary` applies the exact
  :func:`spark.fpgrowth.min_count` in Python);
* the number of distinct items over all segments.

Only these reach the driver: a few rows per frequent item, never the baskets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame

_SUMMARY = "summary"
_ITEM = "item"
_TOTAL = "total"


@dataclass(frozen=True)
class SegmentItems:
    """One segment's counts (``candidates``: items that may meet the threshold)."""

    segment: str
    n_baskets: int
    distinct_items: int
    occurrences: int
    candidates: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class ItemCounts:
    segments: dict[str, SegmentItems]
    distinct_items: int
    """Distinct items over all segments."""

    @property
    def baskets(self) -> dict[str, int]:
        return {s: v.n_baskets for s, v in self.segments.items()}


def count_items(baskets: DataFrame, min_support: float) -> ItemCounts:
    """Counts of ``baskets`` (``segment``, ``items`` of distinct items) in one Spark job."""
    from pyspark.sql import functions as F

    if not 0.0 < min_support <= 1.0:
        raise ValueError(f"min_support must be in (0, 1], got {min_support}")
    n = baskets.groupBy("segment").agg(F.count(F.lit(1)).alias("n"))
    # small (segments x distinct items) and read three times below: computed once
    counted = (
        baskets.select("segment", F.explode("items").alias("item"))
        .groupBy("segment", "item")
        .count()
        .persist()
    )
    summary = (
        counted.groupBy("segment")
        .agg(
            F.count(F.lit(1)).alias("distinct"),
            F.sum("count").alias("occurrences"),
        )
        .join(n, "segment", "right")
        .select(
            F.lit(_SUMMARY).alias("kind"),
            "segment",
            F.lit(None).cast("string").alias("item"),
            F.col("n").alias("count"),
            F.coalesce("distinct", F.lit(0)).alias("distinct"),
            F.coalesce("occurrences", F.lit(0)).alias("occurrences"),
        )
    )
    candidates = (
        counted.join(F.broadcast(n), "segment")
        .where(F.col("count") >= F.lit(min_support) * F.col("n") - 1)
        .select(
            F.lit(_ITEM).alias("kind"),
            "segment",
            "item",
            "count",
            F.lit(None).cast("bigint").alias("distinct"),
            F.lit(None).cast("bigint").alias("occurrences"),
        )
    )
    total = counted.agg(F.countDistinct("item").alias("distinct")).select(
        F.lit(_TOTAL).alias("kind"),
        F.lit(None).cast("string").alias("segment"),
        F.lit(None).cast("string").alias("item"),
        F.lit(None).cast("bigint").alias("count"),
        "distinct",
        F.lit(None).cast("bigint").alias("occurrences"),
    )
    try:
        counted.count()  # materialise once, before the three readers run
        table = summary.unionByName(candidates).unionByName(total).toArrow()
    finally:
        counted.unpersist()
    return from_rows(table.to_pylist())


def from_rows(rows: list[dict[str, object]]) -> ItemCounts:
    """Assemble :class:`ItemCounts` from the collected rows (pure; see :func:`count_items`)."""
    found: dict[str, list[tuple[str, int]]] = {}
    summaries: dict[str, tuple[int, int, int]] = {}
    total = 0
    for r in rows:
        kind, segment = r["kind"], str(r["segment"])
        if kind == _SUMMARY:
            summaries[segment] = (_int(r["count"]), _int(r["distinct"]), _int(r["occurrences"]))
        elif kind == _ITEM:
            found.setdefault(segment, []).append((str(r["item"]), _int(r["count"])))
        else:
            total = _int(r["distinct"])
    segments = {
        s: SegmentItems(s, n, d, o, tuple(found.get(s, ()))) for s, (n, d, o) in summaries.items()
    }
    return ItemCounts(segments, total)


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | float) else 0
