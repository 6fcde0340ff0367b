"""Association rules from frequent itemsets, computed in Spark (joins, no collect)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from basket_core.schemas import RULES
from spark.metrics import METRICS

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame


def derive_rules(itemsets: DataFrame, *, min_confidence: float) -> DataFrame:
    """Single-consequent rules ``A -> c`` for every frequent itemset ``A ∪ {c}``.

    ``itemsets`` has the ``ITEMSETS`` columns (segment, items sorted, size, count,
    support). Every subset of a frequent itemset is frequent, so the antecedent's and
    consequent's supports are found by joining back on the itemsets themselves.
    Returns the ``RULES`` columns, rules with confidence >= ``min_confidence``.
    """
    from pyspark.sql import functions as F

    if not 0.0 < min_confidence <= 1.0:
        raise ValueError(f"min_confidence must be in (0, 1], got {min_confidence}")
    base = itemsets.select("segment", "items", "count", "support")
    candidates = (
        itemsets.where(F.col("size") >= 2)
        .select("segment", "items", "count", "support", F.explode("items").alias("_c"))
        .select(
            "segment",
            F.array_remove("items", F.col("_c")).alias("antecedent"),
            F.array(F.col("_c")).alias("consequent"),
            "count",
            "support",
        )
    )
    a = base.select(
        F.col("segment").alias("a_segment"),
        F.col("items").alias("a_items"),
        F.col("count").alias("antecedent_count"),
        F.col("support").alias("antecedent_support"),
    )
    c = base.where(F.size("items") == 1).select(
        F.col("segment").alias("c_segment"),
        F.col("items").alias("c_items"),
        F.col("count").alias("consequent_count"),
        F.col("support").alias("consequent_support"),
    )
    joined = candidates.join(
        a, (F.col("segment") == F.col("a_segment")) & (F.col("antecedent") == F.col("a_items"))
    ).join(c, (F.col("segment") == F.col("c_segment")) & (F.col("consequent") == F.col("c_items")))
    sAC, sA, sC = F.col("support"), F.col("antecedent_support"), F.col("consequent_support")
    rules = joined.select(
        "segment",
        "antecedent",
        "consequent",
        F.size("antecedent").alias("antecedent_size"),
        "antecedent_count",
        "consequent_count",
        "count",
        "antecedent_support",
        "consequent_support",
        "support",
        *[
            # confidence from the integer counts: exact at the threshold (30/150 is 0.2,
            # while 0.01/0.05 is 0.19999999999999998)
            (F.col("count") / F.col("antecedent_count")).alias(name)
            if name == "confidence"
            else fn(sAC, sA, sC).alias(name)
            for name, fn in METRICS.items()
        ],
    ).where(F.col("confidence") >= min_confidence)
    return rules.select(*RULES.names)
