"""What each rule option costs at scale: significance, improvement, the p-value
corrections, multi-item consequents, closed/maximal flags and rule_changes.

One process, one Spark session. The baskets are the ones ``make bench`` generates (same
generator and seed: 1,000,000 baskets over 2,000 items by default). A full ``mine`` runs
first (the run's own stage timings are printed: load, mine, rules, changes, write), and
a second mine of the same baskets on the next day, which finds the first as its previous
run, times the comparison. Then each step is timed alone on the mined itemsets, every
column computed (Spark's ``noop`` sink: nothing pruned away, nothing written):

* ``rules (measures only)`` -- splits, joins and the interest measures: the baseline;
* ``+ chi-squared and Fisher p`` -- the 2x2 tests (SciPy in pandas UDFs);
* ``+ improvement`` -- the joins over every antecedent subset;
* ``+ p_adjust=<method>`` -- the correction over the run's rules (one sorted window);
* ``max_consequent=2/3`` -- the whole derivation with multi-item consequents;
* ``closed/maximal flags`` -- one join of each itemset with its one-item-larger supersets;

each with its time and its cost over the baseline. Results also go to JSON.

Run ``python -m benchmarks.rule_options_bench --help``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame


def timed(df_of: Callable[[], DataFrame]) -> tuple[float, int]:
    """Seconds to compute every column of every row of the frame (noop sink), and its
    rows (counted after, not timed)."""
    started = time.perf_counter()
    df = df_of()
    df.write.format("noop").mode("overwrite").save()
    seconds = time.perf_counter() - started
    return seconds, df.count()


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--baskets", type=int, default=1_000_000, show_default=True)
@click.option("--items", type=int, default=2_000, show_default=True)
@click.option("--mean-basket", type=float, default=5.0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--min-support", type=float, default=0.002, show_default=True)
@click.option("--min-confidence", type=float, default=0.2, show_default=True)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where baskets are generated (default: <data_dir>/generated/bench, as make bench).",
)
@click.option(
    "--results-dir",
    type=click.Path(path_type=Path),
    default=Path("bench-results"),
    show_default=True,
)
def main(
    baskets: int,
    items: int,
    mean_basket: float,
    seed: int,
    min_support: float,
    min_confidence: float,
    data_dir: Path | None,
    results_dir: Path,
) -> None:
    """Time each rule option on one mined run (see the module doc)."""
    import shutil
    import tempfile

    from pyspark.sql import functions as F
    from rich.console import Console
    from rich.table import Table

    from basket_core.config import Settings
    from basket_core.layout import current_layout
    from basket_devtools.generate import GeneratorConfig
    from benchmarks.mine_bench import dataset_path, ensure_dataset
    from spark.itemset_kinds import with_kinds
    from spark.job import MineRequest, run_mine
    from spark.redundancy import with_improvement
    from spark.rules import RuleOptions, derive_rules, measured_rules
    from spark.session import get_spark
    from spark.significance import with_tests

    console = Console()
    data_dir = data_dir or Settings().paths.data_dir / "generated" / "bench"
    data_dir.mkdir(parents=True, exist_ok=True)
    config = GeneratorConfig(
        transactions=baskets, items=items, mean_basket=mean_basket, seed=seed, dirty_share=0.0
    )
    path = dataset_path(data_dir, baskets, items, seed, mean_basket)
    with console.status(f"generating {baskets:,} baskets"):
        ensure_dataset(config, path, ",")
    output = Path(tempfile.mkdtemp(prefix="rule-options-", dir=data_dir))
    settings = Settings().with_overrides(
        **{
            "paths.output_dir": output,
            "input.format": "basket",
            "mining.min_support": min_support,
            "mining.min_confidence": min_confidence,
        }
    )
    try:
        spark = get_spark(settings)
        reports = []
        for day, run_id in ((date(2026, 1, 1), "options-1"), (date(2026, 1, 2), "options-2")):
            with console.status(f"mining {baskets:,} baskets ({run_id})"):
                reports.append(
                    run_mine(
                        settings,
                        MineRequest(inputs=(str(path),), run_id=run_id, run_date=day),
                        spark=spark,
                    )
                )
        first, second = reports
        console.print(
            f"{baskets:,} baskets: {first.counts.itemsets:,} itemsets, {first.counts.rules:,} "
            f"rules; second run against {second.counts.compared_with}: "
            f"{second.counts.rule_changes or 'no changes'}"
        )
        layout = current_layout(output, first.dt, first.run_id)
        itemsets = spark.read.parquet(layout.dataset("itemsets")).cache()
        itemsets.count()
        n = F.lit(baskets).cast("long")
        rows: list[dict[str, Any]] = []

        def step(name: str, df_of: Callable[[], DataFrame], cumulative: bool = True) -> None:
            with console.status(name):
                seconds, count = timed(df_of)
            rows.append(
                {"step": name, "seconds": round(seconds, 3), "rows": count, "cum": cumulative}
            )

        def rule_options(**kw: Any) -> RuleOptions:
            return RuleOptions(min_confidence=min_confidence, **kw)

        def tested() -> DataFrame:
            return with_tests(
                measured_rules(itemsets, rule_options()).withColumn("_n", n), F.col("_n")
            )

        # each step computes everything from the itemsets: cumulative, so "extra" is
        # what the step adds to the one before it in the pipeline
        step("rules (measures only)", lambda: measured_rules(itemsets, rule_options()))
        step("+ chi-squared and Fisher p", tested)
        step("+ improvement", lambda: with_improvement(tested(), itemsets, n))
        for method in ("bonferroni", "holm", "fdr"):
            step(
                f"+ p_adjust={method}" + (" (the default run)" if method == "bonferroni" else ""),
                lambda method=method: derive_rules(  # type: ignore[misc]
                    itemsets, options=rule_options(p_adjust=method), baskets={"all": baskets}
                ),
            )
        for k in (2, 3):
            step(
                f"all of it, max_consequent={k}",
                lambda k=k: derive_rules(  # type: ignore[misc]
                    itemsets, options=rule_options(max_consequent=k), baskets={"all": baskets}
                ),
            )
        step(
            "closed/maximal flags (on the itemsets)",
            lambda: with_kinds(itemsets.drop("closed", "maximal")),
            cumulative=False,
        )
        base = float(rows[0]["seconds"])
        for row in rows:
            row["over_baseline_s"] = round(row["seconds"] - base, 3) if row.pop("cum") else None
        changes_s = second.timings.get("changes_s")
        rows.append(
            {
                "step": "rule_changes (second run's 'changes' stage)",
                "seconds": changes_s,
                "rows": sum(second.counts.rule_changes.values()),
                "over_baseline_s": None,
            }
        )

        table = Table(title=f"Rule options at {baskets:,} baskets (min support {min_support})")
        for col in ("step", "seconds", "rows", "extra over measures-only"):
            table.add_column(col, justify="left" if col == "step" else "right")
        for row in rows:
            extra = row["over_baseline_s"]
            table.add_row(
                row["step"],
                "-" if row["seconds"] is None else f"{row['seconds']:.2f}",
                f"{row['rows']:,}",
                "" if extra is None else f"{extra:+.2f}s",
            )
        console.print(table)
        stages = {k: v for k, v in first.timings.items() if k.endswith("_s")}
        console.print("first mine, stage timings (s): " + json.dumps(stages))
        results_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out = results_dir / f"rule-options-{stamp}.json"
        out.write_text(
            json.dumps(
                {
                    "baskets": baskets,
                    "items": items,
                    "min_support": min_support,
                    "min_confidence": min_confidence,
                    "itemsets": first.counts.itemsets,
                    "rules": first.counts.rules,
                    "steps": rows,
                    "first_mine_timings": first.timings,
                    "second_mine_timings": second.timings,
                },
                indent=2,
            )
        )
        console.print(f"results: {out}")
    finally:
        shutil.rmtree(output, ignore_errors=True)


if __name__ == "__main__":  # pragma: no cover
    main()
