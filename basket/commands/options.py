"""Options shared by several commands, declared once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from basket_core.config import Settings

F = TypeVar("F", bound=Callable[..., Any])

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


def aws_options(fn: F) -> F:
    """The AWS flags shared by publish, athena and query (each overrides the config)."""
    for option in reversed(
        (
            click.option("--endpoint-url", help="S3/Glue/Athena endpoint (MinIO, moto...)."),
            click.option("--region", help="AWS region."),
            click.option("--profile", help="AWS profile from the standard credential chain."),
            click.option("--bucket", help="Results bucket."),
            click.option("--prefix", help="Key prefix inside the bucket."),
        )
    ):
        fn = option(fn)
    return fn


def apply_aws_options(settings: Settings, opts: dict[str, Any]) -> Settings:
    return settings.with_overrides(
        **{
            "aws.endpoint_url": opts.get("endpoint_url"),
            "aws.region": opts.get("region"),
            "aws.profile": opts.get("profile"),
            "aws.bucket": opts.get("bucket"),
            "aws.prefix": opts.get("prefix"),
            "aws.sse": opts.get("sse"),
            "aws.kms_key_id": opts.get("kms_key_id"),
            "paths.output_dir": opts.get("output"),
        }
    )


class BadOption(click.ClickException):
    """A bad option or setting: one line on stderr and exit status 2, without click's
    usage banner (the message names the option)."""

    exit_code = 2
