"""``basket ingest``: stream CSV drops or Kafka events into the Delta lines table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from basket_core.config import Settings

if TYPE_CHECKING:  # pragma: no cover
    from basket_pipeline.stages import IngestKind

FILES_TRIGGER_SECONDS = 5.0
_common = [
    click.option("--once", is_flag=True, help="Process what is there, then exit (availableNow)."),
    click.option(
        "--trigger-seconds",
        type=click.FloatRange(min=0, min_open=True),
        help="Micro-batch interval in continuous mode (default: kafka.trigger_seconds for "
        f"Kafka, {FILES_TRIGGER_SECONDS:g} for files).",
    ),
    click.option("--checkpoint", type=click.Path(path_type=Path), help="Checkpoint folder."),
    click.option("--delta-dir", type=click.Path(path_type=Path), help="Delta tables root."),
]


def _options(func: Any) -> Any:
    for option in reversed(_common):
        func = option(func)
    return func


@click.group("ingest")
def command() -> None:
    """Continuous ingestion into <delta_dir>/lines and <delta_dir>/quarantine."""


def _run(
    settings: Settings,
    kind: IngestKind,
    opts: dict[str, Any],
    trigger_seconds: float,
    **source_options: Any,
) -> None:
    from basket_pipeline import stages
    from ingest.report import BatchReport
    from ingest.stream import RunOptions
    from spark.load import InputError

    if opts["once"] and opts["trigger_seconds"] is not None:
        raise click.UsageError("--trigger-seconds is for continuous mode; --once has no interval")
    settings = settings.with_overrides(**{"paths.delta_dir": opts.get("delta_dir")})
    spark = stages.ingest_session(settings)  # in-process even with --remote (warned)
    try:
        source = stages.ingest_source(settings, kind, spark=spark, **source_options)
    except InputError as exc:
        raise click.ClickException(str(exc)) from exc
    options = RunOptions(
        once=opts["once"],
        trigger_seconds=opts["trigger_seconds"] or trigger_seconds,
        checkpoint=opts["checkpoint"],
    )

    def started(source: Any) -> None:
        click.echo(f"ingest {source.name}: {'once' if options.once else 'continuous'}", err=True)

    def batch_done(batch: BatchReport) -> None:
        click.echo(batch.line(), err=True)

    try:
        run = stages.ingest(
            settings, source, options, spark=spark, on_start=started, on_batch=batch_done
        )
    except (RuntimeError, InputError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(run.summary())
    try:
        lag = stages.ingest_lag(settings, source, options.checkpoint)
    except Exception as exc:  # the ingest itself succeeded; say the lag is unknown
        click.echo(f"lag left on {settings.kafka.topic}: unknown ({exc})", err=True)
    else:
        if lag is not None:
            click.echo(f"lag left on {settings.kafka.topic}: {lag:,} events")


@command.command("files")
@click.option("--input", "-i", "input_dir", required=True, type=click.Path(path_type=Path))
@click.option("--max-files-per-trigger", type=click.IntRange(min=1), help="Files per micro-batch.")
@_options
@click.pass_obj
def files(settings: Settings, input_dir: Path, **opts: Any) -> None:
    """Ingest CSV files dropped into --input (layout and columns as for `basket mine`)."""
    _run(
        settings,
        "files",
        opts,
        FILES_TRIGGER_SECONDS,
        input_dir=input_dir,
        max_files_per_trigger=opts["max_files_per_trigger"],
    )


@command.command("kafka")
@click.option("--bootstrap-servers", help="Kafka bootstrap servers (default: config).")
@click.option("--topic", help="Topic (default: config).")
@click.option(
    "--max-offsets-per-trigger",
    type=int,
    help="Events per micro-batch (default: kafka.max_offsets_per_trigger).",
)
@click.option(
    "--max-event-bytes",
    type=int,
    help="Larger events are quarantined (default: kafka.max_event_bytes).",
)
@click.option(
    "--starting-offsets",
    help="Where a new checkpoint starts: earliest, latest or Spark's per-partition JSON "
    "(default: kafka.starting_offsets).",
)
@_options
@click.pass_obj
def kafka(settings: Settings, **opts: Any) -> None:
    """Ingest point-of-sale events (contract: ingest/events.py) from a Kafka topic."""
    settings = settings.with_overrides(
        **{
            f"kafka.{name}": opts[name]
            for name in (
                "bootstrap_servers",
                "topic",
                "max_offsets_per_trigger",
                "max_event_bytes",
                "starting_offsets",
            )
        }
    )

    _run(settings, "kafka", opts, settings.kafka.trigger_seconds)


@command.command("status")
@click.option("--delta-dir", type=click.Path(path_type=Path), help="Delta tables root.")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_obj
def status(settings: Settings, delta_dir: Path | None, as_json: bool) -> None:
    """The lines and quarantine tables (rows, partitions, files, last commit), the last
    batch of every ingest query, and the Kafka lag per topic partition."""
    import json

    from basket_pipeline import stages

    settings = settings.with_overrides(**{"paths.delta_dir": delta_dir})
    found = stages.ingest_status(settings)
    if as_json:
        click.echo(json.dumps(stages.jsonable(found), indent=2))
        return
    for table in found.tables:
        click.echo(
            f"{table.name}: {table.rows:,} rows, {table.layout}, {table.partitions:,} partitions, "
            f"{table.files:,} files ({table.average_file_mb:.2f} MB avg), "
            f"version {table.version}, last commit {table.last_commit}"
        )
    maintained = Path(settings.paths.delta_dir) / "_reports" / "maintenance.json"
    if maintained.is_file():
        for entry in json.loads(maintained.read_text(encoding="utf-8")):
            click.echo(
                f"last maintenance of {entry['table']} at {entry['finished_at']}: "
                f"{entry['before']['files']:,} -> {entry['after']['files']:,} files, "
                f"{entry['files_vacuumed']:,} vacuumed"
            )
    for report in found.reports:
        last = report.recent[-1] if report.recent else None
        click.echo(report.summary())
        if last is not None:
            click.echo(f"  last batch {last['batch_id']} at {last['finished_at']}")
    for topic_partition, lag in sorted(found.lag.items()):
        click.echo(f"lag {topic_partition}: {lag:,} events")


@command.command("maintain")
@click.option("--delta-dir", type=click.Path(path_type=Path), help="Delta tables root.")
@click.option(
    "--retention-hours",
    type=click.FloatRange(min=0.0),
    help="VACUUM keeps unreferenced files younger than this (default: config, 168).",
)
@click.pass_obj
def maintain(settings: Settings, delta_dir: Path | None, retention_hours: float | None) -> None:
    """Compact the lines and quarantine tables' small files (OPTIMIZE) and delete the
    files no recent version needs (VACUUM); prints the file counts before and after.

    Safe beside a running stream (appends do not conflict with compaction); the
    scheduled catch-up runs it too (maintenance.after_catch_up)."""
    from basket_pipeline import stages

    settings = settings.with_overrides(
        **{
            "paths.delta_dir": delta_dir,
            "maintenance.vacuum_retention_hours": retention_hours,
        }
    )
    done = stages.maintain_tables(settings)
    if not done:
        raise click.ClickException(f"no ingest tables under {settings.paths.delta_dir}")
    for table in done:
        click.echo(table.line())


@command.command("relayout")
@click.option("--delta-dir", type=click.Path(path_type=Path), help="Delta tables root.")
@click.pass_obj
def relayout(settings: Settings, delta_dir: Path | None) -> None:
    """Rewrite a lines table made before liquid clustering (partitioned by event date:
    one small file per date per batch) as one clustered by event date, in one Delta
    commit, then compact it. Readers see the old layout or the new, with the same rows;
    history and time travel stay. Best run with the stream stopped: lines a running
    stream appends during the rewrite are copied again after it."""
    from basket_pipeline import stages

    settings = settings.with_overrides(**{"paths.delta_dir": delta_dir})
    done = stages.relayout_lines(settings)
    click.echo(done.line() if done is not None else "lines: already clustered; nothing to do")
