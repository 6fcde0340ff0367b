"""The batch mining job: load -> clean -> baskets -> FP-Growth -> rules -> write.

:func:`run_mine` is what ``basket mine``, the demo and the DAGs call. It reads a
typed :class:`MineRequest` plus :class:`~basket_core.config.Settings`, writes the run's
datasets in :mod:`basket_core.layout` and returns the run report (also ``run.json``).
"""

from __future__ import annotations

import json
import platform
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from basket_core import __version__
from basket_core.config import Settings
from basket_core.layout import RunLayout, new_run_id
from basket_core.progress import Progress
from basket_core.schemas import RUNS, spark_schema
from spark import baskets as B
from spark.clean import REASON, clean_lines
from spark.engine import mine_itemsets
from spark.fpgrowth import min_count
from spark.items import count_items
from spark.load import (
    InputError,
    LongInput,
    first_line,
    inspect_long,
    is_remote,
    read_basket_lines,
    read_long,
    resolve_paths,
)
from spark.rules import derive_rules

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession


@dataclass(frozen=True)
class MineRequest:
    """What to mine, beyond the thresholds and mappings in Settings."""

    inputs: tuple[str, ...] = ()
    table: str | None = None
    run_id: str | None = None
    run_date: date | None = None
    start_date: date | None = None
    end_date: date | None = None
    where: str | None = None
    segment_by: str | None = None
    item_map: Path | None = None

    def __post_init__(self) -> None:
        if bool(self.inputs) == bool(self.table):
            raise InputError("give either input files (--input) or a Delta table (--table)")


@dataclass
class Counts:
    input_rows: int = 0
    accepted_rows: int = 0
    rejected_rows: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    filtered_rows: int = 0
    baskets: int = 0
    distinct_items: int = 0
    segments: int = 0
    itemsets: int = 0
    rules: int = 0


def versions() -> dict[str, str]:
    import pyspark

    out = {
        "basket": __version__,
        "python": platform.python_version(),
        "pyspark": pyspark.__version__,
    }
    try:
        from importlib.metadata import version

        out["delta-spark"] = version("delta-spark")
    except Exception:  # pragma: no cover - delta is a hard dependency
        pass
    return out


def run_mine(
    settings: Settings,
    request: MineRequest,
    *,
    spark: SparkSession | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Mine one run and write its results; returns the run report."""
    progress = progress or Progress()
    started = datetime.now(UTC)
    run_id = request.run_id or new_run_id(started)
    layout = RunLayout(str(settings.paths.output_dir), request.run_date or started.date(), run_id)
    mining = settings.mining
    counts = Counts()
    t0 = time.perf_counter()

    # Check what can be checked before paying for a JVM.
    inspected = preflight(settings, request)

    if spark is None:
        from spark.session import get_spark

        with progress.stage("spark_start", "Started Spark") as st:
            spark = get_spark(settings)
            st.done(f"{spark.sparkContext.master}, Spark {spark.version}")
    else:
        progress.timings["spark_start_s"] = 0.0

    cached: list[DataFrame] = []
    try:
        with progress.stage("load", "Read and cleaned input") as st:
            lines, baskets, quarantine, classified = _load_clean(
                spark, settings, request, counts, cached, inspected
            )
            st.done(
                f"{counts.input_rows:,} rows, {counts.accepted_rows:,} accepted, "
                f"{counts.rejected_rows:,} quarantined"
                + (
                    " ("
                    + ", ".join(f"{k} {v:,}" for k, v in counts.rejected_by_reason.items())
                    + ")"
                    if counts.rejected_by_reason
                    else ""
                )
            )
            if counts.input_rows == 0:
                raise InputError(f"no rows in {_describe_input(request)}")
            if counts.accepted_rows == 0:
                raise InputError(
                    f"all {counts.input_rows:,} rows of {_describe_input(request)} were rejected "
                    f"({_reason_summary(counts)}); check the column mapping and cleaning options"
                )

        with progress.stage("baskets", "Built baskets") as st:
            if baskets is None:
                assert lines is not None
                baskets = _lines_to_baskets(spark, settings, request, lines, counts)
                # grouped from lines (a shuffle): keep; from basket-format input they are
                # a projection of the cached classified lines, so caching them twice costs
                baskets = baskets.persist()
                cached.append(baskets)
            item_counts = count_items(baskets, mining.min_support)
            per_segment = item_counts.baskets
            counts.baskets = sum(per_segment.values())
            counts.distinct_items = item_counts.distinct_items
            if counts.baskets == 0:
                raise InputError(
                    "no baskets left after the date window / --where filter "
                    f"({counts.filtered_rows:,} accepted rows filtered out)"
                )
            segments = sorted(per_segment, key=lambda s: (-per_segment[s], s))
            if len(segments) > mining.max_segments:
                progress_skipped = segments[mining.max_segments :]
                segments = segments[: mining.max_segments]
            else:
                progress_skipped = []
            counts.segments = len(segments)
            st.done(
                f"{counts.baskets:,} baskets, {counts.distinct_items:,} distinct items"
                + (f", {len(segments)} segments" if request.segment_by else "")
                + (f" ({len(progress_skipped)} small segments skipped)" if progress_skipped else "")
            )

        with progress.stage("mine", "Mined frequent itemsets (FP-Growth)") as st:
            mined = mine_itemsets(
                baskets, {seg: per_segment[seg] for seg in segments}, mining, item_counts
            )
            t_mine = time.perf_counter()
            itemsets = mined.itemsets.persist()
            cached.append(itemsets)
            counts.itemsets = itemsets.count()
            progress.timings.update(mined.timings)
            progress.timings["mine_fpgrowth_s"] = round(time.perf_counter() - t_mine, 3)
            engine = mined.engine
            engine_details = mined.details
            st.done(
                f"{counts.itemsets:,} itemsets at min support {mining.min_support} "
                f"(>= {min_count(mining.min_support, counts.baskets):,} baskets), "
                f"engine {_describe_engine(mined.engine, mined.details)}"
            )

        with progress.stage("rules", "Derived association rules") as st:
            rules = derive_rules(itemsets, min_confidence=mining.min_confidence).persist()
            cached.append(rules)
            counts.rules = rules.count()
            st.done(f"{counts.rules:,} rules at min confidence {mining.min_confidence}")

        with progress.stage("write", "Wrote results") as st:
            _write_results(spark, layout, itemsets, rules, quarantine)
            st.done(f"{layout.root} ({layout.partition})")
        del classified
    finally:
        for df in cached:
            df.unpersist()

    finished = datetime.now(UTC)
    progress.timings["total_s"] = round(time.perf_counter() - t0, 3)
    report: dict[str, Any] = {
        "run_id": run_id,
        "dt": layout.dt.isoformat(),
        "status": "succeeded",
        "engine": engine,
        "engine_details": engine_details,
        "started_at": started.isoformat(),
        "finished_at": finished.isoformat(),
        "input": {
            "paths": list(request.inputs),
            "table": request.table,
            "format": "delta" if request.table else settings.input.format,
        },
        "params": {
            "mining": settings.mining.model_dump(),
            "cleaning": settings.cleaning.model_dump(),
            "columns": settings.columns.model_dump(),
            "input": settings.input.model_dump(),
            "request": _jsonable(asdict(request)),
        },
        "counts": asdict(counts),
        "timings": dict(progress.timings),
        "versions": versions(),
        "outputs": {
            name: layout.dataset(name) for name in ("itemsets", "rules", "quarantine", "runs")
        }
        | {"exports": layout.exports},
    }
    _write_report(spark, layout, report, request)
    return report


def preflight(settings: Settings, request: MineRequest) -> LongInput | None:
    """Validate inputs and options without Spark: missing/empty files, header and
    column mapping, delimiter, date window. Raises :class:`InputError`."""
    B.check_window(
        request.start_date,
        request.end_date,
        settings.columns.timestamp is not None or bool(request.table),
    )
    if request.item_map is not None and not request.item_map.is_file():
        raise InputError(f"item map not found: {request.item_map}")
    if request.table:
        if not is_remote(request.table) and not (Path(request.table) / "_delta_log").is_dir():
            raise InputError(f"not a Delta table (no _delta_log): {request.table}")
        return None
    if settings.input.format == "long":
        return inspect_long(request.inputs, settings.input, settings.columns)
    for p in resolve_paths(request.inputs):
        if not is_remote(p) and first_line(p, settings.input.encoding) is None:
            raise InputError(f"input file is empty: {p}")
    return None


def _load_clean(
    spark: SparkSession,
    settings: Settings,
    request: MineRequest,
    counts: Counts,
    cached: list[DataFrame],
    inspected: LongInput | None,
) -> tuple[DataFrame | None, DataFrame | None, DataFrame, DataFrame | None]:
    """Returns ``(lines, baskets, quarantine, classified)``; exactly one of lines/baskets."""
    from pyspark.sql import functions as F

    if request.table:
        lines = _read_table(spark, request.table).persist()
        cached.append(lines)
        counts.input_rows = counts.accepted_rows = lines.count()
        lines = with_attribute_columns(lines)
        empty = spark.createDataFrame([], spark_schema(_quarantine_ds()))
        return lines, None, empty, None
    if settings.input.format == "basket":
        raw, _ = read_basket_lines(spark, request.inputs, settings.input)
        classified, baskets, quarantine = B.parse_basket_lines(
            raw, sep=settings.input.basket_sep, cleaning=settings.cleaning
        )
        classified = classified.persist()
        cached.append(classified)
        _count_reasons(classified, counts)
        return None, baskets, quarantine, classified
    raw_lines = read_long(spark, request.inputs, settings.input, settings.columns, inspected)
    classified, cleaned = clean_lines(
        raw_lines.df,
        data_columns=raw_lines.data_columns,
        columns=settings.columns,
        cleaning=settings.cleaning,
        timestamp_formats=settings.input.timestamp_formats,
    )
    classified = classified.persist()
    cached.append(classified)
    _count_reasons(classified, counts)
    del F
    return cleaned.accepted, None, cleaned.rejected, classified


def _quarantine_ds() -> Any:
    from basket_core.schemas import QUARANTINE

    return QUARANTINE


def _count_reasons(classified: DataFrame, counts: Counts) -> None:
    by_reason = {r[0]: int(r[1]) for r in classified.groupBy(REASON).count().collect()}
    counts.accepted_rows = by_reason.pop(None, 0)
    counts.rejected_by_reason = dict(sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0])))
    counts.rejected_rows = sum(by_reason.values())
    counts.input_rows = counts.accepted_rows + counts.rejected_rows


def _read_table(spark: SparkSession, path: str) -> DataFrame:
    from pyspark.errors import AnalysisException

    from basket_core.schemas import LINES

    try:
        df = spark.read.format("delta").load(path)
    except AnalysisException as exc:
        raise InputError(f"cannot read Delta table {path}: {str(exc).splitlines()[0]}") from exc
    missing = [c for c in LINES.names if c not in df.columns]
    if missing:
        raise InputError(f"Delta table {path} lacks column(s) {', '.join(missing)}")
    return df


ATTRIBUTES = "attributes"


def with_attribute_columns(lines: DataFrame) -> DataFrame:
    """The ingest table's ``attributes`` map back as columns (``Country``...), as a CSV
    input's extra columns are: ``--segment-by`` and ``--where`` work the same on both.
    A key named like an existing column is left in the map (the column wins)."""
    from pyspark.sql import functions as F

    if ATTRIBUTES not in lines.columns:
        return lines
    taken = {c.lower() for c in lines.columns}
    found = lines.select(F.explode(F.map_keys(ATTRIBUTES)).alias("k")).distinct().collect()
    keys = sorted(r["k"] for r in found if r["k"].lower() not in taken)
    return lines.select(
        *[c for c in lines.columns if c != ATTRIBUTES],
        *[F.col(ATTRIBUTES).getItem(k).alias(k) for k in keys],
    )


def _lines_to_baskets(
    spark: SparkSession,
    settings: Settings,
    request: MineRequest,
    lines: DataFrame,
    counts: Counts,
) -> DataFrame:
    B.check_window(
        request.start_date,
        request.end_date,
        settings.columns.timestamp is not None or bool(request.table),
    )
    kept = B.apply_window(lines, request.start_date, request.end_date)
    kept = B.apply_where(kept, request.where)
    if settings.mining.basket_by == "customer-day":
        kept = B.customer_day_ready(kept)
    if request.item_map is not None:
        kept = B.map_items(kept, B.read_item_map(spark, request.item_map))
    if (
        request.start_date
        or request.end_date
        or request.where
        or settings.mining.basket_by != "transaction"
    ):
        counts.filtered_rows = counts.accepted_rows - kept.count()
    return B.to_baskets(kept, basket_by=settings.mining.basket_by, segment_by=request.segment_by)


def _write_results(
    spark: SparkSession,
    layout: RunLayout,
    itemsets: DataFrame,
    rules: DataFrame,
    quarantine: DataFrame,
) -> None:
    from pyspark.sql import functions as F

    n_out = max(1, min(8, spark.sparkContext.defaultParallelism))
    itemsets.coalesce(n_out).write.mode("overwrite").parquet(layout.dataset("itemsets"))
    rules.coalesce(n_out).write.mode("overwrite").parquet(layout.dataset("rules"))
    quarantine.coalesce(n_out).write.mode("overwrite").parquet(layout.dataset("quarantine"))
    exports = layout.exports
    _single_csv(
        itemsets.orderBy(F.desc("support"), "size", F.col("items").cast("string")).withColumn(
            "items", F.to_json("items")
        ),
        f"{exports}/itemsets.csv",
    )
    _single_csv(
        rules.orderBy(F.desc("lift"), F.desc("confidence"), F.col("antecedent").cast("string"))
        .withColumn("antecedent", F.to_json("antecedent"))
        .withColumn("consequent", F.to_json("consequent")),
        f"{exports}/rules.csv",
    )


def _single_csv(df: DataFrame, target: str) -> None:
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


def _write_report(
    spark: SparkSession, layout: RunLayout, report: dict[str, Any], request: MineRequest
) -> None:
    counts, timings = report["counts"], report["timings"]
    row = {
        "started_at": datetime.fromisoformat(report["started_at"]),
        "finished_at": datetime.fromisoformat(report["finished_at"]),
        "status": report["status"],
        "engine": report["engine"],
        "input": request.table or ",".join(request.inputs),
        "segment_by": request.segment_by,
        "min_support": report["params"]["mining"]["min_support"],
        "min_confidence": report["params"]["mining"]["min_confidence"],
        "input_rows": counts["input_rows"],
        "accepted_rows": counts["accepted_rows"],
        "rejected_rows": counts["rejected_rows"],
        "rejected_by_reason": json.dumps(counts["rejected_by_reason"]),
        "filtered_rows": counts["filtered_rows"],
        "baskets": counts["baskets"],
        "distinct_items": counts["distinct_items"],
        "itemsets": counts["itemsets"],
        "rules": counts["rules"],
        "params": json.dumps(report["params"], default=str),
        "timings": json.dumps(timings),
        "versions": json.dumps(report["versions"]),
    }
    spark.createDataFrame([tuple(row[c] for c in RUNS.names)], spark_schema(RUNS)).coalesce(
        1
    ).write.mode("overwrite").parquet(layout.dataset("runs"))
    exports = Path(layout.exports)
    exports.mkdir(parents=True, exist_ok=True)
    (exports / "run.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    latest = {
        "run_id": layout.run_id,
        "dt": layout.dt.isoformat(),
        "finished_at": report["finished_at"],
    }
    Path(layout.latest).write_text(json.dumps(latest, indent=2) + "\n")


def _describe_engine(engine: str, details: dict[str, Any]) -> str:
    if engine != "pfp":
        return engine
    return f"pfp, {details['groups']} group(s), {details['frequent_items']:,} frequent items"


def _describe_input(request: MineRequest) -> str:
    return request.table or ", ".join(request.inputs)


def _reason_summary(counts: Counts) -> str:
    return ", ".join(f"{k}: {v:,}" for k, v in counts.rejected_by_reason.items())


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str))
