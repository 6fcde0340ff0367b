"""Subsets of sorted item arrays by bit mask, as Spark SQL expressions (no Python UDF):
bit ``i`` of the mask selects the array's ``i``-th item, so every subset keeps the
array's order."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import Column


def bit_subsets(items: str, mask: str, *, complement: bool = False) -> Column:
    """The items of array column ``items`` whose bit in the SQL expression ``mask`` (a
    long) is set (or clear), in order."""
    from pyspark.sql import functions as F

    want = 0 if complement else 1
    return F.expr(f"filter({items}, (x, i) -> (shiftright({mask}, i) & 1) = {want})")
