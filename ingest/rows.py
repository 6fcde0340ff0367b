"""Row shaping for the Delta tables: a classified micro-batch's accepted rows as ``lines``
rows (:func:`to_lines`, with the source's unmapped columns in ``attributes``) and its
rejected rows as ``quarantine`` rows (:func:`to_quarantine`), both with ``ingested_at``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from basket_core.schemas import LINES
from ingest import staging
from ingest.dedup import HASH
from ingest.drops import ATTRIBUTE_MAP
from ingest.tables import LINES_TABLE
from spark.clean import RAW, REASON, extra_columns, split

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import Column, DataFrame

    from ingest.sink import CleaningSpec

INGESTED_AT = "ingested_at"


def attribute_columns(spec: CleaningSpec) -> list[str]:
    """The source's columns the ``lines`` table keeps in ``attributes``: those no cleaning
    rule maps and no table column is named after (a CSV's ``Country``, ``StockCode``)."""
    c = spec.columns
    mapped = {c.transaction, c.item, c.quantity, c.price, c.timestamp, c.customer, c.store}
    taken = {n.lower() for n in LINES_TABLE.names}
    return [
        n for n in extra_columns(spec.data_columns) if n not in mapped and n.lower() not in taken
    ]


def attributes(names: Sequence[str]) -> Column:
    """``attributes`` of a ``lines`` row: ``{name: raw text}`` of ``names`` (the raw input
    values, as the batch miner keeps its extra columns); an empty map without any. A CSV
    drop's columns arrive already as a map (:data:`ingest.drops.ATTRIBUTE_MAP`)."""
    from pyspark.sql import functions as F

    pairs = [x for n in names if n != ATTRIBUTE_MAP for x in (F.lit(n), F.col(f"`{RAW}{n}`"))]
    named = F.create_map(*pairs).cast("map<string,string>")
    if ATTRIBUTE_MAP not in names:
        return named
    given = F.col(f"`{RAW}{ATTRIBUTE_MAP}`")
    return given if not pairs else F.map_concat(named, given)


def with_ingested_at(df: DataFrame, at: datetime) -> DataFrame:
    """``df`` plus an ``ingested_at`` column holding ``at``, taken from a one-row broadcast
    side rather than a literal: Spark writes a timestamp literal into the generated code,
    so a new value every batch would mean compiling the batch's write stage anew (Janino,
    then the JVM's JIT warming it up again) every batch."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StructField, StructType, TimestampType

    schema = StructType([StructField(INGESTED_AT, TimestampType(), nullable=False)])
    one = df.sparkSession.createDataFrame([(at,)], schema)
    return df.crossJoin(F.broadcast(one))


def to_lines(classified: DataFrame, at: datetime, extras: Sequence[str] = ()) -> DataFrame:
    """The accepted rows as ``lines`` table rows (``spark.clean.split``'s accepted side,
    plus the line's identity and provenance, ingested ``at``; ``extras``
    (:func:`attribute_columns`) go into ``attributes``)."""
    from pyspark.sql import functions as F

    def raw(name: str) -> Column:
        return F.col(f"`{RAW}{name}`")

    accepted = classified.where(F.col(REASON).isNull())
    return with_ingested_at(accepted, at).select(
        *LINES.names,
        raw(staging.LINE_NO).alias("line_no"),
        raw(staging.LINE_KEY).alias("line_key"),
        F.col(HASH).alias("line_hash"),
        raw(staging.SOURCE).alias("source"),
        raw(staging.OFFSET).alias("source_offset"),
        raw(staging.SOURCE_TS).alias("source_ts"),
        F.col(INGESTED_AT),
        attributes(extras).alias("attributes"),
    )


def to_quarantine(classified: DataFrame, spec: CleaningSpec, at: datetime) -> DataFrame:
    """The rejected rows as ``quarantine`` rows (``spark.clean.split``), ingested ``at``."""
    rejected = split(
        classified,
        data_columns=spec.data_columns,
        source_col=f"{RAW}{staging.SOURCE}",
        offset_col=f"{RAW}{staging.OFFSET}",
        corrupt_col=staging.CORRUPT,
    ).rejected
    return with_ingested_at(rejected, at)
