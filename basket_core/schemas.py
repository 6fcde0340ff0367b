"""Every dataset the pipeline writes, defined once.

A schema is a list of :class:`Column` in a small neutral type vocabulary
(``string bigint int double boolean timestamp date array<string>``) that is
turned into a Spark ``StructType`` (:func:`spark_schema`), Athena/Hive DDL
types (:func:`athena_type`) and DuckDB types (:func:`duckdb_type`). Spark, the
Athena DDL generator and the dashboards all read these definitions, so a column
added here shows up everywhere.

Datasets are written as Hive-style partitions ``<name>/dt=YYYY-MM-DD/run_id=<id>/``
(see :mod:`basket_core.layout`); the partition columns are listed in ``PARTITION_COLUMNS``
and are not stored inside the Parquet files.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
    from pyspark.sql.types import DataType, StructType

NEUTRAL_TYPES = (
    "string",
    "bigint",
    "int",
    "double",
    "boolean",
    "timestamp",
    "date",
    "array<string>",
    "map<string,string>",
)


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    doc: str
    nullable: bool = True

    def __post_init__(self) -> None:
        if self.type not in NEUTRAL_TYPES:
            raise ValueError(f"column {self.name}: unknown type {self.type!r}")


@dataclass(frozen=True)
class Dataset:
    name: str
    doc: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def without(self, *names: str) -> Dataset:
        """The same dataset less some columns (e.g. those a later stage adds)."""
        for name in names:
            self.column(name)
        return Dataset(self.name, self.doc, tuple(c for c in self.columns if c.name not in names))

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


PARTITION_COLUMNS: tuple[Column, ...] = (
    Column("dt", "string", "Run date (logical date of the run), YYYY-MM-DD.", False),
    Column("run_id", "string", "Unique id of the mining run.", False),
)

# Cleaned transaction lines: the contract between cleaning (batch and streaming)
# and basket aggregation.
LINES = Dataset(
    "lines",
    "One accepted point-of-sale line item after cleaning.",
    (
        Column("transaction_id", "string", "Invoice / receipt id, trimmed.", False),
        Column("item", "string", "Item key after trimming (and optional normalisation).", False),
        Column("quantity", "double", "Units sold; null when the column is not mapped."),
        Column("price", "double", "Unit price; null when the column is not mapped."),
        Column("ts", "timestamp", "Sale timestamp; null when not mapped."),
        Column("event_date", "date", "Date of ts (partition key of the Delta table)."),
        Column("customer_id", "string", "Customer id; null when not mapped or blank."),
        Column("store_id", "string", "Store id; null when not mapped or blank."),
    ),
)

QUARANTINE = Dataset(
    "quarantine",
    "Every rejected input record with the reason it was rejected.",
    (
        Column(
            "reason",
            "string",
            "Machine-readable rejection reason (see basket_core.reasons).",
            False,
        ),
        Column("field", "string", "The input field that failed the rule, if any."),
        Column("detail", "string", "Human-readable explanation naming the offending value."),
        Column("source", "string", "Where the record came from: file path or topic/partition."),
        Column(
            "source_offset",
            "bigint",
            "Kafka offset, or the row number in a file (null if unknown).",
        ),
        Column("raw", "string", "The original record, as a JSON object of its fields.", False),
    ),
)

ITEMSETS = Dataset(
    "itemsets",
    "Frequent itemsets with their support.",
    (
        Column("segment", "string", "Segment value ('all' for an unsegmented run).", False),
        Column("items", "array<string>", "Items of the set, sorted.", False),
        Column("size", "int", "Number of items.", False),
        Column("count", "bigint", "Number of baskets containing every item.", False),
        Column("support", "double", "count / baskets in the segment.", False),
        Column(
            "closed",
            "boolean",
            "No frequent superset has the same count (null in files written before it).",
        ),
        Column(
            "maximal",
            "boolean",
            "No superset is frequent (within max_size; null in files written before it).",
        ),
    ),
)

ITEMSET_KINDS = ("closed", "maximal")
MINED_ITEMSETS = ITEMSETS.without(*ITEMSET_KINDS)
"""What an FP-growth engine returns; :mod:`spark.itemset_kinds` adds the kind flags."""

RULES = Dataset(
    "rules",
    "Association rules A -> C with interest measures (definitions in spark.metrics).",
    (
        Column("segment", "string", "Segment value ('all' for an unsegmented run).", False),
        Column("antecedent", "array<string>", "Items of A, sorted.", False),
        Column("consequent", "array<string>", "Items of C, sorted.", False),
        Column("antecedent_size", "int", "Number of items in A.", False),
        Column("antecedent_count", "bigint", "Baskets containing A.", False),
        Column("consequent_count", "bigint", "Baskets containing C.", False),
        Column("count", "bigint", "Baskets containing A and C.", False),
        Column("antecedent_support", "double", "P(A).", False),
        Column("consequent_support", "double", "P(C).", False),
        Column("support", "double", "P(A and C).", False),
        Column("confidence", "double", "P(C | A).", False),
        Column("lift", "double", "confidence / P(C).", False),
        Column("leverage", "double", "P(A and C) - P(A) P(C).", False),
        Column("conviction", "double", "(1 - P(C)) / (1 - confidence); +inf when confidence = 1."),
        Column("zhangs_metric", "double", "Zhang's metric, in [-1, 1].", False),
        Column("jaccard", "double", "P(A and C) / P(A or C).", False),
        Column("kulczynski", "double", "(P(C|A) + P(A|C)) / 2.", False),
        Column("certainty", "double", "Certainty factor (confidence - P(C)) / (1 - P(C)).", False),
        # Columns added after the first release are nullable: older runs' files lack them.
        Column("consequent_size", "int", "Number of items in C."),
        Column(
            "chi_squared",
            "double",
            "Pearson's chi-squared statistic of the 2x2 table of A and C (no continuity "
            "correction).",
        ),
        Column("chi_squared_p", "double", "p-value of chi_squared, 1 degree of freedom."),
        Column(
            "fisher_p",
            "double",
            "Fisher's exact test p-value, one-sided (A and C together more often than by "
            "chance), as arules' is.significant uses it.",
        ),
        Column(
            "fisher_p_adjusted",
            "double",
            "fisher_p corrected for the run's number of rules (mining.p_adjust: bonferroni, "
            "holm, fdr or none).",
        ),
        Column(
            "improvement",
            "double",
            "confidence minus the best confidence of any rule with the same consequent and "
            "a proper subset of A (the empty set included, whose confidence is P(C)).",
        ),
        Column(
            "redundant",
            "boolean",
            "improvement <= 0: a more general rule predicts C at least as well (arules' "
            "is.redundant).",
        ),
        Column(
            "rule_key",
            "bigint",
            "The rule's key, the same in every run: the first 60 bits of md5 of its segment "
            "and items (basket_core.rule_key); runs are compared on it.",
        ),
    ),
)

ITEM_EDGES = Dataset(
    "item_edges",
    "The item-to-item edges of the run's rules, per segment: every item of A to every "
    "item of C (the rule network, without unnesting every rule at query time).",
    (
        Column("segment", "string", "Segment value ('all' for an unsegmented run).", False),
        Column("source", "string", "An item of A.", False),
        Column("target", "string", "An item of C.", False),
        Column("rules", "bigint", "Rules with source in A and target in C.", False),
        Column("lift", "double", "The largest lift of those rules.", False),
        Column("confidence", "double", "The largest confidence of those rules.", False),
        Column("support", "double", "The largest support of those rules.", False),
    ),
)

RULE_CHANGES = Dataset(
    "rule_changes",
    "How this run's rules differ from the previous run of the same kind (same segment_by "
    "and basket_by): rules new, gone, strengthened or weakened beyond the thresholds.",
    (
        Column("segment", "string", "Segment value ('all' for an unsegmented run).", False),
        Column("antecedent", "array<string>", "Items of A, sorted.", False),
        Column("consequent", "array<string>", "Items of C, sorted.", False),
        Column("change", "string", "'new', 'gone', 'strengthened' or 'weakened'.", False),
        Column("previous_run_id", "string", "The run compared with.", False),
        Column("previous_dt", "string", "Run date of the run compared with.", False),
        Column("lift_before", "double", "Lift in the previous run (null: new)."),
        Column("lift_after", "double", "Lift in this run (null: gone)."),
        Column("lift_ratio", "double", "lift_after / lift_before."),
        Column("confidence_before", "double", "Confidence in the previous run (null: new)."),
        Column("confidence_after", "double", "Confidence in this run (null: gone)."),
        Column("confidence_delta", "double", "confidence_after - confidence_before."),
        Column(
            "confidence_change_p",
            "double",
            "Two-sided p-value that the confidence did not change (two-proportion z-test "
            "on the counts of both runs).",
        ),
        Column("count_before", "bigint", "Baskets with A and C in the previous run."),
        Column("count_after", "bigint", "Baskets with A and C in this run."),
        Column("fisher_p_adjusted", "double", "The rule's adjusted Fisher p-value in this run."),
    ),
)

RUNS = Dataset(
    "runs",
    "One row per mining run: parameters, counts and timings (the run.json, flattened).",
    (
        Column("started_at", "timestamp", "Run start (UTC).", False),
        Column("finished_at", "timestamp", "Run end (UTC).", False),
        Column("status", "string", "'succeeded' or 'failed'.", False),
        Column("engine", "string", "Mining engine used."),
        Column("input", "string", "Input path(s) or table."),
        Column("segment_by", "string", "Segment column, if the run was segmented."),
        Column("min_support", "double", "Minimum support (fraction of baskets)."),
        Column("min_confidence", "double", "Minimum confidence."),
        Column("input_rows", "bigint", "Rows read."),
        Column("accepted_rows", "bigint", "Rows that passed cleaning."),
        Column("rejected_rows", "bigint", "Rows quarantined."),
        Column("rejected_by_reason", "string", "JSON object reason -> rows."),
        Column(
            "filtered_rows", "bigint", "Accepted rows outside the date window / segment filter."
        ),
        Column("baskets", "bigint", "Baskets mined."),
        Column("distinct_items", "bigint", "Distinct items in the mined baskets."),
        Column("itemsets", "bigint", "Frequent itemsets found."),
        Column("rules", "bigint", "Rules found."),
        Column("params", "string", "All parameters, JSON."),
        Column("timings", "string", "Seconds per stage, JSON."),
        Column("versions", "string", "Library versions, JSON."),
    ),
)

RESULT_DATASETS: tuple[Dataset, ...] = (
    ITEMSETS,
    RULES,
    RULE_CHANGES,
    QUARANTINE,
    RUNS,
    ITEM_EDGES,
)

_SPARK_NAMES = {
    "string": "StringType",
    "bigint": "LongType",
    "int": "IntegerType",
    "double": "DoubleType",
    "boolean": "BooleanType",
    "timestamp": "TimestampType",
    "date": "DateType",
}

_DUCKDB = {
    "string": "VARCHAR",
    "bigint": "BIGINT",
    "int": "INTEGER",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
    "array<string>": "VARCHAR[]",
    "map<string,string>": "MAP(VARCHAR, VARCHAR)",
}


def spark_type(neutral: str) -> DataType:
    from pyspark.sql import types as T

    if neutral == "array<string>":
        return T.ArrayType(T.StringType(), containsNull=False)
    if neutral == "map<string,string>":
        return T.MapType(T.StringType(), T.StringType(), valueContainsNull=True)
    cls: Any = getattr(T, _SPARK_NAMES[neutral])
    return cls()


def spark_schema(dataset: Dataset, *, with_partitions: bool = False) -> StructType:
    """The Spark schema of a dataset (optionally with ``dt``/``run_id``)."""
    from pyspark.sql import types as T

    cols = list(dataset.columns) + (list(PARTITION_COLUMNS) if with_partitions else [])
    return T.StructType([T.StructField(c.name, spark_type(c.type), c.nullable) for c in cols])


def arrow_type(neutral: str) -> pa.DataType:
    """The Arrow type of a neutral type, as Spark writes it to Parquet (timestamps in
    microseconds, UTC)."""
    import pyarrow as pa

    types: dict[str, pa.DataType] = {
        "string": pa.string(),
        "bigint": pa.int64(),
        "int": pa.int32(),
        "double": pa.float64(),
        "boolean": pa.bool_(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "date": pa.date32(),
        "array<string>": pa.list_(pa.string()),
        "map<string,string>": pa.map_(pa.string(), pa.string()),
    }
    return types[neutral]


def arrow_schema(dataset: Dataset) -> pa.Schema:
    """A dataset's columns as an Arrow schema, as :func:`spark_schema` declares them
    (array elements never null), for results built in the driver."""
    import pyarrow as pa

    def field(column: Column) -> pa.Field:
        kind = (
            pa.list_(pa.field("element", pa.string(), nullable=False))
            if column.type == "array<string>"
            else arrow_type(column.type)
        )
        return pa.field(column.name, kind, nullable=column.nullable)

    return pa.schema([field(column) for column in dataset.columns])


def athena_type(neutral: str) -> str:
    """Hive DDL type used by Athena external tables."""
    return neutral  # the neutral vocabulary is Hive's


def duckdb_type(neutral: str) -> str:
    return _DUCKDB[neutral]
