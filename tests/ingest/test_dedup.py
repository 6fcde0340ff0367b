"""In-batch repeats: the aggregation-based :func:`ingest.dedup.dedup_within_batch` keeps and
marks exactly what the window definition does (first record of each line key; accepted
lines identical to an earlier accepted line marked ``duplicate``; "earlier" = source
position), and :func:`ingest.dedup.repeat_suspects` never misses a repeat."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import pytest

from ingest import dedup, lookup
from spark.clean import DEDUP_KEY, DETAIL, FIELD, RAW, REASON

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

COLUMNS = [
    f"{RAW}_source",
    f"{RAW}_offset",
    dedup.RAW_KEY,
    *DEDUP_KEY,
    "event_date",
    REASON,
    FIELD,
    DETAIL,
]
SCHEMA = (
    "s string, o long, k string, transaction_id string, item string, quantity double, "
    "price double, ts timestamp, customer_id string, store_id string, event_date date, "
    "r string, f string, d string"
)


def _batch(spark: SparkSession, n: int, seed: int) -> DataFrame:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        tx, line = f"T{rng.randint(0, 30)}", rng.randint(1, 3)
        key = None if rng.random() < 0.05 else f"event|{tx}|{line}"
        reason = None if rng.random() < 0.8 else "bad_price"
        item, customer = rng.choice(["a", "b"]), rng.choice([None, "C1"])
        source = f"t/{rng.randint(0, 1)}"
        line_fields = (tx, item, 1.0, 2.0, None, customer, "S1")
        rows.append((source, i, key, *line_fields, None, reason, None, None))
    rng.shuffle(rows)
    return spark.createDataFrame(rows, SCHEMA).toDF(*COLUMNS)


def _reference(df: DataFrame) -> DataFrame:
    """The window definition (what the sink computed before the aggregation)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    order = [F.col(f"`{RAW}_source`"), F.col(f"`{RAW}_offset`")]
    key = F.col(f"`{dedup.RAW_KEY}`")
    by_key = Window.partitionBy("transaction_id", key).orderBy(*order)
    rank = F.when(key.isNotNull(), F.row_number().over(by_key))
    df = df.withColumn("_rank", rank).where("_rank IS NULL OR _rank = 1").drop("_rank")
    ok = F.col(REASON).isNull()
    same = Window.partitionBy(ok, *[F.col(k) for k in DEDUP_KEY]).orderBy(*order)
    dup = ok & (F.row_number().over(same) > 1)
    return dedup.mark_duplicate(df.withColumn("_dup", dup), F.col("_dup")).drop("_dup")


def _rows(df: DataFrame) -> list[tuple[object, ...]]:
    return sorted((tuple(r) for r in df.select(*COLUMNS).collect()), key=repr)


def _found(repeats: dedup.Repeats) -> tuple[bool, bool]:
    return repeats.key, repeats.content


@pytest.mark.parametrize("narrowed", [False, True], ids=["whole-batch", "shared-hashes"])
def test_dedup_within_batch_matches_the_window_definition(
    ingest_spark: SparkSession, narrowed: bool
) -> None:
    df = _batch(ingest_spark, 400, seed=1)
    cached: list[DataFrame] = []
    repeats = dedup.repeat_suspects(df, cached)
    assert _found(repeats) == (True, True)
    assert repeats.shared is not None
    # most records are unique: the exact check groups only the others
    assert 0 < repeats.shared.count() < 400
    got = dedup.dedup_within_batch(df, deduplicate=True, repeats=repeats if narrowed else None)
    assert _rows(got) == _rows(_reference(df))
    assert lookup.batch_stats(got).accepted < lookup.batch_stats(df).accepted
    for kept in cached:
        kept.unpersist()


def test_narrowing_to_shared_hashes_is_exact_on_a_hash_collision(
    ingest_spark: SparkSession,
) -> None:
    """A shared hash only makes records suspects: with every record's hash in the shared
    set (as a collision would), the result is still the window definition's."""
    from pyspark.sql import functions as F

    df = _batch(ingest_spark, 400, seed=3)
    everything = df.select(
        F.explode(F.array(dedup._key_tag(), dedup._content_tag())).alias(dedup.SHARED)
    ).distinct()
    got = dedup.dedup_within_batch(
        df, deduplicate=True, repeats=dedup.Repeats(True, True, everything)
    )
    assert _rows(got) == _rows(_reference(df))


def test_repeat_suspects_on_clean_batches(ingest_spark: SparkSession) -> None:
    df = _batch(ingest_spark, 400, seed=2)
    no_keys = df.dropDuplicates([dedup.RAW_KEY])
    assert _found(dedup.repeat_suspects(no_keys)) == (False, True)
    clean = _reference(no_keys).where(f"{REASON} IS NULL OR {REASON} != 'duplicate'")
    nothing = dedup.repeat_suspects(clean)
    assert _found(nothing) == (False, False)
    assert nothing.shared is None
