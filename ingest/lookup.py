"""The lookup of stored ``lines`` rows for a classified micro-batch: one aggregate gives
the batch's event dates, transaction id ranges and counts (:func:`batch_stats`); the
table is read only within those (:func:`stored_matches`), and accepted lines already
stored are dropped, or marked ``duplicate`` when stored under another key
(:func:`drop_stored`).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import reduce
from typing import TYPE_CHECKING, Any

from ingest.dedup import HASH, RAW_KEY, mark_duplicate
from ingest.tables import PARTITION
from spark.clean import REASON

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import Column, DataFrame

ID_SUFFIX = 4
"""A batch's transaction ids are grouped by all but their last ``ID_SUFFIX`` characters;
each group gives one id range for the lookup (:func:`id_ranges`)."""
MAX_ID_RANGES = 32


def date_filter(dates: Sequence[object], col: str = f"t.{PARTITION}") -> str:
    """A literal partition filter so the lookup reads only the batch's event dates."""
    parts = []
    known = sorted(str(d) for d in dates if d is not None)
    if known:
        literals = ", ".join(f"DATE'{d}'" for d in known)
        parts.append(f"{col} IN ({literals})")
    if any(d is None for d in dates):
        parts.append(f"{col} IS NULL")
    return "(" + " OR ".join(parts) + ")" if parts else "FALSE"


@dataclass(frozen=True)
class BatchStats:
    dates: list[Any]
    """Event dates of the accepted lines (may hold None)."""
    accepted: int
    rejected: int
    id_ranges: tuple[tuple[str, str], ...] = ()
    """Sorted, disjoint ``(lo, hi)`` ranges holding every accepted transaction id."""
    rejected_by_reason: dict[str, int] = field(default_factory=dict)


def id_prefix(col: str = "transaction_id") -> Column:
    """All but the last :data:`ID_SUFFIX` characters of an id (``""`` for short ids)."""
    from pyspark.sql import functions as F

    return F.expr(f"substring({col}, 1, greatest(char_length({col}) - {ID_SUFFIX}, 0))")


def batch_stats(df: DataFrame) -> BatchStats:
    from pyspark.sql import functions as F

    rows = (
        df.groupBy(
            F.col(REASON).alias("reason"),
            F.col(PARTITION).alias("d"),
            F.when(F.col(REASON).isNull(), id_prefix()).alias("p"),
        )
        .agg(
            F.count(F.lit(1)).alias("n"),
            F.min("transaction_id").alias("lo"),
            F.max("transaction_id").alias("hi"),
        )
        .collect()
    )
    return _stats(rows)


def _prefix(tx: str) -> str:
    return tx[: max(len(tx) - ID_SUFFIX, 0)]


def _next_prefix(prefix: str) -> str | None:
    """The prefix right after ``prefix`` when it ends in digits (``T0019`` -> ``T0020``):
    ids of two such groups are contiguous. None when it has no digits or would widen."""
    stem = prefix.rstrip("0123456789")
    digits = prefix[len(stem) :]
    if not digits:
        return None
    following = str(int(digits) + 1).zfill(len(digits))
    return stem + following if len(following) == len(digits) else None


def id_ranges(
    ranges: Sequence[tuple[str, str]], limit: int = MAX_ID_RANGES
) -> tuple[tuple[str, str], ...]:
    """Sorted, disjoint ranges covering ``ranges`` (one per id prefix group): overlapping
    ones and those of consecutive numeric prefixes (contiguous ids) merged, then, over
    ``limit``, neighbours merged into ``limit`` runs. A batch from two tills with their
    own invoice numbers gives two ranges, so the lookup does not read every stored id in
    between (it reads what the ranges cover: a gap inside one range is read too)."""
    merged: list[tuple[str, str]] = []
    for lo, hi in sorted(ranges):
        if merged and (lo <= merged[-1][1] or _prefix(lo) == _next_prefix(_prefix(merged[-1][1]))):
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    if len(merged) <= limit:
        return tuple(merged)
    size = -(-len(merged) // limit)
    runs = [merged[i : i + size] for i in range(0, len(merged), size)]
    return tuple((run[0][0], max(hi for _, hi in run)) for run in runs)


def _stats(rows: Sequence[Any]) -> BatchStats:
    """From rows ``reason, d, p, n, lo, hi`` (one per reason (null: accepted), event date
    and, for accepted lines, id prefix)."""
    good = [r for r in rows if r["reason"] is None]
    by_reason: dict[str, int] = {}
    for r in rows:
        if r["reason"] is not None:
            by_reason[r["reason"]] = by_reason.get(r["reason"], 0) + r["n"]
    return BatchStats(
        dates=list(dict.fromkeys(r["d"] for r in good)),
        accepted=sum(r["n"] for r in good),
        rejected=sum(by_reason.values()),
        id_ranges=id_ranges([(r["lo"], r["hi"]) for r in good if r["lo"] is not None]),
        rejected_by_reason=by_reason,
    )


def stored_matches(
    batch: DataFrame, table: DataFrame, stats: BatchStats, deduplicate: bool
) -> DataFrame:
    """``(_k, _present)`` for accepted batch lines that meet the table: ``_present`` when
    their key is stored, else (``deduplicate``) an identical line is stored under another
    key. Reads only the batch's dates and transaction id ranges of the table."""
    from pyspark.sql import functions as F

    where = F.expr(date_filter(stats.dates, PARTITION))
    if stats.id_ranges:
        tx = F.col("transaction_id")
        ranges = [tx.between(F.lit(lo), F.lit(hi)) for lo, hi in stats.id_ranges]
        where = where & reduce(operator.or_, ranges)
    stored = table.where(where).select(
        "transaction_id", F.col("line_key").alias("_tk"), F.col("line_hash").alias("_th")
    )
    mine = batch.where(F.col(REASON).isNull()).select(
        "transaction_id", F.col(f"`{RAW_KEY}`").alias("_k"), F.col(HASH).alias("_h")
    )
    same_key = F.col("_tk") == F.col("_k")
    meet = same_key | (F.col("_th") == F.col("_h")) if deduplicate else same_key
    # No broadcast hint: once files are skipped by the id ranges, the stored side is the
    # small one in steady state, and collecting a whole batch's keys to broadcast them
    # costs more than the join; the planner picks from the (pruned) size estimates.
    return (
        stored.join(mine, "transaction_id")
        .where(meet)
        .groupBy("_k")
        .agg(F.max(same_key).alias("_present"))
    )


@dataclass
class Lookup:
    """What a lookup (:meth:`ingest.sink.DeltaSink._lookup`) found: ``hits`` (cached; None
    without accepted lines) has ``n_hits`` rows, ``n_present`` of them keys already stored."""

    hits: DataFrame | None
    n_hits: int
    n_present: int

    def release(self) -> None:
        """Free the hits' blocks: they are a local checkpoint (:meth:`ingest.sink.DeltaSink.
        _lookup`), which ``unpersist`` does not reach; its RDD holds them."""
        if self.hits is not None:
            plan = self.hits._jdf.queryExecution().logical()
            if plan.getClass().getSimpleName() == "LogicalRDD":
                plan.rdd().unpersist(False)
            self.hits.unpersist()
            self.hits = None


def recount(marked: DataFrame, found: Lookup) -> tuple[BatchStats, Lookup]:
    """The counts of a batch after the in-batch duplicate check (:func:`ingest.dedup.
    dedup_within_batch`), from the lookup made before it, in one aggregation.

    A stored match depends on the line alone, not on the other lines of the batch, so the
    hits found for every accepted line still hold for those the check left accepted: only
    the counts change, and a second lookup of the table is not needed."""
    from pyspark.sql import functions as F

    ok = F.col(REASON).isNull()
    if found.hits is not None:
        key = F.col(f"`{RAW_KEY}`")
        joined = marked.join(F.broadcast(found.hits), ok & (key == F.col("_k")), "left")
    else:
        joined = marked.withColumn("_k", F.lit(None).cast("string")).withColumn(
            "_present", F.lit(None).cast("boolean")
        )
    rows = (
        joined.groupBy(F.col(REASON).alias("reason"))
        .agg(
            F.count(F.lit(1)).alias("n"),
            F.count("_k").alias("hits"),
            F.count_if(F.coalesce(F.col("_present"), F.lit(False))).alias("present"),
        )
        .collect()
    )
    accepted = sum(r["n"] for r in rows if r["reason"] is None)
    by_reason = {r["reason"]: r["n"] for r in rows if r["reason"] is not None}
    stats = BatchStats(
        dates=[], accepted=accepted, rejected=sum(by_reason.values()), rejected_by_reason=by_reason
    )
    hits = sum(r["hits"] for r in rows)
    present = sum(r["present"] for r in rows)
    return stats, Lookup(found.hits, hits, present)


def drop_stored(marked: DataFrame, hits: DataFrame) -> DataFrame:
    """Drop accepted lines whose key is stored; mark those stored under another key as
    ``duplicate``."""
    from pyspark.sql import functions as F

    joined = marked.join(F.broadcast(hits), F.col(f"`{RAW_KEY}`") == F.col("_k"), "left")
    ok = F.col(REASON).isNull()
    present = ok & F.coalesce(F.col("_present"), F.lit(False))
    return mark_duplicate(joined.where(~present), ok & F.col("_k").isNotNull()).drop(
        "_k", "_present"
    )
