"""``basket demo``: the whole pipeline on the embedded default, end to end.

``--mode stream`` (default), the product's shape: generate a dirty point-of-sale CSV ->
start a local KRaft broker on 127.0.0.1 -> replay most of it as Kafka events and drop the
rest as CSV files -> Structured Streaming from both into the Delta ``lines`` table ->
the daily Airflow DAG for the data's last day with ``dag.test()`` on a local SQLite
metadata DB (mine the table, publish to S3 on a local moto endpoint unless
``aws.endpoint_url`` is configured, Glue partitions, SPICE refresh, dashboard snapshot,
run record) -> a table of the counts at every hop. The broker is stopped on the way out,
failure included.

``--mode batch``: generate -> mine the CSV with Spark FP-Growth -> show the top rules ->
publish -> register the Athena tables and partitions in the Glue catalog -> answer
analyst questions with the Athena SQL pack on DuckDB -> dashboard snapshot.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import click
from rich.console import Console

from basket_core.config import Settings
from basket_core.progress import Progress


@click.command("demo")
@click.option(
    "--mode",
    type=click.Choice(["stream", "batch"]),
    default="stream",
    show_default=True,
    help="stream: Kafka + CSV drops -> Delta -> the daily Airflow DAG; batch: mine a CSV.",
)
@click.option(
    "--transactions",
    "-n",
    type=int,
    default=None,
    help="Transactions to generate [default: 5000 stream, 20000 batch].",
)
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
@click.option(
    "--drop-share",
    type=float,
    default=0.2,
    show_default=True,
    help="stream: share of transactions dropped as CSV files instead of sent as events.",
)
@click.option(
    "--kafka-bootstrap",
    help="stream: use this running broker instead of starting a local one.",
)
@click.pass_obj
def command(
    settings: Settings,
    mode: str,
    transactions: int | None,
    items: int,
    seed: int,
    min_support: float,
    min_confidence: float,
    top: int,
    publish: bool,
    serve: bool,
    drop_share: float,
    kafka_bootstrap: str | None,
) -> None:
    """Run the pipeline on the embedded default (local Kafka, Spark, Airflow, moto)."""
    if mode == "stream":
        if serve:
            raise click.UsageError("--serve goes with --mode batch")
        stream_demo(
            settings,
            transactions=transactions or 5_000,
            items=items,
            seed=seed,
            min_support=min_support,
            min_confidence=min_confidence,
            drop_share=drop_share,
            kafka_bootstrap=kafka_bootstrap,
        )
        return
    transactions = transactions or 20_000
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


# ---- the streaming shape ---------------------------------------------------------------

DEMO_DAY = date(2026, 11, 24)
"""The last day of the generated data: the daily DAG's run of this day mines the week."""
DEMO_DAYS = 7


@dataclass(frozen=True)
class Hops:
    """The counts at every hop of the streaming demo, each from where it landed."""

    events_produced: int
    csv_rows_dropped: int
    kafka: Any  # ingest.report.IngestReport
    files: Any  # ingest.report.IngestReport
    baskets: int
    itemsets: int
    rules: int
    s3_objects: int
    s3_bytes: int
    partitions: int
    ingestions: int

    def rows(self) -> list[tuple[str, str, str]]:
        k, f = self.kafka, self.files
        return [
            ("Kafka events produced", f"{self.events_produced:,}", "= kafka ingest records"),
            (
                "kafka ingest",
                f"{k.records:,}",
                f"= {k.lines:,} lines + {k.quarantined:,} quarantined "
                f"+ {k.repeats_dropped:,} repeats dropped",
            ),
            ("CSV records dropped", f"{self.csv_rows_dropped:,}", "= drop ingest records"),
            (
                "drop ingest",
                f"{f.records:,}",
                f"= {f.lines:,} lines + {f.quarantined:,} quarantined "
                f"+ {f.repeats_dropped:,} repeats dropped",
            ),
            ("Delta lines (both streams)", f"{k.lines + f.lines:,}", "mined by the DAG"),
            ("baskets", f"{self.baskets:,}", "run report"),
            ("frequent itemsets", f"{self.itemsets:,}", "run report"),
            ("rules", f"{self.rules:,}", "run report"),
            ("S3 objects", f"{self.s3_objects:,}", f"{self.s3_bytes:,} bytes, published attempt"),
            ("Glue partitions", f"{self.partitions:,}", "for the run, every table"),
            ("QuickSight ingestions", f"{self.ingestions:,}", "SPICE refreshes started"),
        ]

    @property
    def reconciles(self) -> bool:
        k, f = self.kafka, self.files
        return (
            self.events_produced == k.records
            and self.csv_rows_dropped == f.records
            and k.reconciles
            and f.reconciles
        )


@contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _loopback(endpoint: str | None) -> bool:
    return endpoint is not None and urlparse(endpoint).hostname in ("127.0.0.1", "localhost")


def stream_demo(
    settings: Settings,
    *,
    transactions: int,
    items: int,
    seed: int,
    min_support: float,
    min_confidence: float,
    drop_share: float,
    kafka_bootstrap: str | None,
) -> None:
    """Generate -> Kafka events + CSV drops -> Delta -> the daily DAG -> the hop counts."""
    from basket_devtools.demo_data import split_by_transaction
    from basket_devtools.generate import GeneratorConfig, generate
    from basket_devtools.kafka_broker import KafkaBroker

    console = Console(stderr=True)
    progress = Progress(console=console)
    root = (settings.paths.data_dir / "demo-stream").resolve()
    for stale in ("delta", "checkpoints", "drops", "kafka", "airflow"):
        shutil.rmtree(root / stale, ignore_errors=True)
    data = root / "pos.csv"
    with progress.stage("generate", "Generated point-of-sale data") as st:
        result = generate(
            GeneratorConfig(
                transactions=transactions,
                items=items,
                seed=seed,
                dirty_share=0.03,
                start_date=DEMO_DAY - timedelta(days=DEMO_DAYS - 1),
                days=DEMO_DAYS,
            ),
            data,
        )
        split = split_by_transaction(
            data, root / "events.csv", root / "drops", drop_share=drop_share
        )
        st.done(
            f"{result.rows:,} rows ({result.dirty_rows:,} dirty), {result.transactions:,} "
            f"transactions: {split.events_rows:,} rows as events, {split.drop_rows:,} in "
            f"{len(split.drop_files)} CSV drops"
        )
    s = settings.with_overrides(
        **{
            "paths.delta_dir": str(root / "delta"),
            "paths.checkpoint_dir": str(root / "checkpoints"),
            "kafka.topic": f"basket-demo-{uuid.uuid4().hex[:8]}",
            "spark.local_ip": "127.0.0.1",
            "mining.min_support": min_support,
            "mining.min_confidence": min_confidence,
            "orchestration.ingest": "kafka",
            "orchestration.retries": 0,
            "orchestration.trigger_on_new_data": False,
            "orchestration.poke_interval_s": 1,
        }
    )
    broker = None
    if kafka_bootstrap is None:
        broker = KafkaBroker(
            root / "kafka", settings.paths.cache_dir / "kafka", host="127.0.0.1", partitions=2
        )
    try:
        if broker is not None:
            with progress.stage("kafka", "Started a local KRaft broker") as st:
                broker.start()
                kafka_bootstrap = broker.bootstrap_servers
                st.done(f"{kafka_bootstrap} (state {broker.state_dir})")
        assert kafka_bootstrap is not None
        s = s.with_overrides(**{"kafka.bootstrap_servers": kafka_bootstrap})
        kafka_report, files_report, produced = _stream_in(s, split, progress)
        hops = _run_daily(s, progress, produced, split.drop_rows, kafka_report, files_report)
    finally:
        if broker is not None:
            broker.stop()
            click.echo(f"Kafka broker {broker.bootstrap_servers} stopped.", err=True)
    _print_hops(s, hops)


def _stream_in(s: Settings, split: Any, progress: Progress) -> tuple[Any, Any, int]:
    from basket_pipeline import stages
    from ingest.replay import replay
    from ingest.stream import RunOptions

    with progress.stage("replay", "Replayed the POS rows as Kafka events") as st:
        sent = replay(
            split.events_csv, s.kafka.bootstrap_servers, s.kafka.topic, s.columns, s.input
        )
        st.done(f"{sent.messages:,} events -> topic {s.kafka.topic} ({sent.rate:,.0f}/s)")
    spark = stages.spark_session(s)
    reports = []
    sources: tuple[tuple[stages.IngestKind, Path | None], ...] = (
        ("kafka", None),
        ("files", split.drop_files[0].parent),
    )
    for kind, folder in sources:
        with progress.stage(f"ingest-{kind}", f"Streamed {kind} into Delta") as st:
            source = stages.ingest_source(s, kind, spark=spark, input_dir=folder)
            report = stages.ingest(s, source, RunOptions(once=True), spark=spark)
            st.done(report.summary())
            reports.append(report)
    return reports[0], reports[1], sent.messages


def _run_daily(
    s: Settings,
    progress: Progress,
    produced: int,
    dropped: int,
    kafka_report: Any,
    files_report: Any,
) -> Hops:
    """The daily DAG for DEMO_DAY on a local Airflow (``dag.test()``, SQLite metadata DB)
    against the configured AWS endpoint, or a moto server for the duration."""
    from basket_devtools.local_aws import local_aws

    embedded = s.aws.endpoint_url is None
    ctx = local_aws(s.aws) if embedded else nullcontext(s.aws)
    with ctx as aws:
        on_aws = s.model_copy(update={"aws": aws})
        from quicksight.refresh import DATA_SET_NAMES

        prefix = on_aws.dashboards.quicksight_id_prefix
        on_aws = on_aws.with_overrides(
            **{"orchestration.quicksight_dataset_ids": [f"{prefix}-{n}" for n in DATA_SET_NAMES]}
        )
        run = _dag_test(on_aws, progress)
        return _count_hops(on_aws, run, produced, dropped, kafka_report, files_report)


def _dag_test(s: Settings, progress: Progress) -> Any:
    from basket_pipeline.airflow_runtime import airflow_env, load_dag_file

    home = (s.paths.data_dir / "demo-stream" / "airflow").resolve()
    home.mkdir(parents=True, exist_ok=True)
    env = {
        **airflow_env(s, home),
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        # the DAG file builds its DAGs from load_settings(): the demo's settings
        **{f"BASKET_{name.upper()}": model.model_dump_json() for name, model in s},
    }
    with _environ(env), progress.stage("airflow", "Ran the daily DAG on a local Airflow") as st:
        from airflow.utils.db import initdb

        initdb()
        module = load_dag_file("market_basket_demo")
        dag = module.build_dag(s, "daily")
        fired = datetime.combine(DEMO_DAY + timedelta(days=1), time(), UTC)
        ctx = _quicksight_ctx(s)
        with ctx:
            run = dag.test(logical_date=fired)
        states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
        if str(run.state) != "success":
            raise click.ClickException(f"{dag.dag_id} {DEMO_DAY} ended {run.state}: {states}")
        st.done(f"{dag.dag_id} {DEMO_DAY}: {len(states)} tasks succeeded (AIRFLOW_HOME={home})")
    return run


def _quicksight_ctx(s: Settings) -> Any:
    from basket_devtools.local_aws import quicksight_status_completed

    return quicksight_status_completed() if _loopback(s.aws.endpoint_url) else nullcontext()


def _count_hops(
    s: Settings, run: Any, produced: int, dropped: int, kafka_report: Any, files_report: Any
) -> Hops:
    from basket_core.aws import glue as glue_api
    from basket_core.layout import Target
    from basket_pipeline import stages

    run_id = f"daily-{DEMO_DAY.isoformat()}"
    report = stages.local_report(s, DEMO_DAY, run_id)
    if report is None:
        raise click.ClickException(f"no run report for {run_id}")
    clients = stages.default_clients(s)
    attempt = stages.published_attempt(s, clients, DEMO_DAY, run_id)
    if not attempt:
        raise click.ClickException(f"{run_id} has no published attempt in S3")
    s3 = clients("s3")
    objects = size = 0
    target = Target.of(s.aws)
    part = f"dt={DEMO_DAY.isoformat()}/run_id={run_id}/attempt={attempt}/"
    for dataset in ("itemsets", "rules", "quarantine", "runs", "exports"):
        root = target.prefix.strip("/")
        key_prefix = f"{root}/{dataset}/{part}" if root else f"{dataset}/{part}"
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=target.bucket, Prefix=key_prefix
        )
        for page in pages:
            for obj in page.get("Contents", []):
                objects += 1
                size += obj["Size"]
    glue = clients("glue")
    partitions = sum(
        [DEMO_DAY.isoformat(), run_id] in glue_api.partition_values(glue, s.athena.database, t)
        for t in ("itemsets", "rules", "quarantine", "runs")
    )
    ingestions = sum(
        1
        for ti in run.get_task_instances()
        if ti.task_id.startswith("spice_refresh_") and str(ti.state) == "success"
    )
    c = report.counts
    return Hops(
        produced,
        dropped,
        kafka_report,
        files_report,
        c.baskets,
        c.itemsets,
        c.rules,
        objects,
        size,
        partitions,
        ingestions,
    )


def _print_hops(s: Settings, hops: Hops) -> None:
    from rich.table import Table

    table = Table(title="basket demo: counts at every hop")
    for col in ("hop", "count", "reconciles with"):
        table.add_column(col, justify="right" if col == "count" else "left")
    for row in hops.rows():
        table.add_row(*row)
    Console().print(table)
    click.echo("Counts reconcile." if hops.reconciles else "COUNTS DO NOT RECONCILE.")
    root = s.paths.data_dir / "demo-stream"
    click.echo(f"Delta tables: {s.paths.delta_dir}/lines, quarantine (reports in _reports/)")
    click.echo(f"Results: {s.paths.output_dir} (run daily-{DEMO_DAY.isoformat()})")
    click.echo(f"Dashboard snapshot: {stages_snapshot(s)}")
    click.echo(f"Airflow home (SQLite, logs): {root / 'airflow'}")
    if not hops.reconciles:
        raise click.ClickException("the hop counts do not reconcile")


def stages_snapshot(s: Settings) -> Path:
    from basket_pipeline import stages

    return stages.day_snapshot_path(s, DEMO_DAY)
