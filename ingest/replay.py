"""Publish a long-format CSV (the ``basket mine`` layout, mapped by ``ColumnsConfig``) to a
Kafka topic as events (:mod:`ingest.events`), keyed by transaction id, at a chosen rate.

Values are passed through as text; the stream applies the cleaning rules, so a replayed
file ends up exactly as a batch run would clean it. A row with the wrong number of fields
is published as its raw text (the stream quarantines it as ``bad_event``).

Every record's delivery is checked: a replay that could not deliver them all raises
:class:`ingest.fanout.ReplayError` saying how many got through. ``processes`` > 1 sends
with several producer processes (:mod:`ingest.fanout`), each partition still in file order.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from basket_core.config import ColumnsConfig, InputConfig
from ingest import events
from ingest.fanout import (
    DeliveryCount,
    ReplayError,
    delivery_error,
    fan_out,
    pace,
    producer,
    send_checked,
)
from spark.load import BOM, mapped_columns, open_text, scan_long_file

__all__ = [
    "Message",
    "ReplayError",
    "ReplayReport",
    "csv_messages",
    "producer",
    "publish",
    "replay",
]


@dataclass(frozen=True)
class Message:
    key: bytes | None
    value: bytes


@dataclass(frozen=True)
class ReplayReport:
    messages: int
    malformed: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0


def csv_messages(path: Path, columns: ColumnsConfig, inp: InputConfig) -> Iterator[Message]:
    """The file's rows as event messages, in file order; ``line_no`` counts the lines of
    each transaction from 1."""
    layout = scan_long_file(str(path), inp, columns)
    header, names = layout.header, list(layout.columns)
    index = {field: names.index(name) for field, name in mapped_columns(columns).items()}
    line_nos: dict[str, int] = {}
    with open_text(str(path), inp.encoding) as fh:
        if layout.bom and fh.read(1) != BOM:
            raise ValueError(f"{path}: byte-order mark expected")
        rows = csv.reader(fh, delimiter=inp.delimiter, quotechar='"', doublequote=True)
        if header:
            next(rows, None)
        for row in rows:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(names):
                yield Message(None, inp.delimiter.join(row).encode("utf-8", "replace"))
                continue
            yield Message(*_event(row, index, line_nos))


def _event(row: list[str], index: dict[str, int], line_nos: dict[str, int]) -> tuple[bytes, bytes]:
    def get(field: str) -> str | None:
        i = index.get(field)
        return row[i] if i is not None else None

    tx = row[index["transaction"]]
    line_nos[tx] = line_nos.get(tx, 0) + 1
    qty, price = get("quantity"), get("price")
    event = events.make_event(
        transaction_id=tx,
        line_no=line_nos[tx],
        item=row[index["item"]],
        ts=get("timestamp") or "",
        quantity=events.number_or_text(qty) if qty is not None else None,
        price=events.number_or_text(price) if price is not None else None,
        store_id=get("store"),
        customer_id=get("customer"),
    )
    return tx.encode("utf-8", "replace"), events.encode(event)


def publish(
    messages: Iterator[Message],
    send: Any,
    topic: str,
    *,
    rate: float | None = None,
    limit: int | None = None,
) -> ReplayReport:
    """Send messages with ``send`` (a KafkaProducer), at most ``rate`` per second; raises
    :class:`ReplayError` when a record could not be delivered."""
    started = time.monotonic()
    count = malformed = 0
    failures = DeliveryCount()
    for msg in messages:
        if limit is not None and count >= limit:
            break
        pace(started, count, rate)
        send_checked(send, topic, failures, key=msg.key, value=msg.value)
        count += 1
        malformed += msg.key is None
    send.flush()
    if failures.failed:
        raise delivery_error(topic, count - failures.failed, count, failures.reason())
    return ReplayReport(count, malformed, time.monotonic() - started)


def topic_partitions(bootstrap_servers: str, topic: str) -> int:
    prod = producer(bootstrap_servers)
    try:
        return len(prod.partitions_for(topic))
    finally:
        prod.close()


def replay(
    path: Path,
    bootstrap_servers: str,
    topic: str,
    columns: ColumnsConfig,
    inp: InputConfig,
    *,
    rate: float | None = None,
    limit: int | None = None,
    processes: int = 1,
) -> ReplayReport:
    messages = csv_messages(path, columns, inp)
    if processes > 1:
        sent = fan_out(
            messages,
            bootstrap_servers,
            topic,
            partitions=topic_partitions(bootstrap_servers, topic),
            processes=processes,
            rate=rate,
            limit=limit,
        )
        return ReplayReport(sent.messages, sent.malformed, sent.seconds)
    prod = producer(bootstrap_servers)
    try:
        return publish(messages, prod, topic, rate=rate, limit=limit)
    finally:
        prod.close()
