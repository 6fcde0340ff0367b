"""Structured Streaming queries from a folder of CSV drops or a Kafka topic into the Delta
``lines`` / ``quarantine`` tables (:mod:`ingest.tables`), through :class:`ingest.sink.DeltaSink`.

``once`` uses the availableNow trigger (process what is there, then stop: what a scheduler
calls); otherwise a processing-time trigger runs until stopped. Checkpoints live under
``paths.checkpoint_dir`` unless given.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from basket_core.config import ColumnsConfig, KafkaConfig, Settings
from ingest import drops, events, offsets, report, staging
from ingest.sink import CleaningSpec, DeltaSink, classify_staged
from ingest.tables import TablePaths, ensure_tables
from spark.load import InputError
from spark.session import default_parallelism

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming import StreamingQuery

log = logging.getLogger(__name__)

EVENT_COLUMNS = ColumnsConfig(
    transaction="transaction_id",
    item="item",
    quantity="quantity",
    price="price",
    timestamp="ts",
    customer="customer_id",
    store="store_id",
)
"""How event fields map onto the cleaning rules' inputs."""
_KAFKA = KafkaConfig()


@dataclass(frozen=True)
class Source:
    name: str
    """Used for the query name and the default checkpoint folder."""
    stream: DataFrame
    stage: Callable[[DataFrame], DataFrame]
    data_columns: tuple[str, ...]
    columns: ColumnsConfig
    stateless: bool = False
    """``stage`` is row by row, so it (and the cleaning rules) run on the stream itself:
    planned once at start, not rebuilt in Python for every micro-batch."""
    expected: Callable[[str, int], int] | None = None
    """``(checkpoint, batch id) -> records`` the micro-batch holds, counted apart from the
    batch's rows (Kafka: its offset ranges; drops: the line scan of its files); the sink
    fails a batch whose classified rows differ."""


@dataclass(frozen=True)
class RunOptions:
    once: bool = False
    trigger_seconds: float = _KAFKA.trigger_seconds
    checkpoint: Path | None = None


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:60]


def kafka_source_name(topic: str) -> str:
    return f"kafka-{_slug(topic)}"


def default_checkpoint(settings: Settings, source_name: str) -> Path:
    """Where a query keeps its checkpoint unless told otherwise."""
    return settings.paths.checkpoint_dir / f"ingest-{source_name}"


def files_source(
    spark: SparkSession,
    settings: Settings,
    input_dir: Path,
    *,
    max_files_per_trigger: int | None = None,
) -> Source:
    """CSV files dropped into ``input_dir`` (same layout as ``basket mine`` input; write a
    file under a temporary name starting with ``.`` and rename it when complete). The
    stream lists new files; each is read by its own header (:mod:`ingest.drops`)."""
    if not input_dir.is_dir():
        raise InputError(f"input folder not found: {input_dir}")
    from pyspark.sql import types as T

    listing = T.StructType(
        [
            T.StructField("path", T.StringType()),
            T.StructField("modificationTime", T.TimestampType()),
            T.StructField("length", T.LongType()),
            T.StructField("content", T.BinaryType()),
        ]
    )
    reader = (
        spark.readStream.format("binaryFile")
        .schema(listing)
        .option("pathGlobFilter", "*.csv*")
        .option("recursiveFileLookup", True)
    )
    if max_files_per_trigger:
        reader = reader.option("maxFilesPerTrigger", max_files_per_trigger)
    stream = reader.load(str(input_dir.resolve())).select("path", "modificationTime")
    digest = hashlib.sha1(str(input_dir.resolve()).encode()).hexdigest()[:10]
    stager = drops.DropStager(spark, settings.input, settings.columns)
    return Source(
        name=f"files-{_slug(input_dir.name)}-{digest}",
        stream=stream,
        stage=stager,
        data_columns=drops.staged_columns(settings.columns),
        columns=settings.columns,
        expected=lambda _checkpoint, _batch_id: stager.records_counted(),
    )


def kafka_source(spark: SparkSession, kafka: KafkaConfig) -> Source:
    """Events on ``kafka.topic`` (see :mod:`ingest.events`), read with every ``kafka.*``
    setting (``max_offsets_per_trigger`` bounds a catch-up batch; None: everything
    available). The settings come whole, so no caller can run on class defaults."""
    reader = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", kafka.bootstrap_servers)
        .option("subscribe", kafka.topic)
        .option("startingOffsets", kafka.starting_offsets)
        # a busy machine or a broker restart must not fail the query on the first slow reply
        .option("kafka.default.api.timeout.ms", "180000")
        .option("fetchOffset.numRetries", "6")
        .option("fetchOffset.retryIntervalMs", "2000")
        # catch-up batches read tens of MB per partition: fewer, larger fetches
        .option("kafka.max.partition.fetch.bytes", str(kafka.max_partition_fetch_bytes))
        .option("kafka.fetch.max.bytes", str(4 * kafka.max_partition_fetch_bytes))
    )
    if kafka.max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", kafka.max_offsets_per_trigger)

    def stage(batch: DataFrame) -> DataFrame:
        return staging.stage_events(batch, kafka.max_event_bytes)

    return Source(
        name=kafka_source_name(kafka.topic),
        stream=reader.load(),
        stage=stage,
        data_columns=events.DATA_FIELDS,
        columns=EVENT_COLUMNS,
        stateless=True,
        expected=offsets.batch_records,
    )


def start(
    spark: SparkSession,
    settings: Settings,
    source: Source,
    options: RunOptions,
    recorder: report.Recorder | None = None,
) -> StreamingQuery:
    """Create the tables if needed and start the query (returns at once). Each committed
    batch goes to ``recorder`` (default: one that keeps the query's report beside the
    tables, :func:`ingest.report.report_path`)."""
    paths = TablePaths.under(settings.paths.delta_dir)
    ensure_tables(spark, paths)
    spec = CleaningSpec(
        data_columns=source.data_columns,
        columns=source.columns,
        cleaning=settings.cleaning,
        timestamp_formats=tuple(settings.input.timestamp_formats),
    )
    checkpoint = options.checkpoint or default_checkpoint(settings, source.name)
    location = str(Path(checkpoint).resolve())
    partitions = max(1, min(settings.spark.shuffle_partitions, default_parallelism(spark)))
    stream = source.stream
    stage: Callable[[DataFrame], DataFrame] | None = source.stage
    if source.stateless:
        stream, stage = classify_staged(source.stage(stream), spec), None
    writer = (
        stream.writeStream.foreachBatch(
            DeltaSink(
                spark,
                paths,
                spec,
                stage,
                location,
                partitions=partitions,
                expected=source.expected,
                on_batch=recorder or recorder_for(settings, source),
            )
        )
        .option("checkpointLocation", location)
        .queryName(f"ingest-{source.name}")
    )
    if options.once:
        writer = writer.trigger(availableNow=True)
    else:
        writer = writer.trigger(processingTime=f"{options.trigger_seconds} seconds")
    return writer.start()


def recorder_for(
    settings: Settings,
    source: Source,
    forward: Callable[[report.BatchReport], None] | None = None,
) -> report.Recorder:
    """The recorder of ``source``'s report under ``paths.delta_dir``."""
    paths = TablePaths.under(settings.paths.delta_dir)
    path = report.report_path(settings.paths.delta_dir, source.name)
    return report.Recorder(path, source.name, paths.lines, forward)


def stop_between_batches(query: StreamingQuery, timeout: float = 60.0) -> None:
    """Stop ``query`` when no micro-batch is running (or after ``timeout``).

    Stopping mid-batch cancels the ``foreachBatch`` Spark jobs; the Python error then
    reaches the JVM as a Py4J error whose message holds the whole query plan, and Spark's
    check whether it was "interrupted by stop" (a regex with ``(.|\\n)*`` in
    ``StreamExecution``) overflows the thread stack on such a long message: the
    ``StackOverflowError`` seen at stop. Harmless (the batch is re-run from the
    checkpoint) but noisy; waiting for an idle trigger avoids it."""
    deadline = time.monotonic() + timeout
    while query.isActive and time.monotonic() < deadline:
        if not query.status.get("isTriggerActive", False):
            break
        time.sleep(0.1)
    query.stop()


def run(query: StreamingQuery, poll_seconds: int = 1) -> None:
    """Block until the query ends (``once``) or is interrupted; re-raise its failure."""
    try:
        while query.isActive:
            query.awaitTermination(poll_seconds)
    except KeyboardInterrupt:
        log.warning("stopping %s", query.name)
        query.stop()
    error = query.exception()
    if error is not None:
        raise RuntimeError(f"ingest query {query.name} failed: {error}")
