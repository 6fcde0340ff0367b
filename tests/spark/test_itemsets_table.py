"""Itemsets mined in the driver get their columns and kinds there
(:func:`spark.fpcommon.as_itemsets_table`, :func:`spark.itemset_kinds.with_kinds_table`):
the same rows, types and values as the cluster's :func:`~spark.fpcommon.as_itemsets` and
:func:`~spark.itemset_kinds.with_kinds`, which test_rule_measures holds to pyfim."""

from __future__ import annotations

import random
from typing import Any

import pyarrow as pa
import pytest

from basket_core.schemas import ITEMSETS
from spark.fpcommon import as_itemsets, as_itemsets_table
from spark.itemset_kinds import with_kinds, with_kinds_table
from tests import reference as ref

FOUND = pa.schema(
    [
        ("segment", pa.string()),
        ("items", pa.list_(pa.string())),
        ("count", pa.int64()),
        ("n_baskets", pa.int64()),
    ]
)
ODD = ref.ODD_NAMES


def _found(segments: dict[str, list[list[str]]], min_count: int, seed: int) -> pa.Table:
    """Brute-force itemsets, their items shuffled (as a miner may give them)."""
    shuffle = random.Random(seed)
    rows: dict[str, list[Any]] = {name: [] for name in FOUND.names}
    for segment, baskets in segments.items():
        for items, count in ref.brute_force(baskets, min_count).items():
            listed = list(items)
            shuffle.shuffle(listed)
            for name, value in zip(
                FOUND.names, (segment, listed, count, len(baskets)), strict=True
            ):
                rows[name].append(value)
    return pa.table(rows, schema=FOUND)


def _cluster(spark: Any, found: pa.Table) -> pa.Table:
    from pyspark.sql import functions as F

    frame = as_itemsets(
        spark.createDataFrame(found),
        segment=F.col("segment"),
        count=F.col("count"),
        n_baskets=F.col("n_baskets").cast("double"),
    )
    return with_kinds(frame).toArrow()


def _plain(kind: pa.DataType) -> pa.DataType:
    return pa.list_(kind.value_type) if pa.types.is_list(kind) else kind


def _sorted(table: pa.Table) -> list[dict[str, Any]]:
    return sorted(table.to_pylist(), key=lambda r: (r["segment"], r["items"]))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_driver_itemsets_and_kinds_equal_the_clusters(spark: Any, seed: int) -> None:
    segments = {
        "all": ref.random_baskets(200, 12, seed=seed, mean_size=4.0),
        "FR": ref.random_baskets(80, 9, seed=seed + 10, mean_size=5.0),
        "odd": [random.Random(seed * 100 + i).sample(ODD, k=1 + i % 5) for i in range(50)],
    }
    found = _found(segments, 4, seed)
    driver = with_kinds_table(as_itemsets_table(found))
    cluster = _cluster(spark, found)
    assert driver.schema.names == ITEMSETS.names == cluster.schema.names
    # the element's nullability follows the input on the cluster; Spark writes every
    # Parquet column as nullable, so the files are the same either way
    assert [_plain(f.type) for f in driver.schema] == [_plain(f.type) for f in cluster.schema]
    got, want = _sorted(driver), _sorted(cluster)
    assert got == want and len(got) > 100
    kinds = {(r["closed"], r["maximal"]) for r in got}
    assert {(True, True), (True, False), (False, False)} <= kinds  # every kind is met


def test_no_itemsets(spark: Any) -> None:
    empty = pa.table({name: [] for name in FOUND.names}, schema=FOUND)
    driver = with_kinds_table(as_itemsets_table(empty))
    assert driver.num_rows == 0 and driver.schema.names == ITEMSETS.names
    assert _cluster(spark, empty).num_rows == 0
