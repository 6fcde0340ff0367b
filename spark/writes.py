"""The mining job's output side, all under one :class:`~basket_core.layout.RunLayout`:
the ``itemsets``, ``rules`` and ``quarantine`` datasets (Parquet), their single-file CSV
exports, the run's row of the ``runs`` dataset, ``run.json`` and the output's
``_latest.json`` pointer.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from basket_core.layout import RunLayout
from basket_core.schemas import RUNS, spark_schema
from spark.report import RunReport

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession


def write_results(
    spark: SparkSession,
    layout: RunLayout,
    itemsets: DataFrame,
    rules: DataFrame,
    quarantine: DataFrame,
) -> None:
    """The three result datasets, then ``itemsets.csv`` and ``rules.csv`` in the exports."""
    n_out = max(1, min(8, spark.sparkContext.defaultParallelism))
    itemsets.coalesce(n_out).write.mode("overwrite").parquet(layout.dataset("itemsets"))
    rules.coalesce(n_out).write.mode("overwrite").parquet(layout.dataset("rules"))
    quarantine.coalesce(n_out).write.mode("overwrite").parquet(layout.dataset("quarantine"))
    write_exports(itemsets, rules, layout.exports)


def write_exports(itemsets: DataFrame, rules: DataFrame, exports: str) -> None:
    """Itemsets by support and rules by lift as CSV, item lists as JSON arrays."""
    from pyspark.sql import functions as F

    single_csv(
        itemsets.orderBy(F.desc("support"), "size", F.col("items").cast("string")).withColumn(
            "items", F.to_json("items")
        ),
        f"{exports}/itemsets.csv",
    )
    single_csv(
        rules.orderBy(F.desc("lift"), F.desc("confidence"), F.col("antecedent").cast("string"))
        .withColumn("antecedent", F.to_json("antecedent"))
        .withColumn("consequent", F.to_json("consequent")),
        f"{exports}/rules.csv",
    )


def single_csv(df: DataFrame, target: str) -> None:
    """Write one CSV file with a header (RFC 4180 quoting) at a local path."""
    out = Path(target)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".csv-", dir=out.parent))
    try:
        (
            df.coalesce(1)
            .write.mode("overwrite")
            .option("header", True)
            .option("escape", '"')
            .option("quoteAll", False)
            .csv(str(tmp / "data"))
        )
        parts = sorted((tmp / "data").glob("part-*.csv"))
        if not parts:  # empty result: header only
            out.write_text(",".join(df.columns) + "\n", encoding="utf-8")
        else:
            shutil.move(str(parts[0]), out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def runs_row(report: RunReport, *, input_label: str, segment_by: str | None) -> dict[str, Any]:
    """The run's row of the ``runs`` dataset (``RUNS`` columns; maps as JSON strings)."""
    counts, mining = report.counts, report.params["mining"]
    return {
        "started_at": report.started_at,
        "finished_at": report.finished_at,
        "status": report.status,
        "engine": report.engine,
        "input": input_label,
        "segment_by": segment_by,
        "min_support": mining["min_support"],
        "min_confidence": mining["min_confidence"],
        "input_rows": counts.input_rows,
        "accepted_rows": counts.accepted_rows,
        "rejected_rows": counts.rejected_rows,
        "rejected_by_reason": json.dumps(counts.rejected_by_reason),
        "filtered_rows": counts.filtered_rows,
        "baskets": counts.baskets,
        "distinct_items": counts.distinct_items,
        "itemsets": counts.itemsets,
        "rules": counts.rules,
        "params": json.dumps(report.params, default=str),
        "timings": json.dumps(report.timings),
        "versions": json.dumps(report.versions),
    }


def write_run(
    spark: SparkSession,
    layout: RunLayout,
    report: RunReport,
    *,
    input_label: str,
    segment_by: str | None,
) -> None:
    """The ``runs`` row, then ``run.json``, then ``_latest.json`` (written last: it points
    at a run whose outputs are all there)."""
    row = runs_row(report, input_label=input_label, segment_by=segment_by)
    spark.createDataFrame([tuple(row[c] for c in RUNS.names)], spark_schema(RUNS)).coalesce(
        1
    ).write.mode("overwrite").parquet(layout.dataset("runs"))
    report.write(Path(layout.exports) / "run.json")
    write_latest(layout, report)


def write_latest(layout: RunLayout, report: RunReport) -> None:
    latest = {
        "run_id": layout.run_id,
        "dt": layout.dt.isoformat(),
        "finished_at": report.finished_at.isoformat(),
    }
    Path(layout.latest).write_text(json.dumps(latest, indent=2) + "\n")
