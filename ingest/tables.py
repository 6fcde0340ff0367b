"""The two Delta tables ingest writes, under ``<delta_dir>``:

- ``lines``: one row per accepted transaction line: the ``basket_core.schemas.LINES`` columns
  (what the batch miner reads) plus the line's identity and provenance; liquid-clustered
  by ``event_date`` (:data:`CLUSTER_BY`); row tracking on (``_metadata.row_commit_version``
  dates every row).
- ``quarantine``: ``basket_core.schemas.QUARANTINE`` plus ``ingested_at``; one row per rejected
  record, keyed by its source position (file + row, or topic/partition + offset).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from basket_core.schemas import LINES, QUARANTINE, Column, Dataset

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession

LINES_TABLE = Dataset(
    "lines",
    "Accepted transaction lines from streaming ingest.",
    (
        *LINES.columns,
        Column("line_no", "bigint", "Line number in the transaction (events) or file row.", False),
        Column("line_key", "string", "Idempotency key: event|tx|line_no or file|path|row.", False),
        Column("line_hash", "string", "SHA-256 of the duplicate-check fields.", False),
        Column("source", "string", "File path or topic/partition.", False),
        Column("source_offset", "bigint", "Row in the file or Kafka offset."),
        Column("source_ts", "timestamp", "File modification time or Kafka record timestamp."),
        Column("ingested_at", "timestamp", "When the micro-batch was processed.", False),
        Column(
            "attributes",
            "map<string,string>",
            "The source's other columns by name, as read (a CSV's Country, StockCode); "
            "empty for events. `basket mine --table` turns them back into columns.",
        ),
    ),
)
QUARANTINE_TABLE = Dataset(
    "quarantine",
    "Rejected records from streaming ingest.",
    (
        *QUARANTINE.columns,
        Column("ingested_at", "timestamp", "When the micro-batch was processed.", False),
    ),
)
PARTITION = "event_date"
"""The event date column: what date windows filter on (the miner's ``--start-date``, the
sink's lookup of stored keys). Tables created before :data:`CLUSTER_BY` are partitioned
by it (:func:`layout`); both layouts are read and written the same way."""
CLUSTER_BY = (PARTITION,)
"""Liquid clustering keys of ``lines``. Date partitions made one file per date touched
by each micro-batch (a catch-up of a year: ~600 files of ~85 KB, and compaction could
not go past one file per date); a clustered table's append writes one file per task
whatever the dates, and ``OPTIMIZE`` (:mod:`ingest.maintenance`) rewrites them sorted by
date, so a date window still skips files and row groups by their statistics."""
STATS_COLUMNS = (
    "event_date",
    "transaction_id",
    "ts",
    "source_offset",
    "source_ts",
    "ingested_at",
)
"""``lines`` columns with file statistics: ``event_date`` is the clustering key (Delta
needs statistics on it) and what date windows skip files by; ``transaction_id`` lets the
sink's lookup of stored keys skip files (:func:`ingest.lookup.stored_matches`); the others
serve time and provenance filters."""
STATS_PROPERTY = "delta.dataSkippingStatsColumns"
COMMITTED = re.compile(
    r"^(\d{20}\.json|\d{20}\.checkpoint(\.\d+\.\d+)?\.parquet|_last_checkpoint)$"
)
"""Names in ``_delta_log`` that only exist once a version has been committed: a commit, a
checkpoint, or the pointer to one."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TablePaths:
    lines: str
    quarantine: str

    @classmethod
    def under(cls, delta_dir: Path | str) -> TablePaths:
        root = str(delta_dir).rstrip("/")
        if "://" not in root:
            root = str(Path(root).resolve())
        return cls(lines=f"{root}/lines", quarantine=f"{root}/quarantine")


def ensure_tables(spark: SparkSession, paths: TablePaths) -> None:
    """Create both tables if they do not exist (safe to call from every run)."""
    from delta.tables import DeltaTable

    from basket_core.schemas import spark_schema

    for path in (paths.lines, paths.quarantine):
        clear_uncommitted_log(spark, path)
    (
        DeltaTable.createIfNotExists(spark)
        .location(paths.lines)
        .addColumns(spark_schema(LINES_TABLE))
        .clusterBy(*CLUSTER_BY)
        .property("delta.enableRowTracking", "true")
        .property("delta.appendOnly", "false")
        .property(STATS_PROPERTY, ",".join(STATS_COLUMNS))
        .execute()
    )
    _add_missing_columns(spark, paths.lines, LINES_TABLE)
    _ensure_stats_columns(spark, paths.lines)
    (
        DeltaTable.createIfNotExists(spark)
        .location(paths.quarantine)
        .addColumns(spark_schema(QUARANTINE_TABLE))
        .execute()
    )


def clear_uncommitted_log(spark: SparkSession, path: str) -> bool:
    """Remove a ``_delta_log`` in which no version was ever committed (True if one was).

    Delta takes a path with a ``_delta_log`` folder for a table, but a run killed while
    creating the table leaves that folder without its first commit (empty, or holding a
    temporary file of it). ``createIfNotExists`` then creates nothing and every later
    run fails with DELTA_TABLE_NOT_FOUND. Such a log holds no committed row or schema, so
    removing it loses nothing; a log with any commit or checkpoint is never touched."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None, "ingest runs in-process (a classic Spark session)"
    log_dir = jvm.org.apache.hadoop.fs.Path(f"{path}/_delta_log")
    fs = log_dir.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    if not fs.exists(log_dir):
        return False
    names = sorted(str(status.getPath().getName()) for status in fs.listStatus(log_dir))
    if any(COMMITTED.match(name) for name in names):
        return False
    fs.delete(log_dir, True)
    log.warning(
        "removed %s/_delta_log: no version was ever committed there (%d leftover file(s)%s), "
        "as a run killed while creating the table leaves it; creating the table again",
        path,
        len(names),
        f": {', '.join(names[:5])}" if names else "",
    )
    return True


def layout(spark: SparkSession, path: str) -> Layout:
    """How the Delta table at ``path`` lays out its files (``DESCRIBE DETAIL``)."""
    return Layout.of(spark.sql(f"DESCRIBE DETAIL delta.`{path}`").first())


@dataclass(frozen=True)
class Layout:
    partitioned_by: tuple[str, ...]
    clustered_by: tuple[str, ...]

    @classmethod
    def of(cls, detail: Any) -> Layout:
        """From a ``DESCRIBE DETAIL`` row (None: no table, no layout)."""
        columns = detail.asDict() if detail is not None else {}
        return cls(
            tuple(columns.get("partitionColumns") or ()),
            tuple(columns.get("clusteringColumns") or ()),
        )

    def describe(self) -> str:
        if self.clustered_by:
            return f"clustered by {', '.join(self.clustered_by)}"
        if self.partitioned_by:
            return f"partitioned by {', '.join(self.partitioned_by)}"
        return "unpartitioned"


def _ensure_stats_columns(spark: SparkSession, path: str) -> None:
    """A ``lines`` table created before :data:`STATS_COLUMNS` gets the property once (old
    files keep their statistics; new appends collect only these)."""
    from delta.tables import DeltaTable

    props = DeltaTable.forPath(spark, path).detail().first()
    if props is None or STATS_PROPERTY in (props["properties"] or {}):
        return
    # a partition column has no file statistics to collect (Delta refuses it here)
    partitioned = set(props["partitionColumns"] or ())
    value = ",".join(c for c in STATS_COLUMNS if c not in partitioned)
    spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ('{STATS_PROPERTY}' = '{value}')")


def _add_missing_columns(spark: SparkSession, path: str, dataset: Dataset) -> None:
    """A table created by an older version gets the columns added since (at the end,
    nullable: old rows read them as null)."""
    from basket_core.schemas import spark_type

    have = set(spark.read.format("delta").load(path).columns)
    for c in dataset.columns:
        if c.name not in have:
            sql_type = spark_type(c.type).simpleString()
            comment = c.doc.replace("'", "\\'")
            spark.sql(
                f"ALTER TABLE delta.`{path}` ADD COLUMNS (`{c.name}` {sql_type} COMMENT '{comment}')"
            )
