"""The ``foreachBatch`` writer: staged rows -> cleaning rules (``spark.clean.classify``, the
batch miner's code) -> Delta ``lines`` and ``quarantine`` tables.

Per micro-batch (one shuffle, by transaction id, then small jobs):

1. classify; then, within the batch, keep the first record of each line key (producer
   retries, dropped silently) and, with ``cleaning.deduplicate`` on, mark every accepted
   line identical to an earlier one of the batch as ``duplicate``. "Earlier" is the source
   position (file + row, or topic/partition + offset), so a replayed batch decides the
   same. Both windows are clustered by transaction id, so they share one exchange.
2. one aggregate gives the batch's event dates, transaction id range and counts;
3. a lookup of the ``lines`` rows of those dates and that id range (partition pruning +
   Delta data skipping on ``transaction_id`` statistics; only three columns read) finds accepted lines whose key is
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
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from basket.config import CleaningConfig, ColumnsConfig
from basket.reasons import Reason
from basket.schemas import LINES
from ingest import staging as S
from ingest.tables import PARTITION, TablePaths
from spark.clean import DEDUP_KEY, DETAIL, FIELD, RAW, REASON, classify, split

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import Column, DataFrame, SparkSession

log = logging.getLogger(__name__)

RAW_KEY = f"{RAW}{S.LINE_KEY}"
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
        data_columns=(*spec.data_columns, *S.META),
        columns=spec.columns,
        cleaning=spec.cleaning,
        timestamp_formats=spec.timestamp_formats,
        corrupt_col=S.CORRUPT,
    )
    bad = F.col(S.BAD_DETAIL).isNotNull()
    return (
        classified.withColumn(
            REASON, F.when(bad, F.lit(Reason.BAD_EVENT.value)).otherwise(F.col(REASON))
        )
        .withColumn(FIELD, F.when(bad, F.col(S.BAD_FIELD)).otherwise(F.col(FIELD)))
        .withColumn(DETAIL, F.when(bad, F.col(S.BAD_DETAIL)).otherwise(F.col(DETAIL)))
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


def _order() -> list[Column]:
    from pyspark.sql import functions as F

    return [F.col(f"`{RAW}{S.SOURCE}`"), F.col(f"`{RAW}{S.OFFSET}`")]


def dedup_within_batch(classified: DataFrame, deduplicate: bool, partitions: int) -> DataFrame:
    """Keep the first record of each line key; with ``deduplicate``, mark accepted lines
    identical to an earlier accepted line as ``duplicate`` (first = source position).
    Adds ``_line_hash`` to accepted lines."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    # Every window below is partitioned by transaction_id (and more), so this one
    # exchange satisfies them all.
    df = classified.repartition(partitions, "transaction_id")
    key = F.col(f"`{RAW_KEY}`")
    by_key = Window.partitionBy("transaction_id", key).orderBy(*_order())
    rank = F.when(key.isNotNull(), F.row_number().over(by_key))
    df = df.withColumn("_rank", rank).where("_rank IS NULL OR _rank = 1").drop("_rank")
    df = df.withColumn(HASH, F.when(F.col(REASON).isNull(), line_hash()))
    if not deduplicate:
        return df
    ok = F.col(REASON).isNull()
    same = Window.partitionBy(ok, *[F.col(k) for k in DEDUP_KEY]).orderBy(*_order())
    dup = ok & (F.row_number().over(same) > 1)
    return _mark_duplicate(df.withColumn("_dup", dup), F.col("_dup")).drop("_dup")


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


@dataclass(frozen=True)
class BatchStats:
    dates: list[Any]
    """Event dates of the accepted lines (may hold None)."""
    accepted: int
    rejected: int
    first_tx: str | None
    last_tx: str | None


def batch_stats(df: DataFrame) -> BatchStats:
    from pyspark.sql import functions as F

    rows = (
        df.groupBy(F.col(REASON).isNull().alias("ok"), F.col(PARTITION))
        .agg(
            F.count(F.lit(1)).alias("n"),
            F.min("transaction_id").alias("lo"),
            F.max("transaction_id").alias("hi"),
        )
        .collect()
    )
    good = [r for r in rows if r["ok"]]
    los = [r["lo"] for r in good if r["lo"] is not None]
    his = [r["hi"] for r in good if r["hi"] is not None]
    return BatchStats(
        dates=[r[PARTITION] for r in good],
        accepted=sum(r["n"] for r in good),
        rejected=sum(r["n"] for r in rows if not r["ok"]),
        first_tx=min(los) if los else None,
        last_tx=max(his) if his else None,
    )


def stored_matches(
    batch: DataFrame, table: DataFrame, stats: BatchStats, deduplicate: bool
) -> DataFrame:
    """``(_k, _present)`` for accepted batch lines that meet the table: ``_present`` when
    their key is stored, else (``deduplicate``) an identical line is stored under another
    key. Reads only the batch's dates and transaction id range of the table."""
    from pyspark.sql import functions as F

    where = F.expr(date_filter(stats.dates, PARTITION))
    if stats.first_tx is not None and stats.last_tx is not None:
        where = where & F.col("transaction_id").between(F.lit(stats.first_tx), F.lit(stats.last_tx))
    stored = table.where(where).select(
        "transaction_id", F.col("line_key").alias("_tk"), F.col("line_hash").alias("_th")
    )
    mine = batch.where(F.col(REASON).isNull()).select(
        "transaction_id", F.col(f"`{RAW_KEY}`").alias("_k"), F.col(HASH).alias("_h")
    )
    same_key = F.col("_tk") == F.col("_k")
    meet = same_key | (F.col("_th") == F.col("_h")) if deduplicate else same_key
    # No broadcast hint: once files are skipped by the id range, the stored side is the
    # small one in steady state, and collecting a whole batch's keys to broadcast them
    # cost more than the join; the planner picks from the (pruned) size estimates.
    return (
        stored.join(mine, "transaction_id")
        .where(meet)
        .groupBy("_k")
        .agg(F.max(same_key).alias("_present"))
    )


def to_lines(classified: DataFrame) -> DataFrame:
    """The accepted rows as ``lines`` table rows (``spark.clean.split``'s accepted side,
    plus the line's identity and provenance)."""
    from pyspark.sql import functions as F

    def raw(name: str) -> Column:
        return F.col(f"`{RAW}{name}`")

    return classified.where(F.col(REASON).isNull()).select(
        *LINES.names,
        raw(S.LINE_NO).alias("line_no"),
        raw(S.LINE_KEY).alias("line_key"),
        F.col(HASH).alias("line_hash"),
        raw(S.SOURCE).alias("source"),
        raw(S.OFFSET).alias("source_offset"),
        raw(S.SOURCE_TS).alias("source_ts"),
        F.current_timestamp().alias("ingested_at"),
    )


def to_quarantine(classified: DataFrame, spec: CleaningSpec) -> DataFrame:
    from pyspark.sql import functions as F

    rejected = split(
        classified,
        data_columns=spec.data_columns,
        source_col=f"{RAW}{S.SOURCE}",
        offset_col=f"{RAW}{S.OFFSET}",
        corrupt_col=S.CORRUPT,
    ).rejected
    return rejected.withColumn("ingested_at", F.current_timestamp())


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

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        from pyspark.sql import functions as F

        timings: dict[str, float] = {}
        clock = time.monotonic()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.monotonic()
            timings[name] = round(now - clock, 2)
            clock = now

        dedup = self.spec.cleaning.deduplicate
        # no stage: the stream already staged and classified the rows
        classified = batch if self.stage is None else classify_staged(self.stage(batch), self.spec)
        marked = dedup_within_batch(classified, dedup, self.partitions).persist()
        hits: DataFrame | None = None
        try:
            stats = batch_stats(marked)
            lap("classify")
            final = marked
            rejected_count, new_lines = stats.rejected, stats.accepted
            if stats.accepted:
                table = self.spark.read.format("delta").load(self.paths.lines)
                hits = stored_matches(marked, table, stats, dedup).persist()
                counts = hits.agg(
                    F.count(F.lit(1)).alias("n"), F.count_if("_present").alias("present")
                ).first()
                n_hits, n_present = (counts[0], counts[1] or 0) if counts else (0, 0)
                lap("lookup")
                if n_hits:
                    rejected_count += n_hits - n_present
                    new_lines -= n_hits
                    final = _drop_stored(marked, hits)
            if new_lines:
                lines = to_lines(final)
                if new_lines < SINGLE_FILE_ROWS:
                    lines = lines.coalesce(1)  # fewer, larger files for the next lookups
                self._append(lines, self.paths.lines, batch_id)
                lap("lines")
            if rejected_count:
                self._append(to_quarantine(final, self.spec), self.paths.quarantine, batch_id)
                lap("quarantine")
        finally:
            marked.unpersist()
            if hits is not None:
                hits.unpersist()
        log.info("batch %d written: %s", batch_id, timings)
