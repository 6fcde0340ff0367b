"""The mining job's output side, all under one :class:`~basket_core.layout.RunLayout`:
the ``itemsets``, ``rules`` and ``quarantine`` datasets (Parquet), their single-file CSV
exports, the run's row of the ``runs`` dataset, ``run.json`` and the output's
``_latest.json`` pointer.

Every mine writes a new attempt (:func:`begin_attempt`): its own ``attempt=<id>/`` folder
below each dataset's ``run_id=`` folder, which no reader looks at yet. Only when every
dataset, export and ``run.json`` is written does :func:`write_run` switch the run's
pointer to it (one ``os.replace``), then update ``_latest.json``, then delete the
attempts it superseded beyond the retention. A mine killed anywhere leaves the run as it
was: the old attempt, with its own ``run.json``, stays current.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from basket_core.file_layout import FILE_LAYOUTS
from basket_core.layout import (
    DATASETS,
    EXPORTS,
    LATEST,
    Pointer,
    RunLayout,
    attempt_of,
    latest_order,
    new_attempt_id,
    switch_local,
    write_atomic,
)
from basket_core.schemas import RUNS, spark_schema
from spark.report import RunReport

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession


def begin_attempt(root: str | Path, dt: date, run_id: str) -> RunLayout:
    """The layout of a new attempt of the run: where this mine writes, unseen until
    :func:`write_run` switches to it."""
    return RunLayout(str(root), dt, run_id, new_attempt_id())


def write_results(
    spark: SparkSession,
    layout: RunLayout,
    itemsets: DataFrame,
    rules: DataFrame,
    quarantine: DataFrame,
    changes: DataFrame,
    edges: DataFrame,
) -> None:
    """The result datasets and ``itemsets.csv`` and ``rules.csv`` in the exports, written
    side by side (:func:`run_together`)."""
    from spark.session import default_parallelism  # Connect-safe (no sparkContext)

    n_out = max(1, min(8, default_parallelism(spark)))
    run_together(
        [
            lambda: write_for_reading(itemsets, "itemsets", n_out, layout.dataset("itemsets")),
            lambda: write_for_reading(rules, "rules", n_out, layout.dataset("rules")),
            lambda: write_for_reading(edges, "item_edges", 1, layout.dataset("item_edges")),
            lambda: (
                changes.coalesce(1).write.mode("overwrite").parquet(layout.dataset("rule_changes"))
            ),
            lambda: (
                quarantine.coalesce(n_out)
                .write.mode("overwrite")
                .parquet(layout.dataset("quarantine"))
            ),
            *export_writes(itemsets, rules, layout.exports),
        ]
    )


WRITERS = 8
"""Writes of one run submitted at once: all seven. A run's results are small: each write is
a short job whose time goes mostly to planning it, committing its files and (over Spark
Connect) the round trip, so they overlap well. On a warm 100k-basket mine over Connect
the write stage took ~1.4 s one write after the other, 0.55-0.68 s four at a time and
0.48-0.56 s all seven at once (four runs each, alternated)."""


def run_together(writes: Sequence[Callable[[], object]]) -> None:
    """Run ``writes`` on :data:`WRITERS` threads (Spark runs jobs from several threads of a
    session at once, in process and over Connect); when any fails, the first failure is
    raised once all have ended, so no write is still running when the caller goes on. The
    attempt is not committed then, and no reader sees what was written."""
    if len(writes) <= 1:
        for write in writes:
            write()
        return
    with ThreadPoolExecutor(
        max_workers=min(WRITERS, len(writes)), thread_name_prefix="write"
    ) as pool:
        futures = [pool.submit(write) for write in writes]
        wait(futures)
    for future in futures:
        error = future.exception()
        if error is not None:
            raise error


def write_for_reading(df: DataFrame, name: str, n_out: int, path: str) -> None:
    """A dataset as at most ``n_out`` Parquet files, each sorted by the dataset's
    :data:`~basket_core.file_layout.FILE_LAYOUTS` keys and cut into row groups of at most
    its ``row_group_rows`` rows, so readers skip row groups on their min/max statistics.
    Sorting within each file needs no shuffle and no sampling job (the files' key ranges
    overlap; each file's row groups do not)."""
    from pyspark.sql import functions as F

    out = df.coalesce(n_out)
    layout = FILE_LAYOUTS.get(name)
    writer = out.write.mode("overwrite")
    if layout is not None:
        keys = [F.col(k.column).desc() if k.descending else F.col(k.column) for k in layout.sort_by]
        writer = out.sortWithinPartitions(*keys).write.mode("overwrite")
        writer = writer.option("parquet.block.row.count.limit", str(layout.row_group_rows))
    writer.parquet(path)


def export_writes(itemsets: DataFrame, rules: DataFrame, exports: str) -> list[Callable[[], None]]:
    """The writes of itemsets by support and rules by lift as CSV exports (item lists as
    JSON arrays), for :func:`run_together`."""
    from pyspark.sql import functions as F

    # one file: sorted in the one task that writes it, not range-partitioned first (a
    # sampling job and a shuffle for a few thousand rows)
    by_support = (
        itemsets.coalesce(1)
        .sortWithinPartitions(F.desc("support"), "size", F.col("items").cast("string"))
        .withColumn("items", F.to_json("items"))
    )
    by_lift = (
        rules.coalesce(1)
        .sortWithinPartitions(
            F.desc("lift"), F.desc("confidence"), F.col("antecedent").cast("string")
        )
        .withColumn("antecedent", F.to_json("antecedent"))
        .withColumn("consequent", F.to_json("consequent"))
    )
    return [
        lambda: single_csv(by_support, f"{exports}/itemsets.csv"),
        lambda: single_csv(by_lift, f"{exports}/rules.csv"),
    ]


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
    retain: int = 1,
) -> None:
    """The ``runs`` row, then ``run.json``, then the switch to this attempt, then
    ``_latest.json`` (each step only once the ones before are on disk), then the
    superseded attempts beyond ``retain`` are deleted."""
    row = runs_row(report, input_label=input_label, segment_by=segment_by)
    spark.createDataFrame([tuple(row[c] for c in RUNS.names)], spark_schema(RUNS)).coalesce(
        1
    ).write.mode("overwrite").parquet(layout.dataset("runs"))
    report.write(Path(layout.exports) / "run.json")
    commit_attempt(layout, report.finished_at, retain=retain)


def commit_attempt(layout: RunLayout, finished_at: datetime, *, retain: int = 1) -> None:
    """Make a fully written attempt the run's current one: the pointer switch (readers
    move to it at once), then ``_latest.json``, then the superseded attempts beyond
    ``retain`` are deleted. Call it only once every file of the attempt is on disk."""
    pointer = switch_local(layout) if layout.attempt else None
    write_latest(layout, finished_at)
    if pointer is not None:
        prune_attempts(layout, pointer, retain)


def latest_decision(current: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    """True when ``new`` should be named by ``_latest.json``: no run is named yet, it is
    the run already named (re-mined), or it is newer by :func:`latest_order`."""
    if current is None or current.get("run_id") == new["run_id"]:
        return True
    return latest_order(new["dt"], new["finished_at"]) >= latest_order(
        str(current.get("dt") or ""), current.get("finished_at")
    )


def write_latest(layout: RunLayout, finished_at: datetime) -> bool:
    """Name this run in ``_latest.json`` unless a newer run is named (a backfill of an old
    day never takes over); written atomically. True if written."""
    latest = {
        "run_id": layout.run_id,
        "dt": layout.dt.isoformat(),
        "finished_at": finished_at.isoformat(),
    }
    path = Path(layout.root) / LATEST
    try:
        current = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except ValueError:
        current = None  # a torn file from before writes were atomic: replace it
    if not latest_decision(current, latest):
        return False
    write_atomic(path, (json.dumps(latest, indent=2) + "\n").encode())
    return True


def prune_attempts(layout: RunLayout, pointer: Pointer, retain: int) -> list[Path]:
    """Delete the run's attempts the pointer no longer needs (current and ``retain``
    superseded ones kept), including files written before attempts existed; the paths."""
    keep = pointer.keep(retain)
    removed: list[Path] = []
    for name in (*DATASETS, EXPORTS):
        run_dir = Path(layout.run_dir(name))
        if not run_dir.is_dir():
            continue
        for entry in sorted(run_dir.iterdir()):
            rel = entry.name + ("/x" if entry.is_dir() else "")
            if attempt_of(rel) in keep:
                continue
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed
