"""Read raw input into Spark: long-format CSV (one row per line item), basket
format (one transaction per line), or the Delta table written by ``ingest``.

Every raw record keeps where it came from (``_source``) so quarantine can name
the file. Input problems a user can fix (missing file, empty file, wrong column
names, wrong delimiter) raise :class:`InputError` with one clear line.
"""

from __future__ import annotations

import glob
import gzip
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from basket_core.config import ColumnsConfig, InputConfig
from basket_core.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

SOURCE_COL = "_source"
CORRUPT_COL = "_corrupt"
_REMOTE = ("s3://", "s3a://", "s3n://", "hdfs://", "gs://", "abfs://", "abfss://")
_OTHER_DELIMITERS = (";", "\t", "|", ",")


@dataclass(frozen=True)
class RawLines:
    """Long-format input: all data columns as strings, plus ``_source`` and ``_corrupt``."""

    df: DataFrame
    data_columns: tuple[str, ...]
    paths: tuple[str, ...]
    header: bool


def is_remote(path: str) -> bool:
    return path.startswith(_REMOTE)


def resolve_paths(specs: Sequence[str]) -> list[str]:
    """Expand local globs and folders into data files (gzip included); remote URIs pass
    through. Hidden files and ``_``-prefixed files (``_SUCCESS``, manifests) are skipped."""
    out: list[str] = []
    for spec in specs:
        if is_remote(spec):
            out.append(spec)
            continue
        matches = sorted(glob.glob(spec, recursive=True)) if glob.has_magic(spec) else [spec]
        if not matches or not any(os.path.exists(m) for m in matches):
            raise InputError(f"input not found: {spec}")
        for m in matches:
            p = Path(m)
            if p.is_dir():
                out.extend(
                    str(f)
                    for f in sorted(p.rglob("*"))
                    if f.is_file() and not f.name.startswith((".", "_")) and _is_data_file(f)
                )
            elif p.is_file():
                out.append(str(p))
    if not out:
        raise InputError(f"no input files found in {', '.join(specs)}")
    return out


def _is_data_file(p: Path) -> bool:
    return p.suffix.lower() not in {".json", ".md", ".crc"}


def first_line(path: str, encoding: str = "utf-8") -> str | None:
    """The first line of a local (optionally gzipped) file, or None if it is empty."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding=encoding, errors="replace", newline="") as fh:
        for line in fh:
            stripped: str = line.rstrip("\r\n")
            if stripped.strip():
                return stripped
    return None


def split_header(line: str, delimiter: str) -> list[str]:
    import csv

    return [c.strip() for c in next(csv.reader([line], delimiter=delimiter))]


def mapped_columns(columns: ColumnsConfig) -> dict[str, str]:
    """Field -> configured column name, for the columns that are mapped."""
    fields = ("transaction", "item", "quantity", "price", "timestamp", "customer", "store")
    return {f: v for f in fields if (v := getattr(columns, f)) is not None}


def decide_header(line: str, delimiter: str, columns: ColumnsConfig, mode: str) -> bool:
    if mode == "yes":
        return True
    if mode == "no":
        return False
    wanted = [v for v in mapped_columns(columns).values() if not v.isdigit()]
    # substring match on the raw line, so a header split by the wrong delimiter is
    # still recognised as a header (and then reported as a delimiter problem)
    return bool(wanted) and any(w in line for w in wanted)


def check_long_header(path: str, line: str, delimiter: str, columns: ColumnsConfig) -> list[str]:
    """Validate the header against the mapping; return the data column names."""
    names = split_header(line, delimiter)
    if len(names) == 1:
        for other in _OTHER_DELIMITERS:
            if other != delimiter and other in line:
                shown = "\\t" if other == "\t" else other
                raise InputError(
                    f"{path}: header has a single column but contains {shown!r}; "
                    f"wrong delimiter? try --delimiter {shown!r}"
                )
    missing = [f"{v!r} (--{f}-col)" for f, v in mapped_columns(columns).items() if v not in names]
    if missing:
        raise InputError(
            f"{path}: column {', '.join(missing)} not in header; columns are: {', '.join(names)}"
        )
    return names


def headerless_columns(line: str, delimiter: str, columns: ColumnsConfig, path: str) -> list[str]:
    n = len(split_header(line, delimiter))
    for f, v in mapped_columns(columns).items():
        if not v.isdigit():
            raise InputError(
                f"{path}: file has no header, so --{f}-col must be a 0-based column number, got {v!r}"
            )
        if int(v) >= n:
            raise InputError(f"{path}: --{f}-col {v} but the first row has only {n} fields")
    return [str(i) for i in range(n)]


@dataclass(frozen=True)
class LongInput:
    """What :func:`inspect_long` learned about long-format input, before Spark starts."""

    paths: tuple[str, ...]
    header: bool
    data_columns: tuple[str, ...]


def inspect_long(specs: Sequence[str], inp: InputConfig, columns: ColumnsConfig) -> LongInput:
    """Find the files, detect the header and check the column mapping (no Spark needed)."""
    paths = resolve_paths(specs)
    local = [p for p in paths if not is_remote(p)]
    if not local:  # remote only: trust the mapping and the header setting
        names = list(mapped_columns(columns).values())
        return LongInput(tuple(paths), inp.header != "no", tuple(names))
    probe = local[0]
    line = first_line(probe, inp.encoding)
    if line is None:
        raise InputError(f"input file is empty: {probe}")
    for other in local[1:]:
        if first_line(other, inp.encoding) is None:
            raise InputError(f"input file is empty: {other}")
    header = decide_header(line, inp.delimiter, columns, inp.header)
    names = (
        check_long_header(probe, line, inp.delimiter, columns)
        if header
        else headerless_columns(line, inp.delimiter, columns, probe)
    )
    return LongInput(tuple(paths), header, tuple(names))


def read_long(
    spark: SparkSession,
    specs: Sequence[str],
    inp: InputConfig,
    columns: ColumnsConfig,
    inspected: LongInput | None = None,
) -> RawLines:
    """Read long-format CSV files, every column as string, malformed lines kept in
    ``_corrupt`` (never dropped)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    info = inspected or inspect_long(specs, inp, columns)
    paths, header, names = info.paths, info.header, info.data_columns
    schema = T.StructType(
        [T.StructField(n, T.StringType()) for n in names]
        + [T.StructField(CORRUPT_COL, T.StringType())]
    )
    df = (
        spark.read.option("header", header)
        .option("sep", inp.delimiter)
        .option("quote", '"')
        .option("escape", '"')
        .option("encoding", inp.encoding)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT_COL)
        .option("ignoreLeadingWhiteSpace", False)
        .option("ignoreTrailingWhiteSpace", False)
        .option("enforceSchema", True)
        .schema(schema)
        .csv(list(paths))
        .withColumn(SOURCE_COL, F.col("_metadata.file_path"))
    )
    return RawLines(df=df, data_columns=tuple(names), paths=tuple(paths), header=header)


def read_basket_lines(
    spark: SparkSession, specs: Sequence[str], inp: InputConfig
) -> tuple[DataFrame, tuple[str, ...]]:
    """Read basket-format files: one transaction per line. Returns ``(df, paths)`` with
    columns ``value`` (the line), ``_source`` and ``_row_id`` (unique, increasing in file
    order; used as the transaction id)."""
    from pyspark.sql import functions as F

    paths = resolve_paths(specs)
    for p in paths:
        if not is_remote(p) and first_line(p, inp.encoding) is None:
            raise InputError(f"input file is empty: {p}")
    df = (
        spark.read.option("encoding", inp.encoding)
        .text(list(paths))
        .withColumn(SOURCE_COL, F.col("_metadata.file_path"))
        .withColumn("_row_id", F.monotonically_increasing_id())
    )
    return df, tuple(paths)
