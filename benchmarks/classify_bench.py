"""The ingest sink's classify step alone, per feed shape (benchmark, not a test): prints
seconds per round and each shape's cost as a ratio to the synthetic feed's, in one run.

What one round times is the sink's first lap (``classify`` in the ``ingest`` log):
staging (:func:`ingest.staging.stage_events`), the cleaning rules
(:func:`ingest.sink.classify_staged`), the line hash and the cache, then the batch stats
(:func:`ingest.lookup.batch_stats`). The records are Kafka-shaped rows held in a cached
DataFrame, so neither the broker nor a producer is measured. Three feeds of ``--events``
records each:

- ``synthetic``: ``make bench-ingest``'s single-day feed (short names, clean);
- ``retailer-clean``: the retailer-shaped year (long names, quotes in names, 305 days)
  with no dirty rows;
- ``retailer``: the same shape with its 3% dirty rows (cancellations, bad numbers, bad
  encodings, malformed lines, duplicates...).

Each feed runs ``--rounds`` times in a row after the synthetic feed's warm-up rounds; the
figure is the median of a feed's rounds. Issue 19's two findings show here: events with
escaped quotes used to take the staging slow path, and the rejection texts compiled into
the classify stage made the dirty feed ~2.5x the clean ones (docs/ingest-performance.md).

    .venv/bin/python -m benchmarks.classify_bench --events 400000 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from basket_core.config import ColumnsConfig, InputConfig, load_settings
from benchmarks.ingest_bench import messages
from ingest.replay import Message, csv_messages

FEEDS = ("synthetic", "retailer-clean", "retailer")


def _records(feed: str, work: Path, n: int) -> Iterator[Message]:
    from basket_devtools.generate import GeneratorConfig, generate

    if feed == "synthetic":
        return messages(n, 1)
    dirty = 0.03 if feed == "retailer" else 0.0
    path = work / f"{feed}.csv"
    # about 20 lines per invoice: enough invoices for n lines
    config = GeneratorConfig(
        transactions=n // 19 + 1, items=4_000, days=305, mean_basket=20.0, dirty_share=dirty
    )
    generate(config, path)
    return csv_messages(path, ColumnsConfig(), InputConfig())


def kafka_rows(feed: str, work: Path, n: int) -> Path:
    """``n`` records of ``feed`` as a Parquet file in the Kafka source's row shape."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    keys: list[bytes | None] = []
    values: list[bytes] = []
    for message in _records(feed, work, n):
        keys.append(message.key)
        values.append(message.value)
        if len(values) >= n:
            break
    count = len(values)
    table = pa.table(
        {
            "key": pa.array(keys, pa.binary()),
            "value": pa.array(values, pa.binary()),
            "topic": ["bench"] * count,
            "partition": [i % 2 for i in range(count)],
            "offset": list(range(count)),
            "timestamp": pa.array([datetime(2025, 1, 1)] * count, pa.timestamp("us")),
        }
    )
    path = work / f"{feed}.parquet"
    pq.write_table(table, path)
    return path


def classify_round(spark: Any, path: Path, settings: Any) -> float:
    """Seconds for the sink's classify lap over the records at ``path`` (read into a
    cache first, so the read is not timed)."""
    from pyspark.sql import functions as F

    from ingest import events, staging
    from ingest.dedup import HASH, line_hash
    from ingest.lookup import batch_stats
    from ingest.sink import CleaningSpec, classify_staged
    from ingest.stream import EVENT_COLUMNS
    from spark.clean import REASON

    spec = CleaningSpec(
        data_columns=events.DATA_FIELDS,
        columns=EVENT_COLUMNS,
        cleaning=settings.cleaning,
        timestamp_formats=tuple(settings.input.timestamp_formats),
    )
    raw = spark.read.parquet(str(path)).repartition(2).persist()
    raw.count()
    started = time.perf_counter()
    classified = classify_staged(staging.stage_events(raw), spec)
    base = classified.withColumn(HASH, F.when(F.col(REASON).isNull(), line_hash())).persist()
    stats = batch_stats(base)
    seconds = time.perf_counter() - started
    base.unpersist()
    raw.unpersist()
    assert stats.accepted + stats.rejected == spark.read.parquet(str(path)).count()
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="classify_bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--events", type=int, default=400_000, help="Records per feed.")
    parser.add_argument("--rounds", type=int, default=3, help="Timed rounds per feed.")
    parser.add_argument("--warmup", type=int, default=2, help="Untimed synthetic rounds first.")
    parser.add_argument(
        "--work",
        default=None,
        help="Scratch folder, kept afterwards (default: a temp dir, removed at the end).",
    )
    args = parser.parse_args(argv)
    if args.work is not None:
        return run(args, Path(args.work))
    with tempfile.TemporaryDirectory(prefix="classify-bench-") as work:
        return run(args, Path(work))


def run(args: argparse.Namespace, work: Path) -> int:
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    paths = {feed: kafka_rows(feed, work, args.events) for feed in FEEDS}

    from spark.session import get_spark

    settings = load_settings()
    spark = get_spark(settings)
    # what the sink sets on its batch session (ingest.sink.DeltaSink.__call__)
    spark.conf.set("spark.sql.shuffle.partitions", "2")
    spark.conf.set("spark.sql.inMemoryColumnarStorage.compressed", "false")
    for _ in range(args.warmup):
        classify_round(spark, paths["synthetic"], settings)
    medians: dict[str, float] = {}
    for feed in FEEDS:
        laps = [classify_round(spark, paths[feed], settings) for _ in range(args.rounds)]
        medians[feed] = statistics.median(laps)
        print(
            f"{feed}: {', '.join(f'{s:.2f}' for s in laps)} s per {args.events:,} records; "
            f"median {medians[feed]:.2f} s = {args.events / medians[feed]:,.0f} records/s"
        )
    base = medians["synthetic"]
    print(
        "classify cost / synthetic: "
        + ", ".join(f"{feed} {medians[feed] / base:.2f}" for feed in FEEDS[1:])
        + " (the real shape should cost no more than the synthetic one per record)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
