"""``basket athena``: create the catalog (database, tables, latest_* views) and add a
run's partitions, through Athena DDL (``--via sql``) or the Glue API (``--via glue``)."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from basket.commands.options import apply_aws_options, aws_options
from basket_core.config import Settings
from basket_core.layout import Target

_DATE = click.DateTime(formats=["%Y-%m-%d"])


def athena_options(fn: Any) -> Any:
    for option in reversed(
        (
            click.option("--database", help="Glue/Athena database."),
            click.option("--workgroup", help="Athena workgroup."),
            click.option("--output-location", help="s3:// URI for Athena query results."),
            click.option(
                "--via",
                type=click.Choice(["sql", "glue"]),
                default="sql",
                show_default=True,
                help="Athena DDL statements, or Glue API calls (same catalog).",
            ),
            click.option("--print", "print_only", is_flag=True, help="Print the DDL, run nothing."),
        )
    ):
        fn = option(fn)
    fn = aws_options(fn)
    return fn


def apply_athena_options(settings: Settings, opts: dict[str, Any]) -> Settings:
    settings = apply_aws_options(settings, opts)
    return settings.with_overrides(
        **{
            "athena.database": opts.get("database"),
            "athena.workgroup": opts.get("workgroup"),
            "athena.output_location": opts.get("output_location"),
        }
    )


@click.group("athena")
def command() -> None:
    """Athena catalog over the published results."""


def _run_sql(settings: Settings, statements: list[str]) -> None:
    from basket_core.aws.athena import AthenaQueryError
    from basket_pipeline import stages

    try:
        result = stages.run_athena_sql(settings, statements)
    except AthenaQueryError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"{len(result.query_ids)} Athena statements succeeded in workgroup "
        f"{settings.athena.workgroup}"
    )


@command.command("setup")
@athena_options
@click.pass_obj
def setup(settings: Settings, **opts: Any) -> None:
    """Create the database, the itemsets/rules/quarantine/runs tables and latest_* views."""
    from basket_pipeline import stages

    settings = apply_athena_options(settings, opts)
    statements = stages.setup_statements(settings)
    if opts["print_only"]:
        click.echo(";\n\n".join(statements) + ";")
        return
    if opts["via"] == "sql":
        _run_sql(settings, statements)
        return
    report = stages.setup_catalog_glue(settings, stages.default_clients(settings))
    click.echo(
        f"database {settings.athena.database} {'created' if report.database_created else 'exists'}; "
        + ", ".join(f"{name} {state}" for name, state in report.tables.items())
    )


def _resolve_run(settings: Settings, run_id: str, dt: date | None) -> tuple[date, str]:
    """The run's date: --dt, else the local results, else the S3 manifest."""
    from basket_core.layout import validate_run_id
    from basket_pipeline import stages

    if dt is not None and run_id != "latest":
        return dt, validate_run_id(run_id)
    try:
        run = stages.find_run(settings, run_id)
        return run.dt, run.run_id
    except FileNotFoundError:
        pass
    from basket_core.aws import s3 as s3_api
    from basket_core.aws.session import client
    from basket_core.layout import LATEST

    if run_id != "latest":
        raise click.ClickException(f"run {run_id!r} is not local: pass --dt YYYY-MM-DD")
    target = Target.of(settings.aws)
    raw = s3_api.get_bytes(client(settings.aws, "s3"), target.bucket, target.key(LATEST))
    if raw is None:
        raise click.ClickException(f"no {target.root}/{LATEST}: publish a run first")
    latest = json.loads(raw)
    return date.fromisoformat(latest["dt"]), validate_run_id(latest["run_id"])


@command.command("add-partitions")
@click.option("--run-id", default="latest", show_default=True, help="Run id, or 'latest'.")
@click.option("--dt", type=_DATE, help="The run's date (default: looked up).")
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Local results root.")
@athena_options
@click.pass_obj
def add_partitions(settings: Settings, **opts: Any) -> None:
    """Add one run's partitions to every table (ADD IF NOT EXISTS; no MSCK REPAIR)."""
    from basket_pipeline import stages

    settings = apply_athena_options(settings, opts)
    dt_opt: datetime | None = opts["dt"]
    try:
        dt, run_id = _resolve_run(settings, opts["run_id"], dt_opt.date() if dt_opt else None)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    statements = stages.partition_statements(settings, dt, run_id)
    if opts["print_only"]:
        click.echo(";\n\n".join(statements) + ";")
        return
    if opts["via"] == "sql":
        _run_sql(settings, statements)
        return
    result = stages.add_partitions_glue(settings, dt, run_id, stages.default_clients(settings))
    click.echo(
        f"run {run_id} (dt={dt.isoformat()}): "
        + ", ".join(
            f"{t} +{n['created']} ({n['existing']} existed)" for t, n in result.partitions.items()
        )
    )
