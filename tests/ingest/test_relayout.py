"""The lines table's layout: new tables are clustered by event date (a catch-up writes one
file per task, whatever the dates), and a table made before that (partitioned by date) is
rewritten by ``basket ingest relayout`` with the same rows, its history and the stream's
idempotency intact, also when a writer appended during the rewrite.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from basket_core.config import Settings
from basket_pipeline import stages
from ingest import maintenance
from ingest.tables import CLUSTER_BY, LINES_TABLE, PARTITION, TablePaths, layout
from tests.fixtures.kafka import drop_settings, sample_rows, table_rows, write_csv

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession


def _files_settings(tmp_path: Path) -> tuple[Settings, Path]:
    return drop_settings(tmp_path, **{"maintenance.after_catch_up": False})


def _old_layout_table(spark: SparkSession, path: str) -> None:
    """The lines table as versions before clustering created it."""
    from delta.tables import DeltaTable

    from basket_core.schemas import spark_schema

    (
        DeltaTable.create(spark)
        .location(path)
        .addColumns(spark_schema(LINES_TABLE))
        .partitionedBy(PARTITION)
        .property("delta.enableRowTracking", "true")
        .property("delta.dataSkippingStatsColumns", "transaction_id,ts")
        .execute()
    )


def test_a_new_lines_table_is_clustered_and_writes_one_file_per_task(
    ingest_spark: SparkSession, tmp_path: Path
) -> None:
    spark = ingest_spark
    settings, landing = _files_settings(tmp_path)
    paths = TablePaths.under(settings.paths.delta_dir)
    write_csv(landing / "drop-0.csv", sample_rows(30, seed=0))
    stages.catch_up_ingest(settings, spark=spark)
    assert layout(spark, paths.lines).clustered_by == CLUSTER_BY
    dates = spark.read.format("delta").load(paths.lines).select(PARTITION).distinct().count()
    files = [p for p in Path(paths.lines).rglob("*.parquet") if "_delta_log" not in p.parts]
    # three dates in one small batch: one file, not one per date
    assert dates == 3 and len(files) == 1
    # a date window is answered from the file statistics on event_date
    window = spark.read.format("delta").load(paths.lines).where(f"{PARTITION} = DATE'2024-03-02'")
    assert window.count() == (
        spark.read.format("delta").load(paths.lines).where(f"{PARTITION} = '2024-03-02'").count()
    )
    assert window.count() > 0
    status = {t.name: t for t in stages.ingest_status(settings, spark=spark).tables}
    assert status["lines"].layout == f"clustered by {PARTITION}"


def test_relayout_keeps_rows_history_and_the_streams_idempotency(
    ingest_spark: SparkSession, tmp_path: Path
) -> None:
    spark = ingest_spark
    settings, landing = _files_settings(tmp_path)
    paths = TablePaths.under(settings.paths.delta_dir)
    _old_layout_table(spark, paths.lines)
    for n in range(2):
        write_csv(landing / f"drop-{n}.csv", sample_rows(15, seed=n, first_tx=3000 + 100 * n))
        stages.catch_up_ingest(settings, spark=spark)
    assert layout(spark, paths.lines).partitioned_by == (PARTITION,)
    old_version = maintenance._version(spark, paths.lines)
    before = table_rows(spark, paths.lines)
    files_before = len(list(Path(paths.lines).rglob("*.parquet")))

    done = stages.relayout_lines(settings, spark=spark)

    assert done is not None and done.restored == 0
    assert (done.before, done.after) == (f"partitioned by {PARTITION}", f"clustered by {PARTITION}")
    assert done.rows == sum(before.values())
    assert layout(spark, paths.lines).clustered_by == CLUSTER_BY
    assert table_rows(spark, paths.lines) == before
    # the old version is still there for a reader of it
    assert table_rows(spark, paths.lines, versionAsOf=old_version) == before
    assert maintenance.table_files(spark, paths.lines).files < files_before
    # again: nothing to do
    assert stages.relayout_lines(settings, spark=spark) is None

    # the file-drop stream goes on from its checkpoint: the two drops are not read again,
    # a new one is appended to the clustered table
    write_csv(landing / "drop-2.csv", sample_rows(15, seed=2, first_tx=3200))
    stages.catch_up_ingest(settings, spark=spark)
    after = table_rows(spark, paths.lines)
    assert before - after == Counter()
    added = sum(after.values()) - sum(before.values())
    assert added > 0
    keys = spark.read.format("delta").load(paths.lines).select("line_key")
    assert keys.distinct().count() == keys.count()


def test_rows_appended_during_the_rewrite_are_not_lost(
    ingest_spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stream left running commits between the version the rewrite copies and the
    rewrite's own commit: the copy lacks that batch. Simulated by copying the version
    before the last catch-up's commit."""
    spark = ingest_spark
    settings, landing = _files_settings(tmp_path)
    paths = TablePaths.under(settings.paths.delta_dir)
    _old_layout_table(spark, paths.lines)
    write_csv(landing / "drop-0.csv", sample_rows(15, seed=0, first_tx=4000))
    stages.catch_up_ingest(settings, spark=spark)
    copied = maintenance._version(spark, paths.lines)
    write_csv(landing / "drop-1.csv", sample_rows(15, seed=1, first_tx=4100))
    stages.catch_up_ingest(settings, spark=spark)
    everything = table_rows(spark, paths.lines)
    late = sum(everything.values()) - sum(
        table_rows(spark, paths.lines, versionAsOf=copied).values()
    )
    assert late > 0

    monkeypatch.setattr(maintenance, "_version", lambda *_args, **_kw: copied)
    done = stages.relayout_lines(settings, spark=spark)

    assert done is not None and done.restored == late
    assert layout(spark, paths.lines).clustered_by == CLUSTER_BY
    assert table_rows(spark, paths.lines) == everything


def test_relayout_without_a_table_is_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from basket.cli import main

    result = CliRunner().invoke(
        main, ["ingest", "relayout", "--delta-dir", str(tmp_path / "nothing")]
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith("Error: no lines table at ")
