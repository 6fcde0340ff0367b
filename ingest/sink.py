"""The ``foreachBatch`` writer: staged rows -> cleaning rules (``spark.clean.classify``, the
batch miner's code) -> Delta ``lines`` and ``quarantine`` tables.

Per micro-batch (the batch is computed once, into a cache; then small jobs on it):

1. classify (with the line's ``_line_hash``), cache (each row's reason and failed rule;
   the field and detail texts of the rejected rows are built after the cache, when the
   quarantine rows are written: :func:`explain_staged`); then, within the batch, keep the
   first record of each line key (producer retries, dropped silently) and, with
   ``cleaning.deduplicate`` on, mark every accepted line identical to an earlier one of
   the batch as ``duplicate``. "Earlier" is the source position (file + row, or
   topic/partition + offset), so a replayed batch decides the same. A narrow aggregation
   of 64-bit hashes (:func:`ingest.dedup.repeat_suspects`) shows whether the batch can
   hold a repeat at all; only then are the repeated keys / contents found exactly, among
   the records whose hash is shared (an aggregation each of those few, joined back:
   :func:`ingest.dedup.dedup_within_batch`); the batch itself is never shuffled.
2. one aggregate (:func:`ingest.lookup.batch_stats`) gives the batch's event dates,
   transaction id ranges (ids grouped by prefix: two tills with their own invoice numbers
   give two ranges) and counts;
3. (side by side with the repeat check of step 1, which rarely changes anything; if it
   does, the lookup runs again on the marked batch) a lookup of the ``lines`` rows of
   those dates and id ranges (:func:`ingest.lookup.stored_matches`: partition pruning +
   Delta data skipping on ``transaction_id`` statistics; only three columns read) finds
   accepted lines whose key is already stored (a retry in a later batch, or a replay of
   this batch: dropped) and, with ``cleaning.deduplicate``, lines identical to a stored
   line under another key (quarantined as ``duplicate``, as the batch miner does within
   its input);
4. the rows, shaped by :mod:`ingest.rows`, go to both tables in a plain append carrying
   Delta's idempotent ``txnAppId`` (this query's id, from the checkpoint) /
   ``txnVersion`` (the batch id).

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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from basket_core.config import CleaningConfig, ColumnsConfig
from basket_core.progress import Laps
from basket_core.reasons import Reason
from ingest import staging
from ingest.dedup import (
    HASH,
    dedup_within_batch,
    duplicate_detail,
    line_hash,
    repeat_suspects,
)
from ingest.drops import BAD_REASON
from ingest.lookup import (
    BatchStats,
    Lookup,
    batch_stats,
    drop_stored,
    recount,
    stored_matches,
)
from ingest.report import BatchReport
from ingest.report import now as report_now
from ingest.rows import attribute_columns, to_lines, to_quarantine
from ingest.tables import TablePaths
from spark.clean import REASON, RULE, classify, explanation, with_explanation
from spark.reads import ReconcileError

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

    def rule_arguments(self) -> dict[str, Any]:
        """What ``spark.clean.classify`` and ``explanation`` build the same rules from."""
        return {
            "data_columns": (*self.data_columns, *staging.META),
            "columns": self.columns,
            "cleaning": self.cleaning,
            "corrupt_col": staging.CORRUPT,
        }


def classify_staged(staged: DataFrame, spec: CleaningSpec) -> DataFrame:
    """The shared cleaning rules, then contract violations (``_bad_detail``) as
    ``bad_event``: each row's ``_reason`` and failed ``_rule``; :func:`explain_staged`
    adds the field and detail texts, after the sink's cache (see ``spark.clean.classify``)."""
    from pyspark.sql import functions as F

    classified = classify(
        staged, **spec.rule_arguments(), timestamp_formats=spec.timestamp_formats, explained=False
    )
    bad = F.col(staging.BAD_DETAIL).isNotNull()
    marked = classified.withColumn(
        REASON, F.when(bad, F.lit(Reason.BAD_EVENT.value)).otherwise(F.col(REASON))
    )
    if BAD_REASON not in marked.columns:
        return marked
    # a drop file refused whole (ingest.drops): its one row carries the file's reason
    whole = F.col(BAD_REASON).isNotNull()
    return marked.withColumn(REASON, F.when(whole, F.col(BAD_REASON)).otherwise(F.col(REASON)))


def staged_explanation(
    spec: CleaningSpec, *, corrupt: bool, whole_files: bool
) -> tuple[Column, Column]:
    """The ``_field`` and ``_detail`` expressions :func:`explain_staged` adds, for frames
    with (``corrupt``) or without a ``_corrupt`` column and with (``whole_files``) or
    without a refused drop file's reason: reusable across frames of that shape."""
    from pyspark.sql import functions as F

    args = spec.rule_arguments()
    field, detail = explanation(
        data_columns=args["data_columns"],
        columns=args["columns"],
        cleaning=args["cleaning"],
        corrupt_col=args["corrupt_col"] if corrupt else None,
    )
    bad = F.col(staging.BAD_DETAIL).isNotNull()
    # marked by the duplicate checks after the rules, so no rule failed
    marked_dup = (F.col(REASON) == Reason.DUPLICATE.value) & F.col(RULE).isNull()
    field = F.when(bad, F.col(staging.BAD_FIELD)).otherwise(field)
    detail = (
        F.when(bad, F.col(staging.BAD_DETAIL))
        .when(marked_dup, duplicate_detail())
        .otherwise(detail)
    )
    if whole_files:
        whole = F.col(BAD_REASON).isNotNull()
        field = F.when(whole, F.lit(None).cast("string")).otherwise(field)
        detail = F.when(whole, F.col(staging.CORRUPT)).otherwise(detail)
    return field, detail


def explanation_shape(classified: DataFrame) -> tuple[bool, bool]:
    """``(corrupt, whole_files)`` of :func:`staged_explanation` for this frame."""
    names = set(classified.columns)
    return staging.CORRUPT in names, BAD_REASON in names


def explain_staged(
    classified: DataFrame, spec: CleaningSpec, explained: tuple[Column, Column] | None = None
) -> DataFrame:
    """:func:`classify_staged`'s rows with ``_field`` and ``_detail``: the failed cleaning
    rule's, a contract violation's (``_bad_field`` / ``_bad_detail``), a refused drop
    file's (no field; the file's reason in ``_corrupt``), or, for a line the duplicate
    checks marked after the rules (:func:`ingest.dedup.mark_duplicate`: ``duplicate``
    with no failed rule), the earlier line's transaction. ``explained``: the frame's
    :func:`staged_explanation`, when the caller keeps it."""
    if explained is None:
        corrupt, whole_files = explanation_shape(classified)
        explained = staged_explanation(spec, corrupt=corrupt, whole_files=whole_files)
    return with_explanation(classified, *explained)


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
"""Batches with fewer new lines write one file, not one per task."""


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
        expected: Callable[[str, int], int] | None = None,
        on_batch: Callable[[BatchReport], None] | None = None,
    ) -> None:
        self.spark = spark
        self.paths = paths
        self.spec = spec
        self.stage = stage
        self.expected = expected
        self.checkpoint = checkpoint
        self.partitions = partitions
        self.extras = attribute_columns(spec)
        self.on_batch = on_batch
        self._app_id: str | None = None
        self._explanations: dict[tuple[bool, bool], tuple[Column, Column]] = {}

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

    def _rejected(self, batch: DataFrame) -> DataFrame:
        """The batch's rejected rows, explained (:func:`explain_staged`), with the
        expressions built once per frame shape for the life of the query."""
        from pyspark.sql import functions as F

        shape = explanation_shape(batch)
        if shape not in self._explanations:
            corrupt, whole_files = shape
            self._explanations[shape] = staged_explanation(
                self.spec, corrupt=corrupt, whole_files=whole_files
            )
        rejected = batch.where(F.col(REASON).isNotNull())
        return explain_staged(rejected, self.spec, self._explanations[shape])

    def _lookup(self, batch: DataFrame, stats: BatchStats) -> Lookup:
        """:func:`ingest.lookup.stored_matches` of the batch, materialised, with its counts.

        The hits are a local checkpoint, not a cached plan: Delta's append re-caches every
        cached plan that reads the table it wrote, so a cached lookup was planned again
        against the new version (its data skipping jobs) inside every ``lines`` append,
        ~0.4 s a live batch, for a result nothing reads afterwards."""
        from pyspark.sql import functions as F

        if not stats.accepted:
            return Lookup(None, 0, 0)
        table = self.spark.read.format("delta").load(self.paths.lines)
        matches = stored_matches(batch, table, stats, self.spec.cleaning.deduplicate)
        hits = matches.localCheckpoint(eager=True)
        counts = hits.agg(
            F.count(F.lit(1)).alias("n"), F.count_if("_present").alias("present")
        ).first()
        n_hits, n_present = (counts[0], counts[1] or 0) if counts else (0, 0)
        return Lookup(hits, n_hits, n_present)

    def _reconcile(self, batch_id: int, stats: BatchStats) -> None:
        """Fail the batch (nothing is committed; a restart re-runs it) unless every record
        the source counted on its own (:attr:`ingest.stream.Source.expected`) came out of
        the cleaning rules, accepted or rejected."""
        if self.expected is None:
            return
        expected = self.expected(self.checkpoint, batch_id)
        got = stats.accepted + stats.rejected
        if got != expected:
            raise ReconcileError(
                f"ingest batch {batch_id} does not reconcile: {expected:,} records in its "
                f"source, {got:,} classified (accepted + rejected); nothing was written"
            )

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
        # the batch cache lives for one batch and is read 3-4 times: it builds several
        # times faster without column compression (docs/ingest-performance.md)
        conf.set("spark.sql.inMemoryColumnarStorage.compressed", "false")
        # no stage: the stream already staged and classified the rows
        classified = batch if self.stage is None else classify_staged(self.stage(batch), self.spec)
        # the batch is computed (Kafka fetch, staging, cleaning rules) once, into the cache
        base = classified.withColumn(HASH, F.when(F.col(REASON).isNull(), line_hash())).persist()
        found: Lookup | None = None
        repeated: list[DataFrame] = []
        started = time.perf_counter()
        try:
            stats = batch_stats(base)
            self._reconcile(batch_id, stats)
            records = stats.accepted + stats.rejected
            laps.lap("classify")
            # the repeat check and the lookup of stored keys only read the cache: run them
            # side by side (each leaves cores idle while the driver plans its jobs)
            with ThreadPoolExecutor(1, thread_name_prefix="ingest-repeats") as pool:
                suspected = pool.submit(repeat_suspects, base, repeated)
                found = self._lookup(base, stats)
                repeats = suspected.result()
            laps.lap("repeats+lookup")
            marked = base
            if repeats.key or (dedup and repeats.content):
                # producer retries, repeated lines: mark them and count again (the lookup's
                # hits still hold for the lines left accepted)
                marked = dedup_within_batch(marked, dedup, repeats, cached=repeated)
                stats, found = recount(marked, found)
                laps.lap("dedup")
            final = marked
            rejected_count, new_lines = stats.rejected, stats.accepted
            by_reason = dict(stats.rejected_by_reason)
            if found.hits is not None and found.n_hits:
                stored_copies = found.n_hits - found.n_present
                rejected_count += stored_copies
                new_lines -= found.n_hits
                final = drop_stored(marked, found.hits)
                if stored_copies:
                    duplicate = Reason.DUPLICATE.value
                    by_reason[duplicate] = by_reason.get(duplicate, 0) + stored_copies
            # the two appends read the cache and commit to different tables, each
            # idempotent by (txnAppId, batch id): run them side by side, so one's Delta
            # commit (driver work) overlaps the other's tasks
            with ThreadPoolExecutor(1, thread_name_prefix="ingest-quarantine") as pool:
                quarantined = (
                    pool.submit(
                        self._append,
                        # the rejections' field and detail texts, built on the
                        # rejected rows only: the other plans never carry the rules' texts
                        to_quarantine(self._rejected(final), self.spec, at),
                        self.paths.quarantine,
                        batch_id,
                    )
                    if rejected_count
                    else None
                )
                if new_lines:
                    lines = to_lines(final, at, self.extras)
                    if new_lines < SINGLE_FILE_ROWS:
                        lines = lines.coalesce(1)  # fewer, larger files for the next lookups
                    self._append(lines, self.paths.lines, batch_id)
                    laps.lap("lines")
                if quarantined is not None:
                    quarantined.result()
                    laps.lap("quarantine")
        finally:
            base.unpersist()
            for df in repeated:
                df.unpersist()
            if found is not None:
                found.release()
        log.info("batch %d written: %s", batch_id, laps.rounded(2))
        if self.on_batch is not None:
            self.on_batch(
                BatchReport(
                    batch_id=batch_id,
                    records=records,
                    lines=new_lines,
                    quarantined=rejected_count,
                    quarantined_by_reason=dict(sorted(by_reason.items(), key=lambda kv: -kv[1])),
                    repeats_dropped=records - new_lines - rejected_count,
                    seconds=round(time.perf_counter() - started, 3),
                    finished_at=report_now(),
                )
            )
