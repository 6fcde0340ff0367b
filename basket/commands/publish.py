"""``basket publish``: upload one local run to S3 as a new attempt, switch readers to it;
``--setup-bucket`` applies the bucket's lifecycle rules first."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
@click.option("--no-prune", is_flag=True, help="Keep the attempts this publish supersedes.")
@click.option(
    "--setup-bucket",
    is_flag=True,
    help="Apply the lifecycle rules (abort open multipart uploads, expire superseded "
    "attempts; days from publish.*) before publishing.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def command(settings: Settings, **opts: Any) -> None:
    """Upload a complete run's datasets and exports to s3://BUCKET/PREFIX/ (idempotent).

    The run goes to a new attempt folder no reader looks at; once every file is verified,
    the Glue partitions, the run's pointer and _latest.json (only if this run is the
    latest: newest dt, then newest finish) switch to it, and the attempts it replaced
    are deleted (publish.retain_attempts kept). A run without its succeeded run.json, or
    whose files do not hold the report's row counts, is refused.
    """
    from basket.cli import one_line
    from basket_pipeline import stages
    from basket_publish.publisher import PublishError, run_bytes

    try:
        settings = apply_aws_options(settings, opts)
        options = stages.publish_options(
            settings,
            checksum=opts["checksum"],
            workers=opts["workers"],
            multipart_threshold=opts["multipart_threshold_mb"] * MiB,
            multipart_chunksize=opts["multipart_chunksize_mb"] * MiB,
            prune=not opts["no_prune"],
        )
    except (ValueError, KeyError) as exc:
        raise click.ClickException(str(exc)) from exc
    clients = stages.default_clients(settings)
    if opts["setup_bucket"]:
        rules = stages.setup_bucket(settings, clients)
        click.echo(
            f"lifecycle rules on s3://{settings.aws.bucket}: " + ", ".join(r["ID"] for r in rules),
            err=True,
        )
    try:
        run = stages.find_run(settings, opts["run_id"])
    except (ValueError, KeyError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        with byte_progress(run_bytes(run), f"publishing {run.run_id}") as on_bytes:
            result = stages.publish(
                settings, clients, opts["run_id"], options=options, on_bytes=on_bytes
            )
    except PublishError as exc:
        raise click.ClickException(one_line(exc)) from exc
    if opts["as_json"]:
        click.echo(json.dumps(asdict(result), indent=2))
        return
    click.echo(
        f"run {result.run_id} -> {result.target} (attempt {result.attempt}): "
        f"{len(result.uploaded)} uploaded, {len(result.skipped)} unchanged, "
        f"{len(result.deleted)} superseded deleted; "
        f"_latest.json {'written' if result.manifest_written else result.manifest_reason}"
    )


@contextmanager
def byte_progress(total: int, title: str) -> Iterator[Callable[[int], None]]:
    """A progress bar in bytes on stderr (a terminal only; elsewhere the closing line
    says what was sent); yields the callback the transfer threads call."""
    import threading

    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    console = Console(stderr=True)
    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
    )
    task = bar.add_task(title, total=total)
    lock = threading.Lock()

    def advance(n: int) -> None:
        with lock:
            bar.advance(task, n)

    with bar:
        yield advance
