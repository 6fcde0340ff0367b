"""A run's small results are held as local relations, larger ones cached: the same rows,
schema and count either way."""

from __future__ import annotations

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
