"""``basket dashboard``: serve the local interactive dashboard, or write its HTML snapshot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from basket_core.config import Settings


@click.command("dashboard")
@click.option("--host", help="Address to listen on (default 127.0.0.1: this machine only).")
@click.option(
    "--port", type=click.IntRange(0, 65535), help="Port (0 picks a free one; default 8050)."
)
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Local results root.")
@click.option(
    "--backend", type=click.Choice(["local", "athena"]), help="Query backend (default: config)."
)
@click.option(
    "--snapshot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a static self-contained HTML snapshot of the latest run to FILE and exit.",
)
@click.option("--run-id", default="", help="Run of the snapshot (default: the latest).")
@click.pass_obj
def command(settings: Settings, **opts: Any) -> None:
    """Interactive dashboard over the results, through the analyst query pack."""
    settings = settings.with_overrides(
        **{
            "paths.output_dir": opts["output"],
            "dashboards.host": opts["host"],
            "dashboards.port": opts["port"],
            "dashboards.backend": opts["backend"],
        }
    )
    from basket_dashboard.source import source_for

    src = source_for(settings)
    if opts["snapshot"]:
        from basket_dashboard.snapshot import write_snapshot

        try:
            path = write_snapshot(settings, opts["snapshot"], run_id=opts["run_id"], src=src)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"snapshot written: {path}")
        return
    from basket_dashboard import plotly_bundle
    from basket_dashboard.app import create_app, serve

    d = settings.dashboards
    try:
        assets: Path | None = plotly_bundle.ensure(settings.paths.cache_dir)
    except plotly_bundle.BundleError as exc:
        click.echo(
            f"warning: {exc}; the page loads plotly.js's full bundle (a slower first paint)",
            err=True,
        )
        assets = None

    def ready(url: str) -> None:
        click.echo(f"Dashboard on {url} (Ctrl-C to stop)", err=False)

    serve(create_app(src, assets), d.host, d.port, on_ready=ready)
