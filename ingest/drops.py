"""CSV drops, each file read by its own header.

The folder stream (:func:`ingest.stream.files_source`) only discovers new files (Spark's
``binaryFile`` source, which reads no content unless asked, so the checkpoint still
records exactly which files each micro-batch took). :class:`DropStager` then reads the
batch's files the way ``basket mine`` does (:func:`spark.load.scan_long_file`): every file
by the names in its own first line, so drops from tills or export versions whose columns
come in another order, or with other extra columns, land in the right fields. A file that
cannot be read that way (no header where the mapping names columns, a mapped column
missing, a name twice, broken gzip) becomes one quarantine record naming the file, the
reason and the records it held; the stream goes on.

Staged rows hold the mapped columns under their configured names plus ``_attributes``
(the file's other columns as a map, for ``lines.attributes``), so every micro-batch has the
same columns whatever its files look like.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from basket_core.config import ColumnsConfig, InputConfig
from ingest import staging
from spark.load import (
    BOM,
    CORRUPT_COL,
    FileLayout,
    FileRejected,
    mapped_columns,
    read_csv_files,
    scan_long_file,
    source_path,
)

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

ATTRIBUTE_MAP = "_attributes"
"""Staged column: a drop's unmapped columns as ``{name: text}``."""
BAD_REASON = "_bad_reason"
"""Staged column: the ``FileReason`` of a file quarantined whole (null otherwise)."""


def staged_columns(columns: ColumnsConfig) -> tuple[str, ...]:
    """The data columns of every staged drop row: the mapped names, then the map."""
    return (*mapped_columns(columns).values(), ATTRIBUTE_MAP)


@dataclass(frozen=True)
class ScannedDrop:
    """One file of a micro-batch: its layout, or why it was refused."""

    uri: str
    """The path as Spark names it (``file:/...``): the rows' ``_source``."""
    modified: object
    layout: FileLayout | None
    rejected: FileRejected | None


def scan_drops(
    files: Sequence[tuple[str, object]], inp: InputConfig, columns: ColumnsConfig
) -> list[ScannedDrop]:
    """Scan each ``(uri, modification time)`` of a batch (local files only)."""
    out = []
    for uri, modified in files:
        try:
            layout = scan_long_file(source_path(uri), inp, columns)
            out.append(ScannedDrop(uri, modified, layout, None))
        except FileRejected as exc:
            log.warning("quarantined file %s: %s", exc.path, exc.detail)
            out.append(ScannedDrop(uri, modified, None, exc))
    return out


def expected_records(scanned: Sequence[ScannedDrop]) -> int:
    """Staged rows the batch must give: each readable file's records, one per refused file."""
    return sum(d.layout.records if d.layout else 1 for d in scanned)


def _mapped_part(
    spark: SparkSession,
    drops: Sequence[ScannedDrop],
    layout: FileLayout,
    inp: InputConfig,
    columns: ColumnsConfig,
) -> DataFrame:
    """The files of one layout, read by its names, as staged data columns."""
    from pyspark.sql import functions as F

    part = read_csv_files(
        spark, [source_path(d.uri) for d in drops], layout.columns, layout.header, inp
    )
    if layout.bom and not layout.header:
        first = layout.columns[0]
        part = part.withColumn(first, F.regexp_replace(F.col(f"`{first}`"), f"^{BOM}", ""))
    mapped = list(mapped_columns(columns).values())
    extras = [n for n in layout.columns if n not in mapped]
    pairs = [x for n in extras for x in (F.lit(n), F.col(f"`{n}`"))]
    return part.select(
        *[
            F.col(f"`{n}`") if n in layout.columns else F.lit(None).cast("string").alias(n)
            for n in mapped
        ],
        F.create_map(*pairs).cast("map<string,string>").alias(ATTRIBUTE_MAP),
        F.col(CORRUPT_COL),
        F.col("_metadata.file_path").alias(staging.SOURCE),
        F.col("_metadata.file_modification_time").alias(staging.SOURCE_TS),
        F.lit(None).cast("string").alias(BAD_REASON),
    )


def _refused_rows(
    spark: SparkSession, refused: Sequence[ScannedDrop], columns: ColumnsConfig
) -> DataFrame:
    """One row per refused file: no data, the reason, the detail as the raw record."""
    from pyspark.sql import types as T

    mapped = list(mapped_columns(columns).values())
    schema = T.StructType(
        [T.StructField(n, T.StringType()) for n in mapped]
        + [
            T.StructField(ATTRIBUTE_MAP, T.MapType(T.StringType(), T.StringType())),
            T.StructField(CORRUPT_COL, T.StringType()),
            T.StructField(staging.SOURCE, T.StringType()),
            T.StructField(staging.SOURCE_TS, T.TimestampType()),
            T.StructField(BAD_REASON, T.StringType()),
        ]
    )
    rows = []
    for drop in refused:
        assert drop.rejected is not None
        held = drop.rejected.records
        detail = drop.rejected.detail + (
            f" ({held:,} data records not read)" if held is not None else ""
        )
        rows.append(
            (*[None] * len(mapped), {}, detail, drop.uri, drop.modified, drop.rejected.reason.value)
        )
    return spark.createDataFrame(rows, schema)


class DropStager:
    """``stage`` of the folder source: the micro-batch of new file paths -> staged rows.
    ``expected`` holds what the last batch must give (:func:`expected_records`), for the
    sink's per-batch reconciliation."""

    def __init__(self, spark: SparkSession, inp: InputConfig, columns: ColumnsConfig) -> None:
        self.spark = spark
        self.inp = inp
        self.columns = columns
        self.expected: int | None = None

    def records_counted(self) -> int:
        """The records the files of the batch last staged hold (the scan's count)."""
        if self.expected is None:
            raise RuntimeError("no drop batch was staged yet")
        return self.expected

    def __call__(self, batch: DataFrame) -> DataFrame:
        files = [
            (r["path"], r["modificationTime"])
            for r in batch.select("path", "modificationTime").collect()
        ]
        scanned = scan_drops(sorted(files, key=lambda f: f[0]), self.inp, self.columns)
        self.expected = expected_records(scanned)
        groups: dict[FileLayout, list[ScannedDrop]] = {}
        for drop in scanned:
            if drop.layout is not None:
                key = FileLayout("", drop.layout.header, drop.layout.columns, 0, 0, drop.layout.bom)
                groups.setdefault(key, []).append(drop)
        parts = [
            _mapped_part(self.spark, drops, layout, self.inp, self.columns)
            for layout, drops in groups.items()
        ]
        refused = [d for d in scanned if d.rejected is not None]
        if refused or not parts:
            parts.append(_refused_rows(self.spark, refused, self.columns))
        staged = parts[0]
        for part in parts[1:]:
            staged = staged.unionByName(part)
        return staging.stage_files(staged)
