"""Kafka: a replayed CSV plus poison messages and producer retries, ingested by a running
stream: the Delta table holds exactly the accepted lines, quarantine exactly the rejected
records and every poison message, and the stream keeps running."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from basket_devtools.kafka_broker import KafkaBroker
from ingest import events, stream
from ingest.replay import csv_messages, producer, publish
from ingest.tables import TablePaths
from spark.clean import clean_lines
from spark.load import read_long
from tests.fixtures.kafka import ingest_settings, sample_rows, wait_for, write_csv

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession

KEY = ("transaction_id", "item", "quantity", "price", "ts", "customer_id", "store_id")
_GOOD = events.make_event(transaction_id="P1", line_no=1, item="tea", ts="2024-03-01 10:00:00")
POISON: list[tuple[bytes, str, str | None]] = [
    (b"{not json", "not valid JSON", None),
    (b"\xff\xfe\x00garbage", "not valid UTF-8", None),
    (b"[1, 2]", "not a JSON object", None),
    (events.encode({**_GOOD, "schema_version": 99}), "unknown schema_version 99", "schema_version"),
    (events.encode({k: v for k, v in _GOOD.items() if k != "item"}), "missing", "item"),
    (events.encode({**_GOOD, "line_no": "one"}), "line_no has JSON type STRING", "line_no"),
    (events.encode({**_GOOD, "quantity": True}), "quantity has JSON type BOOLEAN", "quantity"),
    (events.encode({**_GOOD, "item": "x" * 20_000}), "over the", None),
]


def test_replay_poison_and_retries(
    ingest_spark: SparkSession, kafka_broker: KafkaBroker, kafka_topic: str, tmp_path: Path
) -> None:
    spark = ingest_spark
    settings = ingest_settings(tmp_path, **{"kafka.topic": kafka_topic})
    paths = TablePaths.under(settings.paths.delta_dir)
    csv = write_csv(tmp_path / "sales.csv", sample_rows(30, seed=3))
    raw = read_long(spark, [str(csv)], settings.input, settings.columns)
    _, batch = clean_lines(
        raw.df,
        data_columns=raw.data_columns,
        columns=settings.columns,
        cleaning=settings.cleaning,
        timestamp_formats=settings.input.timestamp_formats,
    )
    expected_lines = Counter(tuple(r) for r in batch.accepted.select(*KEY).collect())
    expected_reasons = Counter(r[0] for r in batch.rejected.select("reason").collect())

    prod = producer(kafka_broker.bootstrap_servers)
    for value, _, _ in POISON[:4]:
        prod.send(kafka_topic, value=value)
    prod.flush()
    started = datetime.now(UTC).replace(tzinfo=None)  # the session's time zone is UTC
    query = stream.start(
        spark,
        settings,
        stream.kafka_source(
            spark,
            settings.kafka.model_copy(
                update={"bootstrap_servers": kafka_broker.bootstrap_servers, "topic": kafka_topic}
            ),
        ),
        stream.RunOptions(trigger_seconds=1),
    )
    lines_t = lambda: spark.read.format("delta").load(paths.lines)  # noqa: E731
    quarantine_t = lambda: spark.read.format("delta").load(paths.quarantine)  # noqa: E731
    try:
        messages = list(csv_messages(csv, settings.columns, settings.input))
        publish(iter(messages), prod, kafka_topic)
        retries = [m for m in messages if m.key and not m.key.startswith(b"C")][:5]
        publish(iter(retries), prod, kafka_topic)  # producer retries: same key and value
        for value, _, _ in POISON[4:]:
            prod.send(kafka_topic, value=value)
        prod.flush()
        n_lines, n_rejected = sum(expected_lines.values()), expected_reasons.total() + len(POISON)
        wait_for(
            lambda: (
                (lines_t().count(), quarantine_t().count()) == (n_lines, n_rejected)
                or (lines_t().count(), quarantine_t().count())
            ),
            150,
            "all events",
        )
        assert query.isActive and query.exception() is None
    finally:
        query.stop()
        prod.close()

    stopped = datetime.now(UTC).replace(tzinfo=None)
    lines, quarantine = lines_t(), quarantine_t()
    assert Counter(tuple(r) for r in lines.select(*KEY).collect()) == expected_lines
    # ingested_at: when the batch ran, one value for all the lines of a commit
    stamps = lines.groupBy("_metadata.row_commit_version").agg(
        F.min("ingested_at").alias("lo"), F.max("ingested_at").alias("hi")
    )
    for r in stamps.collect():
        assert r.lo == r.hi and started <= r.lo <= stopped, r
    q_lo, q_hi = quarantine.agg(F.min("ingested_at"), F.max("ingested_at")).first()
    assert started <= q_lo <= q_hi <= stopped
    assert lines.select("line_key").distinct().count() == lines.count()
    reasons = Counter(r[0] for r in quarantine.select("reason").collect())
    assert reasons == expected_reasons + Counter({"bad_event": len(POISON)})
    bad = quarantine.where("reason = 'bad_event'").collect()
    assert all(r.source.startswith(f"{kafka_topic}/") and r.source_offset is not None for r in bad)
    for _, detail, field in POISON:
        assert any(detail in r.detail and r.field == field for r in bad), detail
