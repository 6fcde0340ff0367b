"""The batch mining job: load -> clean -> baskets -> FP-Growth -> rules -> write.

:func:`run_mine` is what ``basket mine``, the demo and the DAGs call. It reads a
typed :class:`MineRequest` plus :class:`~basket_core.config.Settings`, checks the request
without Spark (:func:`preflight`), reads and cleans the input (:mod:`spark.reads`), mines
it, writes the run's datasets in :mod:`basket_core.layout` (:mod:`spark.writes`) and
returns the :class:`~spark.report.RunReport` (also written as ``run.json``).
"""

from __future__ import annotations

import json
import platform
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from basket_core import __version__
from basket_core.config import MiningConfig, Settings
from basket_core.errors import OptionError
from basket_core.layout import DATASETS, new_run_id
from basket_core.progress import Progress
from basket_core.schemas import QUARANTINE, spark_schema
from spark.baskets import check_window
from spark.changes import (
    COMPARED,
    ChangeThresholds,
    change_tests,
    compared_rules,
    compared_rules_table,
    no_changes,
)
from spark.edges import item_edges, item_edges_table
from spark.engine import Mined, mine_itemsets
from spark.filters import check_filter
from spark.fpcommon import min_count
from spark.held import Held, hold, hold_rows, local_relation
from spark.history import PreviousRun, RunKind, previous_run
from spark.items import count_items
from spark.itemset_kinds import keep, with_kinds, with_kinds_table
from spark.load import (
    OPTIONAL_FIELDS,
    InputError,
    LongInput,
    inspect_basket,
    inspect_long,
    is_remote,
)
from spark.reads import lines_to_baskets, load_clean
from spark.report import Counts, RunInput, RunReport
from spark.rules import (
    RuleOptions,
    rule_tests,
    select_rules,
    select_rules_table,
    untested_rules,
)
from spark.rules_table import untested_rules_table
from spark.significance import preload
from spark.writes import begin_attempt, write_results, write_run

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa
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
        if self.start_date and self.end_date and self.start_date > self.end_date:
            raise OptionError(f"--start-date {self.start_date} is after --end-date {self.end_date}")
        if self.where is not None:
            check_filter(self.where)


def versions() -> dict[str, str]:
    """Versions of this package, Python, PySpark and delta-spark, for the run report."""
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
) -> RunReport:
    """Mine one run and write its results; returns the run report."""
    progress = progress or Progress()
    started = datetime.now(UTC)
    run_id = request.run_id or new_run_id(started)
    layout = begin_attempt(settings.paths.output_dir, request.run_date or started.date(), run_id)
    mining = settings.mining
    counts = Counts()
    t0 = time.perf_counter()

    # Check what can be checked before paying for a JVM.
    inspected = preflight(settings, request)

    if spark is None:
        from spark.session import get_spark

        with progress.stage("spark_start", "Started Spark") as st:
            spark = get_spark(settings)
            from spark.session import master  # Connect-safe (no sparkContext)

            st.done(f"{master(spark)}, Spark {spark.version}")
    else:
        progress.timings["spark_start_s"] = 0.0
    preload()  # the rules' p-values need SciPy; imported while Spark reads the input

    cached: list[DataFrame] = []
    try:
        with progress.stage("load", "Read and cleaned input") as st:
            loaded = load_clean(
                spark,
                settings,
                inputs=request.inputs,
                table=request.table,
                inspected=inspected,
                counts=counts,
                cached=cached,
                window=(request.start_date, request.end_date),
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
            baskets = loaded.baskets
            if baskets is None:
                assert loaded.lines is not None
                baskets = lines_to_baskets(
                    spark,
                    settings,
                    loaded.lines,
                    counts,
                    start_date=request.start_date,
                    end_date=request.end_date,
                    where=request.where,
                    item_map=request.item_map,
                    segment_by=request.segment_by,
                )
                # grouped from lines (a shuffle): keep them; basket-format baskets are a
                # projection of the cached classified lines and are not cached again
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
            skipped = segments[mining.max_segments :]
            segments = segments[: mining.max_segments]
            counts.segments = len(segments)
            st.done(
                f"{counts.baskets:,} baskets, {counts.distinct_items:,} distinct items"
                + (f", {len(segments)} segments" if request.segment_by else "")
                + (f" ({len(skipped)} small segments skipped)" if skipped else "")
            )

        with progress.stage("mine", "Mined frequent itemsets (FP-Growth)") as st:
            mined = mine_itemsets(
                baskets, {seg: per_segment[seg] for seg in segments}, mining, item_counts
            )
            t_mine = time.perf_counter()
            held_itemsets = hold_itemsets(mined, mining.held_rows, cached)
            itemsets, counts.itemsets = held_itemsets.frame, held_itemsets.rows
            progress.timings.update(mined.timings)
            progress.timings["mine_fpgrowth_s"] = round(time.perf_counter() - t_mine, 3)
            st.done(
                f"{counts.itemsets:,} itemsets at min support {mining.min_support} "
                f"(>= {min_count(mining.min_support, counts.baskets):,} baskets), "
                f"engine {_describe_engine(mined.engine, mined.details)}"
            )

        with progress.stage("rules", "Derived association rules") as st:
            options = rule_options(mining)
            held_rules = derive_held_rules(
                held_itemsets,
                options,
                {seg: per_segment[seg] for seg in segments},
                mining.held_rows,
                cached,
            )
            all_rules, found = held_rules.frame, held_rules.rows
            rules = select_rules(all_rules, options)
            # the kept rules in the driver too, when all of them are there
            kept = (
                select_rules_table(held_rules.table, options)
                if held_rules.table is not None
                else None
            )
            if kept is not None:
                counts.rules = kept.num_rows
            else:
                counts.rules = rules.count() if rules is not all_rules else found
            counts.rules_pruned = found - counts.rules
            st.done(
                f"{found:,} rules at min confidence {mining.min_confidence}"
                + (
                    f", {counts.rules:,} kept ({_pruning(options)})"
                    if rules is not all_rules
                    else ""
                )
            )

        with progress.stage("changes", "Compared with the previous run") as st:
            previous = previous_run(
                settings.paths.output_dir,
                dt=layout.dt,
                run_id=run_id,
                started_at=started,
                kind=RunKind(request.segment_by, mining.basket_by),
            )
            if previous is None:
                changes = no_changes(spark)
                st.done("no previous run of this kind: nothing to compare")
            else:
                changes, counts.rule_changes = compare_with_previous(
                    spark,
                    rules,
                    kept,
                    previous,
                    ChangeThresholds(mining.change_lift_ratio, mining.change_confidence_delta),
                    mining.held_rows,
                    cached,
                )
                counts.compared_with = previous.run_id
                st.done(
                    f"against run {previous.run_id} ({previous.dt}): "
                    + (
                        ", ".join(f"{k} {v:,}" for k, v in sorted(counts.rule_changes.items()))
                        or "no changes"
                    )
                )

        with progress.stage("write", "Wrote results") as st:
            written = keep(itemsets, mining.itemsets)
            if kept is not None:
                edges_table = item_edges_table(kept)
                edges = local_relation(spark, edges_table)
                counts.item_edges = edges_table.num_rows
            else:
                edges, counts.item_edges = hold(item_edges(rules), mining.held_rows, cached)
            # nothing rejected (counted, and reconciled with the files): an empty dataset,
            # without a scan of the cached input for rows that are not there
            quarantine = (
                loaded.quarantine
                if counts.rejected_rows
                else spark.createDataFrame([], spark_schema(QUARANTINE))
            )
            write_results(spark, layout, written, rules, quarantine, changes, edges)
            st.done(f"{layout.root} ({layout.partition})")
    finally:
        for df in cached:
            df.unpersist()

    finished = datetime.now(UTC)
    progress.timings["total_s"] = round(time.perf_counter() - t0, 3)
    report = RunReport(
        run_id=run_id,
        dt=layout.dt,
        status="succeeded",
        engine=mined.engine,
        engine_details=mined.details,
        started_at=started,
        finished_at=finished,
        input=RunInput(
            paths=list(request.inputs),
            table=request.table,
            format="delta" if request.table else settings.input.format,
        ),
        params={
            "mining": settings.mining.model_dump(),
            "cleaning": settings.cleaning.model_dump(),
            "columns": settings.columns.model_dump(),
            "input": settings.input.model_dump(),
            "request": _jsonable(asdict(request)),
        },
        counts=counts,
        timings=dict(progress.timings),
        versions=versions(),
        outputs={name: layout.dataset(name) for name in DATASETS} | {"exports": layout.exports},
    )
    write_run(
        spark,
        layout,
        report,
        input_label=_describe_input(request, sep=","),
        segment_by=request.segment_by,
        retain=settings.publish.retain_attempts,
    )
    return report


def hold_itemsets(mined: Mined, max_rows: int, cached: list[DataFrame]) -> Held:
    """The mined itemsets with their kinds (:mod:`spark.itemset_kinds`), held in the
    driver or cached (:func:`hold_rows`). Itemsets mined in the driver get their kinds
    there, and go to the cluster once, as a local relation."""
    if mined.table is not None and mined.table.num_rows <= max_rows:
        table = with_kinds_table(mined.table)
        return Held(local_relation(mined.itemsets.sparkSession, table), table.num_rows, table)
    return hold_rows(with_kinds(mined.itemsets), max_rows, cached)


def compare_with_previous(
    spark: SparkSession,
    rules: DataFrame,
    kept: pa.Table | None,
    previous: PreviousRun,
    thresholds: ChangeThresholds,
    max_rows: int,
    cached: list[DataFrame],
) -> tuple[DataFrame, dict[str, int]]:
    """The run's rule changes against ``previous`` (:mod:`spark.changes`) and their count
    per kind: in the driver when this run's rules are held there (``kept``) and the
    previous run's files are local, else on the cluster, then held or cached."""
    path = previous.layout.dataset("rules")
    if kept is not None and not is_remote(path):
        import pyarrow.parquet as pq

        before = pq.read_table(path, columns=COMPARED)
        table = change_tests().table(
            compared_rules_table(
                kept,
                before,
                previous_run_id=previous.run_id,
                previous_dt=previous.dt,
                thresholds=thresholds,
            )
        )
        return local_relation(spark, table), dict(Counter(table.column("change").to_pylist()))
    compared = compared_rules(
        rules,
        spark.read.parquet(path),
        previous_run_id=previous.run_id,
        previous_dt=previous.dt,
        thresholds=thresholds,
    )
    changes, _ = hold(compared, max_rows, cached, finish=change_tests())
    by_kind = {
        row["change"]: int(row["count"]) for row in changes.groupBy("change").count().collect()
    }
    return changes, by_kind


def derive_held_rules(
    itemsets: Held,
    options: RuleOptions,
    baskets: dict[str, int],
    max_rows: int,
    cached: list[DataFrame],
) -> Held:
    """Every rule with its tests (:func:`spark.rules.derive_rules`): derived in the driver
    when the itemsets are held there and the rules fit in ``max_rows``
    (:mod:`spark.rules_table`), else on the cluster, then held or cached
    (:func:`hold_rows`)."""
    finish = rule_tests(options.p_adjust)
    if itemsets.table is not None:
        untested = untested_rules_table(itemsets.table, options, baskets)
        if untested.num_rows <= max_rows:
            table = finish.table(untested)
            return Held(local_relation(itemsets.frame.sparkSession, table), table.num_rows, table)
        del untested  # more rules than the driver holds: the cluster derives and caches them
    return hold_rows(
        untested_rules(itemsets.frame, options, baskets), max_rows, cached, finish=finish
    )


def rule_options(mining: MiningConfig) -> RuleOptions:
    return RuleOptions(
        min_confidence=mining.min_confidence,
        max_consequent=mining.max_consequent,
        p_adjust=mining.p_adjust,
        max_p=mining.max_p,
        prune_redundant=mining.prune_redundant,
    )


def _pruning(options: RuleOptions) -> str:
    parts = ["redundant pruned"] if options.prune_redundant else []
    if options.max_p is not None:
        parts.append(f"adjusted p <= {options.max_p}")
    return ", ".join(parts)


def preflight(settings: Settings, request: MineRequest) -> LongInput | None:
    """Validate inputs and options without Spark: missing/empty files, header and
    column mapping, delimiter, date window. Raises :class:`InputError`."""
    check_window(
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
        # customer-day baskets need the customer column even when it is mapped by default
        optional = tuple(
            f
            for f in OPTIONAL_FIELDS
            if f != "customer" or settings.mining.basket_by != "customer-day"
        )
        return inspect_long(request.inputs, settings.input, settings.columns, optional)
    return inspect_basket(request.inputs, settings.input)


def _describe_engine(engine: str, details: dict[str, Any]) -> str:
    if engine != "pfp":
        return engine
    return f"pfp, {details['groups']} group(s), {details['frequent_items']:,} frequent items"


def _describe_input(request: MineRequest, sep: str = ", ") -> str:
    return request.table or sep.join(request.inputs)


def _reason_summary(counts: Counts) -> str:
    return ", ".join(f"{k}: {v:,}" for k, v in counts.rejected_by_reason.items())


def _jsonable(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str))
