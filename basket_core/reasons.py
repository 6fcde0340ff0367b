"""Why a record was rejected. One code per cleaning rule, checked in this order;
a record is quarantined with the first rule it fails."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    MALFORMED_ROW = "malformed_row"
    """The line could not be parsed into the expected fields (wrong field count, bad quoting)."""
    BLANK_TRANSACTION_ID = "blank_transaction_id"
    """Transaction id missing or blank."""
    BLANK_ITEM = "blank_item"
    """Item missing or blank."""
    BAD_ENCODING = "bad_encoding"
    """Id or item holds undecodable bytes (U+FFFD) or control characters."""
    CANCELLATION = "cancellation"
    """Transaction id starts with the cancellation prefix."""
    BAD_QUANTITY = "bad_quantity"
    """Quantity is not a number."""
    NON_POSITIVE_QUANTITY = "non_positive_quantity"
    """Quantity is zero or negative (returns, corrections)."""
    BAD_PRICE = "bad_price"
    """Price is not a number."""
    NON_POSITIVE_PRICE = "non_positive_price"
    """Price is zero or negative."""
    BAD_TIMESTAMP = "bad_timestamp"
    """Timestamp missing or in none of the accepted formats."""
    DUPLICATE = "duplicate"
    """An identical line (same transaction, item, quantity, price, time, customer, store) was already accepted."""
    EMPTY_BASKET = "empty_basket"
    """Basket format: a line with no items."""
    BAD_EVENT = "bad_event"
    """Streaming: the event is not valid JSON, misses fields or has an unknown schema version."""


ORDER: tuple[Reason, ...] = tuple(Reason)
