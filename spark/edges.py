"""The item-to-item edges of a run's rules (the ``ITEM_EDGES`` dataset).

Each rule ``A -> C`` gives an edge from every item of ``A`` to every item of ``C``; an
edge keeps how many rules gave it and their largest lift, confidence and support. The
pack's ``rule_edges`` reads these instead of unnesting every rule when no filter is set
(at a million rules the unnest took ~250 ms of DuckDB's time per call).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from basket_core.schemas import ITEM_EDGES

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
    from pyspark.sql import DataFrame


def item_edges(rules: DataFrame) -> DataFrame:
    """The ``ITEM_EDGES`` rows of ``rules`` (the rules as written: the same rows the
    ``rules`` dataset holds)."""
    from pyspark.sql import functions as F

    pairs = rules.select(
        "segment",
        F.explode("antecedent").alias("source"),
        "consequent",
        "lift",
        "confidence",
        "support",
    ).select(
        "segment",
        "source",
        F.explode("consequent").alias("target"),
        "lift",
        "confidence",
        "support",
    )
    return (
        pairs.groupBy("segment", "source", "target")
        .agg(
            F.count(F.lit(1)).alias("rules"),
            F.max("lift").alias("lift"),
            F.max("confidence").alias("confidence"),
            F.max("support").alias("support"),
        )
        .select(*ITEM_EDGES.names)
    )


def item_edges_table(rules: pa.Table) -> pa.Table:
    """:func:`item_edges` of rules held in the driver as Arrow: the same rows, in the
    ``ITEM_EDGES`` columns as declared."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from basket_core.schemas import arrow_schema

    measures = ("lift", "confidence", "support")
    # one row per (rule, antecedent item), then per (that row, consequent item)
    by_source = pc.list_parent_indices(rules["antecedent"])
    sources = rules.take(by_source).append_column("source", pc.list_flatten(rules["antecedent"]))
    by_target = pc.list_parent_indices(sources["consequent"])
    pairs = pa.table(
        {
            "segment": sources["segment"].take(by_target),
            "source": sources["source"].take(by_target),
            "target": pc.list_flatten(sources["consequent"]),
            **{name: sources[name].take(by_target) for name in measures},
        }
    )
    grouped = pairs.group_by(["segment", "source", "target"], use_threads=False).aggregate(
        [("segment", "count"), *((name, "max") for name in measures)]
    )
    columns = {
        "segment": grouped["segment"],
        "source": grouped["source"],
        "target": grouped["target"],
        "rules": grouped["segment_count"],
        **{name: grouped[f"{name}_max"] for name in measures},
    }
    schema = arrow_schema(ITEM_EDGES)
    return pa.table({field.name: columns[field.name] for field in schema}, schema=schema)
