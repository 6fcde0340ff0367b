"""``basket quicksight deploy|refresh``: QuickSight as code over the Athena tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from basket.commands.options import apply_aws_options, aws_options
from basket_core.config import Settings

PRINT_ACCOUNT = "123456789012"


def qs_options(fn: Any) -> Any:
    for option in reversed(
        (
            click.option("--account-id", help="QuickSight account (default: the caller's)."),
            click.option("--principal-arn", help="QuickSight user/group given owner rights."),
            click.option("--id-prefix", help="Prefix of every QuickSight resource id."),
            click.option("--database", help="Athena database."),
            click.option("--workgroup", help="Athena workgroup."),
        )
    ):
        fn = option(fn)
    return aws_options(fn)


def apply_qs_options(settings: Settings, opts: dict[str, Any]) -> Settings:
    return apply_aws_options(settings, opts).with_overrides(
        **{
            "dashboards.quicksight_account_id": opts.get("account_id"),
            "dashboards.quicksight_principal_arn": opts.get("principal_arn"),
            "dashboards.quicksight_id_prefix": opts.get("id_prefix"),
            "athena.database": opts.get("database"),
            "athena.workgroup": opts.get("workgroup"),
        }
    )


def clients(settings: Settings) -> tuple[Any, Any]:
    """(quicksight, sts) clients. QuickSight's has no botocore retries: its
    LimitExceededException is the ingestion quota, which retrying cannot fix."""
    from basket_core.aws.session import client

    return client(settings.aws, "quicksight", max_attempts=1), client(settings.aws, "sts")


def _deployment(settings: Settings, sts: Any | None) -> Any:
    from quicksight import api
    from quicksight.deployment import deployment_for

    account = settings.dashboards.quicksight_account_id
    if account is None:
        account = api.account_id(sts) if sts is not None else PRINT_ACCOUNT
    try:
        return deployment_for(settings, account)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group("quicksight")
def command() -> None:
    """QuickSight data source, data sets, analysis and dashboard, defined in code."""


@command.command("deploy")
@qs_options
@click.option("--print", "print_only", is_flag=True, help="Print the requests, call nothing.")
@click.pass_obj
def deploy_command(settings: Settings, print_only: bool, **opts: Any) -> None:
    """Create or update the Athena data source, SPICE data sets, analysis and dashboard."""
    from basket_pipeline import stages
    from quicksight import api, datasets, definition
    from quicksight.deploy import deploy
    from quicksight.ranges import DEFAULT_RANGES

    settings = apply_qs_options(settings, opts)
    ranges = stages.quicksight_ranges(settings)
    if ranges is None:
        click.echo("no local run: the sliders get their default ranges", err=True)
        ranges = DEFAULT_RANGES
    if print_only:
        deployment = _deployment(settings, None)
        requests = {
            "data_source": datasets.data_source_request(deployment),
            "data_sets": [datasets.data_set_request(deployment, s) for s in datasets.DATA_SETS],
            "analysis": definition.analysis_request(deployment, ranges),
            "dashboard": definition.dashboard_request(deployment, ranges=ranges),
        }
        click.echo(json.dumps(requests, indent=2, ensure_ascii=False))
        return
    qs, sts = clients(settings)
    deployment = _deployment(settings, sts)
    d = settings.dashboards
    try:
        done = deploy(
            qs,
            deployment,
            interval_s=d.quicksight_poll_interval_s,
            timeout_s=d.quicksight_timeout_s,
            ranges=ranges,
        )
    except (api.QuickSightError, TimeoutError) as exc:
        raise click.ClickException(str(exc)) from exc
    for u in done:
        click.echo(f"{u.action:8} {u.kind:12} {u.resource_id}")


@command.command("refresh")
@qs_options
@click.option("--run-id", help="Run being published (default: the latest local run).")
@click.option("--attempt", type=int, default=1, show_default=True, help="Retry number.")
@click.option("--data-set", "names", multiple=True, help="Only these data sets (repeatable).")
@click.option("--timeout", type=float, help="Seconds to wait for all ingestions.")
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Local results root.")
@click.pass_obj
def refresh_command(settings: Settings, **opts: Any) -> None:
    """Start a SPICE ingestion per data set and wait for them."""
    from basket_pipeline import stages
    from quicksight import api
    from quicksight.refresh import DATA_SET_NAMES

    settings = apply_qs_options(settings, opts)
    names = tuple(opts["names"]) or DATA_SET_NAMES
    unknown = set(names) - set(DATA_SET_NAMES)
    if unknown:
        raise click.BadParameter(f"unknown data sets {sorted(unknown)}", param_hint="--data-set")
    qs, sts = clients(settings)
    try:
        results = stages.refresh_quicksight(
            settings,
            {"quicksight": qs, "sts": sts}.__getitem__,
            opts["run_id"] or "latest",
            attempt=opts["attempt"],
            names=names,
            timeout_s=opts["timeout"],
        )
    except FileNotFoundError as exc:
        raise click.ClickException(f"no --run-id given and no local run: {exc}") from exc
    except (api.QuickSightError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    for r in results:
        how = "started" if r.started else "already running"
        click.echo(
            f"{r.data_set_id}: {r.status} ({how}, ingestion {r.ingestion_id}, "
            f"{r.rows_ingested} rows, {r.rows_dropped} dropped)"
        )
