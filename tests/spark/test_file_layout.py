"""Result Parquet written for reading (issue 22): each file sorted by the dataset's
``basket_core.file_layout`` keys, in row groups of bounded rows, so the min/max
statistics of the row groups let a reader skip most of them."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from basket_core import file_layout
from basket_core.file_layout import FileLayout, SortKey
from spark.writes import write_for_reading

ROWS = 12_000
ROW_GROUP = 1_000


def row_group_stats(path: Path, column: str) -> list[tuple[object, object, int]]:
    meta = pq.ParquetFile(path).metadata
    index = meta.schema.to_arrow_schema().get_field_index(column)
    out = []
    for i in range(meta.num_row_groups):
        rg = meta.row_group(i)
        stats = rg.column(index).statistics
        assert stats is not None and stats.has_min_max, f"{path.name}: no statistics"
        out.append((stats.min, stats.max, rg.num_rows))
    return out


def check_sorted_row_groups(path: Path, row_group: int) -> None:
    """Row groups of at most ``row_group`` rows, segments in order, and within a segment
    the lift ranges of successive row groups not overlapping (descending)."""
    segments = row_group_stats(path, "segment")
    lifts = row_group_stats(path, "lift")
    assert len(segments) > 1
    assert all(n <= row_group for _, _, n in segments)
    for (s_lo, s_hi, _), (s2_lo, _, _) in itertools.pairwise(segments):
        assert s_lo <= s_hi <= s2_lo  # type: ignore[operator]
    for i in range(len(lifts) - 1):
        if segments[i][0] == segments[i][1] == segments[i + 1][0] == segments[i + 1][1]:
            assert lifts[i][0] >= lifts[i + 1][1]  # type: ignore[operator]


@pytest.fixture
def small_row_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        file_layout.FILE_LAYOUTS,
        "rules",
        FileLayout((SortKey("segment"), SortKey("lift", descending=True)), ROW_GROUP),
    )


def test_rules_files_are_sorted_in_small_row_groups(
    spark, small_row_groups: None, tmp_path: Path
) -> None:
    rng = random.Random(0)
    rows = [(rng.choice(["FR", "UK", "DE"]), rng.lognormvariate(0, 1)) for _ in range(ROWS)]
    df = spark.createDataFrame(rows, "segment string, lift double").repartition(3)
    write_for_reading(df, "rules", 2, str(tmp_path / "rules"))
    files = sorted((tmp_path / "rules").glob("*.parquet"))
    assert 1 <= len(files) <= 2
    assert sum(pq.ParquetFile(f).metadata.num_rows for f in files) == ROWS
    for f in files:
        check_sorted_row_groups(f, ROW_GROUP)


def test_a_lift_floor_skips_most_row_groups(spark, small_row_groups: None, tmp_path: Path) -> None:
    import duckdb

    rng = random.Random(1)
    rows = [("all", rng.uniform(0, 10)) for _ in range(ROWS)]
    df = spark.createDataFrame(rows, "segment string, lift double")
    write_for_reading(df, "rules", 1, str(tmp_path / "rules"))
    (path,) = sorted((tmp_path / "rules").glob("*.parquet"))
    lifts = row_group_stats(path, "lift")
    kept = [lo for lo, hi, _ in lifts if hi >= 9.0]  # type: ignore[operator]
    assert len(kept) <= 2 < len(lifts)  # a reader of lift >= 9 opens one or two of 12
    n = duckdb.sql(f"SELECT count(*) FROM '{path}' WHERE lift >= 9").fetchall()[0][0]
    assert n == sum(1 for _, lift in rows if lift >= 9)


def test_million_rule_bench_files_have_the_same_shape(tmp_path: Path) -> None:
    from basket_devtools.million_results import MillionConfig, build

    config = MillionConfig(baskets=3_000, items=60, mean_basket=6.0, min_support=0.01)
    build(tmp_path, config)
    (path,) = sorted((tmp_path / "rules").rglob("*.parquet"))
    assert pq.ParquetFile(path).metadata.num_rows > 0
    check_sorted_row_groups_or_one(path)


def check_sorted_row_groups_or_one(path: Path) -> None:
    meta = pq.ParquetFile(path).metadata
    if meta.num_row_groups == 1:
        lifts = pq.read_table(path, columns=["lift"]).column("lift").to_pylist()
        assert lifts == sorted(lifts, reverse=True)
    else:
        check_sorted_row_groups(path, file_layout.FILE_LAYOUTS["rules"].row_group_rows)
