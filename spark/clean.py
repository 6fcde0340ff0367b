"""Cleaning rules, as pure DataFrame functions shared by the batch miner and the
streaming ingest.

:func:`classify` adds the canonical typed fields (``basket_core.schemas.LINES``) and a
``_reason`` / ``_field`` / ``_detail`` triple naming the first rule a row fails
(``basket_core.reasons.ORDER``). :func:`split` turns that into accepted lines and
quarantine records. Nothing is dropped: ``accepted + rejected = input``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from basket_core.config import CleaningConfig, ColumnsConfig
from basket_core.reasons import Reason
from basket_core.schemas import LINES, QUARANTINE

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import Column, DataFrame

RAW = "_raw_"
REASON = "_reason"
FIELD = "_field"
DETAIL = "_detail"
_BAD_CHARS = "[\\p{Cc}\\uFFFD&&[^\\t\\n\\r]]"
"""U+FFFD (bytes the reader could not decode) and the C0/C1 control characters (Unicode's
``Cc``: U+0000-U+001F, U+007F-U+009F) but tab, line feed and carriage return (a quoted CSV
field may hold those). Written with Java's ``\\p{Cc}`` and a class intersection, which
Java's regex engine tests faster than the same set as ranges: 2.3 s against 3.8 s over
1M lines of 180 characters."""
NUMBER = "^[ \\t\\r\\n]*+[+-]?+(?:[0-9]++(?:[.][0-9]*+)?+|[.][0-9]++)(?:[eE][+-]?+[0-9]++)?+[ \\t\\r\\n]*+\\z"
"""Plain decimal text: optional sign, digits with an optional fraction, an optional
exponent, surrounding blanks. Spark's cast to double also takes ``Infinity``, ``NaN``,
Java's ``d``/``f`` suffixes, hex floats and control characters around the digits (it
trims them away); none of those is a count or a price a till writes. Possessive
quantifiers and ``\\z`` (not ``$``, which also matches before a final line terminator)
keep the match linear in the length and exact at the end."""
SHOWN_CHARS = 80
"""How much of an offending value a quarantine detail shows."""
RAW_FIELD_CHARS = 4096
"""How much of each input field a quarantine ``raw`` record keeps: a runaway value (a
1 MB line) must not make a 1 MB quarantine row."""
DEDUP_KEY = ("transaction_id", "item", "quantity", "price", "ts", "customer_id", "store_id")


@dataclass(frozen=True)
class Cleaned:
    accepted: DataFrame
    """``LINES`` columns, then the input's other columns (strings, original names)."""
    rejected: DataFrame
    """``QUARANTINE`` columns."""


def normalise_item(col: Column, cleaning: CleaningConfig) -> Column:
    from pyspark.sql import functions as F

    out = col
    if cleaning.trim:
        out = F.trim(out)
    if cleaning.collapse_whitespace:
        out = F.regexp_replace(out, r"\s+", " ")
    if cleaning.casefold:
        out = F.lower(out)
    return out


def parse_timestamp(col: Column, formats: Sequence[str]) -> Column:
    """First format that parses wins; null when none does (never raises under ANSI)."""
    from pyspark.sql import functions as F

    trimmed = F.trim(col)
    return F.coalesce(*[F.try_to_timestamp(trimmed, F.lit(f)) for f in formats])


def shown(value: Column, limit: int = SHOWN_CHARS) -> Column:
    """``value`` as a detail shows it: JSON-escaped (a NUL reads ``\\u0000``, never a raw
    control byte in a report or a terminal) and cut to ``limit`` characters with a marker
    giving the full length. Only rejected rows build a detail, so the escaping costs
    nothing on the accepted path."""
    from pyspark.sql import functions as F

    escaped = F.to_json(F.array(F.substring(value, 1, limit)))  # ["..."]
    inner = F.substr(escaped, F.lit(3), F.length(escaped) - 4)
    size = F.length(value)
    return F.when(
        size > limit, F.concat(inner, F.format_string("... (%d characters)", size))
    ).otherwise(inner)


def _value_problem(name: str, raw: Column, problem: str) -> Column:
    """``Quantity='abc' is not a number``, or ``Quantity is missing``."""
    from pyspark.sql import functions as F

    return F.when(_blank(raw), F.lit(f"{name} is missing")).otherwise(
        F.format_string(f"%s='%s' {problem}", F.lit(name), shown(raw))
    )


def strict_number(raw: Column) -> Column:
    """``raw`` as a double when it is plain decimal text (:data:`NUMBER`), else null.

    The value may still be infinite (``1e309`` is plain text): the rules test finiteness
    on the typed column, which is computed once."""
    from pyspark.sql import functions as F

    return F.when(raw.rlike(NUMBER), F.trim(raw).try_cast("double"))


def _not_finite(typed: Column) -> Column:
    """Null (not a plain number) or infinite; NaN cannot pass :data:`NUMBER`."""
    from pyspark.sql import functions as F

    return typed.isNull() | (F.abs(typed) == F.lit(float("inf")))


def _first_of(named: Sequence[tuple[str, Column]], test: Callable[[Column], Column]) -> Column:
    """The name of the first ``(name, value)`` whose value passes ``test`` (null if none):
    used only inside a failed rule's field and detail, so the per-field tests run on
    rejected rows alone."""
    from pyspark.sql import functions as F

    out: Column = F.lit(None).cast("string")
    for name, value in reversed(named):
        out = F.when(test(value), F.lit(name)).otherwise(out)
    return out


def _pick(named: Sequence[tuple[str, Column]], which: Column) -> Column:
    """The value of the ``(name, value)`` whose name equals ``which``."""
    from pyspark.sql import functions as F

    out: Column = F.lit(None)
    for name, value in reversed(named):
        out = F.when(which == F.lit(name), value).otherwise(out)
    return out


def _too_long_rule(
    limited: Sequence[tuple[str, Column, int]],
) -> tuple[Column, Column, Column] | None:
    """(condition, field, detail) of the length limits over ``(name, value, limit)``.

    A length is one pass over the value's bytes, far cheaper than any later regex, and
    this rule comes before them, so a runaway value is never scanned by one."""
    from pyspark.sql import functions as F

    if not limited:
        return None
    over = [
        (name, F.coalesce(F.length(value) > limit, F.lit(False))) for name, value, limit in limited
    ]
    field = _first_of(over, lambda flag: flag)
    length = _pick([(name, F.length(value)) for name, value, _ in limited], field)
    limit_of = _pick([(name, F.lit(limit)) for name, _, limit in limited], field)
    condition = over[0][1]
    for _, flag in over[1:]:
        condition = condition | flag
    detail = F.format_string("%s is %d characters, over the limit of %d", field, length, limit_of)
    return condition, field, detail


def _encoding_rule(
    texts: Sequence[tuple[str, Column]], timestamp: tuple[str, Column, Column] | None = None
) -> tuple[Column, Column, Column] | None:
    """(condition, field, detail) of the character rule over ``(name, value)`` text fields
    and the ``(name, text, parsed)`` timestamp.

    One regex over the fields joined by a line feed (an allowed character) decides the
    common case with one scan; which field it was is found only for rejected rows. The
    timestamp text is scanned only when it did not parse: a parsed one holds nothing but
    the characters of its format (the parser consumes the whole text), and skipping it
    saves a third of the rule's cost."""
    from pyspark.sql import functions as F

    named = [*texts, *([timestamp[:2]] if timestamp is not None else [])]
    if not named:
        return None
    condition = F.lit(False)
    if texts:
        joined = texts[0][1] if len(texts) == 1 else F.concat_ws("\n", *[v for _, v in texts])
        condition = F.coalesce(joined.rlike(_BAD_CHARS), F.lit(False))
    if timestamp is not None:
        _, text, parsed = timestamp
        condition = condition | (parsed.isNull() & F.coalesce(text.rlike(_BAD_CHARS), F.lit(False)))
    field = _first_of(named, lambda value: value.rlike(_BAD_CHARS))
    detail = F.format_string(
        "undecodable or control characters in %s='%s'", field, shown(_pick(named, field))
    )
    return condition, field, detail


def _blank(col: Column) -> Column:
    from pyspark.sql import functions as F

    return col.isNull() | (F.length(F.trim(col)) == 0)


def classify(
    raw: DataFrame,
    *,
    data_columns: Sequence[str],
    columns: ColumnsConfig,
    cleaning: CleaningConfig,
    timestamp_formats: Sequence[str],
    corrupt_col: str | None = "_corrupt",
    explained: bool = True,
) -> DataFrame:
    """Add typed ``LINES`` fields and the rejection reason (null = accepted).

    ``raw`` holds the input's columns as strings; ``data_columns`` names them. Mapped
    columns are named by ``columns`` (header names, or positions for header-less input).
    Deduplication is not done here (see :func:`mark_duplicates`).

    ``explained=False`` leaves out ``_field`` / ``_detail`` and keeps the failed rule's
    number (``_rule``) instead; :func:`with_explanation` adds them later from it. A caller that
    caches the classified rows (the ingest sink) explains after the cache, so the detail
    texts are built for the rejected rows it writes only: compiled into the one code
    stage that reads, parses and classifies every row, the detail branches a few dirty
    rows take made that stage twice as slow for all rows (docs/ingest-performance.md).
    """
    from pyspark.sql import functions as F

    def src(name: str | None) -> Column:
        return F.col(f"`{RAW}{name}`") if name is not None else F.lit(None).cast("string")

    # Input columns get a prefix so they never clash with the canonical names
    # (Spark resolves names case-insensitively: "Quantity" vs "quantity").
    data = set(data_columns)
    raw = raw.select(
        *[F.col(f"`{c}`").alias(f"{RAW}{c}") if c in data else F.col(f"`{c}`") for c in raw.columns]
    )

    tx_raw, item_raw = src(columns.transaction), src(columns.item)
    qty_raw, price_raw, ts_raw = src(columns.quantity), src(columns.price), src(columns.timestamp)
    tx = F.trim(tx_raw)
    item = normalise_item(item_raw, cleaning)
    qty = strict_number(qty_raw) if columns.quantity else None
    price = strict_number(price_raw) if columns.price else None
    ts = parse_timestamp(ts_raw, timestamp_formats) if columns.timestamp else None

    def opt_id(name: str | None) -> Column:
        if name is None:
            return F.lit(None).cast("string")
        v = F.trim(src(name))
        return F.when(F.length(v) > 0, v)

    df = raw.select(
        *[F.col(f"`{c}`") for c in raw.columns],
        tx.alias("transaction_id"),
        item.alias("item"),
        (qty if qty is not None else F.lit(None).cast("double")).alias("quantity"),
        (price if price is not None else F.lit(None).cast("double")).alias("price"),
        (ts if ts is not None else F.lit(None).cast("timestamp")).alias("ts"),
        opt_id(columns.customer).alias("customer_id"),
        opt_id(columns.store).alias("store_id"),
    ).withColumn("event_date", F.to_date("ts"))
    rules = cleaning_rules(
        data_columns=data_columns,
        columns=columns,
        cleaning=cleaning,
        corrupt_col=corrupt_col if corrupt_col in raw.columns else None,
    )
    ranked = _first_failed_rule(df, rules)
    return with_explanation(ranked, *_explanation(rules)) if explained else ranked


def explanation(
    *,
    data_columns: Sequence[str],
    columns: ColumnsConfig,
    cleaning: CleaningConfig,
    corrupt_col: str | None,
) -> tuple[Column, Column]:
    """The ``_field`` and ``_detail`` expressions of an ``explained=False`` frame's
    ``_rule``, for :func:`with_explanation` (arguments as :func:`cleaning_rules`'). A caller explaining many frames of one shape (the ingest
    sink, every micro-batch) builds them once: building the rules' columns is hundreds of
    calls into the JVM (~0.2-0.4 s)."""
    return _explanation(
        cleaning_rules(
            data_columns=data_columns, columns=columns, cleaning=cleaning, corrupt_col=corrupt_col
        )
    )


Rule = tuple["Column", Reason, "Column", "Column"]
"""(condition, reason, field, detail) of one cleaning rule."""


def cleaning_rules(
    *,
    data_columns: Sequence[str],
    columns: ColumnsConfig,
    cleaning: CleaningConfig,
    corrupt_col: str | None,
) -> list[Rule]:
    """The rules in ``basket_core.reasons.ORDER`` over a classified frame's columns (the
    typed fields by their ``LINES`` names, so each costly parse is computed once: Spark
    does not collapse a projection whose costly expressions are read twice; the input's
    as ``_raw_<name>``; ``corrupt_col``: the malformed-row column, None without one): a
    pure function of the settings, so :func:`classify` and :func:`explanation` build the same."""
    from pyspark.sql import functions as F

    def src(name: str | None) -> Column:
        return F.col(f"`{RAW}{name}`") if name is not None else F.lit(None).cast("string")

    tx_raw, ts_raw = src(columns.transaction), src(columns.timestamp)
    qty_raw, price_raw = src(columns.quantity), src(columns.price)
    tx, item = F.col("transaction_id"), F.col("item")
    qty = F.col("quantity") if columns.quantity else None
    price = F.col("price") if columns.price else None
    ts = F.col("ts") if columns.timestamp else None

    # (condition, reason, field, detail) in basket_core.reasons.ORDER
    rules: list[Rule] = []

    def lit(value: str | None) -> Column:
        return F.lit(value).cast("string")

    if corrupt_col is not None:
        rules.append(
            (
                F.col(corrupt_col).isNotNull(),
                Reason.MALFORMED_ROW,
                lit(None),
                F.lit(f"line does not have the {len(data_columns)} expected fields"),
            )
        )
    rules += [
        (_blank(tx_raw), Reason.BLANK_TRANSACTION_ID, lit(columns.transaction), F.lit("empty")),
        (_blank(item), Reason.BLANK_ITEM, lit(columns.item), F.lit("empty")),
    ]
    limited = [
        (columns.transaction, tx, cleaning.max_id_length),
        (columns.item, item, cleaning.max_item_length),
    ]
    for name, typed_id in ((columns.customer, "customer_id"), (columns.store, "store_id")):
        if name is not None:
            limited.append((name, F.col(typed_id), cleaning.max_id_length))
    too_long = _too_long_rule(limited)
    if too_long is not None:
        rules.append((too_long[0], Reason.VALUE_TOO_LONG, too_long[1], too_long[2]))
    texts = [
        (name, src(name))
        for name in (columns.transaction, columns.item, columns.customer, columns.store)
        if name is not None
    ]
    stamp = (columns.timestamp, ts_raw, ts) if columns.timestamp and ts is not None else None
    encoding = _encoding_rule(texts, stamp) if cleaning.reject_bad_encoding else None
    if encoding is not None:
        rules.append((encoding[0], Reason.BAD_ENCODING, encoding[1], encoding[2]))
    if cleaning.cancellation_prefix:
        rules.append(
            (
                tx.startswith(cleaning.cancellation_prefix),
                Reason.CANCELLATION,
                lit(columns.transaction),
                F.format_string(
                    "%s=%s starts with %s",
                    F.lit(columns.transaction),
                    shown(tx),
                    F.lit(repr(cleaning.cancellation_prefix)),
                ),
            )
        )
    for name, raw_col, typed, reject_np, bad, non_pos in (
        (columns.quantity, qty_raw, qty, cleaning.reject_non_positive_quantity,
         Reason.BAD_QUANTITY, Reason.NON_POSITIVE_QUANTITY),
        (columns.price, price_raw, price, cleaning.reject_non_positive_price,
         Reason.BAD_PRICE, Reason.NON_POSITIVE_PRICE),
    ):  # fmt: skip
        if name is None or typed is None:
            continue
        rules.append(
            (
                _not_finite(typed),
                bad,
                lit(name),
                _value_problem(name, raw_col, "is not a finite decimal number"),
            )
        )
        if reject_np:
            rules.append(
                (
                    typed <= 0,
                    non_pos,
                    lit(name),
                    F.format_string("%s=%s is not positive", F.lit(name), shown(F.trim(raw_col))),
                )
            )
    if ts is not None:
        rules.append(
            (
                ts.isNull(),
                Reason.BAD_TIMESTAMP,
                lit(columns.timestamp or ""),
                _value_problem(
                    columns.timestamp or "", ts_raw, "matches none of the timestamp formats"
                ),
            )
        )
    return rules


RULE = "_rule"


def _first_failed_rule(df: DataFrame, rules: Sequence[Rule]) -> DataFrame:
    """``df`` with ``_rule``, the number of the first rule whose condition holds, and its
    ``_reason`` (nulls when none does): the conditions are tested once, in order."""
    from pyspark.sql import functions as F

    rule: Column = F.lit(None).cast("int")
    for i, (cond, *_rest) in reversed(list(enumerate(rules))):
        rule = F.when(cond, F.lit(i)).otherwise(rule)
    reason: Column = F.lit(None).cast("string")
    for i, (_cond, why, _field, _text) in reversed(list(enumerate(rules))):
        reason = F.when(F.col(RULE) == i, F.lit(why.value)).otherwise(reason)
    return df.select("*", rule.alias(RULE)).select("*", reason.alias(REASON))


def _explanation(rules: Sequence[Rule]) -> tuple[Column, Column]:
    """``_field`` and ``_detail`` of the rule each row failed (by its ``_rule`` number), so
    a row's detail text is only built for that rule."""
    from pyspark.sql import functions as F

    field: Column = F.lit(None).cast("string")
    detail: Column = F.lit(None).cast("string")
    for i, (_cond, _why, fld, text) in reversed(list(enumerate(rules))):
        hit = F.col(RULE) == i
        field, detail = F.when(hit, fld).otherwise(field), F.when(hit, text).otherwise(detail)
    return field, detail


def with_explanation(ranked: DataFrame, field: Column, detail: Column) -> DataFrame:
    """``ranked`` with ``_field`` and ``_detail`` (:func:`explanation`'s) instead of
    ``_rule``."""
    return ranked.select("*", field.alias(FIELD), detail.alias(DETAIL)).drop(RULE)


def mark_duplicates(classified: DataFrame, key: Sequence[str] = DEDUP_KEY) -> DataFrame:
    """Mark every accepted row that repeats an earlier identical line as ``duplicate``.

    Which copy is kept is decided by ``(_source, input order)``, so a re-run keeps the same.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    ordered = classified.withColumn("_order", F.monotonically_increasing_id())
    w = Window.partitionBy(F.col(REASON).isNull(), *[F.col(k) for k in key]).orderBy("_order")
    rank = F.when(F.col(REASON).isNull(), F.row_number().over(w))
    marked = ordered.withColumn("_dup", F.col(REASON).isNull() & (rank > 1))
    is_dup = F.col("_dup")
    return marked.select(
        *[
            F.col(f"`{c}`")  # quoted: a header name may hold a dot ("a.b")
            for c in marked.columns
            if c not in (REASON, FIELD, DETAIL, "_order", "_dup")
        ],
        F.when(is_dup, F.lit(Reason.DUPLICATE.value)).otherwise(F.col(REASON)).alias(REASON),
        F.when(is_dup, F.lit(None).cast("string")).otherwise(F.col(FIELD)).alias(FIELD),
        F.when(
            is_dup,
            F.format_string(
                "identical to an earlier line of transaction %s", F.col("transaction_id")
            ),
        )
        .otherwise(F.col(DETAIL))
        .alias(DETAIL),
    )


def extra_columns(data_columns: Sequence[str]) -> list[str]:
    """The input's columns that are not ``LINES`` columns (e.g. a CSV's ``Country``): kept
    beside the accepted lines, by their input names."""
    canonical = {n.lower() for n in LINES.names}
    return [c for c in data_columns if c.lower() not in canonical]


def bounded(text: Column, limit: int = RAW_FIELD_CHARS) -> Column:
    """``text`` cut to ``limit`` characters, with a marker giving the full length, for the
    quarantine's ``raw`` record: one runaway field (a 1 MB item, a line whose quote never
    closed) must not make a quarantine row as large. Each field is cut on its own, so the
    record stays the same JSON object with the same keys."""
    from pyspark.sql import functions as F

    size = F.length(text)
    marker = F.format_string("...[truncated: %d characters in all]", size)
    return F.when(size > limit, F.concat(F.substring(text, 1, limit), marker)).otherwise(text)


def split(
    classified: DataFrame,
    *,
    data_columns: Sequence[str],
    source_col: str = "_source",
    offset_col: str | None = None,
    corrupt_col: str | None = "_corrupt",
) -> Cleaned:
    """Accepted ``LINES`` (+ the input's unmapped columns) and ``QUARANTINE`` records."""
    from pyspark.sql import functions as F

    extras = extra_columns(data_columns)
    accepted = classified.where(F.col(REASON).isNull()).select(
        *LINES.names, *[F.col(f"`{RAW}{c}`").alias(c) for c in extras]
    )
    texts = {f.name for f in classified.schema.fields if f.dataType.typeName() == "string"}

    def kept(name: str) -> Column:
        column = F.col(f"`{name}`")
        return bounded(column) if name in texts else column

    record = F.to_json(F.struct(*[kept(f"{RAW}{c}").alias(c) for c in data_columns]))
    if corrupt_col is not None and corrupt_col in classified.columns:
        raw = F.when(
            F.col(corrupt_col).isNotNull(),
            F.to_json(F.struct(kept(corrupt_col).alias("line"))),
        ).otherwise(record)
    else:
        raw = record
    rejected = classified.where(F.col(REASON).isNotNull()).select(
        F.col(REASON).alias("reason"),
        F.col(FIELD).alias("field"),
        F.col(DETAIL).alias("detail"),
        F.col(source_col).cast("string").alias("source"),
        (F.col(offset_col) if offset_col else F.lit(None)).cast("bigint").alias("source_offset"),
        raw.alias("raw"),
    )
    assert rejected.columns == QUARANTINE.names
    return Cleaned(accepted=accepted, rejected=rejected)


def clean_lines(
    raw: DataFrame,
    *,
    data_columns: Sequence[str],
    columns: ColumnsConfig,
    cleaning: CleaningConfig,
    timestamp_formats: Sequence[str],
    source_col: str = "_source",
    offset_col: str | None = None,
    corrupt_col: str | None = "_corrupt",
) -> tuple[DataFrame, Cleaned]:
    """:func:`classify`, :func:`mark_duplicates` (if enabled) and :func:`split` in one call.

    Returns the classified frame too (cache it to count reasons without re-reading)."""
    classified = classify(
        raw,
        data_columns=data_columns,
        columns=columns,
        cleaning=cleaning,
        timestamp_formats=timestamp_formats,
        corrupt_col=corrupt_col,
    )
    if cleaning.deduplicate:
        classified = mark_duplicates(classified)
    return classified, split(
        classified,
        data_columns=data_columns,
        source_col=source_col,
        offset_col=offset_col,
        corrupt_col=corrupt_col,
    )
