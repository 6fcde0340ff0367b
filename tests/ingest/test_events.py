"""The event contract and the CSV -> event conversion (no Spark, no broker)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from basket_core.config import ColumnsConfig, InputConfig
from ingest import events
from ingest.replay import Message, csv_messages, publish


def test_number_or_text_keeps_what_is_not_a_plain_number() -> None:
    assert events.number_or_text("6") == 6
    assert events.number_or_text(" 2.55 ") == 2.55
    assert events.number_or_text("1e3") == 1000.0
    for text in ("abc", "", "1_000", "nan", "1e400", "--1"):
        assert events.number_or_text(text) == text


def test_encode_is_compact_utf8_json_and_refuses_nan() -> None:
    event = events.make_event(transaction_id="T1", line_no=1, item="Crème", ts="2024-01-01")
    wire = events.encode(event)
    assert json.loads(wire.decode("utf-8"))["item"] == "Crème"
    assert b" " not in wire
    with pytest.raises(ValueError):
        events.encode({**event, "price": float("nan")})


def test_fields_cover_the_event() -> None:
    event = events.make_event(transaction_id="T", line_no=1, item="i", ts="t")
    assert set(event) == {f.name for f in events.FIELDS}
    assert [f.name for f in events.spark_schema().fields] == [f.name for f in events.FIELDS]


def test_csv_messages_number_lines_per_transaction(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(
        "InvoiceNo,Description,Quantity,UnitPrice,InvoiceDate,CustomerID\n"
        "A,x,1,2.5,2024-01-01 10:00:00,c1\n"
        "B,y,abc,1,2024-01-01 10:00:00,\n"
        "A,z,3,1,2024-01-01 10:00:00,c1\n"
        "A,too,many,fields,here,x,y\n"
    )
    columns = ColumnsConfig(store="")
    msgs = list(csv_messages(path, columns, InputConfig()))
    assert [m.key for m in msgs] == [b"A", b"B", b"A", None]
    decoded = [json.loads(m.value) for m in msgs[:3]]
    assert [(e["transaction_id"], e["line_no"]) for e in decoded] == [("A", 1), ("B", 1), ("A", 2)]
    assert decoded[0]["quantity"] == 1 and decoded[0]["price"] == 2.5
    assert decoded[1]["quantity"] == "abc" and decoded[1]["customer_id"] == ""
    assert decoded[0]["schema_version"] == events.SCHEMA_VERSION
    assert msgs[3].value == b"A,too,many,fields,here,x,y"


class _Delivered:
    def add_errback(self, callback: object) -> None:
        pass


class _Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes]] = []

    def send(self, topic: str, key: bytes | None, value: bytes) -> _Delivered:
        self.sent.append((topic, key, value))
        return _Delivered()

    def flush(self) -> None:
        pass


def test_publish_respects_limit_and_rate() -> None:
    rec = _Recorder()
    msgs = iter([Message(b"k", b"v")] * 50)
    report = publish(msgs, rec, "t", rate=200.0, limit=20)
    assert report.messages == 20 == len(rec.sent)
    assert report.seconds >= 19 / 200
