"""Replay with several producer processes.

kafka-python's send path costs ~36 µs of one core per event (record building in pure
Python; the batch checksum is the ``crc32c`` package's C code, 49 µs more per 300-byte
event in kafka-python's own pure-Python fallback), so one process tops out near 27k
events/s whatever the broker can take. Here the parent reads and encodes the file and
routes every message to the partition Kafka's default partitioner would pick for its key
(murmur2, worked out once per transaction since a transaction's lines are consecutive);
each worker process owns a share of the partitions and sends only to them, so every
partition still receives its messages in file order, as with one producer.

A worker that fails (an unreachable broker, undelivered records) reports one line; the
parent stops the others and raises :class:`ReplayError`.
"""

from __future__ import annotations

import itertools
import multiprocessing
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

CHUNK = 2_000  # messages per hand-over to a worker: pickling cost amortised, bursts bounded


class ReplayError(RuntimeError):
    """The replay could not deliver every message; the text says how many and why."""


Routed = tuple[int, bytes | None, bytes]
"""``(partition, key, value)``: a plain tuple, since one is built for every event."""


def default_partition(key: bytes, partitions: int) -> int:
    """The partition Kafka's Java (and kafka-python's) default partitioner picks."""
    from kafka.partitioner.default import murmur2

    return (murmur2(key) & 0x7FFFFFFF) % partitions


def route(messages: Iterable[Any], partitions: int) -> Iterator[Routed]:
    """Each message with its partition. Keyless messages (raw malformed rows) go round
    robin, as the default partitioner spreads them."""
    last_key: bytes | None = None
    last_partition = 0
    spread = itertools.cycle(range(partitions))
    for msg in messages:
        key = msg.key
        if key is None:
            yield (next(spread), None, msg.value)
            continue
        if key != last_key:
            last_key, last_partition = key, default_partition(key, partitions)
        yield (last_partition, key, msg.value)


class DeliveryCount:
    """Counts the records whose delivery failed (kafka-python's ``flush`` does not raise
    for them), keeping the first error's text."""

    def __init__(self) -> None:
        self.failed = 0
        self.first_error = ""

    def __call__(self, exc: BaseException) -> None:
        self.failed += 1
        if not self.first_error:
            self.first_error = f"{type(exc).__name__}: {exc}"

    def reason(self) -> str:
        return f"{self.failed:,} not ({self.first_error})"


def delivery_error(topic: str, delivered: int, count: int, reason: str) -> ReplayError:
    return ReplayError(f"{delivered:,} of {count:,} events delivered to {topic}; {reason}")


def producer(bootstrap_servers: str, **config: Any) -> Any:
    """A producer connected to ``bootstrap_servers``; :class:`ReplayError` when no broker
    answers there (kafka-python raises a bare timeout after trying for a while)."""
    from kafka import KafkaProducer
    from kafka.errors import KafkaTimeoutError

    from ingest.offsets import no_broker

    defaults: dict[str, Any] = {
        "acks": "all",
        "linger_ms": 5,
        "batch_size": 256 * 1024,
        "bootstrap_timeout_ms": 10_000,  # a broker that is up answers in milliseconds
    }
    try:
        return KafkaProducer(bootstrap_servers=bootstrap_servers, **{**defaults, **config})
    except KafkaTimeoutError as exc:
        raise ReplayError(no_broker(bootstrap_servers)) from exc


def pace(started: float, sent: int, rate: float | None) -> None:
    """Sleep until the next message is due, at most ``rate`` a second since ``started``."""
    if rate:
        ahead = started + sent / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)


def send_checked(prod: Any, topic: str, failures: DeliveryCount, **record: Any) -> None:
    prod.send(topic, **record).add_errback(failures)


def _worker(conn: Connection, bootstrap_servers: str, topic: str) -> None:
    failures = DeliveryCount()
    sent = 0
    try:
        prod = producer(bootstrap_servers)
    except Exception as exc:
        conn.send(("error", 0, f"{type(exc).__name__}: {exc}"))
        return
    try:
        while (chunk := conn.recv()) is not None:
            for partition, key, value in chunk:
                send_checked(prod, topic, failures, key=key, value=value, partition=partition)
            sent += len(chunk)
        prod.flush()
        if failures.failed:
            conn.send(("error", sent - failures.failed, failures.reason()))
        else:
            conn.send(("ok", sent, ""))
    except Exception as exc:
        conn.send(("error", sent - failures.failed, f"{type(exc).__name__}: {exc}"))
    finally:
        prod.close(timeout=5)


@dataclass(frozen=True)
class FanoutResult:
    messages: int
    malformed: int
    seconds: float


def fan_out(
    messages: Iterable[Any],
    bootstrap_servers: str,
    topic: str,
    *,
    partitions: int,
    processes: int,
    rate: float | None = None,
    limit: int | None = None,
) -> FanoutResult:
    """Send ``messages`` with ``processes`` producer processes (at most one per partition)."""
    processes = max(1, min(processes, partitions))
    context = multiprocessing.get_context("spawn")  # no broker sockets or threads inherited
    pipes, workers = [], []
    for _ in range(processes):
        parent_end, child_end = context.Pipe()
        proc = context.Process(
            target=_worker, args=(child_end, bootstrap_servers, topic), daemon=True
        )
        proc.start()
        child_end.close()
        pipes.append(parent_end)
        workers.append(proc)
    started = time.monotonic()
    pending: list[list[Routed]] = [[] for _ in range(processes)]
    chunk = CHUNK if not rate else max(1, min(CHUNK, int(rate / 20)))
    count = malformed = 0
    try:
        for routed in route(itertools.islice(messages, limit), partitions):
            if rate:
                pace(started, count, rate)
            owner = routed[0] % processes
            owned = pending[owner]
            owned.append(routed)
            if len(owned) >= chunk:
                _hand_over(pipes[owner], workers[owner], owned)
                pending[owner] = []
            count += 1
            malformed += routed[1] is None
        for owner, rest in enumerate(pending):
            if rest:
                _hand_over(pipes[owner], workers[owner], rest)
        for pipe, proc in zip(pipes, workers, strict=True):
            _hand_over(pipe, proc, None)
        outcomes = [_outcome(pipe, proc) for pipe, proc in zip(pipes, workers, strict=True)]
    except BaseException:
        for proc in workers:
            proc.kill()
        raise
    finally:
        for proc in workers:
            proc.join(timeout=10)
    errors = [text for status, _, text in outcomes if status != "ok"]
    if errors:
        delivered = sum(n for _, n, _ in outcomes)
        raise delivery_error(topic, delivered, count, errors[0])
    return FanoutResult(count, malformed, time.monotonic() - started)


def _hand_over(pipe: Connection, proc: Any, chunk: list[Any] | None) -> None:
    if proc.is_alive():
        try:
            pipe.send(chunk)
            return
        except (BrokenPipeError, ConnectionResetError):
            pass
    _, delivered, text = _outcome(pipe, proc)
    raise ReplayError(f"a producer process stopped after {delivered:,} events: {text}")


def _outcome(pipe: Connection, proc: Any) -> tuple[str, int, str]:
    """The worker's report: (status, events delivered, error text)."""
    while not pipe.poll(1.0):
        if not proc.is_alive() and not pipe.poll(0):
            return _gone(proc)
    try:
        status, sent, text = pipe.recv()
    except EOFError:
        return _gone(proc)
    return str(status), int(sent), str(text)


def _gone(proc: Any) -> tuple[str, int, str]:
    proc.join(timeout=5)
    return ("error", 0, f"producer process {proc.pid} exited (code {proc.exitcode})")
