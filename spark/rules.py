"""Association rules from frequent itemsets, computed in Spark (joins, no collect).

A rule ``A -> C`` comes from splitting a frequent itemset ``A ∪ C``. Every subset of a
frequent itemset is frequent, so the supports of A and C (and of every sub-rule, for
:mod:`spark.redundancy`) are found by joining back on the itemsets themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from basket_core import rule_key
from basket_core.schemas import RULES
from spark.bitmasks import bit_subsets
from spark.held import Finish
from spark.metrics import METRICS, SPARK_OPS
from spark.significance import (
    Adjust,
    adjust,
    adjusted_p,
    tails_table,
    with_statistic,
    with_tails,
)

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
    from pyspark.sql import Column, DataFrame

MAX_SPLIT_ITEMS = 20
"""Itemsets larger than this are not split into multi-item consequents (2^20 splits each);
a run with ``max_consequent > 1`` and such itemsets is refused with a clear error."""


@dataclass(frozen=True)
class RuleOptions:
    """How rules are derived and filtered (the ``mining.*`` settings of the same names)."""

    min_confidence: float
    max_consequent: int = 1
    p_adjust: Adjust = "bonferroni"
    max_p: float | None = None
    prune_redundant: bool = False

    def __post_init__(self) -> None:
        if not 0.0 < self.min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be in (0, 1], got {self.min_confidence}")
        if self.max_consequent < 1:
            raise ValueError(f"max_consequent must be >= 1, got {self.max_consequent}")


def splits(itemsets: DataFrame, max_consequent: int) -> DataFrame:
    """Every split of each itemset of 2+ items into a non-empty antecedent and a
    consequent of at most ``max_consequent`` items: (segment, antecedent, consequent,
    count, support). Both sides stay sorted (they are filters of sorted items)."""
    from pyspark.sql import functions as F

    sized = itemsets.where(F.col("size") >= 2).select("segment", "items", "count", "support")
    if max_consequent == 1:
        return sized.select("*", F.explode("items").alias("_c")).select(
            "segment",
            F.array_remove("items", F.col("_c")).alias("antecedent"),
            F.array(F.col("_c")).alias("consequent"),
            "count",
            "support",
        )
    # masks 1 .. 2^k - 2 (both sides non-empty) with at most max_consequent bits set
    masks = F.expr(
        "filter(sequence(1L, shiftleft(1L, size(items)) - 2L), "
        f"m -> bit_count(m) <= {int(max_consequent)})"
    )
    return sized.select("*", F.explode(masks).alias("_m")).select(
        "segment",
        bit_subsets("items", "_m", complement=True).alias("antecedent"),
        bit_subsets("items", "_m").alias("consequent"),
        "count",
        "support",
    )


def check_split_size(largest: int | None) -> None:
    """Refuse to split itemsets of more than :data:`MAX_SPLIT_ITEMS` items in all ways
    (``max_consequent > 1``); ``largest`` is the size of the largest itemset."""
    if (largest or 0) > MAX_SPLIT_ITEMS:
        raise ValueError(
            f"max_consequent > 1 splits every itemset in all ways; the largest itemset "
            f"has {largest} items (limit {MAX_SPLIT_ITEMS}): set mining.max_size"
        )


def derive_rules(
    itemsets: DataFrame,
    *,
    min_confidence: float | None = None,
    options: RuleOptions | None = None,
    baskets: Mapping[str, int] | None = None,
) -> DataFrame:
    """Rules ``A -> C`` (``|C| <= max_consequent``) of every frequent itemset ``A ∪ C``
    with confidence >= ``min_confidence``, with every interest measure, the significance
    tests (:mod:`spark.significance`), improvement (:mod:`spark.redundancy`) and the
    adjusted p-value; the filters of :func:`select_rules` are not applied.

    ``itemsets`` has the ``ITEMSETS`` columns; ``baskets`` is the number of baskets per
    segment (derived from count / support when not given). Returns the ``RULES`` columns,
    all computed in Spark; the job holds :func:`untested_rules` and finishes them with
    :func:`rule_tests` instead, in the driver when they are few.
    """
    if options is None:
        if min_confidence is None:
            raise ValueError("give min_confidence or options")
        options = RuleOptions(min_confidence=min_confidence)
    return adjust_rules(tested_rules(itemsets, options, baskets), options.p_adjust)


BASKETS = "_n"
"""The column of :func:`untested_rules` with the rule's segment's basket count."""


def untested_rules(
    itemsets: DataFrame, options: RuleOptions, baskets: Mapping[str, int] | None = None
) -> DataFrame:
    """:func:`measured_rules` plus ``chi_squared``, the improvement, ``rule_key`` and the
    segment's basket count (:data:`BASKETS`): everything Spark computes without Python.
    :func:`rule_tests` adds the p-values."""
    from pyspark.sql import functions as F

    from spark.redundancy import with_improvement

    n = F.col(BASKETS)
    rules = with_statistic(
        measured_rules(itemsets, options).withColumn(BASKETS, _baskets_column(baskets)), n
    )
    rules = with_improvement(rules, itemsets, n)
    rules = rules.withColumn("rule_key", F.expr(rule_key.spark_sql()))
    return rules.select(*(c for c in RULES.names if c not in P_VALUES), BASKETS)


P_VALUES = ("chi_squared_p", "fisher_p", "fisher_p_adjusted")


def tested_rules(
    itemsets: DataFrame, options: RuleOptions, baskets: Mapping[str, int] | None = None
) -> DataFrame:
    """:func:`measured_rules` plus the tests and improvement: every ``RULES`` column but
    ``fisher_p_adjusted``."""
    return _with_tails(untested_rules(itemsets, options, baskets))


def _with_tails(untested: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    tested = with_tails(untested, F.col(BASKETS))
    return tested.select(*(c for c in RULES.names if c != "fisher_p_adjusted"))


def adjust_rules(tested: DataFrame, method: Adjust) -> DataFrame:
    """The ``RULES`` columns: ``fisher_p_adjusted`` over every rule of ``tested`` (all
    that passed min_confidence, before the filters of :func:`select_rules`, which so
    never change a p-value). Reads ``tested`` twice: persist it first."""
    return adjust(tested, "fisher_p", "fisher_p_adjusted", method).select(*RULES.names)


def adjust_rules_table(tested: pa.Table, method: Adjust) -> pa.Table:
    """:func:`adjust_rules` on rules held in the driver as Arrow (same rows, columns and
    values). As the join on the p-value there, a rule without a p-value is left out."""
    import pyarrow as pa
    import pyarrow.compute as pc

    tested = tested.filter(pc.is_valid(tested["fisher_p"]))
    p = tested["fisher_p"].to_numpy()
    adjusted = pa.array(adjusted_p(p, method), type=pa.float64())
    # declared as Spark declares it (least(1, ...) is never null; "none" copies fisher_p),
    # so the written schema does not depend on where the rules were held
    nullable = method == "none" and tested.schema.field("fisher_p").nullable
    field = pa.field("fisher_p_adjusted", pa.float64(), nullable=nullable)
    return tested.append_column(field, adjusted).select(list(RULES.names))


def rule_tests(method: Adjust) -> Finish:
    """The p-values of :func:`untested_rules` and their correction, as the last step of
    holding the rules (:func:`spark.held.hold`): in the driver when they are held, else
    in Spark (pandas UDFs, then a window for the correction)."""

    def on_table(untested: pa.Table) -> pa.Table:
        return adjust_rules_table(tails_table(untested, BASKETS), method)

    def on_frame(untested: DataFrame) -> DataFrame:
        return adjust_rules(_with_tails(untested), method)

    return Finish(table=on_table, frame=on_frame)


def measured_rules(itemsets: DataFrame, options: RuleOptions) -> DataFrame:
    """The rules with their counts, supports and the :data:`~spark.metrics.METRICS`
    (no tests, no improvement): the part every rule needs."""
    from pyspark.sql import functions as F

    if options.max_consequent > 1:
        largest = itemsets.agg(F.max("size")).first()
        check_split_size(largest[0] if largest is not None else None)
    base = itemsets.select("segment", "items", "count", "support")
    a = base.select(
        F.col("segment").alias("a_segment"),
        F.col("items").alias("a_items"),
        F.col("count").alias("antecedent_count"),
        F.col("support").alias("antecedent_support"),
    )
    c = base.where(F.size("items") <= options.max_consequent).select(
        F.col("segment").alias("c_segment"),
        F.col("items").alias("c_items"),
        F.col("count").alias("consequent_count"),
        F.col("support").alias("consequent_support"),
    )
    joined = (
        splits(itemsets, options.max_consequent)
        .join(
            a, (F.col("segment") == F.col("a_segment")) & (F.col("antecedent") == F.col("a_items"))
        )
        .join(
            c,
            (F.col("segment") == F.col("c_segment")) & (F.col("consequent") == F.col("c_items")),
        )
    )
    sAC, sA, sC = F.col("support"), F.col("antecedent_support"), F.col("consequent_support")
    return joined.select(
        "segment",
        "antecedent",
        "consequent",
        F.size("antecedent").alias("antecedent_size"),
        F.size("consequent").alias("consequent_size"),
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
            else fn(sAC, sA, sC, SPARK_OPS).alias(name)
            for name, fn in METRICS.items()
        ],
    ).where(F.col("confidence") >= options.min_confidence)


def select_rules(rules: DataFrame, options: RuleOptions) -> DataFrame:
    """The rules a run keeps: without the redundant ones (``prune_redundant``) and those
    whose adjusted p-value is above ``max_p``."""
    from pyspark.sql import functions as F

    if options.prune_redundant:
        rules = rules.where(~F.col("redundant"))
    if options.max_p is not None:
        rules = rules.where(F.col("fisher_p_adjusted") <= options.max_p)
    return rules


def select_rules_table(rules: pa.Table, options: RuleOptions) -> pa.Table:
    """:func:`select_rules` on rules held in the driver as Arrow (a rule without an
    adjusted p-value fails ``max_p``, as Spark's comparison with null does)."""
    import pyarrow.compute as pc

    if options.prune_redundant:
        rules = rules.filter(pc.invert(rules["redundant"]))
    if options.max_p is not None:
        rules = rules.filter(pc.less_equal(rules["fisher_p_adjusted"], options.max_p))
    return rules


def _baskets_column(baskets: Mapping[str, int] | None) -> Column:
    """The segment's basket count: from the given map, else count / support rounded
    (support is count / baskets in double precision, so the rounding is exact)."""
    from pyspark.sql import functions as F

    if not baskets:
        return F.round(F.col("count") / F.col("support")).cast("long")
    pairs = [F.lit(x) for seg, total in sorted(baskets.items()) for x in (seg, int(total))]
    return F.element_at(F.create_map(*pairs), F.col("segment")).cast("long")
