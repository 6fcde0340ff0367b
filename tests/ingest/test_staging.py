"""The staging fast path (typed ``from_json`` + byte tests) must decide every record
exactly as the slow path (VARIANT parse, field by field checks) does: same values, same
``bad_event`` field and detail. Odd records that the byte tests cannot vouch for must fall
through to the slow path, never be accepted with a different reading."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ingest import events, staging

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

GOOD = events.make_event(
    transaction_id="T1",
    line_no=1,
    item="tea",
    ts="2024-03-01 10:00:00",
    quantity=2,
    price=1.5,
    store_id="S1",
    customer_id="C1",
)


def _enc(event: dict[str, Any]) -> bytes:
    return events.encode(event)


def _text(text: str) -> bytes:
    return text.encode("utf-8")


def _without(name: str) -> dict[str, Any]:
    return {k: v for k, v in GOOD.items() if k != name}


WIRE = events.encode(GOOD).decode("utf-8")
NAMES_WITH_ESCAPES = [
    'BLUE "LOVE" WALL ART',  # product names hold quotes (6.6% of the retailer-shaped feed)
    '12" TRAY',
    '5"',  # looks like a number: only a quoted value passes
    "a\\b",
    "end\\",  # an escaped backslash right before the closing quote
    'x\\"y',
    '"item":5',
    'a": "b',
    "tab\there",
]
CASES: list[bytes] = [
    _enc(GOOD),
    _enc({**GOOD, "transaction_id": "536365", "item": "5", "ts": "2024-03-01"}),
    _enc({**GOOD, "item": "true"}),
    _enc({**GOOD, "item": "{x}"}),
    _enc({**GOOD, "item": "[1]"}),
    _enc({**GOOD, "item": "-"}),
    _enc({**GOOD, "item": "a}b"}),
    _enc({**GOOD, "item": 'a"b'}),
    _enc({**GOOD, "item": "Crème brûlée"}),
    _enc({**GOOD, "item": 5}),
    _enc({**GOOD, "item": True}),
    _enc({**GOOD, "item": {"a": 1}}),
    _enc({**GOOD, "item": {}}),
    _enc({**GOOD, "item": [1]}),
    _enc({**GOOD, "item": None}),
    _enc(_without("item")),
    _enc(_without("transaction_id")),
    _enc({**GOOD, "transaction_id": 12}),
    _enc({**GOOD, "quantity": "abc"}),
    _enc({**GOOD, "quantity": "1.5"}),
    _enc({**GOOD, "quantity": -1}),
    _enc({**GOOD, "quantity": 1e3}),
    _enc({**GOOD, "quantity": True}),
    _enc({**GOOD, "quantity": {"a": 1}}),
    _enc({**GOOD, "quantity": []}),
    _enc({**GOOD, "quantity": None}),
    _enc(_without("quantity")),
    _enc(_without("price")),
    _enc({**GOOD, "store_id": None}),
    _enc(_without("store_id")),
    _enc({**GOOD, "store_id": 5}),
    _enc({**GOOD, "customer_id": False}),
    _enc({**GOOD, "schema_version": 2}),
    _enc({**GOOD, "schema_version": "1"}),
    _enc({**GOOD, "line_no": 1.0}),
    _enc({**GOOD, "line_no": "1"}),
    _enc({**GOOD, "line_no": -3}),
    _enc({**GOOD, "extra": 1}),
    _enc({**GOOD, "extra": {"item": "x"}}),
    _enc({**GOOD, "extra": [1, 2]}),
    _text(json.dumps(GOOD, indent=2)),
    _text(" " + WIRE),
    _text(WIRE + " "),
    _text(WIRE + "}"),
    _text(WIRE + '"}'),
    _text(WIRE + "{}"),
    _text(WIRE[:-1] + ',"item":"coffee"}'),  # a repeated key
    _text(WIRE[:-1] + ',"a\\"item":"x"}'),  # an escaped quote in a key
    _text(WIRE.replace('"item":"tea"', '"item":5') + '"item":"'),
    _text(WIRE.replace('"tea"', '"t\\u00e9a"')),
    _text("{}"),
    _text("[]"),
    _text("[" + WIRE + "]"),
    _text("null"),
    _text("{not json"),
    _text(WIRE[:-1]),
    b"\xff\xfe",
    b"",
    *[_enc({**GOOD, "item": name}) for name in NAMES_WITH_ESCAPES],
    _enc({**GOOD, "transaction_id": '"', "customer_id": '\\"'}),
    _text(WIRE.replace('"item"', '"it\\u0065m"')),  # an escaped key
    _text(WIRE[:-1] + ',"store_id\\"":"x"}'),  # an unknown key ending in an escaped quote
    _text(WIRE[:-1] + ',"x":"\\"item\\":\\""}'),
    _text(WIRE.replace('"tea"', '"tea\\q"')),  # not a JSON escape
    _text(WIRE.replace('"tea"', '"tea\\"')),  # the escape swallows the closing quote
]


def _number(text: object) -> object:
    try:
        return float(str(text))
    except ValueError:
        return text


def _same_numbers(row: dict[str, Any]) -> tuple[object, ...]:
    """The row with quantity/price as numbers when they hold one: the slow path writes the
    JSON number 1e3 as ``1000``, the fast path as ``1000.0``; cleaning reads both as 1000.0."""
    return tuple(_number(v) if k in ("quantity", "price") else v for k, v in row.items())


def test_fast_path_decides_like_the_slow_path(ingest_spark: SparkSession) -> None:
    rows = [(value, "t", 0, offset) for offset, value in enumerate(CASES)]
    batch = ingest_spark.createDataFrame(
        rows, "value binary, topic string, partition int, offset long"
    ).selectExpr("*", "timestamp'2024-03-01 00:00:00' AS timestamp")

    def staged(fast: bool) -> dict[int, tuple[object, ...]]:
        df = staging.stage_events(batch, fast=fast)
        return {r[staging.OFFSET]: _same_numbers(r.asDict()) for r in df.collect()}

    fast, slow = staged(True), staged(False)
    assert len(fast) == len(CASES)
    for offset, value in enumerate(CASES):
        assert fast[offset] == slow[offset], value
    detail = list(staging.stage_events(batch).columns).index(staging.BAD_DETAIL)
    accepted = [o for o, row in slow.items() if row[detail] is None]
    assert 0 in accepted and 1 in accepted and len(accepted) < len(CASES)


def test_fast_path_takes_the_plain_events(ingest_spark: SparkSession) -> None:
    """The events the replay tool and the benchmark send all take the fast path."""
    from pyspark.sql import functions as F

    quoted = [CASES[7], *[_enc({**GOOD, "item": name}) for name in NAMES_WITH_ESCAPES]]
    plain = [_enc(GOOD), *CASES[1:3], CASES[4], CASES[5], CASES[8], *quoted, CASES[3]]
    df = ingest_spark.createDataFrame([(v,) for v in plain], "value binary")
    text = F.col("value").cast("string")
    options = {"columnNameOfCorruptRecord": staging.FAST_CORRUPT, "allowNonNumericNumbers": "false"}
    parsed = df.select(
        text.alias("_text"), F.from_json(text, staging._fast_schema(), options).alias("_j")
    )
    shape = staging._structure(F.col("_text"))
    flags = [r[0] for r in parsed.select(staging._fast_ok(shape, F.col("_j"))).collect()]
    assert flags == [True] * (len(plain) - 1) + [False]  # '{x}': a brace


VALUE_CASES = [
    # (case, field, JSON value as written, reason, quarantined field)
    ("json number 1e309", "quantity", "1e309", "bad_quantity", "quantity"),
    ("json number -1e309", "quantity", "-1e309", "bad_quantity", "quantity"),
    ("400-digit json number", "price", "9" * 400, "bad_price", "price"),
    ("string 1e309", "quantity", '"1e309"', "bad_quantity", "quantity"),
    ("string Infinity", "quantity", '"Infinity"', "bad_quantity", "quantity"),
    ("string -Infinity", "price", '"-Infinity"', "bad_price", "price"),
    ("string NaN", "quantity", '"NaN"', "bad_quantity", "quantity"),
    ("Java suffix 2d", "quantity", '"2d"', "bad_quantity", "quantity"),
    ("Java suffix 2f", "price", '"2f"', "bad_price", "price"),
    ("hex float", "price", '"0x1p3"', "bad_price", "price"),
    ("escaped NUL in a number", "quantity", '"1\\u0000"', "bad_quantity", "quantity"),
    ("escaped NUL in the item", "item", '"tea\\u0000"', "bad_encoding", "item"),
    (
        "control character in the customer",
        "customer_id",
        '"C\\u0007"',
        "bad_encoding",
        "customer_id",
    ),
    ("U+FFFD in the store", "store_id", '"S\ufffd"', "bad_encoding", "store_id"),
    ("escaped NUL in the time", "ts", '"2024-03-01\\u000010:00:00"', "bad_encoding", "ts"),
    ("an item over 1000 characters", "item", '"' + "x" * 1001 + '"', "value_too_long", "item"),
    (
        "a 201-character id",
        "transaction_id",
        '"' + "7" * 201 + '"',
        "value_too_long",
        "transaction_id",
    ),
    # a raw NUL byte inside a JSON string is not JSON: the event contract refuses it
    ("raw NUL byte in a string", "quantity", '"1\x00"', "bad_event", None),
]


def _classified(ingest_spark: SparkSession, values: list[bytes], *, fast: bool) -> DataFrame:
    """Kafka records with ``values`` (offsets 0, 1, ...) staged and classified as the
    ingest does (:func:`ingest.sink.classify_staged`, the event column mapping)."""
    from basket_core.config import CleaningConfig, InputConfig
    from ingest.sink import CleaningSpec, classify_staged, explain_staged
    from ingest.stream import EVENT_COLUMNS

    rows = [(value, "t", 0, offset) for offset, value in enumerate(values)]
    batch = ingest_spark.createDataFrame(
        rows, "value binary, topic string, partition int, offset long"
    ).selectExpr("*", "timestamp'2024-03-01 00:00:00' AS timestamp")
    spec = CleaningSpec(
        data_columns=events.DATA_FIELDS,
        columns=EVENT_COLUMNS,
        cleaning=CleaningConfig(),
        timestamp_formats=tuple(InputConfig().timestamp_formats),
    )
    return explain_staged(classify_staged(staging.stage_events(batch, fast=fast), spec), spec)


def test_event_values_no_till_means_are_quarantined(ingest_spark: SparkSession) -> None:
    """Staging hands the text of a JSON number (``1e309`` arrives as ``Infinity``) or
    string to the batch rules, which quarantine it under the same reason as a CSV value;
    the good event beside them is accepted. Both staging paths decide the same. Every case
    is one record of the same batch (offset 1, 2, ...), each judged on its own."""
    from pyspark.sql import functions as F

    from spark.clean import FIELD, RAW, REASON

    placeholder = '"value-under-test"'
    values = [_enc(GOOD)]
    expected: dict[int, tuple[str | None, str | None]] = {0: (None, None)}
    names = {0: "good"}
    for name, field, value, reason, quarantined in VALUE_CASES:
        wire = events.encode({**GOOD, field: json.loads(placeholder)}).decode("utf-8")
        expected[len(values)], names[len(values)] = (reason, quarantined), name
        values.append(wire.replace(placeholder, value).encode("utf-8"))
    offset = F.col(f"`{RAW}{staging.OFFSET}`")
    for fast in (True, False):
        classified = _classified(ingest_spark, values, fast=fast)
        got = {r[0]: (r[1], r[2]) for r in classified.select(offset, REASON, FIELD).collect()}
        wrong = {names[k]: (got.get(k), want) for k, want in expected.items() if got.get(k) != want}
        assert not wrong and len(got) == len(expected), (fast, wrong)


def test_a_huge_event_makes_a_small_quarantine_row(ingest_spark: SparkSession) -> None:
    """A 1 MB message (over the event size limit) is quarantined with the head of its
    text and a marker, not the whole megabyte (:func:`spark.clean.bounded`)."""
    from datetime import UTC, datetime

    from basket_core.config import CleaningConfig, InputConfig
    from ingest.rows import to_quarantine
    from ingest.sink import CleaningSpec
    from ingest.stream import EVENT_COLUMNS
    from spark.clean import RAW_FIELD_CHARS

    huge = _enc({**GOOD, "item": "x" * 1_000_000})
    classified = _classified(ingest_spark, [_enc(GOOD), huge], fast=True)
    spec = CleaningSpec(
        data_columns=events.DATA_FIELDS,
        columns=EVENT_COLUMNS,
        cleaning=CleaningConfig(),
        timestamp_formats=tuple(InputConfig().timestamp_formats),
    )
    (row,) = to_quarantine(classified, spec, datetime(2024, 3, 1, tzinfo=UTC)).collect()
    assert row["reason"] == "bad_event" and row["source_offset"] == 1
    assert "over the 16384-byte limit" in row["detail"]
    line = json.loads(row["raw"])["line"]
    assert len(line) < RAW_FIELD_CHARS + 100
    assert line.startswith('{"schema_version":1,') and line.endswith(
        f"...[truncated: {len(huge)} characters in all]"
    )
