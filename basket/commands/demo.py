"""``basket demo``: the whole pipeline on the embedded default, end to end.

Today: generate a realistic, dirty point-of-sale CSV -> mine it with Spark
FP-Growth -> show the top rules and where the results are. Each later stage
(publish, Athena SQL, dashboards) joins here as it lands.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from rich.console import Console

from basket.config import Settings
from basket.progress import Progress


@click.command("demo")
@click.option("--transactions", "-n", type=int, default=20_000, show_default=True)
@click.option("--items", type=int, default=500, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--min-support", type=float, default=0.004, show_default=True)
@click.option("--min-confidence", type=float, default=0.3, show_default=True)
@click.option("--top", type=int, default=10, show_default=True, help="Rules to show.")
@click.pass_obj
def command(
    settings: Settings,
    transactions: int,
    items: int,
    seed: int,
    min_support: float,
    min_confidence: float,
    top: int,
) -> None:
    """Run generate -> mine -> show on the embedded default (local Spark, local files)."""
    from basket.generate import GeneratorConfig, generate
    from basket.show import print_top_rules
    from spark.job import MineRequest, run_mine

    console = Console(stderr=True)
    progress = Progress(console=console)
    data = settings.paths.data_dir / "generated" / "demo-retail.csv"
    with progress.stage("generate", "Generated point-of-sale data") as st:
        result = generate(
            GeneratorConfig(
                transactions=transactions,
                items=items,
                seed=seed,
                dirty_share=0.03,
                start_date=date(2026, 10, 1),
                days=28,
            ),
            data,
        )
        st.done(
            f"{result.rows:,} rows, {result.transactions:,} transactions, "
            f"{result.dirty_rows:,} dirty rows -> {data}"
        )
    mine_settings = settings.with_overrides(
        **{"mining.min_support": min_support, "mining.min_confidence": min_confidence}
    )
    report = run_mine(mine_settings, MineRequest(inputs=(str(data),)), progress=progress)
    exports = Path(report["outputs"]["exports"])
    print_top_rules(exports / "rules.csv", limit=top)
    c = report["counts"]
    click.echo(
        f"\n{c['input_rows']:,} rows in = {c['accepted_rows']:,} accepted + "
        f"{c['rejected_rows']:,} quarantined; {c['baskets']:,} baskets -> "
        f"{c['itemsets']:,} frequent itemsets, {c['rules']:,} rules."
    )
    click.echo(f"Results: {settings.paths.output_dir} (run {report['run_id']})")
    click.echo(f"Exports: {exports}/rules.csv, itemsets.csv, run.json")
