"""The ``foreachBatch`` writer: staged rows -> cleaning rules (``spark.clean.classify``, the
batch miner's code) -> Delta ``lines`` and ``quarantine`` tables.

Per micro-batch (the batch is computed once, into a cache; then small jobs on it):

1. classify (with the line's ``_line_hash``), cache; then, within the batch, keep the
   first record of each line key (producer retries, dropped silently) and, with
   ``cleaning.deduplicate`` on, mark every accepted line identical to an earlier one of
   the batch as ``duplicate``. "Earlier" is the source position (file + row, or
   topic/partition + offset), so a replayed batch decides the same. A narrow aggregation
   of 64-bit hashes (:func:`repeat_suspects`) shows whether the batch can hold a repeat at
   all; only then are the repeated keys / contents found exactly (an aggregation each,
   joined back: :func:`dedup_within_batch`); the batch itself is never shuffled.
2. one aggregate gives the batch's event dates, transaction id ranges (ids grouped by
   prefix: two tills with their own invoice numbers give two ranges) and counts;
3. (side by side with the repeat check of step 1, which rarely changes anything; if it
   does, the lookup runs again on the marked batch) a lookup of the ``lines`` rows of
   those dates and id ranges (partition pruning + Delta data skipping on
   ``transaction_id`` statistics; only three columns read) finds accepted lines whose key is
   already stored (a retry in a later batch, or a replay of this batch: dropped) and,
   with ``cleaning.deduplicate``, lines identical to a stored line under another key
   (quarantined as ``duplicate``, as the batch miner does within its input);
4. both tables get a plain append carrying Delta's idempotent ``txnAppId`` (this query's
   id, from the checkpoint) / ``txnVersion`` (the batch id).

Exactly once: Structured Streaming re-runs an uncommitted batch on the same input, and
Delta skips an append whose ``txnVersion`` it already committed for the app id; a replay
after only the lines commit recomputes the same quarantine rows (the stored lines of the
batch count as already present, not as duplicates). Two different queries writing the
same table at the same time are not isolated from each other's lookups (run one ingest
query per table, or accept that identical content from two sources may be stored twice).
"""

from __future__ import annotations

import json
import logging
import operator
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import reduce
from pathlib import Path
from typing import TYPE_CHECKING, Any

from basket_core.config import CleaningConfig, ColumnsConfig
from basket_core.progress import Laps
from basket_core.reasons import Reason
from basket_core.schemas import LINES
from ingest import staging
from ingest.tables import LINES_TABLE, PARTITION, TablePaths
from spark.clean import DEDUP_KEY, DETAIL, FIELD, RAW, REASON, classify, extra_columns, split

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import Column, DataFrame, SparkSession

log = logging.getLogger(__name__)

RAW_KEY = f"{RAW}{staging.LINE_KEY}"
"""The staged line key after :func:`spark.clean.classify` prefixed the input columns."""
HASH = "_line_hash"
""":func:`line_hash` of an accepted line, computed once per batch."""
_DUP_TEXT = "identical to an earlier line of transaction %s"


@dataclass(frozen=True)
class CleaningSpec:
    """How staged rows map onto the cleaning rules."""

    data_columns: tuple[str, ...]
    columns: ColumnsConfig
    cleaning: CleaningConfig
    timestamp_formats: tuple[str, ...]


def line_hash(cols: Sequence[str] = DEDUP_KEY) -> Column:
    from pyspark.sql import functions as F

    return F.sha2(F.to_json(F.struct(*[F.col(c) for c in cols])), 256)


def classify_staged(staged: DataFrame, spec: CleaningSpec) -> DataFrame:
    """The shared cleaning rules, then contract violations (``_bad_detail``) as ``bad_event``."""
    from pyspark.sql import functions as F

    classified = classify(
        staged,
        data_columns=(*spec.data_columns, *staging.META),
        columns=spec.columns,
        cleaning=spec.cleaning,
        timestamp_formats=spec.timestamp_formats,
        corrupt_col=staging.CORRUPT,
    )
    bad = F.col(staging.BAD_DETAIL).isNotNull()
    return (
        classified.withColumn(
            REASON, F.when(bad, F.lit(Reason.BAD_EVENT.value)).otherwise(F.col(REASON))
        )
        .withColumn(FIELD, F.when(bad, F.col(staging.BAD_FIELD)).otherwise(F.col(FIELD)))
        .withColumn(DETAIL, F.when(bad, F.col(staging.BAD_DETAIL)).otherwise(F.col(DETAIL)))
    )


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


def repeat_suspects(df: DataFrame) -> tuple[bool, bool]:
    """Whether some line key, or the content of some accepted line, may occur twice.

    Groups 64-bit hashes (the kind of question in the lowest bit), not the keys: a narrow
    shuffle of one long per question and record, and a fixed-width hash aggregation. A
    distinct hash proves the values distinct; a shared one (a repeat, or a hash collision,
    about 1e-8 per 500k records) only sends the batch through the exact
    :func:`dedup_within_batch`, so the outcome never depends on the hash."""
    from pyspark.sql import functions as F

    key = F.col(f"`{RAW_KEY}`")
    ok = F.col(REASON).isNull()

    def tagged(kind: int, *cols: Column) -> Column:
        return F.shiftleft(F.xxhash64(*cols), 1) + F.lit(kind)

    g = F.explode(
        F.array_compact(
            F.array(
                F.when(key.isNotNull(), tagged(KEY_GROUP, key)),
                F.when(ok, tagged(CONTENT_GROUP, *[F.col(k) for k in DEDUP_KEY])),
            )
        )
    )
    kinds = (
        df.select(g.alias("g"))
        .groupBy("g")
        .count()
        .where("count > 1")
        .select((F.col("g").bitwiseAND(F.lit(1))).alias("kind"))
        .distinct()
        .collect()
    )
    found = {r["kind"] for r in kinds}
    return KEY_GROUP in found, CONTENT_GROUP in found


def dedup_within_batch(
    df: DataFrame, deduplicate: bool, key_repeats: bool = True, content_repeats: bool = True
) -> DataFrame:
    """Keep the first record of each line key; with ``deduplicate``, mark accepted lines
    identical to an earlier accepted line as ``duplicate`` (first = source position).
    ``key_repeats`` / ``content_repeats`` False (known from :func:`survey`) skip a step.

    Only the repeated keys / contents are shuffled and joined back (a narrow aggregation
    each), not the batch itself."""
    from pyspark.sql import functions as F

    pos = _position()
    key = F.col(f"`{RAW_KEY}`")
    if key_repeats:
        firsts = (
            df.where(key.isNotNull())
            .groupBy(key.alias("_rk"))
            .agg(F.count(F.lit(1)).alias("_rn"), F.min(pos).alias("_rfirst"))
            .where("_rn > 1")
            .drop("_rn")
        )
        df = (
            df.join(firsts, key == F.col("_rk"), "left")
            .where(F.col("_rk").isNull() | (pos == F.col("_rfirst")))
            .drop("_rk", "_rfirst")
        )
    if not (deduplicate and content_repeats):
        return df
    ok = F.col(REASON).isNull()
    firsts = (
        df.where(ok)
        .groupBy(_content().alias("_cc"))
        .agg(F.count(F.lit(1)).alias("_cn"), F.min(pos).alias("_cfirst"))
        .where("_cn > 1")
        .drop("_cn")
    )
    joined = df.join(firsts, ok & (_content() == F.col("_cc")), "left")
    dup = ok & F.col("_cfirst").isNotNull() & (pos != F.col("_cfirst"))
    return _mark_duplicate(joined.withColumn("_dup", dup), F.col("_dup")).drop(
        "_dup", "_cc", "_cfirst"
    )


def _mark_duplicate(df: DataFrame, is_dup: Column) -> DataFrame:
    from pyspark.sql import functions as F

    return (
        df.withColumn(FIELD, F.when(is_dup, F.lit(None).cast("string")).otherwise(F.col(FIELD)))
        .withColumn(
            DETAIL,
            F.when(is_dup, F.format_string(_DUP_TEXT, "transaction_id")).otherwise(F.col(DETAIL)),
        )
        .withColumn(REASON, F.when(is_dup, F.lit(Reason.DUPLICATE.value)).otherwise(F.col(REASON)))
    )


ID_SUFFIX = 4
"""A batch's transaction ids are grouped by all but their last ``ID_SUFFIX`` characters;
each group gives one id range for the lookup (:func:`id_ranges`)."""
MAX_ID_RANGES = 32


@dataclass(frozen=True)
class BatchStats:
    dates: list[Any]
    """Event dates of the accepted lines (may hold None)."""
    accepted: int
    rejected: int
    id_ranges: tuple[tuple[str, str], ...] = ()
    """Sorted, disjoint ``(lo, hi)`` ranges holding every accepted transaction id."""


def id_prefix(col: str = "transaction_id") -> Column:
    """All but the last :data:`ID_SUFFIX` characters of an id (``""`` for short ids)."""
    from pyspark.sql import functions as F

    return F.expr(f"substring({col}, 1, greatest(char_length({col}) - {ID_SUFFIX}, 0))")


def batch_stats(df: DataFrame) -> BatchStats:
    from pyspark.sql import functions as F

    rows = (
        df.groupBy(
            F.col(REASON).isNull().alias("ok"),
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
    """From rows ``ok, d, p, n, lo, hi`` (one per accepted-or-not, event date and, for
    accepted lines, id prefix)."""
    good = [r for r in rows if r["ok"]]
    return BatchStats(
        dates=list(dict.fromkeys(r["d"] for r in good)),
        accepted=sum(r["n"] for r in good),
        rejected=sum(r["n"] for r in rows if not r["ok"]),
        id_ranges=id_ranges([(r["lo"], r["hi"]) for r in good if r["lo"] is not None]),
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
    # cost more than the join; the planner picks from the (pruned) size estimates.
    return (
        stored.join(mine, "transaction_id")
        .where(meet)
        .groupBy("_k")
        .agg(F.max(same_key).alias("_present"))
    )


def attribute_columns(spec: CleaningSpec) -> list[str]:
    """The source's columns the ``lines`` table keeps in ``attributes``: those no cleaning
    rule maps and no table column is named after (a CSV's ``Country``, ``StockCode``)."""
    c = spec.columns
    mapped = {c.transaction, c.item, c.quantity, c.price, c.timestamp, c.customer, c.store}
    taken = {n.lower() for n in LINES_TABLE.names}
    return [
        n for n in extra_columns(spec.data_columns) if n not in mapped and n.lower() not in taken
    ]


def attributes(names: Sequence[str]) -> Column:
    """``attributes`` of a ``lines`` row: ``{name: raw text}`` of ``names`` (the raw input
    values, as the batch miner keeps its extra columns); an empty map without any."""
    from pyspark.sql import functions as F

    pairs = [x for n in names for x in (F.lit(n), F.col(f"`{RAW}{n}`"))]
    return F.create_map(*pairs).cast("map<string,string>")


INGESTED_AT = "ingested_at"


def with_ingested_at(df: DataFrame, at: datetime) -> DataFrame:
    """``df`` plus an ``ingested_at`` column holding ``at``, taken from a one-row broadcast
    side rather than a literal: Spark writes a timestamp literal into the generated code,
    so a new value every batch would mean compiling the batch's write stage anew (Janino,
    then the JVM's JIT warming it up again) every batch."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StructField, StructType, TimestampType

    schema = StructType([StructField(INGESTED_AT, TimestampType(), nullable=False)])
    one = df.sparkSession.createDataFrame([(at,)], schema)
    return df.crossJoin(F.broadcast(one))


def to_lines(classified: DataFrame, at: datetime, extras: Sequence[str] = ()) -> DataFrame:
    """The accepted rows as ``lines`` table rows (``spark.clean.split``'s accepted side,
    plus the line's identity and provenance, ingested ``at``; ``extras``
    (:func:`attribute_columns`) go into ``attributes``)."""
    from pyspark.sql import functions as F

    def raw(name: str) -> Column:
        return F.col(f"`{RAW}{name}`")

    accepted = classified.where(F.col(REASON).isNull())
    return with_ingested_at(accepted, at).select(
        *LINES.names,
        raw(staging.LINE_NO).alias("line_no"),
        raw(staging.LINE_KEY).alias("line_key"),
        F.col(HASH).alias("line_hash"),
        raw(staging.SOURCE).alias("source"),
        raw(staging.OFFSET).alias("source_offset"),
        raw(staging.SOURCE_TS).alias("source_ts"),
        F.col(INGESTED_AT),
        attributes(extras).alias("attributes"),
    )


def to_quarantine(classified: DataFrame, spec: CleaningSpec, at: datetime) -> DataFrame:
    """The rejected rows as ``quarantine`` rows (``spark.clean.split``), ingested ``at``."""
    rejected = split(
        classified,
        data_columns=spec.data_columns,
        source_col=f"{RAW}{staging.SOURCE}",
        offset_col=f"{RAW}{staging.OFFSET}",
        corrupt_col=staging.CORRUPT,
    ).rejected
    return with_ingested_at(rejected, at)


def retry_conflicts(action: Callable[[], object], attempts: int = 5) -> None:
    """Run a Delta write, retrying when a concurrent writer committed first (the writes
    are idempotent appends (txnAppId/txnVersion), so a retry is safe)."""
    from delta.exceptions import DeltaConcurrentModificationException

    for attempt in range(1, attempts + 1):
        try:
            action()
            return
        except DeltaConcurrentModificationException:
            if attempt == attempts:
                raise
            log.warning("concurrent Delta commit; retrying (%d/%d)", attempt, attempts)
            time.sleep(0.5 * attempt)


SINGLE_FILE_ROWS = 50_000
"""Batches with fewer new lines write one file per event date."""


@dataclass
class Lookup:
    """What :meth:`DeltaSink._lookup` found: ``hits`` (cached; None without accepted
    lines) has ``n_hits`` rows, ``n_present`` of them keys already stored."""

    hits: DataFrame | None
    n_hits: int
    n_present: int

    def release(self) -> None:
        if self.hits is not None:
            self.hits.unpersist()
            self.hits = None


def _drop_stored(marked: DataFrame, hits: DataFrame) -> DataFrame:
    """Drop accepted lines whose key is stored; mark those stored under another key as
    ``duplicate``."""
    from pyspark.sql import functions as F

    joined = marked.join(F.broadcast(hits), F.col(f"`{RAW_KEY}`") == F.col("_k"), "left")
    ok = F.col(REASON).isNull()
    present = ok & F.coalesce(F.col("_present"), F.lit(False))
    return _mark_duplicate(joined.where(~present), ok & F.col("_k").isNotNull()).drop(
        "_k", "_present"
    )


class DeltaSink:
    """``foreachBatch`` function: ``stage`` turns the source's micro-batch into staged rows
    (None: the batch arrives classified, see :func:`classify_staged`). The module doc has
    the steps and why a replay commits nothing twice."""

    def __init__(
        self,
        spark: SparkSession,
        paths: TablePaths,
        spec: CleaningSpec,
        stage: Callable[[DataFrame], DataFrame] | None,
        checkpoint: str,
        partitions: int = 2,
    ) -> None:
        self.spark = spark
        self.paths = paths
        self.spec = spec
        self.stage = stage
        self.checkpoint = checkpoint
        self.partitions = partitions
        self.extras = attribute_columns(spec)
        self._app_id: str | None = None

    @property
    def app_id(self) -> str:
        """Stable across restarts from the same checkpoint (the query id lives there)."""
        if self._app_id is None:
            meta = json.loads((Path(self.checkpoint) / "metadata").read_text().splitlines()[0])
            self._app_id = f"basket-ingest-{meta['id']}"
        return self._app_id

    def _append(self, df: DataFrame, path: str, batch_id: int) -> None:
        retry_conflicts(
            lambda: (
                df.write.format("delta")
                .mode("append")
                .option("txnAppId", self.app_id)
                .option("txnVersion", batch_id)
                .save(path)
            )
        )

    def _lookup(self, batch: DataFrame, stats: BatchStats) -> Lookup:
        """:func:`stored_matches` of the batch, cached, with its counts."""
        from pyspark.sql import functions as F

        if not stats.accepted:
            return Lookup(None, 0, 0)
        table = self.spark.read.format("delta").load(self.paths.lines)
        hits = stored_matches(batch, table, stats, self.spec.cleaning.deduplicate).persist()
        counts = hits.agg(
            F.count(F.lit(1)).alias("n"), F.count_if("_present").alias("present")
        ).first()
        n_hits, n_present = (counts[0], counts[1] or 0) if counts else (0, 0)
        return Lookup(hits, n_hits, n_present)

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        from pyspark.sql import functions as F

        laps = Laps()
        at = datetime.now(UTC)

        dedup = self.spec.cleaning.deduplicate
        # Spark runs micro-batches without adaptive execution: every shuffle of the sink
        # (aggregations, the lookup join) would otherwise use the stream's partition count
        # (this session is the query's own clone; stateless, so nothing depends on it)
        conf = batch.sparkSession.conf
        conf.set("spark.sql.shuffle.partitions", str(self.partitions))
        # the batch cache lives for one batch and is read 3-4 times: building it without
        # column compression costs ~0.4 s per 500k events instead of ~1.5 s
        conf.set("spark.sql.inMemoryColumnarStorage.compressed", "false")
        # no stage: the stream already staged and classified the rows
        classified = batch if self.stage is None else classify_staged(self.stage(batch), self.spec)
        # the batch is computed (Kafka fetch, staging, cleaning rules) once, into the cache
        base = classified.withColumn(HASH, F.when(F.col(REASON).isNull(), line_hash())).persist()
        found: Lookup | None = None
        try:
            stats = batch_stats(base)
            laps.lap("classify")
            # the repeat check and the lookup of stored keys only read the cache: run them
            # side by side (each leaves cores idle while the driver plans its jobs)
            with ThreadPoolExecutor(1, thread_name_prefix="ingest-repeats") as pool:
                repeats = pool.submit(repeat_suspects, base)
                found = self._lookup(base, stats)
                key_repeats, content_repeats = repeats.result()
            laps.lap("repeats+lookup")
            marked = base
            if key_repeats or (dedup and content_repeats):
                # rare (producer retries, repeated lines): mark them, count and look up again
                marked = dedup_within_batch(base, dedup, key_repeats, content_repeats)
                stats = batch_stats(marked)
                found.release()
                found = self._lookup(marked, stats)
                laps.lap("dedup")
            final = marked
            rejected_count, new_lines = stats.rejected, stats.accepted
            if found.hits is not None and found.n_hits:
                rejected_count += found.n_hits - found.n_present
                new_lines -= found.n_hits
                final = _drop_stored(marked, found.hits)
            if new_lines:
                lines = to_lines(final, at, self.extras)
                if new_lines < SINGLE_FILE_ROWS:
                    lines = lines.coalesce(1)  # fewer, larger files for the next lookups
                self._append(lines, self.paths.lines, batch_id)
                laps.lap("lines")
            if rejected_count:
                self._append(to_quarantine(final, self.spec, at), self.paths.quarantine, batch_id)
                laps.lap("quarantine")
        finally:
            base.unpersist()
            if found is not None:
                found.release()
        log.info("batch %d written: %s", batch_id, laps.rounded(2))
