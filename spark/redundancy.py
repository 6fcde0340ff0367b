"""Improvement and redundancy of rules (Bayardo, Agrawal and Gunopulos 2000; arules'
``improvement`` and ``is.redundant``).

A rule ``A -> C`` is only interesting if it predicts C better than every more general
rule ``A' -> C`` with ``A'`` a proper subset of A. The empty antecedent counts too: its
confidence is P(C), so a one-item rule with lift <= 1 is redundant. Every ``A' ∪ C`` is a
subset of the frequent itemset ``A ∪ C`` and so frequent: the sub-rules' confidences come
from the itemsets, whether or not the sub-rule itself passed ``min_confidence``.

All of it is joins in Spark: each rule's antecedent is expanded into its proper non-empty
subsets (bit masks over the sorted items), each subset looked up with and without C.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spark.bitmasks import bit_subsets

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import Column, DataFrame

MAX_ANTECEDENT_ITEMS = 20
"""Antecedents larger than this are not expanded (2^20 subsets each)."""


def check_antecedent_size(largest: int | None) -> None:
    """Refuse to expand antecedents of more than :data:`MAX_ANTECEDENT_ITEMS` items;
    ``largest`` is the size of the largest itemset."""
    if (largest or 0) - 1 > MAX_ANTECEDENT_ITEMS:
        raise ValueError(
            f"improvement needs every subset of each antecedent; the largest itemset has "
            f"{largest} items (antecedents up to {MAX_ANTECEDENT_ITEMS} + 1): set "
            "mining.max_size"
        )


def best_sub_rules(rules: DataFrame, itemsets: DataFrame) -> DataFrame:
    """(segment, antecedent, consequent, _sub_count, _sub_ant_count): for every rule with
    2+ antecedent items, the counts of its most confident proper sub-rule ``A' -> C``
    (A' non-empty), compared exactly as fractions."""
    from pyspark.sql import functions as F

    keyed = rules.where(F.col("antecedent_size") >= 2).select("segment", "antecedent", "consequent")
    subsets = keyed.select(
        "*",
        F.explode(F.expr("sequence(1L, shiftleft(1L, size(antecedent)) - 2L)")).alias("_m"),
    ).select(
        "segment",
        "antecedent",
        "consequent",
        bit_subsets("antecedent", "_m").alias("_sub"),
    )
    counts = itemsets.select(
        F.col("segment").alias("_seg"), F.col("items").alias("_items"), F.col("count")
    )
    with_union = subsets.join(
        counts.withColumnRenamed("count", "_sub_count"),
        (F.col("segment") == F.col("_seg"))
        & (F.array_sort(F.concat("_sub", "consequent")) == F.col("_items")),
    ).drop("_seg", "_items")
    with_both = with_union.join(
        counts.withColumnRenamed("count", "_sub_ant_count"),
        (F.col("segment") == F.col("_seg")) & (F.col("_sub") == F.col("_items")),
    ).drop("_seg", "_items")
    # the best sub-rule: the largest _sub_count / _sub_ant_count; max_by on the double
    # ratio picks it, and the counts carry the exact fraction on
    best = with_both.groupBy("segment", "antecedent", "consequent").agg(
        F.max_by(
            F.struct("_sub_count", "_sub_ant_count"),
            F.col("_sub_count") / F.col("_sub_ant_count"),
        ).alias("_best")
    )
    return best.select(
        "segment",
        "antecedent",
        "consequent",
        F.col("_best._sub_count").alias("_sub_count"),
        F.col("_best._sub_ant_count").alias("_sub_ant_count"),
    )


def with_improvement(rules: DataFrame, itemsets: DataFrame, baskets: Column) -> DataFrame:
    """``rules`` plus ``improvement`` (confidence minus the best sub-rule's) and
    ``redundant`` (improvement <= 0, decided on integer cross-products, so equal
    confidences such as 2/4 and 5/10 count as equal). ``baskets``: the segment's baskets."""
    from pyspark.sql import functions as F

    # checked on the itemsets (small, and cached by the job), not on the rules, whose
    # every column a max() here would compute once more
    largest = itemsets.agg(F.max("size")).first()
    check_antecedent_size(largest[0] if largest is not None else None)
    best = best_sub_rules(rules, itemsets)
    joined = rules.join(best, ["segment", "antecedent", "consequent"], "left")
    # the empty antecedent's rule: confidence P(C) = consequent_count / baskets
    empty_better = F.col("count") * baskets <= F.col("consequent_count") * F.col("antecedent_count")
    sub_better = F.col("_sub_count").isNotNull() & (
        F.col("count") * F.col("_sub_ant_count") <= F.col("_sub_count") * F.col("antecedent_count")
    )
    best_confidence = F.greatest(
        F.col("consequent_support"),
        F.coalesce(F.col("_sub_count") / F.col("_sub_ant_count"), F.lit(0.0)),
    )
    # "*" and a drop, not rules.columns: over Spark Connect that is an analysis round trip
    return joined.select(
        "*",
        (F.col("confidence") - best_confidence).alias("improvement"),
        (empty_better | sub_better).alias("redundant"),
    ).drop("_sub_count", "_sub_ant_count")
