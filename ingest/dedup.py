"""The in-batch duplicate check of a classified micro-batch: each line's hash
(:func:`line_hash`), a cheap test whether the batch can hold a repeat at all
(:func:`repeat_suspects`), and the exact marking when it can (:func:`dedup_within_batch`).

"Earlier" in the batch is the source position (file + row, or topic/partition + offset),
so a replayed batch decides the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from basket_core.reasons import Reason
from ingest import staging
from spark.clean import DEDUP_KEY, DETAIL, FIELD, RAW, REASON

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import Column, DataFrame

RAW_KEY = f"{RAW}{staging.LINE_KEY}"
"""The staged line key after :func:`spark.clean.classify` prefixed the input columns."""
HASH = "_line_hash"
""":func:`line_hash` of an accepted line, computed once per batch."""
_DUP_TEXT = "identical to an earlier line of transaction %s"


def line_hash(cols: Sequence[str] = DEDUP_KEY) -> Column:
    from pyspark.sql import functions as F

    return F.sha2(F.to_json(F.struct(*[F.col(c) for c in cols])), 256)


def _position() -> Column:
    """Where a record is (file + row, or topic/partition + offset): "earlier" in the batch."""
    from pyspark.sql import functions as F

    return F.struct(
        F.col(f"`{RAW}{staging.SOURCE}`").alias("s"), F.col(f"`{RAW}{staging.OFFSET}`").alias("o")
    )


def _content() -> Column:
    """The duplicate-check fields as one (null-safe comparable) value."""
    from pyspark.sql import functions as F

    return F.struct(*[F.col(k) for k in DEDUP_KEY])


KEY_GROUP, CONTENT_GROUP = 0, 1
SHARED = "_shared"
"""The column of :attr:`Repeats.shared`: a tagged hash that two records or more have."""


def _tagged(kind: int, *cols: Column) -> Column:
    """A 64-bit hash of ``cols`` with the kind of question in the lowest bit."""
    from pyspark.sql import functions as F

    return F.shiftleft(F.xxhash64(*cols), 1) + F.lit(kind)


def _key_tag() -> Column:
    from pyspark.sql import functions as F

    return _tagged(KEY_GROUP, F.col(f"`{RAW_KEY}`"))


def _content_tag() -> Column:
    from pyspark.sql import functions as F

    return _tagged(CONTENT_GROUP, *[F.col(k) for k in DEDUP_KEY])


@dataclass(frozen=True)
class Repeats:
    """What :func:`repeat_suspects` found: whether some line key (``key``) or the content of
    some accepted line (``content``) may occur twice in the batch, and the tagged hashes
    shared by two records or more (``shared``, one column :data:`SHARED`; cached when the
    caller asked, None when nothing is shared)."""

    key: bool
    content: bool
    shared: DataFrame | None = None


def repeat_suspects(df: DataFrame, cached: list[DataFrame] | None = None) -> Repeats:
    """Whether some line key, or the content of some accepted line, may occur twice.

    Groups 64-bit hashes (the kind of question in the lowest bit), not the keys: a narrow
    shuffle of one long per question and record, and a fixed-width hash aggregation. A
    distinct hash proves the values distinct; a shared one (a repeat, or a hash collision,
    about 1e-8 per 500k records) only sends the batch through the exact
    :func:`dedup_within_batch`, so the outcome never depends on the hash. With ``cached``,
    the shared hashes are kept (appended to it for the caller to unpersist): the exact
    check then only groups the records that have one."""
    from pyspark.sql import functions as F

    key = F.col(f"`{RAW_KEY}`")
    ok = F.col(REASON).isNull()
    g = F.explode(
        F.array_compact(F.array(F.when(key.isNotNull(), _key_tag()), F.when(ok, _content_tag())))
    )
    shared = df.select(g.alias(SHARED)).groupBy(SHARED).count().where("count > 1").drop("count")
    if cached is not None:
        shared = shared.persist()
        cached.append(shared)
    kinds = shared.select((F.col(SHARED).bitwiseAND(F.lit(1))).alias("kind")).distinct().collect()
    found = {r["kind"] for r in kinds}
    return Repeats(KEY_GROUP in found, CONTENT_GROUP in found, shared if found else None)


def dedup_within_batch(
    df: DataFrame,
    deduplicate: bool,
    repeats: Repeats | None = None,
    cached: list[DataFrame] | None = None,
) -> DataFrame:
    """Keep the first record of each line key; with ``deduplicate``, mark accepted lines
    identical to an earlier accepted line as ``duplicate`` (first = source position).

    ``repeats`` (:func:`repeat_suspects` of ``df`` or of a batch holding it) skips a step
    that cannot find anything, and with its shared hashes only the records that have one
    are grouped: two records with the same key or content have the same hash, so the
    groups of repeats are exact and whole, and the shuffle holds the few suspects, not the
    batch. Then each step is a narrow aggregation of those, joined back. With ``cached``,
    those aggregates (the repeated groups only: small) are kept and broadcast, and
    appended to it for the caller to unpersist: the result is read by several jobs (the
    counts, both appends), which then join the batch with them instead of aggregating the
    whole batch again."""
    from pyspark.sql import functions as F

    repeats = repeats or Repeats(True, True)

    def kept(firsts: DataFrame) -> DataFrame:
        if cached is None:
            return firsts
        firsts = firsts.persist()
        cached.append(firsts)
        return F.broadcast(firsts)

    def suspects(rows: DataFrame, tag: Column) -> DataFrame:
        if repeats.shared is None:
            return rows
        return rows.join(F.broadcast(repeats.shared), tag == F.col(SHARED), "left_semi")

    pos = _position()
    key = F.col(f"`{RAW_KEY}`")
    if repeats.key:
        firsts = (
            suspects(df.where(key.isNotNull()), _key_tag())
            .groupBy(key.alias("_rk"))
            .agg(F.count(F.lit(1)).alias("_rn"), F.min(pos).alias("_rfirst"))
            .where("_rn > 1")
            .drop("_rn")
        )
        firsts = kept(firsts)
        df = (
            df.join(firsts, key == F.col("_rk"), "left")
            .where(F.col("_rk").isNull() | (pos == F.col("_rfirst")))
            .drop("_rk", "_rfirst")
        )
    if not (deduplicate and repeats.content):
        return df
    ok = F.col(REASON).isNull()
    firsts = (
        suspects(df.where(ok), _content_tag())
        .groupBy(_content().alias("_cc"))
        .agg(F.count(F.lit(1)).alias("_cn"), F.min(pos).alias("_cfirst"))
        .where("_cn > 1")
        .drop("_cn")
    )
    joined = df.join(kept(firsts), ok & (_content() == F.col("_cc")), "left")
    dup = ok & F.col("_cfirst").isNotNull() & (pos != F.col("_cfirst"))
    return mark_duplicate(joined.withColumn("_dup", dup), F.col("_dup")).drop(
        "_dup", "_cc", "_cfirst"
    )


def duplicate_detail() -> Column:
    """The ``_detail`` of a line marked ``duplicate`` by the checks of this module."""
    from pyspark.sql import functions as F

    return F.format_string(_DUP_TEXT, "transaction_id")


def mark_duplicate(df: DataFrame, is_dup: Column) -> DataFrame:
    """Rows where ``is_dup`` holds rejected as ``duplicate``: the reason, and the field and
    detail when ``df`` has them (the sink's batch gets its texts later, from
    :func:`ingest.sink.explain_staged`, so its plans do not carry the rules' texts)."""
    from pyspark.sql import functions as F

    marks = {REASON: F.when(is_dup, F.lit(Reason.DUPLICATE.value)).otherwise(F.col(REASON))}
    if FIELD in df.columns:
        marks[FIELD] = F.when(is_dup, F.lit(None).cast("string")).otherwise(F.col(FIELD))
    if DETAIL in df.columns:
        marks[DETAIL] = F.when(is_dup, duplicate_detail()).otherwise(F.col(DETAIL))
    return df.withColumns(marks)
