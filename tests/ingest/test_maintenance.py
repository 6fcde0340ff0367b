"""Compaction and VACUUM of the ingest tables: the scheduled catch-up over several CSV
drops leaves a small file per batch; maintenance clusters them into one file (a table
this small), deletes the replaced ones (or keeps them for older readers, under the default
retention), and a reader sees exactly the same rows before and after.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from basket_pipeline import stages
from ingest.maintenance import RETENTION_CHECK, table_files
from ingest.tables import TablePaths
from tests.fixtures.kafka import drop_settings, sample_rows, table_rows, write_csv

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession


def _parquet_files(path: str) -> int:
    return sum(1 for _ in Path(path).rglob("*.parquet"))


def test_catch_up_compacts_and_vacuums_small_files(
    ingest_spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spark = ingest_spark
    settings, landing = drop_settings(tmp_path, **{"maintenance.vacuum_retention_hours": 0.0})
    paths = TablePaths.under(settings.paths.delta_dir)
    # catch-ups of one drop each: every batch writes one file (3 dates in it)
    for n in range(2):
        write_csv(landing / f"drop-{n}.csv", sample_rows(12, seed=n, first_tx=2000 + 100 * n))
        stages.catch_up_ingest(
            settings.with_overrides(**{"maintenance.after_catch_up": False}), spark=spark
        )
    # with the default 168 h retention, compaction replaces the small files in the log
    # but VACUUM keeps them on disk: a reader of the previous version still reads
    on_disk = _parquet_files(paths.lines)
    version = spark.sql(f"DESCRIBE HISTORY delta.`{paths.lines}` LIMIT 1").first()["version"]
    old = table_rows(spark, paths.lines, versionAsOf=version)
    kept = {
        m.table: m
        for m in stages.maintain_tables(
            settings.with_overrides(**{"maintenance.vacuum_retention_hours": 168.0}), spark=spark
        )
    }["lines"]
    assert on_disk == 2 and kept.files_compacted == on_disk and kept.files_vacuumed == 0
    assert kept.after.files == kept.files_written == 1
    assert _parquet_files(paths.lines) == on_disk + kept.files_written
    assert table_rows(spark, paths.lines, versionAsOf=version) == old

    write_csv(landing / "drop-2.csv", sample_rows(12, seed=2, first_tx=2200))
    # the last catch-up is what the DAG task runs: ingest, then maintenance. Just before
    # the maintenance, a reader of the test's own takes the rows and counts the files.
    seen: dict[str, object] = {}
    maintain_tables = stages.maintain_tables

    def look_then_maintain(*args: object, **kwargs: object) -> object:
        seen["lines"] = table_rows(spark, paths.lines)
        seen["quarantine"] = table_rows(spark, paths.quarantine)
        seen["files"] = _parquet_files(paths.lines)
        return maintain_tables(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(stages, "maintain_tables", look_then_maintain)
    report = stages.catch_up_ingest(settings, spark=spark)
    monkeypatch.undo()
    before_lines = (seen["lines"], seen["quarantine"])
    before_files = [seen["files"]]

    assert before_lines is not None
    dates = spark.read.format("delta").load(paths.lines).select("event_date").distinct().count()
    assert dates == 3
    lines_done = next(m for m in report.maintenance if m["table"] == "lines")
    # referenced: the compacted file and the last batch's
    assert lines_done["before"]["files"] == kept.after.files + 1
    assert lines_done["after"]["files"] == 1 == table_files(spark, paths.lines).files
    assert lines_done["files_compacted"] == kept.after.files + 1
    assert lines_done["files_written"] == 1
    # every file on disk (counted by the test) but the new ones is deleted: the ones the
    # first compaction replaced, the first compaction's own, the last batch's
    assert isinstance(before_files[0], int)
    assert lines_done["files_vacuumed"] == before_files[0]
    assert _parquet_files(paths.lines) == 1
    # what a reader sees is unchanged, row for row
    assert table_rows(spark, paths.lines) == before_lines[0]
    assert table_rows(spark, paths.quarantine) == before_lines[1]
    # the retention check lifted for the call only
    assert spark.conf.get(RETENTION_CHECK, "true") == "true"
    saved = json.loads(
        (Path(settings.paths.delta_dir) / "_reports" / "maintenance.json").read_text()
    )
    assert [m["table"] for m in saved] == ["lines", "quarantine"]

    # a second maintenance has nothing to do
    again = stages.maintain_tables(settings, spark=spark)
    assert [(m.files_compacted, m.files_vacuumed) for m in again] == [(0, 0), (0, 0)]
