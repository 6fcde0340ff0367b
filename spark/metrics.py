"""Rule interest measures: a registry of named functions of Spark columns.

Each metric is ``f(sAC, sA, sC) -> Column`` over the supports of the rule A -> C
(P(A and C), P(A), P(C)), with the same definitions and edge cases as mlxtend's
``association_rules`` so results can be compared one to one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import Column

Metric = Callable[["Column", "Column", "Column"], "Column"]


def confidence(sAC: Column, sA: Column, sC: Column) -> Column:
    return sAC / sA


def lift(sAC: Column, sA: Column, sC: Column) -> Column:
    return confidence(sAC, sA, sC) / sC


def leverage(sAC: Column, sA: Column, sC: Column) -> Column:
    return sAC - sA * sC


def conviction(sAC: Column, sA: Column, sC: Column) -> Column:
    """(1 - P(C)) / (1 - confidence); +inf when confidence is 1."""
    from pyspark.sql import functions as F

    conf = confidence(sAC, sA, sC)
    return F.when(conf < 1.0, (1.0 - sC) / (1.0 - conf)).otherwise(F.lit(float("inf")))


def zhangs_metric(sAC: Column, sA: Column, sC: Column) -> Column:
    """leverage / max(P(AC)(1 - P(A)), P(A)(P(C) - P(AC))); 0 when that is 0."""
    from pyspark.sql import functions as F

    denominator = F.greatest(sAC * (1.0 - sA), sA * (sC - sAC))
    return F.when(denominator == 0, F.lit(0.0)).otherwise(leverage(sAC, sA, sC) / denominator)


def jaccard(sAC: Column, sA: Column, sC: Column) -> Column:
    return sAC / (sA + sC - sAC)


def kulczynski(sAC: Column, sA: Column, sC: Column) -> Column:
    return (sAC / sA + sAC / sC) / 2.0


def certainty(sAC: Column, sA: Column, sC: Column) -> Column:
    """(confidence - P(C)) / (1 - P(C)); 0 when P(C) is 1."""
    from pyspark.sql import functions as F

    denominator = 1.0 - sC
    return F.when(denominator == 0, F.lit(0.0)).otherwise(
        (confidence(sAC, sA, sC) - sC) / denominator
    )


METRICS: dict[str, Metric] = {
    "confidence": confidence,
    "lift": lift,
    "leverage": leverage,
    "conviction": conviction,
    "zhangs_metric": zhangs_metric,
    "jaccard": jaccard,
    "kulczynski": kulczynski,
    "certainty": certainty,
}
