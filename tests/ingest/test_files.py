"""CSV drops: files added while the stream runs are picked up; the Delta tables then hold
exactly what a batch read + clean of the same files gives."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from ingest import stream
from ingest.tables import TablePaths
from spark.clean import clean_lines
from spark.load import read_long
from tests.fixtures.kafka import ingest_settings, sample_rows, wait_for, write_csv

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

KEY = ("transaction_id", "item", "quantity", "price", "ts", "customer_id", "store_id")


def line_multiset(df: DataFrame) -> Counter[tuple[object, ...]]:
    return Counter(tuple(r) for r in df.select(*KEY).collect())


def _stored_rdds(spark: SparkSession) -> set[int]:
    """The RDDs holding blocks (caches and local checkpoints), but Delta's own cache of
    each table's current state."""
    infos = spark.sparkContext._jsc.sc().getRDDStorageInfo()
    return {i.id() for i in infos if not i.name().startswith("Delta Table State")}


def test_csv_drops_are_ingested_while_running(ingest_spark: SparkSession, tmp_path: Path) -> None:
    spark = ingest_spark
    settings = ingest_settings(tmp_path)
    paths = TablePaths.under(settings.paths.delta_dir)
    drop = tmp_path / "drop"
    drop.mkdir()
    rows = sample_rows(40)
    # one transaction is split over files 1 and 2; file 3 repeats lines of files 1 and 2
    cut = next(i for i in range(40, len(rows)) if rows[i][:4] == rows[i - 1][:4])
    first, second = rows[:cut], rows[cut:]
    files = [write_csv(drop / "part-1.csv", first)]
    stored_before = _stored_rdds(spark)

    query = stream.start(
        spark,
        settings,
        stream.files_source(spark, settings, drop),
        stream.RunOptions(trigger_seconds=1),
    )

    def total() -> int:
        lines = spark.read.format("delta").load(paths.lines).count()
        return lines + spark.read.format("delta").load(paths.quarantine).count()

    try:
        wait_for(lambda: total() == len(first) or total(), 120, "first drop")
        files.append(write_csv(drop / "part-2.csv", second))
        files.append(write_csv(drop / "part-3.csv", [first[0], second[0]]))
        wait_for(lambda: total() == len(rows) + 2 or total(), 120, "later drops")
        assert query.isActive and query.exception() is None
    finally:
        query.stop()
    # every batch frees what it materialised: its cache, the repeat groups and the lookup's
    # checkpoint (file 3's lines meet stored ones), which unpersist alone does not reach
    wait_for(lambda: _stored_rdds(spark) <= stored_before or _stored_rdds(spark), 30, "freed")

    raw = read_long(spark, [str(p) for p in files], settings.input, settings.columns)
    _, batch = clean_lines(
        raw.df,
        data_columns=raw.data_columns,
        columns=settings.columns,
        cleaning=settings.cleaning,
        timestamp_formats=settings.input.timestamp_formats,
    )
    lines = spark.read.format("delta").load(paths.lines)
    quarantine = spark.read.format("delta").load(paths.quarantine)
    assert line_multiset(lines) == line_multiset(batch.accepted)
    reasons = Counter(r[0] for r in quarantine.select("reason").collect())
    assert reasons == Counter(r[0] for r in batch.rejected.select("reason").collect())
    assert reasons["duplicate"] >= 2  # within a file and across files
    # each rejection explained as the batch miner explains it: the failed rule's field and
    # detail, and for a duplicate (in the batch, or of a stored line) the earlier line's
    explained = ("reason", "field", "detail")
    assert Counter(tuple(r) for r in quarantine.select(*explained).collect()) == Counter(
        tuple(r) for r in batch.rejected.select(*explained).collect()
    )
    duplicates = quarantine.where("reason = 'duplicate'").select("field", "detail").collect()
    assert all(r[0] is None and r[1].startswith("identical to an earlier line") for r in duplicates)
    assert lines.select("line_key").distinct().count() == lines.count()
    sources = lines.where(f"transaction_id = '{rows[cut][:4]}'").select("source").distinct()
    assert sources.count() == 2
