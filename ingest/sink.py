"""The ``foreachBatch`` writer: staged rows -> cleaning rules (``spark.clean``, the batch
miner's code) -> MERGE into the Delta ``lines`` and ``quarantine`` tables.

Exactly once: a micro-batch that is replayed after a crash (Structured Streaming re-runs
the last uncommitted batch with the same input) inserts nothing new, because both MERGEs
only insert lines whose ``line_key`` is not yet in the table, and the quarantine append
carries Delta's idempotent ``txnAppId``/``txnVersion``. Within a batch, records with the same line key
(producer retries) are reduced to the first one before cleaning. With
``cleaning.deduplicate`` on, a line identical to one already in the table under another
key is quarantined as ``duplicate``, as the batch miner does within its input.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from basket.config import CleaningConfig, ColumnsConfig
from basket.reasons import Reason
from basket.schemas import LINES
from ingest import staging as S
from ingest.tables import PARTITION, TablePaths
from spark.clean import DEDUP_KEY, DETAIL, FIELD, RAW, REASON, classify, mark_duplicates, split

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import Column, DataFrame, SparkSession

log = logging.getLogger(__name__)


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


def keep_first_per_key(staged: DataFrame) -> DataFrame:
    """Drop repeats of a line key within the batch (producer retries), keeping the first."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    w = Window.partitionBy(S.LINE_KEY).orderBy(S.SOURCE, S.OFFSET)
    rank = F.when(F.col(S.LINE_KEY).isNotNull(), F.row_number().over(w))
    return staged.withColumn("_rank", rank).where("_rank IS NULL OR _rank = 1").drop("_rank")


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
    """A literal partition filter so MERGE reads only the batch's event dates."""
    parts = []
    known = sorted(str(d) for d in dates if d is not None)
    if known:
        literals = ", ".join(f"DATE'{d}'" for d in known)
        parts.append(f"{col} IN ({literals})")
    if any(d is None for d in dates):
        parts.append(f"{col} IS NULL")
    return "(" + " OR ".join(parts) + ")" if parts else "FALSE"


def mark_seen(classified: DataFrame, table: DataFrame, dates: Sequence[object]) -> DataFrame:
    """Mark accepted lines identical to a table row stored under another key as duplicates."""
    from pyspark.sql import functions as F

    key = f"{RAW}{S.LINE_KEY}"
    batch = classified.where(F.col(REASON).isNull()).select(
        F.col("transaction_id"), line_hash().alias("line_hash"), F.col(f"`{key}`").alias("_k")
    )
    stored = table.where(date_filter(dates, PARTITION)).select(
        "transaction_id", "line_hash", "line_key"
    )
    dups = (
        batch.join(stored, ["transaction_id", "line_hash"])
        .where(F.col("line_key") != F.col("_k"))
        .select("_k")
        .distinct()
        .withColumn("_seen", F.lit(True))
    )
    marked = classified.join(F.broadcast(dups), F.col(f"`{key}`") == F.col("_k"), "left")
    seen = F.col("_seen").isNotNull() & F.col(REASON).isNull()
    text = F.format_string("identical to an earlier line of transaction %s", "transaction_id")
    return (
        marked.withColumn(FIELD, F.when(seen, F.lit(None).cast("string")).otherwise(F.col(FIELD)))
        .withColumn(DETAIL, F.when(seen, text).otherwise(F.col(DETAIL)))
        .withColumn(REASON, F.when(seen, F.lit(Reason.DUPLICATE.value)).otherwise(F.col(REASON)))
        .drop("_k", "_seen")
    )


def to_lines(classified: DataFrame, spec: CleaningSpec) -> DataFrame:
    from pyspark.sql import functions as F

    accepted = split(
        classified,
        data_columns=(*spec.data_columns, *S.META),
        source_col=f"{RAW}{S.SOURCE}",
        corrupt_col=S.CORRUPT,
    ).accepted
    return accepted.select(
        *LINES.names,
        F.col(S.LINE_NO).alias("line_no"),
        F.col(S.LINE_KEY).alias("line_key"),
        line_hash().alias("line_hash"),
        F.col(S.SOURCE).alias("source"),
        F.col(S.OFFSET).alias("source_offset"),
        F.col(S.SOURCE_TS).alias("source_ts"),
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
    are idempotent MERGEs, so a retry is safe)."""
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


class DeltaSink:
    """``foreachBatch`` function: ``stage`` turns the source's micro-batch into staged rows.

    Lines are MERGEd on ``line_key``; quarantine rows are appended with Delta's idempotent
    ``txnAppId`` (this query's id, from the checkpoint) / ``txnVersion`` (the batch id), so a
    replayed batch commits nothing twice."""

    def __init__(
        self,
        spark: SparkSession,
        paths: TablePaths,
        spec: CleaningSpec,
        stage: Callable[[DataFrame], DataFrame],
        checkpoint: str,
    ) -> None:
        self.spark = spark
        self.paths = paths
        self.spec = spec
        self.stage = stage
        self.checkpoint = checkpoint
        self._app_id: str | None = None

    @property
    def app_id(self) -> str:
        """Stable across restarts from the same checkpoint (the query id lives there)."""
        if self._app_id is None:
            meta = json.loads((Path(self.checkpoint) / "metadata").read_text().splitlines()[0])
            self._app_id = f"basket-ingest-{meta['id']}"
        return self._app_id

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        from delta.tables import DeltaTable
        from pyspark.sql import functions as F

        timings: dict[str, float] = {}
        clock = time.monotonic()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.monotonic()
            timings[name] = round(now - clock, 2)
            clock = now

        classified = classify_staged(keep_first_per_key(self.stage(batch)), self.spec)
        if self.spec.cleaning.deduplicate:
            classified = mark_duplicates(classified)
        classified = classified.persist()
        try:
            accepted = classified.where(F.col(REASON).isNull())
            dates = [r[0] for r in accepted.select(PARTITION).distinct().collect()]
            lap("classify")
            final = classified
            if dates and self.spec.cleaning.deduplicate:
                table = self.spark.read.format("delta").load(self.paths.lines)
                final = mark_seen(classified, table, dates).persist()
                lap("seen")
            if dates:
                lines = to_lines(final, self.spec)
                cond = f"t.line_key = s.line_key AND {date_filter(dates)}"
                retry_conflicts(
                    lambda: (
                        DeltaTable.forPath(self.spark, self.paths.lines)
                        .alias("t")
                        .merge(lines.alias("s"), cond)
                        .whenNotMatchedInsertAll()
                        .execute()
                    )
                )
                lap("lines")
            rejected = to_quarantine(final, self.spec)
            if not rejected.isEmpty():
                retry_conflicts(
                    lambda: (
                        rejected.write.format("delta")
                        .mode("append")
                        .option("txnAppId", self.app_id)
                        .option("txnVersion", batch_id)
                        .save(self.paths.quarantine)
                    )
                )
                lap("quarantine")
            if final is not classified:
                final.unpersist()
        finally:
            classified.unpersist()
        log.info("batch %d written: %s", batch_id, timings)
