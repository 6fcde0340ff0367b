"""Options shared by several commands, declared once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

FIELDS = ("transaction", "item", "quantity", "price", "timestamp", "customer", "store")

_COLUMN_HELP = {
    "transaction": "Transaction id column (name, or 0-based position without header).",
    "item": "Item column.",
    "quantity": "Quantity column ('' to unmap).",
    "price": "Unit price column ('' to unmap).",
    "timestamp": "Timestamp column ('' to unmap).",
    "customer": "Customer id column ('' to unmap).",
    "store": "Store id column ('' to unmap).",
}


def column_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--transaction-col ... --store-col``: the long-format column mapping."""
    for field in reversed(FIELDS):
        fn = click.option(f"--{field}-col", help=_COLUMN_HELP[field])(fn)
    return fn


def column_overrides(opts: dict[str, Any]) -> dict[str, Any]:
    """``columns.<field>`` settings overrides from :func:`column_options` values."""
    return {f"columns.{f}": opts.get(f"{f}_col") for f in FIELDS}
