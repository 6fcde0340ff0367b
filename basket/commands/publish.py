"""``basket publish``: upload one local run to S3 with the same layout, manifest last."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from basket.commands.options import apply_aws_options, aws_options
from basket_core.config import Settings

MiB = 1024 * 1024


@click.command("publish")
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Local results root.")
@click.option("--run-id", default="latest", show_default=True, help="Run id, or 'latest'.")
@aws_options
@click.option("--sse", type=click.Choice(["AES256", "aws:kms", "none"]), help="Encryption.")
@click.option("--kms-key-id", help="KMS key id or ARN for --sse aws:kms.")
@click.option(
    "--checksum", type=click.Choice(["SHA256", "CRC32"]), default="SHA256", show_default=True
)
@click.option("--workers", type=int, default=8, show_default=True, help="Parallel uploads.")
@click.option("--multipart-threshold-mb", type=int, default=64, show_default=True)
@click.option("--multipart-chunksize-mb", type=int, default=16, show_default=True)
@click.option("--no-prune", is_flag=True, help="Keep objects of the run that are not local.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def command(settings: Settings, **opts: Any) -> None:
    """Upload a run's datasets and exports to s3://BUCKET/PREFIX/ (idempotent).

    Files S3 already holds byte for byte are skipped; _latest.json is written last,
    and only when this run is at least as new as the one it names.
    """
    from basket_pipeline import stages
    from basket_publish.publisher import PublishError, PublishOptions

    try:
        settings = apply_aws_options(settings, opts)
        options = PublishOptions(
            checksum=opts["checksum"],
            workers=opts["workers"],
            multipart_threshold=opts["multipart_threshold_mb"] * MiB,
            multipart_chunksize=opts["multipart_chunksize_mb"] * MiB,
            prune=not opts["no_prune"],
        )
        stages.find_run(settings, opts["run_id"])
    except (ValueError, KeyError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        result = stages.publish(
            settings, stages.default_clients(settings), opts["run_id"], options=options
        )
    except PublishError as exc:
        raise click.ClickException(str(exc)) from exc
    if opts["as_json"]:
        click.echo(json.dumps(asdict(result), indent=2))
        return
    click.echo(
        f"run {result.run_id} -> {result.target}: {len(result.uploaded)} uploaded, "
        f"{len(result.skipped)} unchanged, {len(result.deleted)} stale deleted; "
        f"_latest.json {'written' if result.manifest_written else result.manifest_reason}"
    )
