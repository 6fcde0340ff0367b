"""A run's small results are held as local relations, larger ones cached: the same rows,
schema and count either way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spark.held import hold

SCHEMA = "segment string not null, items array<string>, count long, lift double"
ROWS = [
    ("all", ["a", "b"], 3, 1.5),
    ("all", ["b"], 7, float("inf")),
    ("all", [], 0, float("nan")),
    ("FR", None, None, None),
    ("FR", ['c "quoted"'], 2, -0.0),
]


def _rows(df: Any) -> list[str]:
    return sorted(repr(tuple(r)) for r in df.collect())


def test_small_results_become_local_relations_with_the_same_schema(spark: Any) -> None:
    df = spark.createDataFrame(ROWS, SCHEMA).where("segment IS NOT NULL")
    cached: list[Any] = []
    held, rows = hold(df, 5, cached)
    assert rows == 5 and cached == []
    assert held.schema == df.schema
    assert _rows(held) == _rows(df)
    # a local relation: no scan of the source's plan is left
    assert "LocalTableScan" in held._jdf.queryExecution().executedPlan().toString()


def test_results_over_the_limit_are_cached_and_counted(spark: Any) -> None:
    df = spark.createDataFrame(ROWS, SCHEMA)
    cached: list[Any] = []
    kept, rows = hold(df, 4, cached)
    assert rows == 5 and cached == [kept]
    assert kept.is_cached
    assert _rows(kept) == _rows(df)
    kept.unpersist()
    never, rows = hold(df, 0, cached)  # mining.held_rows = 0: always cache
    assert rows == 5 and never.is_cached
    never.unpersist()


def test_a_large_held_result_is_sliced_into_small_local_relations(
    spark: Any, tmp_path: Path
) -> None:
    """Spark ships a local relation's rows inside its scan tasks and warns about every task
    over 1000 KiB (``WARN TaskSetManager: ... task of very large size``). A held result of
    a few MB (tens of thousands of rules) comes back as a union of slices of at most
    ``TASK_BYTES`` Arrow bytes, with the same rows and schema. (The JVM's log is not
    this process's stderr; a script with its own JVM showed a 10 MB result written in
    two tasks of 6,337 KiB with the warning, and in slices without it.)"""
    import pyarrow as pa

    from spark.held import TASK_BYTES, local_relation

    n = 12_000
    table = pa.table(
        {
            "segment": pa.array(["all"] * n, pa.string()),
            "items": pa.array([[f"item {i} " + "x" * 200, f"other {i}"] for i in range(n)]),
            "count": pa.array(range(n), pa.int64()),
        }
    )
    slices = -(-table.nbytes // TASK_BYTES)
    assert slices >= 5
    source = spark.createDataFrame(
        [("all", ["a"], 1)], "segment string, items array<string>, count long"
    )
    whole = local_relation(source, table, task_bytes=table.nbytes + 1)
    sliced = local_relation(source, table)
    plan = sliced._jdf.queryExecution().executedPlan().toString()
    assert plan.count("LocalTableScan") == slices, plan
    assert "LocalTableScan" in whole._jdf.queryExecution().executedPlan().toString()
    assert sliced.rdd.getNumPartitions() >= slices
    assert sliced.schema == whole.schema
    sliced.write.parquet(str(tmp_path / "sliced"))
    written = spark.read.parquet(str(tmp_path / "sliced"))
    assert written.count() == n
    assert _rows(written) == _rows(whole)
