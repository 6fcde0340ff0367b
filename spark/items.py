"""Basket and item counts per segment, counted once in Spark and shared by the run report
(baskets, distinct items) and the miner (thresholds, vocabulary, memory estimate).

One pass over the baskets (``posexplode``: the first position of each basket counts the
basket, every position counts its item), grouped by (segment, item), then by segment; one
collect brings back, per segment:

* the basket count, the number of distinct items and of item occurrences;
* the items that may be frequent (``count >= min_support * n - 1``, a bound below every
  exact threshold, so :func:`spark.pfp.vocabulary` applies the exact
  :func:`spark.fpcommon.min_count` in Python) with their counts.

With several segments, the distinct items over all of them take one more (small) query
over the cached (segment, item) counts. Only these counts reach the driver, never the
baskets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from spark.arrow_rows import to_arrow
from spark.fpcommon import check_min_support

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame


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
    """Counts of ``baskets`` (``segment``, ``items`` of distinct items); one Spark job for
    a single segment."""
    from pyspark.sql import functions as F

    check_min_support(min_support)
    exploded = baskets.select("segment", F.posexplode_outer("items").alias("pos", "item"))
    counted = (
        exploded.groupBy("segment", "item")
        .agg(
            F.count(F.lit(1)).alias("count"),
            # one row per basket has pos 0 (or null: an empty basket)
            F.count_if(F.coalesce(F.col("pos") == 0, F.lit(True))).alias("firsts"),
        )
        .persist()
    )
    known = F.col("item").isNotNull()
    per_segment = (
        counted.groupBy("segment")
        .agg(
            F.sum("firsts").alias("n"),
            F.count_if(known).alias("distinct"),
            F.coalesce(F.sum(F.when(known, F.col("count"))), F.lit(0)).alias("occurrences"),
            F.collect_list(F.when(known, F.struct("item", "count"))).alias("pairs"),
        )
        .select(
            "segment",
            "n",
            "distinct",
            "occurrences",
            F.filter("pairs", lambda p: p["count"] >= F.lit(min_support) * F.col("n") - 1).alias(
                "candidates"
            ),
        )
    )
    try:
        rows = to_arrow(per_segment).to_pylist()
        if len(rows) > 1:
            total = counted.where(known).select("item").distinct().count()
        else:
            total = int(rows[0]["distinct"]) if rows else 0
    finally:
        counted.unpersist()
    return from_rows(rows, total)


def from_rows(rows: list[dict[str, Any]], distinct_items: int) -> ItemCounts:
    """Assemble :class:`ItemCounts` from the collected per-segment rows (pure)."""
    segments = {
        str(r["segment"]): SegmentItems(
            str(r["segment"]),
            _int(r["n"]),
            _int(r["distinct"]),
            _int(r["occurrences"]),
            tuple((str(p["item"]), _int(p["count"])) for p in r["candidates"] or ()),
        )
        for r in rows
    }
    return ItemCounts(segments, distinct_items)


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | float) else 0
