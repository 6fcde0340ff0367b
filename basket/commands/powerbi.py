"""``basket powerbi export``: the files Power BI needs to read the results from Athena."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from basket.commands.options import apply_aws_options, aws_options
from basket_core.aws.athena import QueryTarget
from basket_core.config import Settings


@click.group("powerbi")
def command() -> None:
    """Power BI through the Athena ODBC driver."""


@command.command("export")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the .pbids file, DSN settings and Power Query templates.",
)
@click.option("--dsn", help="ODBC data source name (default: dashboards.powerbi_dsn).")
@click.option("--database", help="Athena database.")
@click.option("--workgroup", help="Athena workgroup.")
@click.option("--output-location", help="s3:// URI for Athena query results.")
@aws_options
@click.pass_obj
def export_command(settings: Settings, out_dir: Path, **opts: Any) -> None:
    """Write <dsn>.pbids, athena-dsn.md, odbc.ini and latest_*.pq into --out."""
    from quicksight.powerbi import OdbcSettings, export

    settings = apply_aws_options(settings, opts).with_overrides(
        **{
            "dashboards.powerbi_dsn": opts.get("dsn"),
            "athena.database": opts.get("database"),
            "athena.workgroup": opts.get("workgroup"),
            "athena.output_location": opts.get("output_location"),
        }
    )
    odbc = OdbcSettings(
        dsn=settings.dashboards.powerbi_dsn,
        region=settings.aws.region,
        database=settings.athena.database,
        workgroup=settings.athena.workgroup,
        output_location=str(QueryTarget.of(settings).output_location),
        profile=settings.aws.profile,
    )
    for path in export(out_dir, odbc):
        click.echo(str(path))
