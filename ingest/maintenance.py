"""Small files under control: compaction (Delta ``OPTIMIZE``) and ``VACUUM`` of the two
ingest tables, with the file counts before and after.

A stream appends a file per task per micro-batch, so a continuous feed leaves many small
files for the miner and Athena to open. :func:`maintain` rewrites them (``OPTIMIZE``:
on the clustered ``lines`` table, sorted by its clustering key; elsewhere bin-packed; a
new table version whose files replace the small ones; readers see the old version or the
new, never a mix) and then deletes the files no version newer than
the retention still needs (``VACUUM``). ``basket ingest maintain`` runs it, and the
scheduled catch-up runs it after each catch-up (``maintenance.after_catch_up``).

The retention is also how long a reader (a mine, a time-travel query) may keep reading an
old version: a retention under Delta's 7-day default is refused by Delta's own check
unless ``maintenance.vacuum_retention_hours`` asks for it explicitly, in which case the
check is lifted for that one call and the log says so.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession

    from ingest.tables import TablePaths

log = logging.getLogger(__name__)

DELTA_DEFAULT_RETENTION_HOURS = 168.0
RETENTION_CHECK = "spark.databricks.delta.retentionDurationCheck.enabled"
LISTING_PARALLELISM = "spark.sql.sources.parallelPartitionDiscovery.parallelism"
"""How many tasks VACUUM lists and deletes files with: Spark's default is 10,000, which on
a small machine turns a VACUUM of a few hundred files into minutes of empty tasks."""


@dataclass(frozen=True)
class TableFiles:
    """The files of a table's current version."""

    files: int
    bytes: int

    @property
    def average_mb(self) -> float:
        return self.bytes / self.files / 1e6 if self.files else 0.0


@dataclass(frozen=True)
class TableMaintenance:
    """What one table's maintenance did."""

    table: str
    before: TableFiles
    after: TableFiles
    files_compacted: int
    """Small files OPTIMIZE replaced (``numFilesRemoved``)."""
    files_written: int
    """Files OPTIMIZE wrote in their place (``numFilesAdded``)."""
    files_vacuumed: int
    """Files no longer referenced, older than the retention, deleted by VACUUM."""
    retention_hours: float
    seconds: float
    finished_at: str

    def line(self) -> str:
        return (
            f"{self.table}: {self.before.files:,} files ({self.before.average_mb:.2f} MB avg) "
            f"-> {self.after.files:,} ({self.after.average_mb:.2f} MB avg); "
            f"{self.files_compacted:,} compacted into {self.files_written:,}, "
            f"{self.files_vacuumed:,} vacuumed (retention {self.retention_hours:g} h) "
            f"in {self.seconds:.1f} s"
        )


def table_files(spark: SparkSession, path: str) -> TableFiles:
    """File count and bytes of the table's current version (``DESCRIBE DETAIL``)."""
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{path}`").first()
    if detail is None:
        return TableFiles(0, 0)
    return TableFiles(int(detail["numFiles"] or 0), int(detail["sizeInBytes"] or 0))


def compact(spark: SparkSession, path: str) -> tuple[int, int]:
    """``OPTIMIZE`` the table (clustering a clustered table, else bin-packing partition by
    partition); (files removed, files added)."""
    from delta.tables import DeltaTable

    result = DeltaTable.forPath(spark, path).optimize().executeCompaction().first()
    if result is None or result["metrics"] is None:
        return 0, 0
    metrics = result["metrics"]
    return int(metrics["numFilesRemoved"] or 0), int(metrics["numFilesAdded"] or 0)


def vacuum(spark: SparkSession, path: str, retention_hours: float) -> int:
    """Delete unreferenced files older than the retention; the number deleted (listed by
    a ``DRY RUN`` first, as VACUUM itself reports no count)."""
    from spark.session import default_parallelism, overridden_conf

    values = {LISTING_PARALLELISM: str(max(2, 2 * default_parallelism(spark)))}
    if retention_hours < DELTA_DEFAULT_RETENTION_HOURS:
        log.warning(
            "VACUUM %s with a retention of %g h, under Delta's %g h default: a reader of a "
            "version older than that may fail",
            path,
            retention_hours,
            DELTA_DEFAULT_RETENTION_HOURS,
        )
        values[RETENTION_CHECK] = "false"
    with overridden_conf(spark, values):
        retain = f"RETAIN {retention_hours:g} HOURS"
        doomed = spark.sql(f"VACUUM delta.`{path}` {retain} DRY RUN").count()
        if doomed:
            spark.sql(f"VACUUM delta.`{path}` {retain}").collect()
        return int(doomed)


def maintain_table(
    spark: SparkSession, name: str, path: str, *, retention_hours: float
) -> TableMaintenance:
    if retention_hours < 0:
        raise ValueError(f"retention must be >= 0 hours, got {retention_hours}")
    started = time.perf_counter()
    before = table_files(spark, path)
    removed, added = compact(spark, path)
    vacuumed = vacuum(spark, path, retention_hours)
    after = table_files(spark, path)
    done = TableMaintenance(
        table=name,
        before=before,
        after=after,
        files_compacted=removed,
        files_written=added,
        files_vacuumed=vacuumed,
        retention_hours=retention_hours,
        seconds=round(time.perf_counter() - started, 3),
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    log.info("%s", done.line())
    return done


def maintain(
    spark: SparkSession, paths: TablePaths, *, retention_hours: float
) -> list[TableMaintenance]:
    """Compact and vacuum ``lines`` and ``quarantine`` (tables not created yet skipped)."""
    from delta.tables import DeltaTable

    out = []
    for name, path in (("lines", paths.lines), ("quarantine", paths.quarantine)):
        if not DeltaTable.isDeltaTable(spark, path):
            continue
        out.append(maintain_table(spark, name, path, retention_hours=retention_hours))
    return out


@dataclass(frozen=True)
class Relayout:
    """What :func:`relayout` did to a table laid out before :data:`~ingest.tables.CLUSTER_BY`."""

    table: str
    before: str
    after: str
    rows: int
    version: int
    """The table version the rows were copied from."""
    restored: int
    """Rows appended by another writer during the rewrite, copied again after it."""
    seconds: float

    def line(self) -> str:
        return (
            f"{self.table}: {self.before} -> {self.after}; {self.rows:,} rows of version "
            f"{self.version} rewritten"
            + (f", {self.restored:,} appended meanwhile copied after" if self.restored else "")
            + f" in {self.seconds:.1f} s"
        )


def relayout(spark: SparkSession, path: str) -> Relayout | None:
    """Rewrite a ``lines`` table partitioned by date (the layout before liquid clustering)
    as a table clustered by :data:`~ingest.tables.CLUSTER_BY`, in one Delta commit
    (``CREATE OR REPLACE ... AS SELECT`` of the current version, then ``OPTIMIZE``);
    None when it already is. History, time travel and the stream's idempotency watermarks
    stay: it is a new version of the same table.

    A writer that appends between the copied version and the rewrite's commit (a stream
    left running) would lose those rows to the replace: they are found afterwards by
    ``line_key`` and appended again, so nothing is lost either way."""
    from ingest.tables import CLUSTER_BY, STATS_COLUMNS, STATS_PROPERTY, layout

    started = time.perf_counter()
    before = layout(spark, path)
    if before.clustered_by == CLUSTER_BY:
        return None
    version = _version(spark, path)
    source = spark.read.format("delta").option("versionAsOf", version).load(path)
    rows = source.count()
    source.createOrReplaceTempView("_relayout_source")
    try:
        spark.sql(
            f"CREATE OR REPLACE TABLE delta.`{path}` USING delta "
            f"CLUSTER BY ({', '.join(CLUSTER_BY)}) "
            f"TBLPROPERTIES ('delta.enableRowTracking' = 'true', "
            f"'{STATS_PROPERTY}' = '{','.join(STATS_COLUMNS)}') "
            "AS SELECT * FROM _relayout_source"
        )
    finally:
        spark.catalog.dropTempView("_relayout_source")
    replaced = _replace_version(spark, path, after=version)
    restored = 0
    if replaced > version + 1:
        # commits landed between the copy and the replace: their rows are in the version
        # before the replace and not after it
        previous = spark.read.format("delta").option("versionAsOf", replaced - 1).load(path)
        current = spark.read.format("delta").load(path)
        missing = previous.join(current.select("line_key"), "line_key", "left_anti")
        restored = missing.count()
        if restored:
            missing.write.format("delta").mode("append").save(path)
            log.warning(
                "%s: %d rows appended during the relayout were copied again", path, restored
            )
    compact(spark, path)
    done = Relayout(
        table=path,
        before=before.describe(),
        after=layout(spark, path).describe(),
        rows=rows,
        version=version,
        restored=restored,
        seconds=round(time.perf_counter() - started, 3),
    )
    log.info("%s", done.line())
    return done


def _version(spark: SparkSession, path: str) -> int:
    row = spark.sql(f"DESCRIBE HISTORY delta.`{path}` LIMIT 1").first()
    return int(row["version"]) if row else 0


def _replace_version(spark: SparkSession, path: str, *, after: int) -> int:
    """The version the replace committed: the first ``CREATE OR REPLACE TABLE AS SELECT``
    after ``after``."""
    history = spark.sql(f"DESCRIBE HISTORY delta.`{path}`").where(f"version > {after}")
    replaced = [
        int(r["version"])
        for r in history.collect()
        if str(r["operation"]).startswith("CREATE OR REPLACE TABLE")
    ]
    if not replaced:
        raise RuntimeError(f"{path}: the relayout's commit is not in the table's history")
    return min(replaced)
