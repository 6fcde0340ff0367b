"""Turn one micro-batch of a source into *staged* rows: the source's data fields as strings
plus the columns below, the common input of :mod:`ingest.sink`.

- ``_source`` / ``_offset``: file path and row number in the file, or ``topic/partition``
  and Kafka offset: where the record is (quarantine's ``source`` / ``source_offset``);
- ``_source_ts``: file modification time or Kafka record timestamp;
- ``_line_no`` / ``_line_key``: the line's identity; the key is what makes writes
  idempotent: ``event|<transaction_id>|<line_no>`` for events (a producer retry has the
  same key; none for an event that broke the contract or has a blank transaction id) and
  ``file|<path>|<row>`` for CSV rows;
- ``_corrupt``: the raw record when it could not be parsed (CSV) or broke the event
  contract (Kafka), with ``_bad_field`` / ``_bad_detail`` naming why (events only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ingest import events
from spark.load import CORRUPT_COL, SOURCE_COL

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import Column, DataFrame

SOURCE = SOURCE_COL
OFFSET = "_offset"
SOURCE_TS = "_source_ts"
LINE_NO = "_line_no"
LINE_KEY = "_line_key"
CORRUPT = CORRUPT_COL
BAD_FIELD = "_bad_field"
BAD_DETAIL = "_bad_detail"
META: tuple[str, ...] = (SOURCE, OFFSET, SOURCE_TS, LINE_NO, LINE_KEY)
_INT_KIND = r"^(BIGINT|INT|SMALLINT|TINYINT|DECIMAL\(\d+,0\))$"
_NUMBER_KIND = r"^(BIGINT|INT|SMALLINT|TINYINT|DECIMAL\(\d+,\d+\)|DOUBLE|FLOAT)$"


def stage_files(batch: DataFrame) -> DataFrame:
    """CSV rows (data columns, ``_corrupt``, ``_source``, ``_source_ts``): number the rows
    of each file in file order (stable when a micro-batch is replayed)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    w = Window.partitionBy(SOURCE).orderBy("_mid")
    return (
        batch.withColumn("_mid", F.monotonically_increasing_id())
        .withColumn(LINE_NO, F.row_number().over(w).cast("bigint"))
        .drop("_mid")
        .withColumn(OFFSET, F.col(LINE_NO))
        .withColumn(LINE_KEY, F.concat_ws("|", F.lit("file"), F.col(SOURCE), F.col(LINE_NO)))
        .withColumn(BAD_FIELD, F.lit(None).cast("string"))
        .withColumn(BAD_DETAIL, F.lit(None).cast("string"))
    )


def _kind_col(name: str) -> str:
    return f"_k_{name}"


def _check(v: Column, f: events.Field) -> tuple[Column, Column]:
    """(missing, wrong type) conditions of one field, from its JSON kind column
    (``STRING``, ``BIGINT``, ``VOID`` for JSON null, ... or NULL when absent)."""
    from pyspark.sql import functions as F

    kind = F.col(_kind_col(f.name))
    absent = kind.isNull() | (kind == "VOID")
    ok = F.lit(False)
    for k in f.kinds:
        if k == "string":
            ok = ok | (kind == "STRING")
        elif k == "integer":
            as_int = F.try_variant_get(v, f"$.{f.name}", "bigint")
            ok = ok | (kind.rlike(_INT_KIND) & as_int.isNotNull())
        else:
            ok = ok | kind.rlike(_NUMBER_KIND)
    missing = absent if f.required else F.lit(False)
    return missing, ~absent & ~ok


def _fast_schema() -> str:
    """The typed view the fast path parses with: integers as ``bigint``, everything else as
    text (a JSON number in ``quantity``/``price`` becomes its text, as in the slow path)."""
    kinds = {"integer": "bigint"}
    fields = ", ".join(f"{f.name} {kinds.get(f.kinds[0], 'string')}" for f in events.FIELDS)
    return f"{fields}, {FAST_CORRUPT} string"


FAST_CORRUPT = "_fast_corrupt"


def _looks_unquoted(value: Column) -> Column:
    """True when a string field's typed value could be the text of a JSON number, boolean,
    object or array (``from_json`` turns those into their text): only then do the byte
    searches have to show that the JSON value was a quoted string."""
    from pyspark.sql import functions as F

    code = F.ascii(value)
    return code.isin(45, 91, 123) | code.between(48, 57) | value.isin("true", "false")


def _structure(text: Column) -> Column:
    """``text`` with its escaped backslashes and quotes removed, so that every ``"`` left
    delimits a string: inside a JSON string a backslash always starts a two-character
    escape (``\\uXXXX`` holds neither character), so taking ``\\\\`` pairs out from the
    left and then ``\\"`` leaves the object's structure and drops only string content.
    A text without a backslash (most events) is returned as it is, unscanned."""
    from pyspark.sql import functions as F

    unescaped = F.replace(F.replace(text, F.lit("\\\\"), F.lit("")), F.lit('\\"'), F.lit(""))
    return F.when(text.contains("\\"), unescaped).otherwise(text)


def _fast_ok(text: Column, parsed: Column) -> Column:
    """True when ``parsed`` (typed ``from_json``) is certainly what the detailed contract
    checks would accept, judged from a few byte searches on ``text``, the record's
    :func:`_structure` (without its escaped quotes, so a quote always delimits a string
    and ``":`` always ends a key; a product name such as ``12" TRAY`` is common in real
    feeds; the caller computes it once per record): one JSON object with no ``}`` but the
    last byte (nothing after the object), exactly the known keys, each once (the number
    of ``":`` equals the number of known keys present: an unknown, repeated or nested key
    makes them differ), every string field's value a quoted string, a number-or-text field
    a quoted string or a number, the required fields with values and ``schema_version``
    supported. The byte
    searches of a field only run when its typed value leaves a doubt (CASE and OR
    short-circuit), so a typical event costs one scan for ``":`` and a few prefix tests.
    Anything else (rare: an odd or broken event) takes the slow path, which names the
    exact problem; ``tests/ingest/test_staging.py`` checks both paths agree."""
    from pyspark.sql import functions as F

    size = F.octet_length(text)
    before_close = F.substring_index(text, "}", 1)
    n_keys = (size - F.octet_length(F.replace(text, F.lit('":'), F.lit("")))) / 2
    ok = (
        parsed.isNotNull()
        & F.col(f"_j.{FAST_CORRUPT}").isNull()
        & F.col("_j.schema_version").isin(*events.SUPPORTED_VERSIONS)
        & F.startswith(text, F.lit("{"))
        & F.endswith(text, F.lit("}"))
        & (F.octet_length(before_close) == size - 1)
    )
    found: Column = F.lit(0)
    # contains(), not instr() > 0: instr compares the pattern at every character position,
    # contains only where its first byte matches (a quarter of staging's CPU went to instr)
    for f in events.FIELDS:
        value = F.col(f"_j.{f.name}")
        present = F.when(value.isNotNull() | text.contains(f'"{f.name}":'), 1)
        found = found + F.coalesce(present, F.lit(0))
        quoted = text.contains(f'"{f.name}":"')
        if f.kinds == ("string",):
            good = ~_looks_unquoted(value) | quoted
        elif "string" in f.kinds:  # a number or a string: the text of a number
            code = F.ascii(value)
            good = (code == 45) | code.between(48, 57) | quoted
        else:  # integers: from_json's bigint already refused anything else
            good = F.lit(True)
        ok = ok & (value.isNotNull() & good if f.required else value.isNull() | good)
    return ok & (n_keys == found)


def _one_value(text: Column) -> Column:
    """True when ``text`` is one JSON value and nothing after it but blanks.

    Spark's JSON parsers (``parse_json``, ``from_json``) read the first value and ignore
    the rest, so ``{...}{...}`` (two events run together: the second would be lost) or
    ``{...}x`` parse as the first object. Wrapped as ``[text]`` the array has one element
    only if what follows the value is nothing or starts with ``]`` (then ignored); wrapped
    as ``[text,0]`` it has two only if what follows is nothing or starts with ``,``; both
    hold only when nothing follows. The fast path needs no such test (its one ``}`` is the
    last byte)."""
    from pyspark.sql import functions as F

    alone = F.json_array_length(F.concat(F.lit("["), text, F.lit("]")))
    paired = F.json_array_length(F.concat(F.lit("["), text, F.lit(",0]")))
    return F.coalesce((alone == 1) & (paired == 2), F.lit(False))


def stage_events(
    batch: DataFrame, max_bytes: int = events.MAX_EVENT_BYTES, *, fast: bool = True
) -> DataFrame:
    """Kafka records (``key value topic partition offset timestamp``) -> staged event rows.

    Fast path: a typed ``from_json`` plus byte tests (:func:`_fast_ok`) accept a
    well-formed event; only the others are parsed as VARIANT and checked field by field,
    so every contract violation becomes ``_bad_detail``. Never fails on content.
    ``fast=False`` sends every record through the slow path (tests compare the two)."""
    from pyspark.sql import functions as F

    size = F.octet_length("value")
    text = F.col("value").cast("string")
    utf8 = F.is_valid_utf8(text)
    fits = (size <= max_bytes) & utf8
    options = {"columnNameOfCorruptRecord": FAST_CORRUPT, "allowNonNumericNumbers": "false"}
    pre = batch.select(
        "*",
        text.alias("_text"),
        size.alias("_size"),
        utf8.alias("_utf8"),
        F.when(fits, F.from_json(text, _fast_schema(), options)).alias("_j"),
    )
    # the structure is a column of its own: the byte tests read it a dozen times
    pre = pre.select(
        "*", F.when(F.col("_j").isNotNull(), _structure(F.col("_text"))).alias("_shape")
    )
    is_fast = F.coalesce(_fast_ok(F.col("_shape"), F.col("_j")), F.lit(False))
    pre = pre.select("*", (is_fast if fast else F.lit(False)).alias("_fast"))
    slow = F.col("_fast") == F.lit(False)
    parsed = pre.select(
        "*",
        F.when(slow & fits, F.try_parse_json(F.col("_text"))).alias("_v"),
    )
    v = F.col("_v")
    # schema_of_variant is not free even on NULL: only a parsed slow-path record pays it
    has_v = v.isNotNull()
    parsed = parsed.select(
        "*",
        F.coalesce(F.when(has_v, F.schema_of_variant(v)), F.lit("")).alias("_k_"),
        *[
            F.when(
                has_v, F.schema_of_variant(F.try_variant_get(v, f"$.{f.name}", "variant"))
            ).alias(_kind_col(f.name))
            for f in events.FIELDS
        ],
    )
    version = F.try_variant_get(v, "$.schema_version", "bigint")
    v_missing, v_wrong = _check(v, events.field("schema_version"))
    supported = ", ".join(str(x) for x in events.SUPPORTED_VERSIONS)
    checks: list[tuple[Column, str | None, Column]] = [
        (F.col("value").isNull(), None, F.lit("message has no value")),
        (
            F.col("_size") > max_bytes,
            None,
            F.format_string("event is %d bytes, over the %d-byte limit", "_size", F.lit(max_bytes)),
        ),
        (~F.col("_utf8"), None, F.lit("message is not valid UTF-8 (raw holds it base64-encoded)")),
        (v.isNull(), None, F.lit("message is not valid JSON")),
        (
            ~_one_value(F.col("_text")),
            None,
            F.lit("message is not valid JSON: content after the first JSON value"),
        ),
        (~F.col("_k_").startswith("OBJECT"), None, F.lit("message is not a JSON object")),
        (v_missing, "schema_version", F.lit("missing required field schema_version")),
        (
            v_wrong | ~version.isin(*events.SUPPORTED_VERSIONS),
            "schema_version",
            F.format_string(
                "unknown schema_version %s (supported: %s)",
                F.to_json(F.try_variant_get(v, "$.schema_version", "variant")),
                F.lit(supported),
            ),
        ),
    ]
    field_checks = [(f, *_check(v, f)) for f in events.FIELDS[1:]]
    for f, missing, _ in field_checks:
        if f.required:
            checks.append((missing, f.name, F.lit(f"missing required field {f.name}")))
    for f, _, wrong in field_checks:
        expected = " or ".join(f.kinds)
        text_ = F.format_string(
            "%s has JSON type %s, expected %s",
            F.lit(f.name),
            F.col(_kind_col(f.name)),
            F.lit(expected),
        )
        checks.append((wrong, f.name, text_))
    first = F.coalesce(
        *[
            F.when(cond, F.struct(F.lit(name).cast("string").alias("f"), text_.alias("d")))
            for cond, name, text_ in checks
        ]
    )
    checked = parsed.select("*", F.when(slow, first).alias("_bad")).select(
        "*", F.col("_bad.d").alias(BAD_DETAIL), F.col("_bad.f").alias(BAD_FIELD)
    )
    good = F.col(BAD_DETAIL).isNull()

    def get(name: str, typ: str = "string") -> Column:
        return F.when(F.col("_fast"), F.col(f"_j.{name}").cast(typ)).when(
            good, F.try_variant_get(v, f"$.{name}", typ)
        )

    staged = checked.select(
        *[get(name).alias(name) for name in events.DATA_FIELDS],
        F.concat(F.col("topic"), F.lit("/"), F.col("partition").cast("string")).alias(SOURCE),
        F.col("offset").cast("bigint").alias(OFFSET),
        F.col("timestamp").alias(SOURCE_TS),
        get("line_no", "bigint").alias(LINE_NO),
        F.when(~good, F.when(F.col("_utf8"), F.col("_text")).otherwise(F.base64("value"))).alias(
            CORRUPT
        ),
        F.col(BAD_FIELD),
        F.col(BAD_DETAIL),
    )
    tx = F.trim("transaction_id")
    key = F.concat_ws("|", F.lit("event"), tx, F.col(LINE_NO))
    # a blank transaction id identifies no line: such events (quarantined by the cleaning
    # rules) have no key, so the sink never takes two of them for one producer retry
    identified = F.col(BAD_DETAIL).isNull() & (F.length(tx) > 0)
    return staged.withColumn(LINE_KEY, F.when(identified, key))
