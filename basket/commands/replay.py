"""``basket replay``: publish a long-format CSV to Kafka as point-of-sale events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from basket.commands.options import column_options, column_overrides
from basket_core.config import Settings


@click.command("replay")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--bootstrap-servers", help="Kafka bootstrap servers (default: config).")
@click.option("--topic", help="Topic (default: config).")
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    help="Events per second (default: as fast as possible).",
)
@click.option("--limit", type=click.IntRange(min=0), help="Stop after this many events.")
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Producer processes (at most one per partition; each partition stays in file order).",
)
@click.option("--delimiter", help="CSV field delimiter (default ',').")
@column_options
@click.pass_obj
def command(settings: Settings, csv_file: Path, **opts: Any) -> None:
    """Publish CSV_FILE (one row per line item, `basket mine` layout) to a topic, one JSON
    event per line keyed by transaction id (contract: ingest/events.py)."""
    from ingest.replay import ReplayError, replay
    from spark.load import InputError

    settings = settings.with_overrides(
        **{
            "kafka.bootstrap_servers": opts["bootstrap_servers"],
            "kafka.topic": opts["topic"],
            "input.delimiter": opts["delimiter"],
            **column_overrides(opts),
        }
    )
    try:
        report = replay(
            csv_file,
            settings.kafka.bootstrap_servers,
            settings.kafka.topic,
            settings.columns,
            settings.input,
            rate=opts["rate"],
            limit=opts["limit"],
            processes=opts["processes"],
        )
    except (InputError, ReplayError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"published {report.messages:,} events to {settings.kafka.topic} in "
        f"{report.seconds:.1f}s ({report.rate:,.0f}/s); {report.malformed} malformed rows sent raw"
    )
