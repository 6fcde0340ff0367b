"""A run's writes go side by side (:func:`spark.writes.run_together`): they overlap, and a
failed one is raised only once every other write has ended."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from spark.writes import WRITERS, run_together


def test_writes_overlap() -> None:
    # each write waits for the others: one after the other, the barrier breaks
    barrier = threading.Barrier(WRITERS, timeout=10)
    run_together([barrier.wait for _ in range(WRITERS)])


def test_a_failed_write_is_raised_after_the_others_end() -> None:
    ended: list[str] = []

    def slow() -> None:
        time.sleep(0.5)
        ended.append("slow")

    def fails() -> None:
        raise OSError("disk full")

    def later_failure() -> None:
        time.sleep(0.2)
        raise ValueError("second")

    with pytest.raises(OSError, match="disk full"):
        run_together([slow, fails, later_failure, lambda: ended.append("quick")])
    assert sorted(ended) == ["quick", "slow"]


def test_spark_writes_side_by_side_write_every_dataset(spark: Any, tmp_path: Path) -> None:
    frames = {f"part{i}": spark.range(i * 1000, (i + 1) * 1000) for i in range(6)}
    run_together(
        [
            lambda name=name, df=df: df.coalesce(1).write.parquet(str(tmp_path / name))
            for name, df in frames.items()
        ]
    )
    for i, name in enumerate(frames):
        ids = sorted(r.id for r in spark.read.parquet(str(tmp_path / name)).collect())
        assert ids == list(range(i * 1000, (i + 1) * 1000))


def test_a_clean_runs_quarantine_is_empty_with_the_same_columns(
    spark: Any, settings: Any, tmp_path: Path
) -> None:
    """With nothing rejected the job writes an empty quarantine without scanning its
    input again: the same columns and types as a run's quarantine that holds rows."""
    import pyarrow.parquet as pq

    from basket_core.layout import current_layout
    from spark.job import MineRequest, run_mine
    from tests import reference as ref

    baskets = ref.random_baskets(60, 8, seed=1)
    settings = settings.with_overrides(**{"input.format": "basket", "mining.min_support": 0.1})
    tables = {}
    for name, extra in (("clean", ""), ("dirty", "\n\n")):
        path = ref.write_basket_file(tmp_path / f"{name}.txt", baskets)
        path.write_text(path.read_text() + extra)
        report = run_mine(settings, MineRequest(inputs=(str(path),), run_id=name), spark=spark)
        layout = current_layout(settings.paths.output_dir, report.dt, report.run_id)
        tables[name] = (report.counts.rejected_rows, pq.read_table(layout.dataset("quarantine")))
    (clean_count, clean), (dirty_count, dirty) = tables["clean"], tables["dirty"]
    assert clean_count == clean.num_rows == 0
    assert dirty_count == dirty.num_rows > 0
    assert [(f.name, f.type) for f in clean.schema] == [(f.name, f.type) for f in dirty.schema]
