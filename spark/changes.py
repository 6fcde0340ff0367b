"""What changed since the previous run: rules new, gone, strengthened or weakened.

:func:`compared_rules` compares two runs' rules (a full outer join on segment, antecedent
and consequent) and keeps the rules that changed beyond the thresholds, with a two-sided
two-proportion z-test of the confidence change (are ``count / antecedent_count`` of the
two runs different samples of one rate?). The previous run is found by
:mod:`spark.history`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from basket_core.schemas import RULE_CHANGES, spark_schema
from spark.held import Finish
from spark.significance import normal_two_sided

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
    from pyspark.sql import Column, DataFrame, SparkSession

KEYS = ["segment", "antecedent", "consequent"]


@dataclass(frozen=True)
class ChangeThresholds:
    """A rule is strengthened when its lift grew by ``lift_ratio`` times or more, or its
    confidence by ``confidence_delta`` or more (weakened: the other way). When lift and
    confidence disagree, lift decides."""

    lift_ratio: float = 1.25
    confidence_delta: float = 0.1

    def __post_init__(self) -> None:
        if self.lift_ratio <= 1.0:
            raise ValueError(f"lift_ratio must be > 1, got {self.lift_ratio}")
        if not 0.0 < self.confidence_delta <= 1.0:
            raise ValueError(f"confidence_delta must be in (0, 1], got {self.confidence_delta}")


Z = "_z"
"""The column of :func:`compared_rules` with the z statistic of the confidence change."""


def confidence_change_z(
    count_a: Column, total_a: Column, count_b: Column, total_b: Column
) -> Column:
    """The z statistic of a two-proportion test of ``count_a / total_a`` against
    ``count_b / total_b``; 0 (a p-value of exactly 1) when the pooled rate is 0 or 1 and
    nothing can differ."""
    from pyspark.sql import functions as F

    pooled = (count_a + count_b) / (total_a + total_b)
    se = F.sqrt(pooled * (1.0 - pooled) * (1.0 / total_a + 1.0 / total_b))
    # guarded: a division by zero fails the query under ANSI mode
    return F.when(se > 0, (count_b / total_b - count_a / total_a) / se).otherwise(F.lit(0.0))


def change_tests() -> Finish:
    """``confidence_change_p`` from :data:`Z` (two-sided normal tail, null where ``Z`` is:
    a rule new or gone), as the last step of holding the changes
    (:func:`spark.held.hold`): in the driver when they are held, else in a pandas UDF."""

    def on_table(compared: pa.Table) -> pa.Table:
        import pyarrow as pa
        import pyarrow.compute as pc

        z = compared[Z]
        tail = normal_two_sided(pd.Series(z.to_numpy(zero_copy_only=False)))
        p = pa.array(
            tail.to_numpy(), type=pa.float64(), mask=pc.is_null(z).to_numpy(zero_copy_only=False)
        )
        return compared.append_column("confidence_change_p", p).select(list(RULE_CHANGES.names))

    def on_frame(compared: DataFrame) -> DataFrame:
        from pyspark.sql import functions as F
        from pyspark.sql.functions import pandas_udf

        tail = pandas_udf(normal_two_sided, "double")  # type: ignore[call-overload]
        p = F.when(F.col(Z).isNotNull(), tail(F.col(Z))).alias("confidence_change_p")
        return compared.select("*", p).select(*RULE_CHANGES.names)

    return Finish(table=on_table, frame=on_frame)


def compared_rules(
    current: DataFrame,
    previous: DataFrame,
    *,
    previous_run_id: str,
    previous_dt: str,
    thresholds: ChangeThresholds,
) -> DataFrame:
    """The ``RULE_CHANGES`` rows of ``current`` against ``previous`` (both with the
    ``RULES`` key, lift, confidence, count and antecedent_count columns), with the z
    statistic (:data:`Z`) in place of ``confidence_change_p``: :func:`change_tests` turns
    it into the p-value."""
    from pyspark.sql import functions as F

    def side(df: DataFrame, suffix: str) -> DataFrame:
        return df.select(
            *KEYS,
            F.col("lift").alias(f"lift_{suffix}"),
            F.col("confidence").alias(f"confidence_{suffix}"),
            F.col("count").alias(f"count_{suffix}"),
            F.col("antecedent_count").alias(f"antecedent_count_{suffix}"),
            *([F.col("fisher_p_adjusted")] if suffix == "after" else []),
        )

    joined = side(previous, "before").join(side(current, "after"), KEYS, "full")
    before, after = F.col("lift_before"), F.col("lift_after")
    delta = F.col("confidence_after") - F.col("confidence_before")
    r, d = thresholds.lift_ratio, thresholds.confidence_delta
    change = (
        F.when(before.isNull(), "new")
        .when(after.isNull(), "gone")
        .when(after >= before * r, "strengthened")
        .when(after <= before / r, "weakened")
        .when(delta >= d, "strengthened")
        .when(delta <= -d, "weakened")
    )
    out = joined.select(
        *KEYS,
        change.alias("change"),
        F.lit(previous_run_id).alias("previous_run_id"),
        F.lit(previous_dt).alias("previous_dt"),
        "lift_before",
        "lift_after",
        (after / before).alias("lift_ratio"),
        "confidence_before",
        "confidence_after",
        delta.alias("confidence_delta"),
        F.when(
            before.isNotNull() & after.isNotNull(),
            confidence_change_z(
                F.col("count_before"),
                F.col("antecedent_count_before"),
                F.col("count_after"),
                F.col("antecedent_count_after"),
            ),
        ).alias(Z),
        "count_before",
        "count_after",
        "fisher_p_adjusted",
    ).where(F.col("change").isNotNull())
    return out.select(*(c for c in RULE_CHANGES.names if c != "confidence_change_p"), Z)


def no_changes(spark: SparkSession) -> DataFrame:
    """The empty ``rule_changes`` of a run with no previous run to compare with."""
    return spark.createDataFrame([], spark_schema(RULE_CHANGES))
