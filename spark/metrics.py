"""Rule interest measures: a registry of named functions, one definition for two places.

Each metric is ``f(sAC, sA, sC, ops)`` over the supports of the rule A -> C (P(A and C),
P(A), P(C)), with the same definitions and edge cases as mlxtend's
``association_rules`` so results can be compared one to one. The supports are Spark
columns (:data:`SPARK_OPS`) when the cluster derives the rules, or numpy arrays
(:data:`NUMPY_OPS`) when the driver does (:mod:`spark.rules_table`): the same operations
in the same order, so the same doubles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Values = Any
"""A Spark ``Column`` or a numpy array of doubles."""


@dataclass(frozen=True)
class Ops:
    """The two operations the measures need beyond arithmetic and comparison."""

    where: Callable[[Values, Values, Values], Values]
    """``where(condition, then, otherwise)``, element-wise."""
    greatest: Callable[[Values, Values], Values]


def _spark_where(condition: Values, then: Values, otherwise: Values) -> Values:
    from pyspark.sql import functions as F

    return F.when(condition, _spark_value(then)).otherwise(_spark_value(otherwise))


def _spark_value(value: Values) -> Values:
    from pyspark.sql import functions as F

    return F.lit(value) if isinstance(value, float | int) else value


def _spark_greatest(a: Values, b: Values) -> Values:
    from pyspark.sql import functions as F

    return F.greatest(a, b)


def _numpy_where(condition: Values, then: Values, otherwise: Values) -> Values:
    import numpy as np

    return np.where(condition, then, otherwise)


def _numpy_greatest(a: Values, b: Values) -> Values:
    import numpy as np

    return np.maximum(a, b)


SPARK_OPS = Ops(where=_spark_where, greatest=_spark_greatest)
NUMPY_OPS = Ops(where=_numpy_where, greatest=_numpy_greatest)
"""numpy evaluates both sides of ``where``: callers silence its division warnings
(``numpy.errstate``); the side that divides by zero is never the one kept."""

Metric = Callable[[Values, Values, Values, Ops], Values]


def confidence(sAC: Values, sA: Values, sC: Values, ops: Ops) -> Values:
    return sAC / sA


def lift(sAC: Values, sA: Values, sC: Values, ops: Ops) -> Values:
    return confidence(sAC, sA, sC, ops) / sC


def leverage(sAC: Values, sA: Values, sC: Values, ops: Ops) -> Values:
    return sAC - sA * sC


def conviction(sAC: Values, sA: Values, sC: Values, ops: Ops) -> Values:
    """(1 - P(C)) / (1 - confidence); +inf when confidence is 1."""
    conf = confidence(sAC, sA, sC, ops)
    return ops.where(conf < 1.0, (1.0 - sC) / (1.0 - conf), float("inf"))


def zhangs_metric(sAC: Values, sA: Values, sC: Values, ops: Ops) -> Values:
    """leverage / max(P(AC)(1 - P(A)), P(A)(P(C) - P(AC))); 0 when that is 0."""
    denominator = ops.greatest(sAC * (1.0 - sA), sA * (sC - sAC))
    return ops.where(denominator == 0, 0.0, leverage(sAC, sA, sC, ops) / denominator)


def jaccard(sAC: Values, sA: Values, sC: Values, ops: Ops) -> Values:
    return sAC / (sA + sC - sAC)


def kulczynski(sAC: Values, sA: Values, sC: Values, ops: Ops) -> Values:
    return (sAC / sA + sAC / sC) / 2.0


def certainty(sAC: Values, sA: Values, sC: Values, ops: Ops) -> Values:
    """(confidence - P(C)) / (1 - P(C)); 0 when P(C) is 1."""
    denominator = 1.0 - sC
    return ops.where(denominator == 0, 0.0, (confidence(sAC, sA, sC, ops) - sC) / denominator)


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
