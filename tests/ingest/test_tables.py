"""Creating the ingest tables after a run was killed while creating them: a ``_delta_log``
without its first commit is cleared and the table created; a committed log is never
touched."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ingest.tables import (
    LINES_TABLE,
    QUARANTINE_TABLE,
    TablePaths,
    clear_uncommitted_log,
    ensure_tables,
)

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession

FIRST_COMMIT = "00000000000000000000.json"


@pytest.mark.parametrize(
    "leftover",
    [
        pytest.param((), id="empty-log"),
        pytest.param((f".{FIRST_COMMIT}.6d1f2c.tmp",), id="temporary-first-commit"),
        pytest.param(("_commits/",), id="empty-commits-folder"),
    ],
)
def test_a_log_without_a_commit_is_cleared_and_the_table_created(
    ingest_spark: SparkSession, tmp_path: Path, leftover: tuple[str, ...]
) -> None:
    paths = TablePaths.under(tmp_path / "delta")
    for table in (paths.lines, paths.quarantine):
        log_dir = Path(table, "_delta_log")
        log_dir.mkdir(parents=True)
        for name in leftover:
            (log_dir / name).mkdir() if name.endswith("/") else (log_dir / name).write_text("{")

    ensure_tables(ingest_spark, paths)

    for table, dataset in ((paths.lines, LINES_TABLE), (paths.quarantine, QUARANTINE_TABLE)):
        assert (Path(table) / "_delta_log" / FIRST_COMMIT).is_file()
        assert not any(Path(table, "_delta_log").glob("*.tmp"))
        read = ingest_spark.read.format("delta").load(table)
        assert read.columns == [c.name for c in dataset.columns]
        assert read.count() == 0
    ensure_tables(ingest_spark, paths)  # and again: nothing to clear
    assert not clear_uncommitted_log(ingest_spark, paths.lines)


def test_a_committed_log_is_never_touched(ingest_spark: SparkSession, tmp_path: Path) -> None:
    paths = TablePaths.under(tmp_path / "delta")
    ensure_tables(ingest_spark, paths)
    quarantine = ingest_spark.read.format("delta").load(paths.quarantine)
    row = {c.name: None for c in QUARANTINE_TABLE.columns}
    row.update(source="sales.csv", reason="bad_price", raw="1,x", ingested_at=datetime(2026, 12, 7))
    appended = ingest_spark.createDataFrame([row], quarantine.schema)
    appended.write.format("delta").mode("append").save(paths.quarantine)
    # a later commit killed halfway leaves its temporary file beside the committed ones
    stray = Path(paths.quarantine, "_delta_log", ".00000000000000000002.json.77aa.tmp")
    stray.write_text("{")

    assert not clear_uncommitted_log(ingest_spark, paths.quarantine)
    ensure_tables(ingest_spark, paths)

    assert stray.exists()
    rows = ingest_spark.read.format("delta").load(paths.quarantine).collect()
    assert [(r.source, r.reason) for r in rows] == [("sales.csv", "bad_price")]


def test_a_log_of_checkpoints_only_counts_as_committed(
    ingest_spark: SparkSession, tmp_path: Path
) -> None:
    """Log retention can leave a checkpoint and no older commit: still a table."""
    log_dir = tmp_path / "lines" / "_delta_log"
    log_dir.mkdir(parents=True)
    (log_dir / "00000000000000000010.checkpoint.parquet").write_bytes(b"")
    assert not clear_uncommitted_log(ingest_spark, str(tmp_path / "lines"))
    assert (log_dir / "00000000000000000010.checkpoint.parquet").exists()
