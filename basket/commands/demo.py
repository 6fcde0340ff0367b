"""``basket demo``: the whole pipeline on the embedded default, end to end.

Generate a realistic, dirty point-of-sale CSV -> mine it with Spark FP-Growth ->
show the top rules -> publish the run to S3 (a local moto endpoint unless
``aws.endpoint_url`` is configured) -> register the Athena tables and partitions in
the Glue catalog -> answer analyst questions with the Athena SQL pack on DuckDB.
"""

from __future__ import annotations

from contextlib import nullcontext
from datetime import date
from pathlib import Path

import click
from rich.console import Console

from basket_core.config import Settings
from basket_core.progress import Progress


@click.command("demo")
@click.option("--transactions", "-n", type=int, default=20_000, show_default=True)
@click.option("--items", type=int, default=500, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--min-support", type=float, default=0.004, show_default=True)
@click.option("--min-confidence", type=float, default=0.3, show_default=True)
@click.option("--top", type=int, default=10, show_default=True, help="Rules to show.")
@click.option(
    "--publish/--no-publish",
    default=True,
    show_default=True,
    help="Publish to S3 and register Athena partitions (a local endpoint by default).",
)
@click.option(
    "--serve/--no-serve",
    default=False,
    show_default=True,
    help="At the end, serve the interactive dashboard on 127.0.0.1 until Ctrl-C.",
)
@click.pass_obj
def command(
    settings: Settings,
    transactions: int,
    items: int,
    seed: int,
    min_support: float,
    min_confidence: float,
    top: int,
    publish: bool,
    serve: bool,
) -> None:
    """Run generate -> mine -> show on the embedded default (local Spark, local files)."""
    from basket.show import print_top_rules
    from basket_devtools.generate import GeneratorConfig, generate
    from basket_pipeline import stages
    from spark.job import MineRequest

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
    report = stages.mine(mine_settings, MineRequest(inputs=(str(data),)), progress=progress)
    print_top_rules(report.exports / "rules.csv", limit=top)
    c = report.counts
    click.echo(
        f"\n{c.input_rows:,} rows in = {c.accepted_rows:,} accepted + "
        f"{c.rejected_rows:,} quarantined; {c.baskets:,} baskets -> "
        f"{c.itemsets:,} frequent itemsets, {c.rules:,} rules."
    )
    click.echo(f"Results: {settings.paths.output_dir} (run {report.run_id})")
    click.echo(f"Exports: {report.exports}/rules.csv, itemsets.csv, run.json")
    if publish:
        publish_and_catalog(settings, report.run_id, progress)
    show_analyst_queries(settings)
    snapshot = write_dashboard_snapshot(settings, report.run_id, progress)
    click.echo(f"\nDashboard snapshot: {snapshot}")
    if serve:
        from basket_dashboard.app import create_app
        from basket_dashboard.app import serve as serve_app
        from basket_dashboard.source import source_for

        d = settings.dashboards
        serve_app(
            create_app(source_for(settings)),
            d.host,
            d.port,
            on_ready=lambda url: click.echo(f"Dashboard on {url} (Ctrl-C to stop)"),
        )
    else:
        click.echo("Interactive dashboard: .venv/bin/basket dashboard  (or make demo-dashboard)")


def write_dashboard_snapshot(settings: Settings, run_id: str, progress: Progress) -> Path:
    """The static, self-contained HTML dashboard of the run, beside its exports."""
    from basket_pipeline import stages

    with progress.stage("snapshot", "Wrote the dashboard snapshot") as st:
        path = stages.dashboard_snapshot(settings, run_id)
        if path is None:
            raise click.ClickException("the dashboard's packages (dash, plotly) are missing")
        st.done(str(path))
    return path


def publish_and_catalog(settings: Settings, run_id: str, progress: Progress) -> None:
    """Publish the run and register its partitions; on the embedded default the AWS
    APIs are a moto server on 127.0.0.1 that lives for this command."""
    from basket_core.layout import Target
    from basket_devtools.local_aws import local_aws
    from basket_pipeline import stages

    embedded = settings.aws.endpoint_url is None
    ctx = local_aws(settings.aws) if embedded else nullcontext(settings.aws)
    with ctx as aws:
        on_aws = settings.model_copy(update={"aws": aws})
        clients = stages.default_clients(on_aws)
        root = Target.of(aws).root
        with progress.stage("publish", "Published to S3") as st:
            result = stages.publish(on_aws, clients, run_id)
            where = f"local endpoint {aws.endpoint_url}" if embedded else root
            st.done(
                f"{len(result.uploaded)} files uploaded, {len(result.skipped)} unchanged "
                f"-> {root} ({where}); manifest "
                + ("written" if result.manifest_written else result.manifest_reason)
            )
        with progress.stage("catalog", "Registered Athena tables and partitions") as st:
            run = stages.find_run(on_aws, run_id)
            stages.setup_catalog_glue(on_aws, clients)
            catalog = stages.add_partitions_glue(on_aws, run.dt, run.run_id, clients)
            st.done(
                f"database {settings.athena.database}: "
                + ", ".join(f"{t} +{n['created']}" for t, n in catalog.partitions.items())
            )


def show_analyst_queries(settings: Settings) -> None:
    """Two questions from the analyst SQL pack, run on DuckDB over the local results."""
    from athena import local, pack
    from basket.commands.query import print_table

    con = local.connect(settings.paths.output_dir)
    for name, values in (
        ("top_rules_by_lift", {"min_confidence": 0.5, "top_n": 5}),
        ("quarantine_summary", {}),
    ):
        query = pack.load(name)
        columns, rows = local.run(con, query, query.bind(values))
        print_table(f"basket query {name}  (Athena SQL on DuckDB)", columns, rows)
