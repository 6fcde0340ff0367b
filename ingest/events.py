"""The point-of-sale event contract: one JSON object per transaction line.

Version 1 (``schema_version: 1``), UTF-8 JSON, at most ``MAX_EVENT_BYTES`` by default,
Kafka message key = the transaction id (so a transaction's lines stay in order on one
partition):

=================  ===============  =========  ==========================================
field              JSON type        required   meaning
=================  ===============  =========  ==========================================
schema_version     integer          yes        contract version; only ``1`` is accepted
transaction_id     string           yes        invoice / receipt id
line_no            integer          yes        line number within the transaction (1..)
item               string           yes        item key as sold
quantity           number | string  no         units sold (a string must hold a decimal)
price              number | string  no         unit price (a string must hold a decimal)
ts                 string           yes        sale time, ISO-8601 (``2024-03-01T09:30:00``)
                                               or any configured timestamp format
store_id           string | null    no         store id
customer_id        string | null    no         customer id
=================  ===============  =========  ==========================================

Unknown extra fields are ignored (additive changes stay version 1). ``(transaction_id,
line_no)`` identifies a line: a re-sent event (producer retry) is stored once.

An event that breaks the contract (not UTF-8, too large, not a JSON object, a missing
required field, a field of the wrong JSON type, an unknown ``schema_version``) is quarantined
with reason ``bad_event``; a well-formed event then goes through the same cleaning rules as
batch input (blank ids, cancellations, non-positive quantity, bad timestamp, ...).

Nothing here imports Spark; :func:`spark_schema` builds the typed Spark view lazily.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql.types import StructType

SCHEMA_VERSION = 1
SUPPORTED_VERSIONS: tuple[int, ...] = (1,)
MAX_EVENT_BYTES = 16 * 1024


@dataclass(frozen=True)
class Field:
    name: str
    kinds: tuple[str, ...]
    """Accepted JSON kinds: ``integer``, ``number``, ``string`` (``null`` = optional)."""
    required: bool
    line_column: str
    """The column it becomes in the cleaned lines (``basket_core.schemas.LINES``)."""


FIELDS: tuple[Field, ...] = (
    Field("schema_version", ("integer",), True, ""),
    Field("transaction_id", ("string",), True, "transaction_id"),
    Field("line_no", ("integer",), True, "line_no"),
    Field("item", ("string",), True, "item"),
    Field("quantity", ("number", "string"), False, "quantity"),
    Field("price", ("number", "string"), False, "price"),
    Field("ts", ("string",), True, "ts"),
    Field("store_id", ("string",), False, "store_id"),
    Field("customer_id", ("string",), False, "customer_id"),
)
DATA_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.name != "schema_version")
"""The event fields handed to the cleaning rules, in this order."""

_DECIMAL = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")


def field(name: str) -> Field:
    for f in FIELDS:
        if f.name == name:
            return f
    raise KeyError(f"the event contract has no field {name!r}")


def number_or_text(value: str) -> int | float | str:
    """A CSV cell as the event's number when it is a plain finite decimal, else the text
    unchanged (the cleaning rules then reject it as they would in a batch run)."""
    if value.isascii() and value.isdigit():  # most quantities: no regex needed
        return int(value)
    if not _DECIMAL.match(value):
        return value
    text = value.strip()
    try:
        return int(text)
    except ValueError:
        pass
    out = float(text)
    return out if math.isfinite(out) else value


def make_event(
    *,
    transaction_id: str,
    line_no: int,
    item: str,
    ts: str,
    quantity: int | float | str | None = None,
    price: int | float | str | None = None,
    store_id: str | None = None,
    customer_id: str | None = None,
) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "transaction_id": transaction_id,
        "line_no": line_no,
        "item": item,
        "quantity": quantity,
        "price": price,
        "ts": ts,
        "store_id": store_id,
        "customer_id": customer_id,
    }


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
"""Built once: ``json.dumps`` with options builds a new encoder for every event."""


def encode(event: Mapping[str, Any]) -> bytes:
    """The wire form: compact UTF-8 JSON (NaN/Infinity are not JSON and are refused)."""
    return _ENCODER.encode(event).encode("utf-8")


def spark_schema() -> StructType:
    """The typed Spark view of a valid event (quantity/price as text: a string is allowed)."""
    from pyspark.sql import types as T

    spark_types = {"integer": T.LongType(), "string": T.StringType()}
    return T.StructType(
        [
            T.StructField(f.name, spark_types.get(f.kinds[0], T.StringType()), not f.required)
            for f in FIELDS
        ]
    )
