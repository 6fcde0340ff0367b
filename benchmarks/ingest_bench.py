"""Kafka -> Delta ingest benchmark (not a test): prints figures.

1. Throughput: pre-load ``--events`` events into a topic, then one availableNow run of the
   ingest query; events/s = events / wall time of the run (query start to finish).
2. Latency: a continuous query (``--trigger-seconds``) while a producer sends at ``--rate``
   events/s for ``--seconds``; per event, latency = Delta commit time of the version that
   inserted its row (row tracking) - the Kafka record timestamp; prints p50/p95/max.

Starts its own broker on 127.0.0.1 unless ``--bootstrap-servers`` is given. Bounded: every
wait has a deadline (``--timeout``).

    .venv/bin/python benchmarks/ingest_bench.py --events 200000 --rate 10000 --seconds 20
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from basket.config import KafkaConfig, Settings, load_settings
from ingest import events, stream
from ingest.kafka_broker import KafkaBroker
from ingest.replay import Message, producer, publish
from ingest.tables import TablePaths

ITEMS = [f"item-{i:03d}" for i in range(200)]


def messages(n: int, seed: int, first_tx: int = 0) -> list[Message]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        tx = f"T{first_tx + i // 4}"
        event = events.make_event(
            transaction_id=tx,
            line_no=i % 4 + 1,
            item=rng.choice(ITEMS),
            ts=f"2024-03-0{1 + i % 7} {8 + i % 12:02d}:{i % 60:02d}:00",
            quantity=rng.randint(1, 5),
            price=round(rng.uniform(0.5, 20), 2),
            store_id=f"S{i % 5}",
            customer_id=f"C{i % 1000}",
        )
        out.append(Message(tx.encode(), events.encode(event)))
    return out


def create_topic(bootstrap: str, partitions: int) -> str:
    from kafka.admin import KafkaAdminClient, NewTopic

    name = f"bench-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    finally:
        admin.close()
    return name


def throughput(spark: Any, settings: Settings, bootstrap: str, args: argparse.Namespace) -> None:
    topic = create_topic(bootstrap, args.partitions)
    prod = producer(bootstrap)
    sent = publish(iter(messages(args.events, 1)), prod, topic)
    prod.close()
    print(f"loaded {sent.messages:,} events in {sent.seconds:.1f}s ({sent.rate:,.0f}/s)")
    source = stream.kafka_source(
        spark, bootstrap, topic, max_offsets_per_trigger=args.max_offsets_per_trigger or None
    )
    options = stream.RunOptions(once=True, checkpoint=Path(args.work) / f"cp-{topic}")
    started = time.monotonic()
    query = stream.start(spark, settings, source, options)
    stream.run(query)
    seconds = time.monotonic() - started
    progress = [p for p in query.recentProgress if p.get("numInputRows")]
    rows = sum(int(p["numInputRows"]) for p in progress)
    busy = sum(p["durationMs"].get("triggerExecution", 0) for p in progress) / 1000
    print(
        f"throughput: {args.events:,} events Kafka -> Delta in {seconds:.1f}s = "
        f"{args.events / seconds:,.0f} events/s (one availableNow run, incl. query start); "
        f"{len(progress)} batches, {rows:,} rows in {busy:.1f}s of batch time = "
        f"{rows / busy if busy else 0:,.0f} events/s"
    )


def latency(spark: Any, settings: Settings, bootstrap: str, args: argparse.Namespace) -> None:
    from pyspark.sql import functions as F

    paths = TablePaths.under(settings.paths.delta_dir)
    topic = create_topic(bootstrap, args.partitions)
    n = int(args.rate * args.seconds)
    batch = messages(n, 2, first_tx=10**9)
    options = stream.RunOptions(
        trigger_seconds=args.trigger_seconds, checkpoint=Path(args.work) / f"cp-{topic}"
    )
    source = stream.kafka_source(
        spark, bootstrap, topic, max_offsets_per_trigger=args.max_offsets_per_trigger or None
    )
    query = stream.start(spark, settings, source, options)
    time.sleep(5)  # let the query start before the clock runs
    prod = producer(bootstrap)
    report: dict[str, Any] = {}
    feeder = threading.Thread(
        target=lambda: report.update(
            r=publish(iter(batch), prod, topic, rate=args.rate),
        )
    )
    feeder.start()
    deadline = time.monotonic() + args.seconds + args.timeout
    rows = spark.read.format("delta").load(paths.lines).where(F.col("source").startswith(topic))
    try:
        feeder.join(timeout=args.seconds + args.timeout)
        while time.monotonic() < deadline and rows.count() < n:
            time.sleep(1)
    finally:
        query.stop()
        prod.close()
    sent = report.get("r")
    if sent is not None:
        print(f"sent {sent.messages:,} events in {sent.seconds:.1f}s ({sent.rate:,.0f}/s)")
    history = spark.sql(f"DESCRIBE HISTORY delta.`{paths.lines}`").select(
        F.col("version").alias("v"), F.col("timestamp").alias("commit_ts")
    )
    lat = (
        rows.select("source_ts", F.col("_metadata.row_commit_version").alias("v"))
        .join(history, "v")
        .select(((F.unix_micros("commit_ts") - F.unix_micros("source_ts")) / 1e6).alias("latency"))
    )
    stats = lat.agg(
        F.count("*").alias("n"),
        F.percentile_approx("latency", 0.5).alias("p50"),
        F.percentile_approx("latency", 0.95).alias("p95"),
        F.max("latency").alias("max"),
    ).first()
    assert stats is not None
    print(
        f"latency at {args.rate:,.0f} events/s, trigger {args.trigger_seconds}s: "
        f"{stats['n']:,}/{n:,} events in the table; p50 {stats['p50']:.2f}s, "
        f"p95 {stats['p95']:.2f}s, max {stats['max']:.2f}s (Kafka timestamp -> Delta commit)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-servers", help="Use this broker instead of starting one.")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=10_000.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    kafka = KafkaConfig()
    parser.add_argument("--trigger-seconds", type=float, default=kafka.trigger_seconds)
    parser.add_argument(
        "--max-offsets-per-trigger",
        type=int,
        default=kafka.max_offsets_per_trigger,
        help="Events per micro-batch (0: no limit).",
    )
    parser.add_argument(
        "--skip", choices=("throughput", "latency"), help="Run only the other measurement."
    )
    parser.add_argument("--partitions", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--work", default=None, help="Scratch folder (default: a temp dir).")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("ingest").setLevel(logging.INFO)  # per-batch timings
    args.work = args.work or tempfile.mkdtemp(prefix="ingest-bench-")
    os.environ.setdefault("SPARK_LOCAL_IP", args.host)
    base = load_settings()
    settings = base.with_overrides(
        **{
            "paths.delta_dir": str(Path(args.work) / "delta"),
            "paths.checkpoint_dir": str(Path(args.work) / "cp"),
            "spark.local_ip": args.host,
        }
    )
    broker = None
    bootstrap = args.bootstrap_servers
    if bootstrap is None:
        broker = KafkaBroker(
            Path(args.work) / "kafka", base.paths.cache_dir / "kafka", host=args.host
        )
        broker.start()
        bootstrap = broker.bootstrap_servers
    try:
        from spark.session import get_spark

        spark = get_spark(settings)
        if args.skip != "throughput":
            throughput(spark, settings, bootstrap, args)
        if args.skip != "latency":
            latency(spark, settings, bootstrap, args)
    finally:
        if broker is not None:
            broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
