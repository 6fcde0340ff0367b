"""How a result dataset's rows are laid out inside a run's Parquet files, for readers.

The analyst pack (:mod:`athena.pack`) filters a run's rules and itemsets on a few columns
and ranks them on others. Writing each run's rows sorted by those columns, in row groups
of a bounded number of rows, lets DuckDB and Athena skip most row groups from the
Parquet min/max statistics alone: a segment filter reads only that segment's row groups,
a lift floor or an ``ORDER BY lift DESC LIMIT n`` reads the first row groups of each
segment, an itemset size reads that size's row groups. The Spark writer
(:mod:`spark.writes`) and every writer of result files in this shape (the sample and
benchmark results) take the order and the row-group size from here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SortKey:
    column: str
    descending: bool = False


@dataclass(frozen=True)
class FileLayout:
    sort_by: tuple[SortKey, ...]
    """Rows of a run are written in this order (the first key varies slowest)."""
    row_group_rows: int
    """At most this many rows per Parquet row group."""


ROW_GROUP_ROWS = 16_384
"""Small enough that a run of a million rules has ~70 row groups to skip between, large
enough that a row group's columns are still read in a few big requests."""

FILE_LAYOUTS: dict[str, FileLayout] = {
    "rules": FileLayout((SortKey("segment"), SortKey("lift", descending=True)), ROW_GROUP_ROWS),
    "item_edges": FileLayout(
        (SortKey("segment"), SortKey("lift", descending=True)), ROW_GROUP_ROWS
    ),
    "itemsets": FileLayout(
        (SortKey("segment"), SortKey("size"), SortKey("support", descending=True)),
        ROW_GROUP_ROWS,
    ),
}
"""Datasets written for reading, by name; any other dataset is written as it comes."""
