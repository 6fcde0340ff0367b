"""The sink's lookup of stored lines reads only the batch's transaction id ranges: a batch
holding two id ranges (two tills with their own invoice numbers) must not read the
stored ids in between."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from pyspark.sql import types as T

from ingest import dedup, lookup
from ingest.tables import PARTITION, TablePaths, ensure_tables
from spark.clean import REASON

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession

DAY = date(2024, 3, 1)


def test_id_ranges_merge_overlaps_and_keep_gaps() -> None:
    assert lookup.id_ranges([("T90", "T95"), ("T10", "T12"), ("T11", "T14")]) == (
        ("T10", "T14"),
        ("T90", "T95"),
    )
    assert lookup.id_ranges([]) == ()


def test_id_ranges_join_contiguous_numeric_prefixes() -> None:
    # one till's invoices T0000190000..T0000219999 come in three prefix groups
    groups = [("T0000190000", "T0000199999"), ("T0000200000", "T0000209999")]
    groups += [("T0000210000", "T0000213000"), ("T0000900000", "T0000900100")]
    assert lookup.id_ranges(groups) == (
        ("T0000190000", "T0000213000"),
        ("T0000900000", "T0000900100"),
    )
    # not contiguous: a prefix group is missing, or the prefixes are not numbers
    assert (
        len(lookup.id_ranges([("T0000190000", "T0000190005"), ("T0000210000", "T0000210001")])) == 2
    )
    assert len(lookup.id_ranges([("AB-x0000", "AB-x0001"), ("AB-y0000", "AB-y0001")])) == 2


def test_id_ranges_over_the_limit_still_cover_every_range() -> None:
    ranges = [(f"T{i:03d}0", f"T{i:03d}5") for i in range(100)]
    merged = lookup.id_ranges(ranges, limit=7)
    assert len(merged) == 7
    assert [lo for lo, _ in merged] == sorted(lo for lo, _ in merged)
    for lo, hi in ranges:
        assert any(a <= lo and hi <= b for a, b in merged), (lo, hi)


def _value(field: T.StructField, tx: str) -> Any:
    special = {
        "transaction_id": tx,
        "line_key": f"event|{tx}|1",
        "line_hash": f"hash-{tx}",
        PARTITION: DAY,
    }
    if field.name in special:
        return special[field.name]
    by_type: dict[type, Any] = {
        T.StringType: "x",
        T.LongType: 1,
        T.IntegerType: 1,
        T.DoubleType: 1.0,
        T.TimestampType: datetime(2024, 3, 1, 9),
        T.DateType: DAY,
        T.MapType: {},
    }
    return by_type[type(field.dataType)]


def test_lookup_skips_stored_ids_between_the_batch_ranges(
    ingest_spark: SparkSession, tmp_path: Path
) -> None:
    spark = ingest_spark
    paths = TablePaths.under(tmp_path / "delta")
    ensure_tables(spark, paths)
    schema = spark.read.format("delta").load(paths.lines).schema
    files = lambda: set((tmp_path / "delta").rglob("*.parquet"))  # noqa: E731
    groups = {"till1": ["T100001", "T100002"], "between": ["T500001"], "till9": ["T900001"]}
    written = {}
    for name, txs in groups.items():
        before = files()
        rows = [tuple(_value(f, tx) for f in schema.fields) for tx in txs]
        spark.createDataFrame(rows, schema).coalesce(1).write.format("delta").mode("append").save(
            paths.lines
        )
        (written[name],) = files() - before
    # a file the lookup must never open: reading it fails the query
    written["between"].write_bytes(b"not parquet")
    table = spark.read.format("delta").load(paths.lines)
    with pytest.raises(Exception, match=r"(?i)parquet"):
        table.where("transaction_id BETWEEN 'T100001' AND 'T900002'").count()

    batch = spark.createDataFrame(
        [
            ("T100002", "event|T100002|1", "h1", DAY, None),  # stored: dropped
            ("T100003", "event|T100003|1", "h2", DAY, None),
            ("T900001", "event|T900001|1", "h3", DAY, None),  # stored
            ("T900002", "event|T900002|1", "h4", DAY, None),
        ],
        f"transaction_id string, `{dedup.RAW_KEY}` string, {dedup.HASH} string, "
        f"{PARTITION} date, {REASON} string",
    )
    stats = lookup.batch_stats(batch)
    assert stats.id_ranges == (("T100002", "T100003"), ("T900001", "T900002"))
    hits = lookup.stored_matches(batch, table, stats, deduplicate=True).collect()
    assert {(r["_k"], r["_present"]) for r in hits} == {
        ("event|T100002|1", True),
        ("event|T900001|1", True),
    }
