"""``basket replay`` against the real broker: what a consumer reads back is exactly the
file's events, each on the partition Kafka's default partitioner picks for its key, each
partition in file order, with one producer process or several; a replay that cannot
deliver says so in one line and exits non-zero, it never reports a count it did not send."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from basket_core.config import ColumnsConfig, InputConfig
from basket_devtools.kafka_broker import KafkaBroker
from ingest.fanout import fan_out
from ingest.replay import ReplayError, csv_messages, replay
from tests.fixtures.kafka import sample_rows, write_csv
from tests.paths import REPO_ROOT

Record = tuple[bytes | None, bytes]


def _topic(broker: KafkaBroker, partitions: int) -> str:
    from kafka.admin import KafkaAdminClient, NewTopic

    name = f"replay-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
    try:
        admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    finally:
        admin.close()
    return name


def _read_back(broker: KafkaBroker, topic: str, expected: int) -> dict[int, list[Record]]:
    """Every record of the topic, per partition in offset order."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=broker.bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=3_000,
    )
    by_partition: dict[int, list[Record]] = defaultdict(list)
    deadline = time.monotonic() + 60
    try:
        while sum(map(len, by_partition.values())) < expected and time.monotonic() < deadline:
            for record in consumer:
                by_partition[record.partition].append((record.key, record.value))
    finally:
        consumer.close()
    return by_partition


class _Cluster:
    """The metadata kafka-python's default partitioner asks for: one 3-partition topic."""

    def __init__(self, topic: str) -> None:
        self.topic = topic

    def topics(self) -> set[str]:
        return {self.topic}

    def partitions_for_topic(self, topic: str) -> set[int]:
        return {0, 1, 2}

    available_partitions_for_topic = partitions_for_topic


def _csv(tmp_path: Path) -> Path:
    rows = sample_rows(400, seed=3)
    rows.insert(50, "1049,S1,a row,with,too,many,fields,here,x")  # sent raw, keyless
    return write_csv(tmp_path / "replay.csv", rows)


@pytest.mark.parametrize("processes", [1, 3])
def test_a_consumer_reads_back_exactly_the_file_in_order(
    kafka_broker: KafkaBroker, tmp_path: Path, processes: int
) -> None:
    from kafka.partitioner import DefaultPartitioner

    path = _csv(tmp_path)
    columns, inp = ColumnsConfig(), InputConfig()
    expected = [(m.key, m.value) for m in csv_messages(path, columns, inp)]
    topic = _topic(kafka_broker, 3)

    report = replay(path, kafka_broker.bootstrap_servers, topic, columns, inp, processes=processes)

    assert report.messages == len(expected) > 1_000 and report.malformed == 1
    got = _read_back(kafka_broker, topic, len(expected))
    assert Counter(r for records in got.values() for r in records) == Counter(expected)
    partitioner = DefaultPartitioner()
    for partition, records in got.items():
        keyed = [r for r in records if r[0] is not None]
        for key, _ in keyed:
            assert partitioner.partition(topic, key, key, None, None, _Cluster(topic)) == partition
        in_file_order = [r for r in expected if r[0] is not None and r in set(keyed)]
        assert keyed == in_file_order, f"partition {partition} out of file order"


def test_a_worker_that_cannot_send_fails_the_replay_in_one_line(
    kafka_broker: KafkaBroker, tmp_path: Path
) -> None:
    """A worker whose sends fail (here: partition 2 of a 2-partition topic) stops the
    replay with the count that got through and the worker's reason, without hanging."""
    path = _csv(tmp_path)
    topic = _topic(kafka_broker, 2)
    started = time.monotonic()
    with pytest.raises(ReplayError, match="Unrecognized partition"):
        fan_out(
            csv_messages(path, ColumnsConfig(), InputConfig()),
            kafka_broker.bootstrap_servers,
            topic,
            partitions=3,
            processes=3,
        )
    assert time.monotonic() - started < 60


def test_cli_replay_with_processes_and_its_failure(
    kafka_broker: KafkaBroker, tmp_path: Path
) -> None:
    path = _csv(tmp_path)
    topic = _topic(kafka_broker, 2)
    base = [sys.executable, "-m", "basket", "replay", str(path), "--topic", topic]
    ok = subprocess.run(
        [*base, "--bootstrap-servers", kafka_broker.bootstrap_servers, "--processes", "2"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert "published 1," in ok.stdout and "1 malformed" in ok.stdout
    typo = subprocess.run(
        [*base, "--processes", "0"], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60
    )
    assert typo.returncode == 2 and "--processes" in typo.stderr
    assert "Traceback" not in typo.stderr


def test_a_record_the_broker_refuses_is_counted_not_reported_sent(
    kafka_broker: KafkaBroker,
) -> None:
    """A delivery that fails after ``send`` returned (the broker refuses a record over its
    1 MB message limit) fails the replay with the count that got through: kafka-python's
    ``flush`` alone would have returned as if all were sent."""
    from ingest.replay import Message, producer, publish

    topic = _topic(kafka_broker, 1)
    big = Message(b"T2", b"x" * 2_000_000)
    prod = producer(kafka_broker.bootstrap_servers, max_request_size=4_000_000)
    try:
        with pytest.raises(ReplayError, match=r"^1 of 2 events delivered .*; 1 not \("):
            publish(iter([Message(b"T1", b"{}"), big]), prod, topic)
    finally:
        prod.close()


def test_the_producer_checksums_batches_in_c() -> None:
    """kafka-python falls back to a pure-Python CRC-32C without the ``crc32c`` package,
    which costs more per event (~49 µs at 300 bytes) than the rest of the send path."""
    import crc32c
    from kafka.record import util

    assert util.crc32c_c is crc32c.crc32c
    assert util.calc_crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
