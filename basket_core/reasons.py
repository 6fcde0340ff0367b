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
    VALUE_TOO_LONG = "value_too_long"
    """An item or an id is longer than its limit (``cleaning.max_item_length``,
    ``cleaning.max_id_length``). Checked before the character rules, so no later rule
    runs over a runaway value (a missing quote that swallowed the rest of a file)."""
    BAD_ENCODING = "bad_encoding"
    """A mapped text field (transaction, item, customer, store, timestamp) holds
    undecodable bytes (U+FFFD) or control characters (NUL included; tab and line breaks
    are allowed)."""
    CANCELLATION = "cancellation"
    """Transaction id starts with the cancellation prefix."""
    BAD_QUANTITY = "bad_quantity"
    """Quantity is not plain decimal text (sign, digits, fraction, exponent) with a finite
    value: ``1e309``, ``Infinity``, ``NaN``, ``2d``, hex and control characters are refused."""
    NON_POSITIVE_QUANTITY = "non_positive_quantity"
    """Quantity is zero or negative (returns, corrections)."""
    BAD_PRICE = "bad_price"
    """Price is not plain decimal text (sign, digits, fraction, exponent) with a finite
    value: ``1e309``, ``Infinity``, ``NaN``, ``2d``, hex and control characters are refused."""
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


class FileReason(StrEnum):
    """Why a whole input file was refused (``basket mine``: an error naming the file) or
    quarantined as one record (``basket ingest files``: the stream goes on)."""

    EMPTY_FILE = "empty_file"
    """The file has no line with data."""
    MISSING_HEADER = "missing_header"
    """The mapping names columns but the file's first line is not a header naming them."""
    MISSING_COLUMN = "missing_column"
    """The header lacks a mapped column (or a position is past the first row's fields, or
    the header is one column holding another delimiter: a wrong ``--delimiter``)."""
    DUPLICATE_COLUMN = "duplicate_column"
    """The header names one column twice, so the mapping is ambiguous."""
    BAD_COLUMN_NAME = "bad_column_name"
    """A header name Spark cannot reference (a backtick in it) or one the reader reserves
    for its own columns (``_source``, ``_corrupt``, ``_metadata``)."""
    WRONG_SEPARATOR = "wrong_separator"
    """Basket format: no line holds the item separator but lines hold another common one
    (a wrong ``--sep``)."""
    UNREADABLE_FILE = "unreadable_file"
    """Not readable as configured: truncated or false gzip, a UTF-16 byte-order mark."""
