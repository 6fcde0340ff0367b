"""Read raw input into Spark: long-format CSV (one row per line item), basket
format (one transaction per line), or the Delta table written by ``ingest``.

Every raw record keeps where it came from (``_source``) so quarantine can name
the file. Input problems a user can fix (missing file, empty file, wrong column
names, wrong delimiter) raise :class:`InputError` with one clear line.
"""

from __future__ import annotations

import codecs
import csv
import glob
import io
import logging
import os
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, NamedTuple
from urllib.parse import unquote, urlparse

from basket_core.config import ColumnsConfig, InputConfig
from basket_core.errors import InputError
from basket_core.reasons import FileReason
from spark.char_check import GZIP_MAGIC, NO_PROOF, FileProof, open_bytes, prove

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import Column, DataFrame, SparkSession

log = logging.getLogger(__name__)

SOURCE_COL = "_source"
CORRUPT_COL = "_corrupt"
RESERVED_COLUMNS = frozenset({SOURCE_COL, CORRUPT_COL, "_metadata"})
"""Names the reader adds beside a file's columns (``_metadata`` is Spark's file metadata
column): a header naming one of them (in any case) is refused."""
_REMOTE = ("s3://", "s3a://", "s3n://", "hdfs://", "gs://", "abfs://", "abfss://")
_OTHER_DELIMITERS = (";", "\t", "|", ",")
BOM = "\ufeff"
BOM_LATIN1 = BOM.encode("utf-8").decode("latin-1")
SPARK_BLANK = "".join(map(chr, range(33)))
"""What Spark's CSV reader trims to decide a line is empty and skip it (Java's
``String.trim``: every character up to the space, control characters included)."""


@dataclass(frozen=True)
class RawLines:
    """Long-format input: all data columns as strings, plus ``_source`` and ``_corrupt``."""

    df: DataFrame
    data_columns: tuple[str, ...]
    paths: tuple[str, ...]
    header: bool
    inspected: LongInput


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


def source_path(uri: str) -> str:
    """A local file's real path from Spark's ``_metadata.file_path`` (``file:/a%20b.csv``);
    a remote URI as it is."""
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file"):
        return uri
    return os.path.realpath(unquote(parsed.path))


def open_text(path: str, encoding: str) -> IO[str]:
    """A local file as text, gunzipped when it starts with gzip's magic bytes, universal
    newlines (``\\n``, ``\\r\\n`` and ``\\r`` end a line, as in Spark's line reader)."""
    return io.TextIOWrapper(open_bytes(path), encoding=encoding, errors="replace", newline=None)


def head_lines(path: str, encoding: str, count: int) -> list[str]:
    """The first ``count`` non-blank lines of a local (optionally gzipped) file, without
    a leading byte-order mark."""
    found: list[str] = []
    with open_text(path, encoding) as fh:
        for line in fh:
            stripped = line.rstrip("\r\n").removeprefix(BOM)
            if stripped.strip(SPARK_BLANK):
                found.append(stripped)
                if len(found) == count:
                    break
    return found


def first_line(path: str, encoding: str = "utf-8") -> str | None:
    """The first non-blank line of a local (optionally gzipped) file without a leading
    byte-order mark, or None if it is empty."""
    found = head_lines(path, encoding, 1)
    return found[0] if found else None


def split_header(line: str, delimiter: str) -> list[str]:
    """A header line's names, trimmed; an empty name becomes ``_c<position>`` (Spark's
    name for an unnamed column)."""
    names = [c.strip() for c in next(csv.reader([line], delimiter=delimiter))]
    return [n or f"_c{i}" for i, n in enumerate(names)]


def mapped_columns(columns: ColumnsConfig) -> dict[str, str]:
    """Field -> configured column name, for the columns that are mapped."""
    fields = ("transaction", "item", "quantity", "price", "timestamp", "customer", "store")
    return {f: v for f in fields if (v := getattr(columns, f)) is not None}


def by_position(columns: ColumnsConfig) -> bool:
    """Whether the mapping names 0-based positions (header-less input) rather than names."""
    return all(v.isdigit() for v in mapped_columns(columns).values())


def spark_charset(encoding: str) -> str:
    """The Java charset Spark reads with, for a Python encoding name: a leading UTF-8
    byte-order mark is handled per file, so ``utf-8-sig`` reads as ``UTF-8``."""
    name = codecs.lookup(encoding).name
    if name in ("utf-8", "utf-8-sig"):
        return "UTF-8"
    if name == "ascii":
        return "US-ASCII"
    if name.startswith("iso8859-"):
        return "ISO-8859-" + name.removeprefix("iso8859-")
    if name.startswith("cp125"):
        return "windows-" + name.removeprefix("cp")
    return encoding


def use_charset(spark: SparkSession, encoding: str) -> None:
    """Let the session decode ``encoding`` as Java does. Spark 4 takes only a short list
    of charsets (no windows-1252) and fails the job on a byte the charset does not map,
    unless these two settings restore Java's own decoding, where such a byte becomes
    U+FFFD (which the bad-encoding rule rejects)."""
    if spark_charset(encoding) != "UTF-8":
        spark.conf.set("spark.sql.legacy.javaCharsets", "true")
        spark.conf.set("spark.sql.legacy.codingErrorAction", "true")


class FileRejected(InputError):
    """One input file cannot be read as the settings say; ``reason`` is a
    ``basket_core.reasons.FileReason`` code and ``records`` the data records the line scan
    counted (None when the file could not be read to its end)."""

    def __init__(self, path: str, reason: FileReason, detail: str, records: int | None) -> None:
        super().__init__(f"{path}: {detail}")
        self.path = path
        self.reason = reason
        self.detail = detail
        self.records = records


@dataclass(frozen=True)
class FileLayout:
    """One local input file as the line scan saw it, before Spark reads it.

    ``records`` is the independent count the run is reconciled against: the file's
    physical lines less the header line and the blank lines (Spark's CSV reader skips
    those); each of them must come out of the cleaning rules accepted or rejected."""

    path: str
    header: bool
    columns: tuple[str, ...]
    """Header names in file order, or positions ``0``, ``1``, ... without a header."""
    records: int
    blank_lines: int
    bom: bool


class LineScan(NamedTuple):
    """What :func:`_scan_lines` saw in a file."""

    first: str | None
    """The first non-blank line, without a byte-order mark (None: no such line)."""
    bom: bool
    lines: int
    """Non-blank lines."""
    blank: int
    holds_needle: bool
    """Whether a line holds the ``needle`` asked for (False when none was asked for)."""


def _scan_lines(path: str, encoding: str, needle: str | None = None) -> LineScan:
    """A local file's lines, read to its end (so a truncated gzip shows here, not inside
    Spark)."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    gz_name = path.lower().endswith(".gz")
    if gz_name and not head.startswith(GZIP_MAGIC):
        raise FileRejected(path, FileReason.UNREADABLE_FILE, "named .gz but is not gzip data", None)
    if not gz_name and head.startswith(GZIP_MAGIC):
        raise FileRejected(
            path,
            FileReason.UNREADABLE_FILE,
            "is gzip-compressed but its name does not end in .gz (Spark would read the "
            "compressed bytes as text); rename it to end in .gz",
            None,
        )
    first: str | None = None
    bom = False
    lines = blank = 0
    holds_needle = False
    # the file is read as Latin-1 (every byte one character), so the needle is looked for
    # as the bytes the file's encoding gives it
    probe = None
    if needle:
        try:
            probe = needle.encode(encoding).decode("latin-1")
        except UnicodeEncodeError:  # the file cannot hold it: no line does
            probe = "\n"  # lines are read without their line ends
    try:
        with open_text(path, "latin-1") as fh:
            for raw in fh:
                text = raw.rstrip("\n")
                if lines == 0 and blank == 0:
                    if text.startswith(("\xff\xfe", "\xfe\xff")):
                        raise FileRejected(
                            path,
                            FileReason.UNREADABLE_FILE,
                            "starts with a UTF-16 byte-order mark; Spark reads CSV line by "
                            "line in ASCII-compatible encodings only: convert it with "
                            f"`iconv -f UTF-16 -t UTF-8 {path}`",
                            None,
                        )
                    if text.startswith(BOM_LATIN1):
                        bom, text = True, text.removeprefix(BOM_LATIN1)
                if text.strip(SPARK_BLANK):
                    lines += 1
                    if first is None:
                        first = text
                    if probe is not None and probe in text:
                        holds_needle, probe = True, None  # found: stop looking
                else:
                    blank += 1
    except (EOFError, OSError, zlib.error) as exc:
        raise FileRejected(
            path,
            FileReason.UNREADABLE_FILE,
            f"truncated or corrupt gzip data after {lines + blank:,} lines ({exc})",
            None,
        ) from exc
    if first is not None:
        first = first.encode("latin-1").decode(encoding, errors="replace")
    return LineScan(first, bom, lines, blank, holds_needle)


OPTIONAL_FIELDS = ("customer", "store")
"""Fields a file may lack when their column is mapped by default, not asked for."""


def defaulted_absent(
    names: Sequence[str], columns: ColumnsConfig, optional: Sequence[str] = OPTIONAL_FIELDS
) -> dict[str, str]:
    """Optional fields still mapped to their default column name that ``names`` lacks:
    left empty (with a note), not an error; a column the user named stays required. A
    name present in another case (``customerid``) is not absent: Spark would resolve the
    mapping to it, so the file is refused as a missing column, never half-read."""
    folded = {n.lower() for n in names}
    return {
        f: v
        for f in optional
        if (v := getattr(columns, f)) is not None
        and v == ColumnsConfig.model_fields[f].default
        and v.lower() not in folded
    }


def typed(separator: str) -> str:
    """A separator as typed on a command line (a tab as ``\\t``)."""
    return separator.replace("\t", "\\t")


def wrong_separator(
    path: str, reason: FileReason, problem: str, flag: str, other: str, records: int
) -> FileRejected:
    """The file's refusal when another separator would read it: ``problem``, then the
    flag to pass."""
    word = "delimiter" if flag == "--delimiter" else "separator"
    return FileRejected(
        path, reason, f"{problem}: wrong {word}? try {flag} '{typed(other)}'", records
    )


def scan_long_file(
    path: str,
    inp: InputConfig,
    columns: ColumnsConfig,
    optional: Sequence[str] = OPTIONAL_FIELDS,
) -> FileLayout:
    """Where this file holds the mapped columns, from its own first line; raises
    :class:`FileRejected` when it cannot be read that way (no header where the mapping
    names columns, a mapped column missing, a name twice, bad gzip, UTF-16). A default
    mapping of an ``optional`` field whose column the header lacks is left empty."""
    first, bom, lines, blank, _ = _scan_lines(path, inp.encoding)
    if first is None:
        raise FileRejected(path, FileReason.EMPTY_FILE, "input file is empty", 0)
    names = split_header(first, inp.delimiter)
    mapped = mapped_columns(columns)
    if inp.header == "no" or (inp.header == "auto" and by_position(columns)):
        for f, v in mapped.items():
            if not v.isdigit():
                raise FileRejected(
                    path,
                    FileReason.MISSING_HEADER,
                    f"file has no header, so --{f}-col must be a 0-based column number, got {v!r}",
                    lines,
                )
            if int(v) >= len(names):
                raise FileRejected(
                    path,
                    FileReason.MISSING_COLUMN,
                    f"--{f}-col {v} but the first row has only {len(names)} fields",
                    lines,
                )
        positions = tuple(str(i) for i in range(len(names)))
        return FileLayout(path, False, positions, lines, blank, bom)
    if len(names) == 1:
        for other in _OTHER_DELIMITERS:
            if other != inp.delimiter and other in first:
                raise wrong_separator(
                    path,
                    FileReason.MISSING_COLUMN,
                    f"header has a single column but contains '{typed(other)}'",
                    "--delimiter",
                    other,
                    lines - 1,
                )
    for f, v in defaulted_absent(names, columns, optional).items():
        log.warning("%s: no %r column (the default --%s-col): %s left empty", path, v, f, f)
        del mapped[f]
    present = [v for v in mapped.values() if v in names]
    if not present and inp.header == "auto":
        wanted = ", ".join(mapped.values())
        raise FileRejected(
            path,
            FileReason.MISSING_HEADER,
            f"no header: the first line names none of the mapped columns ({wanted}), so "
            "its columns cannot be told by name (files are never read by position when "
            "the mapping names columns)",
            lines,
        )
    missing = [f"{v!r} (--{f}-col)" for f, v in mapped.items() if v not in names]
    if missing:
        raise FileRejected(
            path,
            FileReason.MISSING_COLUMN,
            f"column {', '.join(missing)} not in header; columns are: {', '.join(names)}",
            lines - 1,
        )
    # Spark resolves column names case-insensitively: `Country` and `country` are one name
    folded = [n.lower() for n in names]
    repeated = sorted({n for n, f in zip(names, folded, strict=True) if folded.count(f) > 1})
    if repeated:
        raise FileRejected(
            path,
            FileReason.DUPLICATE_COLUMN,
            f"header names column(s) {', '.join(map(repr, repeated))} more than once "
            "(names are compared ignoring case)",
            lines - 1,
        )
    odd = [n for n in names if "`" in n]
    if odd:
        raise FileRejected(
            path,
            FileReason.BAD_COLUMN_NAME,
            f"header column name(s) {', '.join(map(repr, odd))} contain a backtick, which "
            "Spark cannot reference; rename the column(s)",
            lines - 1,
        )
    reserved = [n for n in names if n.lower() in RESERVED_COLUMNS]
    if reserved:
        raise FileRejected(
            path,
            FileReason.BAD_COLUMN_NAME,
            f"header column name(s) {', '.join(map(repr, reserved))} are reserved for the "
            "reader's own columns; rename the column(s)",
            lines - 1,
        )
    return FileLayout(path, True, tuple(names), lines - 1, blank, bom)


def scan_basket_file(path: str, inp: InputConfig) -> FileLayout:
    """A basket-format file (a transaction per line): every line is a record, blank ones
    included (they are quarantined as empty baskets). A file in which no line holds the
    item separator, but lines hold another common one, is refused: every basket would be
    one item named after a whole line."""
    sep = inp.basket_sep
    scan = _scan_lines(path, inp.encoding, needle=sep)
    if scan.first is None and scan.blank == 0:
        raise FileRejected(path, FileReason.EMPTY_FILE, "input file is empty", 0)
    records = scan.lines + scan.blank
    if scan.lines and not scan.holds_needle:
        others = [o for o in _OTHER_DELIMITERS if o != sep]
        found = Counter(
            o for line in head_lines(path, inp.encoding, 1000) for o in others if o in line
        )
        if found:
            other = found.most_common(1)[0][0]
            raise wrong_separator(
                path,
                FileReason.WRONG_SEPARATOR,
                f"no line holds the item separator '{typed(sep)}', so every basket would be "
                f"one item; its lines hold '{typed(other)}'",
                "--sep",
                other,
                records,
            )
    return FileLayout(path, False, ("value",), records, 0, scan.bom)


@dataclass(frozen=True)
class LongInput:
    """What :func:`inspect_long` learned about long-format input, before Spark starts:
    the layout of every local file (remote files are trusted to the settings)."""

    paths: tuple[str, ...]
    header: bool
    data_columns: tuple[str, ...]
    files: tuple[FileLayout, ...] = ()

    @property
    def counted(self) -> bool:
        """Whether every input file was counted by the line scan (all local)."""
        return len(self.files) == len(self.paths)


def union_columns(layouts: Sequence[FileLayout]) -> tuple[str, ...]:
    """Every file's columns, each once, in order of first appearance; names that differ
    only in case are one column (Spark resolves names case-insensitively), spelled as
    first seen."""
    seen: dict[str, str] = {}
    for layout in layouts:
        for name in layout.columns:
            seen.setdefault(name.lower(), name)
    return tuple(seen.values())


def inspect_long(
    specs: Sequence[str],
    inp: InputConfig,
    columns: ColumnsConfig,
    optional: Sequence[str] = OPTIONAL_FIELDS,
) -> LongInput:
    """Find the files and scan every local one (header, mapping, gzip, encoding, counts);
    the first file that cannot be read as configured raises :class:`FileRejected`. The
    data columns are every file's columns, then any mapped column no file has (empty)."""
    paths = resolve_paths(specs)
    local = [p for p in paths if not is_remote(p)]
    if not local:  # remote only: trust the mapping and the header setting
        mapped = tuple(mapped_columns(columns).values())
        return LongInput(tuple(paths), inp.header != "no", mapped)
    layouts = tuple(scan_long_file(p, inp, columns, optional) for p in local)
    names = union_columns(layouts)
    if any(f.header for f in layouts):
        names += tuple(v for v in mapped_columns(columns).values() if v not in names)
    return LongInput(tuple(paths), any(f.header for f in layouts), names, layouts)


def inspect_basket(specs: Sequence[str], inp: InputConfig) -> LongInput:
    """Find basket-format files and scan every local one (gzip, encoding, counts)."""
    paths = resolve_paths(specs)
    layouts = tuple(scan_basket_file(p, inp) for p in paths if not is_remote(p))
    return LongInput(tuple(paths), False, ("value",), layouts)


def prove_files(
    inspected: LongInput | None, encoding: str, needles: Sequence[str] = ()
) -> FileProof:
    """What the bytes of every input file prove (:func:`spark.char_check.prove`): nothing
    unless all of them are local."""
    if inspected is None or not inspected.counted or not inspected.files:
        return NO_PROOF
    proofs = [prove(f.path, encoding, needles) for f in inspected.files]
    return FileProof(
        all(p.clean for p in proofs), frozenset.intersection(*(p.lacks for p in proofs))
    )


def read_csv_files(
    spark: SparkSession, paths: Sequence[str], names: Sequence[str], header: bool, inp: InputConfig
) -> DataFrame:
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    use_charset(spark, inp.encoding)
    schema = T.StructType(
        [T.StructField(n, T.StringType()) for n in names]
        + [T.StructField(CORRUPT_COL, T.StringType())]
    )
    return (
        spark.read.option("header", header)
        .option("sep", inp.delimiter)
        .option("quote", '"')
        .option("escape", '"')
        .option("encoding", spark_charset(inp.encoding))
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT_COL)
        .option("ignoreLeadingWhiteSpace", False)
        .option("ignoreTrailingWhiteSpace", False)
        .option("enforceSchema", True)
        .schema(schema)
        .csv(list(paths))
        .withColumn(SOURCE_COL, F.col("_metadata.file_path"))
    )


def read_long(
    spark: SparkSession,
    specs: Sequence[str],
    inp: InputConfig,
    columns: ColumnsConfig,
    inspected: LongInput | None = None,
) -> RawLines:
    """Read long-format CSV files, every column as string, malformed lines kept in
    ``_corrupt`` (never dropped). Files are read in groups of the same layout, each with
    its own header's names, and joined by column name: a file whose columns come in
    another order, or with other extra columns, still maps each column by its name."""
    from pyspark.sql import functions as F

    info = inspected or inspect_long(specs, inp, columns)
    names = info.data_columns
    groups: dict[tuple[bool, tuple[str, ...], bool], list[str]] = {}
    for layout in info.files:
        groups.setdefault((layout.header, layout.columns, layout.bom), []).append(layout.path)
    remote = [p for p in info.paths if is_remote(p)]
    if remote:
        groups.setdefault((info.header, names, False), []).extend(remote)
    parts = []
    for (header, group_names, bom), group_paths in groups.items():
        part = read_csv_files(spark, group_paths, group_names, header, inp)
        if bom and not header:  # the mark sits in the first field of the first record
            first = group_names[0]
            part = part.withColumn(first, F.regexp_replace(F.col(f"`{first}`"), f"^{BOM}", ""))
        parts.append(part)
    df = parts[0]
    for part in parts[1:]:
        df = df.unionByName(part, allowMissingColumns=True)
    df = df.select(
        *[
            F.col(f"`{n}`") if n in df.columns else F.lit(None).cast("string").alias(n)
            for n in names
        ],
        CORRUPT_COL,
        SOURCE_COL,
    )
    return RawLines(df=df, data_columns=names, paths=info.paths, header=info.header, inspected=info)


def read_basket_lines(
    spark: SparkSession, specs: Sequence[str], inp: InputConfig
) -> tuple[DataFrame, tuple[str, ...]]:
    """Read basket-format files: one transaction per line. Returns ``(df, paths)`` with
    columns ``value`` (the line, decoded with ``inp.encoding``), ``_source`` and
    ``_row_id`` (unique, increasing in file order; used as the transaction id)."""
    from pyspark.sql import functions as F

    paths = resolve_paths(specs)
    for p in paths:
        if not is_remote(p) and first_line(p, inp.encoding) is None:
            raise InputError(f"input file is empty: {p}")
    use_charset(spark, inp.encoding)
    raw = spark.read.text(list(paths))
    return raw.select(
        basket_line(F.col("value"), inp.encoding).alias("value"),
        F.col("_metadata.file_path").alias(SOURCE_COL),
    ).withColumn("_row_id", F.monotonically_increasing_id()), tuple(paths)


def basket_line(value: Column, encoding: str) -> Column:
    """A line of Spark's text reader as text. The reader has no encoding option: it
    hands over each line's bytes as they are, which is right for UTF-8 only; in any
    other encoding the line is decoded here, from the same bytes (a cast to binary copies
    them unchanged), with Java's charset. A byte the charset does not map becomes U+FFFD,
    which the bad-encoding rule rejects (with the session settings
    :func:`read_basket_lines` makes). A UTF-8 byte-order mark in front of a file's first
    line never reaches here: Hadoop's line reader skips it."""
    from pyspark.sql import functions as F

    charset = spark_charset(encoding)
    return value if charset == "UTF-8" else F.decode(value.cast("binary"), charset)
