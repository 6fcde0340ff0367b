"""How many Kafka records a micro-batch holds, from the query's checkpoint rather than from
the batch's rows: the offset log ``offsets/<batch>`` holds each batch's end offsets per
topic partition, the one before it (or the source's initial offsets, ``sources/0/0``)
its start. The sink checks that this many records came out of the cleaning rules.

Offsets are contiguous on an ordinary topic; a transactional or compacted topic has gaps
(commit markers, removed records), and its batches would not reconcile.
"""

from __future__ import annotations

import json
from pathlib import Path

Offsets = dict[str, dict[str, int]]


def _last_json(path: Path) -> Offsets:
    """The source's offsets: the last JSON line of a metadata log file (``v1`` first; the
    initial offsets file starts with a NUL byte)."""
    lines = [ln for ln in path.read_text(encoding="utf-8").lstrip("\0").splitlines() if ln]
    if len(lines) < 2 or lines[0] != "v1":
        raise ValueError(f"{path}: not a Spark offset log entry")
    parsed: Offsets = json.loads(lines[-1])
    return parsed


def batch_offsets(checkpoint: str, batch_id: int) -> tuple[Offsets, Offsets]:
    """(start, end) offsets of ``batch_id`` per topic and partition."""
    root = Path(checkpoint)
    end = _last_json(root / "offsets" / str(batch_id))
    before = root / "offsets" / str(batch_id - 1)
    start = _last_json(before if batch_id > 0 else root / "sources" / "0" / "0")
    return start, end


def records_between(start: Offsets, end: Offsets) -> int:
    """Records from ``start`` (inclusive) to ``end`` (exclusive) over every partition; a
    partition new in ``end`` counts from offset 0."""
    return sum(
        offset - start.get(topic, {}).get(partition, 0)
        for topic, partitions in end.items()
        for partition, offset in partitions.items()
    )


def batch_records(checkpoint: str, batch_id: int) -> int:
    """Records in micro-batch ``batch_id`` of the query checkpointed at ``checkpoint``."""
    return records_between(*batch_offsets(checkpoint, batch_id))


def committed_offsets(checkpoint: str) -> Offsets | None:
    """End offsets of the newest batch the query committed (None before its first)."""
    root = Path(checkpoint)
    done = [int(p.name) for p in (root / "commits").glob("[0-9]*") if p.name.isdigit()]
    if not done:
        return None
    return _last_json(root / "offsets" / str(max(done)))


def no_broker(bootstrap_servers: str, why: str = "") -> str:
    """What to tell a user whose command found no Kafka broker (the replay's producer, the
    ingest's topic check)."""
    return (
        f"no Kafka broker answers at {bootstrap_servers}{f' ({why})' if why else ''}; start "
        "one (`basket services start kafka`) or pass --bootstrap-servers"
    )


def check_topic(bootstrap_servers: str, topic: str, timeout_s: float = 10.0) -> None:
    """Raise unless a broker answers at ``bootstrap_servers`` and holds ``topic``: Spark's
    Kafka source retries a missing topic for a while and then fails the query with a
    screenful of stack traces; a mistyped ``--topic`` deserves one line."""
    from kafka import KafkaConsumer
    from kafka.errors import KafkaError

    from basket_core.errors import InputError, ServiceUnavailable

    try:
        consumer = KafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            request_timeout_ms=int(timeout_s * 1000),
            bootstrap_timeout_ms=int(timeout_s * 1000),
        )
    except KafkaError as exc:
        raise ServiceUnavailable(no_broker(bootstrap_servers, type(exc).__name__)) from exc
    try:
        topics = consumer.topics()
    finally:
        consumer.close()
    if topic not in topics:
        shown = sorted(t for t in topics if not t.startswith("__"))
        there = ", ".join(shown[:10]) + (", ..." if len(shown) > 10 else "") or "none"
        raise InputError(
            f"topic {topic!r} does not exist on {bootstrap_servers} (topics there: {there}); "
            "check --topic (kafka.topic)"
        )


def end_offsets(bootstrap_servers: str, topic: str, timeout_s: float = 10.0) -> dict[str, int]:
    """The topic's end offset per partition, from the broker."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=int(timeout_s * 1000)
    )
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in sorted(partitions)])
        return {str(tp.partition): int(offset) for tp, offset in ends.items()}
    finally:
        consumer.close()


def lag(committed: Offsets | None, topic: str, ends: dict[str, int]) -> dict[str, int]:
    """Events not yet ingested per ``topic/partition``."""
    done = (committed or {}).get(topic, {})
    return {f"{topic}/{p}": end - done.get(p, 0) for p, end in sorted(ends.items())}
