"""From accepted lines to baskets: filters, item mapping, grouping, basket-format parsing."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from basket_core.config import CleaningConfig
from basket_core.reasons import Reason
from basket_core.schemas import QUARANTINE
from spark.clean import normalise_item
from spark.load import InputError

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import Column, DataFrame, SparkSession

ALL = "all"
NO_SEGMENT = "(none)"


def apply_window(lines: DataFrame, start: date | None, end: date | None) -> DataFrame:
    """Keep lines whose ``event_date`` is within ``[start, end]`` (both inclusive)."""
    from pyspark.sql import functions as F

    if start is not None and end is not None and start > end:
        raise ValueError(f"start date {start} is after end date {end}")
    if start is not None:
        lines = lines.where(F.col("event_date") >= F.lit(start))
    if end is not None:
        lines = lines.where(F.col("event_date") <= F.lit(end))
    return lines


def apply_where(lines: DataFrame, where: str | None) -> DataFrame:
    """Keep lines matching a filter (:mod:`spark.filters`: a predicate, never code) over
    the line's columns."""
    if not where:
        return lines
    from pyspark.errors import AnalysisException, ParseException
    from pyspark.sql import functions as F

    from spark.filters import check_columns, check_filter

    safe = check_filter(where)
    check_columns(where, lines.columns)
    try:
        out = lines.where(F.expr(safe))
        out.schema  # noqa: B018 - resolve now to report errors here
    except (AnalysisException, ParseException) as exc:
        first = str(exc).strip().splitlines()[0]
        raise InputError(
            f"--where {where!r} is not valid: {first}; columns are: {', '.join(lines.columns)}"
        ) from exc
    return out


def read_item_map(spark: SparkSession, path: Path) -> DataFrame:
    """An item -> category CSV (two columns; a header ``item,category`` is optional)."""
    if not path.is_file():
        raise InputError(f"item map not found: {path}")
    rows: list[tuple[str, str]] = []
    with path.open(newline="", encoding="utf-8") as fh:
        for n, rec in enumerate(csv.reader(fh), start=1):
            if not rec or not "".join(rec).strip():
                continue
            if len(rec) != 2:
                raise InputError(f"{path}:{n}: expected 2 fields (item,category), got {len(rec)}")
            if n == 1 and [r.strip().lower() for r in rec] == ["item", "category"]:
                continue
            rows.append((rec[0].strip(), rec[1].strip()))
    if not rows:
        raise InputError(f"item map is empty: {path}")
    return spark.createDataFrame(rows, "map_item string, map_category string")


def map_items(lines: DataFrame, item_map: DataFrame) -> DataFrame:
    """Replace each item by its category; items not in the map stay as they are."""
    from pyspark.sql import functions as F

    joined = lines.join(F.broadcast(item_map), lines.item == item_map.map_item, "left")
    return joined.withColumn("item", F.coalesce("map_category", "item")).drop(
        "map_item", "map_category"
    )


def to_baskets(lines: DataFrame, *, basket_by: str, segment_by: str | None) -> DataFrame:
    """Group lines into baskets of distinct items: columns ``segment, basket_id, items``.

    ``basket_by``: ``transaction`` (one basket per transaction id) or ``customer-day``
    (lines without a customer or timestamp are left out by the caller's filter).
    """
    from pyspark.sql import functions as F

    if basket_by == "transaction":
        key = F.col("transaction_id")
    elif basket_by == "customer-day":
        key = F.concat_ws("|", F.col("customer_id"), F.date_format("ts", "yyyy-MM-dd"))
    else:
        raise ValueError(f"basket_by must be 'transaction' or 'customer-day', got {basket_by!r}")
    if segment_by:
        if segment_by not in lines.columns:
            raise InputError(
                f"--segment-by {segment_by!r} is not a column; columns are: {', '.join(lines.columns)}"
            )
        seg = F.coalesce(F.col(f"`{segment_by}`").cast("string"), F.lit(NO_SEGMENT))
    else:
        seg = F.lit(ALL)
    return (
        lines.select(seg.alias("segment"), key.alias("basket_id"), "item")
        .groupBy("segment", "basket_id")
        .agg(F.sort_array(F.collect_set("item")).alias("items"))
    )


def customer_day_ready(lines: DataFrame) -> DataFrame:
    """Lines that can form customer-day baskets (customer and timestamp present)."""
    from pyspark.sql import functions as F

    return lines.where(F.col("customer_id").isNotNull() & F.col("ts").isNotNull())


def parse_basket_lines(
    raw: DataFrame,
    *,
    sep: str,
    cleaning: CleaningConfig,
    proven_clean: bool = False,
    proven_unspaced: bool = False,
) -> tuple[DataFrame, DataFrame, DataFrame]:
    """Basket format: ``(classified, baskets, quarantine)``.

    ``classified`` has one row per input line with ``_reason`` (null = accepted), for
    counting, and ``value`` (the line) on rejected lines only; ``baskets`` has ``segment,
    basket_id, items``; ``quarantine`` the ``QUARANTINE`` records of the rejected lines.
    ``proven_clean``: the driver has shown that no line holds a character the
    bad-encoding rule rejects (:func:`spark.load.prove_files`), so the rule is left out;
    ``proven_unspaced``: that no line holds a space next to the separator
    (:func:`spaced_separators`), so every line takes the bare split.
    """
    from pyspark.sql import functions as F

    from spark.char_check import has_bad_chars
    from spark.clean import _BAD_CHARS

    # sort_array, not array_sort: array_sort's default comparator is a lambda, evaluated
    # interpreted for every comparison (the same order for the non-null strings here)
    items = F.sort_array(
        F.array_distinct(split_items(F.col("value"), sep, cleaning, unspaced=proven_unspaced))
    )
    with_items = raw.select("value", "_source", "_row_id", items.alias("items"))
    if _plain_split(sep, cleaning) and not has_bad_chars(sep):
        # on the plain split every character of the line but the separators and spaces
        # ends up in an item, so the line holds a bad character exactly when an item
        # does: one regex per line instead of an interpreted lambda per item
        bad_enc = F.col("value").rlike(_BAD_CHARS)
    else:
        bad_enc = F.exists("items", lambda x: x.rlike(_BAD_CHARS))
    reason = F.when(F.size("items") == 0, F.lit(Reason.EMPTY_BASKET.value))
    if cleaning.reject_bad_encoding and not proven_clean:
        reason = reason.when(bad_enc, F.lit(Reason.BAD_ENCODING.value))
    # the line's text is kept for the rejected lines only (the quarantine's ``raw``):
    # compressing 1M accepted lines' text into the cache cost ~0.8 s of a 6-7 s load
    classified = with_items.withColumn("_reason", reason).withColumn(
        "value", F.when(F.col("_reason").isNotNull(), F.col("value"))
    )
    baskets = classified.where(F.col("_reason").isNull()).select(
        F.lit(ALL).alias("segment"),
        F.col("_row_id").cast("string").alias("basket_id"),
        "items",
    )
    quarantine = classified.where(F.col("_reason").isNotNull()).select(
        F.col("_reason").alias("reason"),
        F.lit(None).cast("string").alias("field"),
        F.when(F.col("_reason") == Reason.EMPTY_BASKET.value, F.lit("line has no items"))
        .otherwise(F.lit("undecodable or control characters in an item"))
        .alias("detail"),
        F.col("_source").alias("source"),
        F.lit(None).cast("bigint").alias("source_offset"),
        F.to_json(F.struct(F.col("value").alias("line"))).alias("raw"),
    )
    assert quarantine.columns == QUARANTINE.names
    return classified, baskets, quarantine


def spaced_separators(sep: str) -> tuple[str, str]:
    """A space before or after the separator: the lines that need the regex split."""
    return f" {sep}", f"{sep} "


def split_items(
    line: Column, sep: str, cleaning: CleaningConfig, *, unspaced: bool = False
) -> Column:
    """A basket line's items, normalised as :func:`spark.clean.normalise_item` does, empty
    ones dropped.

    Spark evaluates lambdas (``transform``/``filter``) interpreted, ~8x slower than the
    line split itself; when the separator allows it, the same result comes without them:
    spaces around separators go with the split (``" *SEP *"``) and at the line's ends with
    one ``trim`` (Spark's ``trim`` removes spaces only), lower-casing applies to the whole
    line, and empty items go with ``array_remove``. Collapsing whitespace, or a separator
    with spaces or upper-case letters, takes the per-item path. ``unspaced``: no line
    holds :func:`spaced_separators` as read, so every line takes the bare split; with
    ``casefold`` only for a separator of ASCII characters that are not letters (lower-
    casing can turn a line's ``"X "`` into ``"x "``, and only ever yields letters and
    marks)."""
    from pyspark.sql import functions as F

    plain = _regex_literal(sep)
    if not _plain_split(sep, cleaning):
        parts = F.transform(F.split(line, plain), lambda x: normalise_item(x, cleaning))
        return F.filter(parts, lambda x: F.length(x) > 0)
    if cleaning.casefold:
        line = F.lower(line)
    if not cleaning.trim:
        return F.array_remove(F.split(line, plain), "")
    # A line with no space next to a separator splits the same on the bare separator,
    # which Java splits without a regex engine for a one-character separator: about half
    # the cost of the whole parse on 1M lines. Only the other lines pay for the regex.
    line = F.trim(line)
    if unspaced and unspaced_split_applies(sep, cleaning):
        return F.array_remove(F.split(line, plain), "")
    before, after = spaced_separators(sep)
    spaced = line.contains(before) | line.contains(after)
    parts = F.when(spaced, F.split(line, f" *{plain} *")).otherwise(F.split(line, plain))
    return F.array_remove(parts, "")


def unspaced_split_applies(sep: str, cleaning: CleaningConfig) -> bool:
    """Whether :func:`split_items` takes the bare split for lines proven to hold no
    :func:`spaced_separators`: on the plain split with trimming, and with ``casefold``
    only for a separator of ASCII characters that are not letters."""
    return (
        _plain_split(sep, cleaning)
        and cleaning.trim
        and (not cleaning.casefold or (sep.isascii() and not any(map(str.isalpha, sep))))
    )


def _plain_split(sep: str, cleaning: CleaningConfig) -> bool:
    """Whether :func:`split_items` can split a line without per-item lambdas."""
    return (
        not cleaning.collapse_whitespace
        and " " not in sep
        and (not cleaning.casefold or sep.lower() == sep)
    )


def _regex_literal(sep: str) -> str:
    import re

    return re.escape(sep)


def check_window(start: date | None, end: date | None, has_timestamp: bool) -> None:
    if (start or end) and not has_timestamp:
        raise InputError("--start-date/--end-date need a timestamp column (--timestamp-col)")
