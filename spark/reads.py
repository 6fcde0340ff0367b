"""The mining job's input side: read the input (CSV/text files or the ingest Delta table),
clean it, count what was accepted and rejected, and group the accepted lines into
baskets.

:func:`load_clean` gives either cleaned lines (long format, Delta table) or baskets
(basket format) plus the quarantine records; :func:`lines_to_baskets` applies the date
window, ``--where``, the item map and the basket key to lines. The counts go into the
run's :class:`~spark.report.Counts`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from basket_core.config import Settings
from basket_core.schemas import LINES, QUARANTINE, spark_schema
from spark.baskets import (
    apply_where,
    apply_window,
    customer_day_ready,
    map_items,
    parse_basket_lines,
    read_item_map,
    spaced_separators,
    to_baskets,
    unspaced_split_applies,
)
from spark.char_check import NO_PROOF, FileProof
from spark.clean import REASON, clean_lines
from spark.load import (
    SOURCE_COL,
    InputError,
    LongInput,
    is_remote,
    prove_files,
    read_basket_lines,
    read_long,
    source_path,
)
from spark.report import Counts

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

ATTRIBUTES = "attributes"


@dataclass(frozen=True)
class Loaded:
    """The cleaned input: ``lines`` (long format, Delta table) or ``baskets`` (basket
    format), never both; ``quarantine`` has the ``QUARANTINE`` records of rejected rows."""

    lines: DataFrame | None
    baskets: DataFrame | None
    quarantine: DataFrame


def load_clean(
    spark: SparkSession,
    settings: Settings,
    *,
    inputs: tuple[str, ...],
    table: str | None,
    inspected: LongInput | None,
    counts: Counts,
    cached: list[DataFrame],
    window: tuple[date | None, date | None] = (None, None),
) -> Loaded:
    """Read and clean ``inputs`` (or the Delta ``table``), filling the row counts of
    ``counts``. DataFrames persisted here are appended to ``cached`` for the caller to
    unpersist. A table is read only within the date ``window`` (the lines outside it count
    as input rows, filtered later by :func:`lines_to_baskets`)."""
    if table:
        whole = read_table(spark, table)
        # Delta answers a bare count from its log; the date window is applied before the
        # cache so the scan skips the files (and row groups) outside it
        counts.input_rows = counts.accepted_rows = whole.count()
        lines = apply_window(whole, *window).persist()
        cached.append(lines)
        lines = with_attribute_columns(lines)
        empty = spark.createDataFrame([], spark_schema(QUARANTINE))
        return Loaded(lines, None, empty)
    if settings.input.format == "basket":
        raw, _ = read_basket_lines(spark, inputs, settings.input)
        sep, cleaning = settings.input.basket_sep, settings.cleaning
        # the driver's byte pass, only for what these settings can skip with it
        spaced = spaced_separators(sep) if unspaced_split_applies(sep, cleaning) else ()
        proof = (
            prove_files(inspected, settings.input.encoding, spaced)
            if cleaning.reject_bad_encoding or spaced
            else NO_PROOF
        )
        classified, baskets, quarantine = parse_basket_lines(
            raw,
            sep=sep,
            cleaning=cleaning,
            proven_clean=cleaning.reject_bad_encoding and _encoding_rule_needless(proof),
            proven_unspaced=bool(spaced) and proof.lacks >= set(spaced),
        )
        classified = classified.persist()
        cached.append(classified)
        reconcile(spark, inspected, count_reasons(classified, counts), counts, header=False)
        return Loaded(None, baskets, quarantine)
    raw_lines = read_long(spark, inputs, settings.input, settings.columns, inspected)
    cleaning = settings.cleaning
    # a CSV field is a part of its line with quotes and escapes taken out: it holds only
    # characters of the file, so a file proven clean has no field the rule can reject
    if cleaning.reject_bad_encoding and _encoding_rule_needless(
        prove_files(inspected or raw_lines.inspected, settings.input.encoding)
    ):
        cleaning = cleaning.model_copy(update={"reject_bad_encoding": False})
    classified, cleaned = clean_lines(
        raw_lines.df,
        data_columns=raw_lines.data_columns,
        columns=settings.columns,
        cleaning=cleaning,
        timestamp_formats=settings.input.timestamp_formats,
    )
    classified = classified.persist()
    cached.append(classified)
    per_file = count_reasons(classified, counts)
    reconcile(spark, inspected or raw_lines.inspected, per_file, counts, header=raw_lines.header)
    return Loaded(cleaned.accepted, None, cleaned.rejected)


def _encoding_rule_needless(proof: FileProof) -> bool:
    """Whether the driver proved that no input line can fail the bad-encoding rule, so
    Spark leaves it out (said in the log: the plan differs then). Asked only when the
    rule is on."""
    if proof.clean:
        log.info(
            "no undecodable or control character in the input files: Spark skips the "
            "bad-encoding rule"
        )
    return proof.clean


class ReconcileError(InputError):
    """The records Spark classified differ from the records counted in the files: a row
    was lost or invented between the file and the cleaning rules. Nothing is written."""


def count_reasons(classified: DataFrame, counts: Counts) -> dict[str, int]:
    """Accepted and rejected rows (by reason, most frequent first) of ``classified`` (one
    row per input record, ``_reason`` null when accepted); returns the records per file
    (local path, or the URI of a remote file) that Spark classified."""
    per_file: dict[str, int] = {}
    by_reason: dict[str | None, int] = {}
    for source, reason, n in classified.groupBy(SOURCE_COL, REASON).count().collect():
        path = source_path(str(source))
        per_file[path] = per_file.get(path, 0) + int(n)
        by_reason[reason] = by_reason.get(reason, 0) + int(n)
    counts.accepted_rows = by_reason.pop(None, 0)
    rejected = {str(k): v for k, v in by_reason.items()}
    counts.rejected_by_reason = dict(sorted(rejected.items(), key=lambda kv: (-kv[1], kv[0])))
    counts.rejected_rows = sum(rejected.values())
    return per_file


def count_remote_records(spark: SparkSession, paths: list[str], header: bool) -> dict[str, int]:
    """Records of remote files by a reader other than the CSV parser: non-empty text lines,
    less one header line per file."""
    from pyspark.sql import functions as F

    lines = spark.read.text(paths).where(F.length("value") > 0)
    rows = lines.groupBy(F.col("_metadata.file_path")).count().collect()
    return {source_path(str(uri)): int(n) - int(header) for uri, n in rows}


def reconcile(
    spark: SparkSession,
    inspected: LongInput | None,
    per_file: dict[str, int],
    counts: Counts,
    *,
    header: bool,
) -> None:
    """Set ``counts.input_rows`` from the files themselves (the line scan of each local
    file, a text count of remote ones) and fail unless every file's records all came out
    of the cleaning rules, accepted or rejected: ``input = accepted + rejected``, per file.
    Blank lines and header lines are counted under ``counts.skipped_lines``."""
    if inspected is None:
        raise ReconcileError("no independent count of the input files")
    counted = {os.path.realpath(f.path): f.records for f in inspected.files}
    remote = [p for p in inspected.paths if is_remote(p)]
    if remote:
        counted |= count_remote_records(spark, remote, header)
    lost = [
        f"{path}: {n:,} data records in the file, {per_file.get(path, 0):,} classified"
        for path, n in sorted(counted.items())
        if per_file.get(path, 0) != n
    ]
    lost += [
        f"{path}: {n:,} records classified from a file that was not counted"
        for path, n in sorted(per_file.items())
        if path not in counted
    ]
    if lost:
        raise ReconcileError(
            "input does not reconcile (input != accepted + rejected); nothing was written: "
            + "; ".join(lost[:5])
            + (f" (and {len(lost) - 5} more files)" if len(lost) > 5 else "")
        )
    counts.input_rows = sum(counted.values())
    counts.skipped_lines = {
        "blank": sum(f.blank_lines for f in inspected.files),
        "header": sum(1 for f in inspected.files if f.header),
    }


def read_table(spark: SparkSession, path: str) -> DataFrame:
    """The ingest ``lines`` Delta table at ``path``; :class:`InputError` when it cannot be
    read or lacks a ``LINES`` column."""
    from pyspark.errors import AnalysisException

    try:
        df = spark.read.format("delta").load(path)
    except AnalysisException as exc:
        raise InputError(f"cannot read Delta table {path}: {str(exc).splitlines()[0]}") from exc
    missing = [c for c in LINES.names if c not in df.columns]
    if missing:
        raise InputError(f"Delta table {path} lacks column(s) {', '.join(missing)}")
    return df


def with_attribute_columns(lines: DataFrame) -> DataFrame:
    """The ingest table's ``attributes`` map back as columns (``Country``...), as a CSV
    input's extra columns are: ``--segment-by`` and ``--where`` work the same on both.
    A key named like an existing column is left in the map (the column wins)."""
    from pyspark.sql import functions as F

    if ATTRIBUTES not in lines.columns:
        return lines
    taken = {c.lower() for c in lines.columns}
    found = lines.select(F.explode(F.map_keys(ATTRIBUTES)).alias("k")).distinct().collect()
    keys = sorted(r["k"] for r in found if r["k"].lower() not in taken)
    return lines.select(
        *[c for c in lines.columns if c != ATTRIBUTES],
        *[F.col(ATTRIBUTES).getItem(k).alias(k) for k in keys],
    )


def lines_to_baskets(
    spark: SparkSession,
    settings: Settings,
    lines: DataFrame,
    counts: Counts,
    *,
    start_date: date | None = None,
    end_date: date | None = None,
    where: str | None = None,
    item_map: Path | None = None,
    segment_by: str | None = None,
) -> DataFrame:
    """Accepted lines filtered (date window, ``where``, customer-day completeness), items
    mapped, grouped into baskets; sets ``counts.filtered_rows`` when anything filters."""
    basket_by = settings.mining.basket_by
    kept = apply_window(lines, start_date, end_date)
    kept = apply_where(kept, where)
    if basket_by == "customer-day":
        kept = customer_day_ready(kept)
    if item_map is not None:
        kept = map_items(kept, read_item_map(spark, item_map))
    if start_date or end_date or where or basket_by != "transaction":
        counts.filtered_rows = counts.accepted_rows - kept.count()
    return to_baskets(kept, basket_by=basket_by, segment_by=segment_by)
