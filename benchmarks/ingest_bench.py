"""Kafka -> Delta ingest benchmark (not a test): prints figures.

1. **Throughput**: pre-load ``--events`` events into a topic, then one availableNow run of
   the ingest query (micro-batches of ``--max-offsets-per-trigger`` events). Prints
   - *steady state*: the batches after the first (the first pays the query start, code
     generation and JIT warm-up) as rows / summed ``triggerExecution`` time and as rows /
     wall time from the first batch's completion to the last batch's completion;
   - *whole run*: events / wall time from query start to the end of the run.
2. **Retailer-shaped catch-up**: a year of a retailer's POS lines in the shape of the real
   data set issue 19 measured (``--retail-transactions`` invoices of ~20 lines, long
   descriptions, a Country column, 3% dirty rows: duplicates, cancellations...), replayed
   with ``basket replay``'s producer (its rate is the replay figure), then caught up in
   one availableNow run into tables of their own. Prints the rates as ratios to the
   synthetic steady state and to the goals, and the lines table's file count and
   average size.
3. **Latency**, on two live feeds: the synthetic one, then the retailer's shape on
   today's date (dirty rows and repeats in every batch; tables of their own), the feed the
   goal is set for. Each is a continuous query (``--trigger-seconds``) on a topic of its
   own, warmed up first (``--warmup-events`` are sent and waited for until the query has
   read them), then a producer process sends ``--rate`` events/s for ``--seconds``; for
   the measured lines only (Kafka timestamp after the warm-up), latency = commit time of
   the Delta version that inserted the row (row tracking) - Kafka record timestamp
   (producer create time); prints p50/p95/max, trigger interval, batches and rows.

Transaction ids are fixed-width and increase with time, as invoice numbers do; each line's
``ts`` cycles over seven dates, so every batch touches seven ``event_date`` partitions.
Starts its own broker on 127.0.0.1 unless ``--bootstrap-servers`` is given. Bounded: every
wait has a deadline (``--timeout``). Per-batch laps are logged by the ``ingest`` logger.

    .venv/bin/python benchmarks/ingest_bench.py --events 2000000 --rate 10000 --seconds 30
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import logging
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from basket_core.config import KafkaConfig, Settings, load_settings
from basket_devtools.kafka_broker import KafkaBroker
from ingest import events, stream
from ingest.replay import Message, ReplayReport, producer, publish
from ingest.tables import TablePaths, ensure_tables

ITEMS = [f"item-{i:03d}" for i in range(200)]


def messages(
    n: int, seed: int, first_tx: int = 0, prefix: str = "T", part: int = 0, parts: int = 1
) -> Iterator[Message]:
    """``n`` valid events, four lines per transaction, ids ``<prefix><10 digits>``; with
    ``parts``, only the transactions ``part`` of every ``parts`` (one producer's share)."""
    rng = random.Random(seed)
    for i in range(n):
        if (i // 4) % parts != part:
            continue
        tx = f"{prefix}{first_tx + i // 4:010d}"
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
        yield Message(tx.encode(), events.encode(event))


def _load_part(bootstrap: str, topic: str, n: int, part: int, parts: int) -> int:
    prod = producer(bootstrap)
    try:
        return publish(messages(n, 1 + part, part=part, parts=parts), prod, topic).messages
    finally:
        prod.close()


def preload(bootstrap: str, topic: str, n: int, processes: int) -> int:
    """Send ``n`` events with ``processes`` producer processes (kafka-python sends ~27k
    events/s from one), taking every ``processes``-th transaction each, so the topic
    still holds ids increasing with time (not one id range per process, which would make
    every batch span the ids in between); returns the events sent."""
    # spawn: this process already runs a JVM gateway and its threads
    with ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as pool:
        done = [
            pool.submit(_load_part, bootstrap, topic, n, k, processes) for k in range(processes)
        ]
        return sum(f.result() for f in done)


def create_topic(bootstrap: str, partitions: int) -> str:
    from kafka.admin import KafkaAdminClient, NewTopic

    name = f"bench-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    finally:
        admin.close()
    return name


@dataclass(frozen=True)
class BatchTimes:
    """One micro-batch from ``query.recentProgress``: rows, busy seconds, end (epoch s)."""

    batch_id: int
    rows: int
    busy: float
    end: float


def batch_times(progress: Sequence[Any]) -> list[BatchTimes]:
    """The batches that read rows, in order (a progress ``timestamp`` is the trigger start)."""
    from datetime import datetime

    out = []
    for p in progress:
        rows = int(p.get("numInputRows") or 0)
        if not rows:
            continue
        busy = p["durationMs"].get("triggerExecution", 0) / 1000
        start = datetime.fromisoformat(p["timestamp"].replace("Z", "+00:00")).timestamp()
        out.append(BatchTimes(int(p["batchId"]), rows, busy, start + busy))
    return sorted(out, key=lambda b: b.batch_id)


@dataclass(frozen=True)
class SteadyState:
    batches: int
    rows: int
    busy_rate: float
    """rows / summed triggerExecution seconds."""
    wall_rate: float
    """rows / (last batch end - first measured batch's predecessor end)."""
    wall_seconds: float


def steady_state(batches: list[BatchTimes]) -> SteadyState | None:
    """The batches after the first: rows over their busy time and over the wall time from
    the first batch's end to the last batch's end (None with fewer than two batches)."""
    if len(batches) < 2:
        return None
    later = batches[1:]
    rows = sum(b.rows for b in later)
    busy = sum(b.busy for b in later)
    wall = later[-1].end - batches[0].end
    return SteadyState(
        batches=len(later),
        rows=rows,
        busy_rate=rows / busy if busy > 0 else 0.0,
        wall_rate=rows / wall if wall > 0 else 0.0,
        wall_seconds=wall,
    )


GOAL_EVENTS_PER_S = 60_000
"""Issue 19's synthetic single-day steady state on 2 cores, Kafka -> Delta."""
RETAIL_CATCHUP_GOAL = 0.7
"""The real-shaped catch-up's rate as a share of the synthetic steady state (issue 19)."""
REPLAY_GOAL_EVENTS_PER_S = 50_000
FILE_GOAL_BYTES = 4_000_000
"""The lines table's average file size after the catch-up (issue 19)."""
GOAL_P95_S = 5.0
"""Issue 19's latency goal: p95 event-to-table seconds at 10k events/s on the real-shaped
live feed (the synthetic feed's figure is printed beside it)."""


def kafka_settings(
    settings: Settings, bootstrap: str, topic: str, args: argparse.Namespace
) -> KafkaConfig:
    """The configured Kafka settings on the bench's broker, topic and batch size."""
    return settings.kafka.model_copy(
        update={
            "bootstrap_servers": bootstrap,
            "topic": topic,
            "max_offsets_per_trigger": args.max_offsets_per_trigger or None,
        }
    )


def throughput(
    spark: Any, settings: Settings, bootstrap: str, args: argparse.Namespace
) -> SteadyState | None:
    topic = create_topic(bootstrap, args.partitions)
    t0 = time.monotonic()
    sent = preload(bootstrap, topic, args.events, args.load_processes)
    took = time.monotonic() - t0
    print(f"loaded {sent:,} events in {took:.1f}s ({sent / took:,.0f}/s)")
    query, seconds = catch_up(spark, settings, bootstrap, topic, args)
    batches = batch_times(query.recentProgress)
    rows = sum(b.rows for b in batches)
    first = batches[0] if batches else None
    print(
        f"throughput whole run: {rows:,} events Kafka -> Delta in {seconds:.1f}s = "
        f"{rows / seconds:,.0f} events/s (one availableNow run incl. query start and the "
        f"warm-up batch; {len(batches)} batches of <= {args.max_offsets_per_trigger:,})"
    )
    if first is not None:
        print(f"throughput first batch: {first.rows:,} rows in {first.busy:.1f}s")
    steady = steady_state(batches)
    if steady is None:
        print("throughput steady state: n/a (fewer than two batches; raise --events)")
    else:
        print(
            f"throughput steady state (batches 2..{len(batches)}): {steady.rows:,} rows; "
            f"{steady.busy_rate:,.0f} events/s over batch time, "
            f"{steady.wall_rate:,.0f} events/s over wall time ({steady.wall_seconds:.1f}s "
            f"from the end of batch 1 to the end of the last batch)"
        )
        print(
            f"throughput / goal ({GOAL_EVENTS_PER_S:,} events/s): "
            f"{steady.wall_rate / GOAL_EVENTS_PER_S:.2f} (steady state, wall time; "
            f"{os.cpu_count()} cores, {steady.wall_rate / (os.cpu_count() or 1):,.0f} "
            "events/s per core)"
        )
        later = {b.batch_id for b in batches[1:]}
        print(f"trigger phases (mean, batches 2..): {phase_means(query.recentProgress, later)}")
    if rows != args.events:
        print(f"WARNING: read {rows:,} rows, loaded {args.events:,}")
    return steady


def catch_up(
    spark: Any, settings: Settings, bootstrap: str, topic: str, args: argparse.Namespace
) -> tuple[Any, float]:
    """One availableNow run of the ingest query over everything in ``topic``: the query
    and its wall seconds (query start included)."""
    source = stream.kafka_source(spark, kafka_settings(settings, bootstrap, topic, args))
    options = stream.RunOptions(once=True, checkpoint=Path(args.work) / f"cp-{topic}")
    started = time.monotonic()
    query = stream.start(spark, settings, source, options)
    stream.run(query)
    return query, time.monotonic() - started


def retailer_csv(
    work: Path,
    transactions: int,
    days: int = 305,
    start_date: date | None = None,
    name: str = "retail",
    seed: int = 0,
) -> Path:
    """POS lines of a retailer in the UCI Online Retail shape (the real data set the issue
    measured: ~20 lines per invoice, long descriptions, a Country column, 3% dirty rows
    among them exact duplicates and cancellations), over ``days`` days: a year by default."""
    from basket_devtools.generate import GeneratorConfig, generate

    path = work / f"{name}.csv"
    config = GeneratorConfig(
        transactions=transactions,
        items=4_000,
        days=days,
        mean_basket=20.0,
        dirty_share=0.03,
        seed=seed,
    )
    if start_date is not None:
        config = dataclasses.replace(config, start_date=start_date)
    generate(config, path)
    return path


def print_files(spark: Any, table: str, when: str) -> None:
    """The files of the table's current version, against the file-size goal."""
    from ingest.maintenance import table_files

    files = table_files(spark, table)
    print(
        f"retailer lines table {when}: {files.files:,} files, {files.bytes / 1e6:.1f} MB, "
        f"{files.average_mb:.2f} MB on average; / goal ({FILE_GOAL_BYTES / 1e6:.0f} MB): "
        f"{files.average_mb * 1e6 / FILE_GOAL_BYTES:.2f}"
    )


WINDOW_DAYS = 28


def window_read(spark: Any, settings: Settings, table: str, runs: int = 3) -> None:
    """The miner's read of a ``WINDOW_DAYS``-day window in the middle of the table's
    dates: ``basket mine --table --start-date --end-date``'s load and basket stages
    (seconds, each run; the first pays the code generation)."""
    from datetime import timedelta

    from pyspark.sql import functions as F

    from spark.job import MineRequest, run_mine

    bounds = spark.read.format("delta").load(table).agg(F.min("event_date"), F.max("event_date"))
    first, last = bounds.first()
    start = first + (last - first) / 2
    end = start + timedelta(days=WINDOW_DAYS - 1)
    own = settings.with_overrides(**{"paths.output_dir": str(Path(table).parent / "mined")})
    laps = []
    for run in range(runs):
        request = MineRequest(table=table, run_id=f"window-{run}", start_date=start, end_date=end)
        timings = run_mine(own, request, spark=spark).timings
        laps.append((timings["load_s"], timings["baskets_s"]))
    print(
        f"miner's {WINDOW_DAYS}-day window read ({start}..{end}), load + baskets per run: "
        + ", ".join(f"{load:.2f} + {baskets:.2f} s" for load, baskets in laps)
    )


def retailer(
    spark: Any,
    settings: Settings,
    bootstrap: str,
    args: argparse.Namespace,
    synthetic: SteadyState | None,
) -> None:
    """The real shape, caught up: replay the retailer's year with ``basket replay``'s
    producer (its rate is the replay figure), then one availableNow run into tables of
    their own; the rates against the synthetic steady state and the goals, and the lines
    table's files."""
    from basket_core.config import ColumnsConfig, InputConfig
    from ingest.replay import replay

    work = Path(args.work)
    csv_path = retailer_csv(work, args.retail_transactions)
    topic = create_topic(bootstrap, args.partitions)
    processes = args.replay_processes
    sent = replay(csv_path, bootstrap, topic, ColumnsConfig(), InputConfig(), processes=processes)
    print(
        f"retailer replay: {sent.messages:,} events in {sent.seconds:.1f}s = {sent.rate:,.0f} "
        f"events/s (`basket replay --processes {processes}`); "
        f"/ goal ({REPLAY_GOAL_EVENTS_PER_S:,}/s): "
        f"{sent.rate / REPLAY_GOAL_EVENTS_PER_S:.2f}"
    )
    own = settings.with_overrides(**{"paths.delta_dir": str(work / "delta-retailer")})
    query, seconds = catch_up(spark, own, bootstrap, topic, args)
    batches = batch_times(query.recentProgress)
    rows = sum(b.rows for b in batches)
    rate = rows / seconds
    print(
        f"retailer catch-up whole run: {rows:,} events in {seconds:.1f}s = {rate:,.0f} "
        f"events/s ({len(batches)} batches, query start included)"
    )
    steady = steady_state(batches)
    if steady is not None:
        print(
            f"retailer catch-up steady state (batches 2..{len(batches)}): "
            f"{steady.wall_rate:,.0f} events/s over wall time"
        )
        later = {b.batch_id for b in batches[1:]}
        print(
            f"retailer trigger phases (mean, batches 2..): {phase_means(query.recentProgress, later)}"
        )
    if synthetic is not None:
        ratio = rate / synthetic.wall_rate
        print(
            f"retailer catch-up / synthetic steady state: {ratio:.2f} (whole run; goal "
            f">= {RETAIL_CATCHUP_GOAL})"
            + (
                f"; steady state {steady.wall_rate / synthetic.wall_rate:.2f}"
                if steady is not None
                else ""
            )
        )
    if rows != sent.messages:
        print(f"WARNING: read {rows:,} rows, replayed {sent.messages:,}")
    from ingest.maintenance import maintain_table

    lines = TablePaths.under(own.paths.delta_dir).lines
    print_files(spark, lines, "after the catch-up")
    window_read(spark, own, lines)
    # what the scheduled catch-up runs next (maintenance.after_catch_up)
    done = maintain_table(
        spark, "lines", lines, retention_hours=own.maintenance.vacuum_retention_hours
    )
    print(f"retailer maintenance: {done.line()}")
    print_files(spark, lines, "after its maintenance")
    window_read(spark, own, lines)


def phase_means(progress: Sequence[Any], batch_ids: set[int]) -> str:
    """Mean ``durationMs`` per trigger phase (``addBatch`` is the sink) of these batches."""
    sums: dict[str, float] = {}
    chosen = [p for p in progress if int(p["batchId"]) in batch_ids]
    for p in chosen:
        for name, ms in p["durationMs"].items():
            sums[name] = sums.get(name, 0.0) + ms / 1000
    means = {k: v / len(chosen) for k, v in sums.items() if v / max(len(chosen), 1) >= 0.005}
    return ", ".join(f"{k} {v:.2f}s" for k, v in sorted(means.items(), key=lambda kv: -kv[1]))


def after_rows(batches: list[BatchTimes], rows: int) -> list[BatchTimes]:
    """The batches after the first ``rows`` rows (the warm-up set, sent before the rest)."""
    seen, out = 0, []
    for b in batches:
        if seen >= rows:
            out.append(b)
        seen += b.rows
    return out


def _consumed(query: Any, rows: int, deadline: float) -> None:
    """Wait until the query's batches have read ``rows`` rows in all, from its progress
    reports (driver state: no Spark job). A batch reports after its commit, so those rows
    are in the table then; polling the table itself ran a count job every half second
    beside the last measured batches, on the same two cores, and lengthened them."""
    while time.monotonic() < deadline:
        if sum(int(p["numInputRows"]) for p in query.recentProgress) >= rows:
            return
        time.sleep(0.25)


def _feed(bootstrap: str, topic: str, feed: LiveFeed, rate: float) -> ReplayReport:
    """The measured events at ``rate`` per second, from a producer process of its own."""
    prod = producer(bootstrap)
    try:
        return publish(feed.measured(), prod, topic, rate=rate)
    finally:
        prod.close()


@dataclass(frozen=True)
class LiveFeed:
    """What a latency run sends: ``warm_up`` events as fast as they go, then ``events``
    more at the bench's rate (from another process, so picklable)."""

    name: str
    warm_up: int
    events: int
    csv: Path | None = None
    """Read the events from this CSV in ``basket replay``'s mapping; None: the synthetic
    single-day events (:func:`messages`)."""

    def _all(self) -> Iterator[Message]:
        if self.csv is None:
            warm = messages(self.warm_up, 3, prefix="W")
            return itertools.chain(warm, messages(self.events, 2, prefix="M"))
        from basket_core.config import ColumnsConfig, InputConfig
        from ingest.replay import csv_messages

        return csv_messages(self.csv, ColumnsConfig(), InputConfig())

    def warm(self) -> Iterator[Message]:
        return itertools.islice(self._all(), self.warm_up)

    def measured(self) -> Iterator[Message]:
        return itertools.islice(self._all(), self.warm_up, self.warm_up + self.events)


def synthetic_feed(args: argparse.Namespace) -> LiveFeed:
    return LiveFeed("synthetic", args.warmup_events, int(args.rate * args.seconds))


def retailer_feed(args: argparse.Namespace) -> LiveFeed:
    """Today's POS lines in the retailer's shape (:func:`retailer_csv` on one day): the
    live feed the latency goal is set for. Every batch holds dirty rows and repeats."""
    events = int(args.rate * args.seconds)
    transactions = (args.warmup_events + events) // 19  # ~20 lines each: enough lines
    path = retailer_csv(
        Path(args.work), transactions, days=1, start_date=date.today(), name="retail-today", seed=7
    )
    return LiveFeed("retailer", args.warmup_events, events, csv=path)


def latency(
    spark: Any, settings: Settings, bootstrap: str, args: argparse.Namespace, feed: LiveFeed
) -> float:
    """A continuous query on a topic of its own: the warm-up events, then the measured
    ones at ``--rate``; the measured lines are those with a Kafka timestamp after the
    query had read the warm-up. Returns the p95 latency (seconds)."""
    from datetime import UTC, datetime

    from pyspark.sql import functions as F

    paths = TablePaths.under(settings.paths.delta_dir)
    ensure_tables(spark, paths)  # read below before the query creates them (--skip throughput)
    topic = create_topic(bootstrap, args.partitions)
    options = stream.RunOptions(
        trigger_seconds=args.trigger_seconds, checkpoint=Path(args.work) / f"cp-{topic}"
    )
    source = stream.kafka_source(spark, kafka_settings(settings, bootstrap, topic, args))
    query = stream.start(spark, settings, source, options)
    prod = producer(bootstrap)
    report: dict[str, Any] = {}
    try:
        started = time.monotonic()
        warm = publish(feed.warm(), prod, topic).messages
        _consumed(query, warm, time.monotonic() + args.timeout)
        print(
            f"{feed.name} warm-up: {warm:,} events read {time.monotonic() - started:.1f}s "
            "after the query started"
        )
        feed_started = datetime.now(UTC)
        # the feed runs in a process of its own, as a till's would: a producer thread in
        # this process held the GIL between the sink's Py4J calls (each waited up to the
        # 5 ms switch interval), which made one batch's planning take 20 s
        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
            fed = pool.submit(_feed, bootstrap, topic, feed, args.rate)
            report["r"] = fed.result(timeout=args.seconds + args.timeout)
        _consumed(query, warm + report["r"].messages, time.monotonic() + args.timeout)
        progress = list(query.recentProgress)
    finally:
        stream.stop_between_batches(query)
        prod.close()
    sent = report["r"]
    print(
        f"{feed.name}: sent {sent.messages:,} measured events in {sent.seconds:.1f}s "
        f"({sent.rate:,.0f}/s)"
    )
    batches = after_rows(batch_times(progress), warm)
    history = spark.sql(f"DESCRIBE HISTORY delta.`{paths.lines}`").select(
        F.col("version").alias("v"), F.col("timestamp").alias("commit_ts")
    )
    measured = (
        spark.read.format("delta")
        .load(paths.lines)
        .where(F.col("source").startswith(topic) & (F.col("source_ts") >= F.lit(feed_started)))
    )
    lat = (
        measured.select("source_ts", F.col("_metadata.row_commit_version").alias("v"))
        .join(history, "v")
        .select(((F.unix_micros("commit_ts") - F.unix_micros("source_ts")) / 1e6).alias("latency"))
    )
    stats = lat.agg(
        F.count("*").alias("n"),
        F.percentile_approx("latency", 0.5, 10_000).alias("p50"),
        F.percentile_approx("latency", 0.95, 10_000).alias("p95"),
        F.max("latency").alias("max"),
    ).first()
    assert stats is not None
    busy = [b.busy for b in batches]
    batch_mean = sum(busy) / len(busy) if busy else 0.0
    print(
        f"{feed.name} latency at {args.rate:,.0f} events/s offered for {args.seconds:g}s, "
        f"trigger {args.trigger_seconds:g}s, max {args.max_offsets_per_trigger:,} "
        f"offsets/trigger: {stats['n']:,} measured lines in the table (of {sent.messages:,} "
        f"events sent); p50 {stats['p50'] or 0:.2f}s, p95 {stats['p95'] or 0:.2f}s, max "
        f"{stats['max'] or 0:.2f}s (Kafka timestamp -> Delta commit); {len(batches)} batches, "
        f"{sum(b.rows for b in batches):,} rows, batch time mean {batch_mean:.2f}s max "
        f"{max(busy, default=0):.2f}s"
    )
    print(
        f"{feed.name} trigger phases (mean): {phase_means(progress, {b.batch_id for b in batches})}"
    )
    return float(stats["p95"] or 0.0)


def latencies(spark: Any, settings: Settings, bootstrap: str, args: argparse.Namespace) -> None:
    """Latency on the synthetic feed (this bench's figure since issue 4), then on the
    retailer-shaped one (tables of their own), the goal's feed."""
    synthetic = latency(spark, settings, bootstrap, args, synthetic_feed(args))
    own = settings.with_overrides(**{"paths.delta_dir": str(Path(args.work) / "delta-live")})
    real = latency(spark, own, bootstrap, args, retailer_feed(args))
    print(
        f"latency p95 / goal ({GOAL_P95_S:g}s at 10,000 events/s, retailer-shaped live feed): "
        f"{real / GOAL_P95_S:.2f}; synthetic feed {synthetic / GOAL_P95_S:.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--bootstrap-servers", help="Use this broker instead of starting one.")
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--rate", type=float, default=10_000.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup-events", type=int, default=20_000)
    kafka = KafkaConfig()
    parser.add_argument("--trigger-seconds", type=float, default=kafka.trigger_seconds)
    parser.add_argument(
        "--max-offsets-per-trigger",
        type=int,
        default=kafka.max_offsets_per_trigger,
        help="Events per micro-batch (0: no limit).",
    )
    parser.add_argument(
        "--skip",
        choices=("throughput", "retailer", "latency"),
        action="append",
        default=[],
        help="Leave out this measurement (repeatable).",
    )
    parser.add_argument(
        "--retail-transactions",
        type=int,
        default=26_000,
        help="Invoices of the retailer-shaped year (~20 lines each).",
    )
    parser.add_argument("--partitions", type=int, default=2)
    parser.add_argument(
        "--replay-processes",
        type=int,
        default=2,
        help="basket replay --processes for the retailer replay (at most one per partition).",
    )
    parser.add_argument(
        "--load-processes", type=int, default=2, help="Producer processes pre-loading the topic."
    )
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--work",
        default=None,
        help="Scratch folder, kept afterwards (default: a temp dir, removed at the end).",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("ingest").setLevel(logging.INFO)  # per-batch timings
    logging.getLogger("kafka").setLevel(logging.ERROR)  # the producers' slow-poll warnings
    with contextlib.ExitStack() as scratch:
        if args.work is None:
            # a full run leaves ~1 GB of Delta tables, checkpoints and broker logs
            args.work = scratch.enter_context(tempfile.TemporaryDirectory(prefix="ingest-bench-"))
        return run(args)


def run(args: argparse.Namespace) -> int:
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
        synthetic = None
        if "throughput" not in args.skip:
            synthetic = throughput(spark, settings, bootstrap, args)
        if "retailer" not in args.skip:
            retailer(spark, settings, bootstrap, args, synthetic)
        if "latency" not in args.skip:
            latencies(spark, settings, bootstrap, args)
    finally:
        if broker is not None:
            broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
