"""``basket query NAME``: run an analyst query from the pack, on Athena or locally."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import click

from basket.commands.athena import apply_athena_options
from basket.commands.options import aws_options
from basket_core.config import Settings


def parse_params(pairs: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r} is not k=v", param_hint="--param")
        out[key.strip()] = value
    return out


def render(columns: list[str], rows: list[tuple[Any, ...]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([dict(zip(columns, r, strict=True)) for r in rows], indent=2, default=str)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(columns)
        w.writerows(rows)
        return buf.getvalue().rstrip("\n")
    raise ValueError(f"unknown format {fmt!r}")


def print_table(title: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(
            *("" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v) for v in r)
        )
    Console().print(table)


@click.command("query")
@click.argument("name", required=False)
@click.option("--param", "-p", "params", multiple=True, help="Query parameter k=v (repeatable).")
@click.option(
    "--backend", type=click.Choice(["local", "athena"]), default="local", show_default=True
)
@click.option(
    "--source",
    type=click.Choice(["local", "s3"]),
    default=None,
    help="What --backend local reads: the local results folder (default) or the published "
    "copy in s3://<bucket>/<prefix>/ (current attempts only).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Local results root.")
@click.option("--list", "list_only", is_flag=True, help="List the queries and their parameters.")
@click.option("--show-sql", is_flag=True, help="Print the SQL the backend runs, run nothing.")
@click.option("--database", help="Athena database.")
@click.option("--workgroup", help="Athena workgroup.")
@click.option("--output-location", help="s3:// URI for Athena query results.")
@aws_options
@click.pass_obj
def command(settings: Settings, name: str | None, **opts: Any) -> None:
    """Run analyst query NAME (see --list) with bound parameters."""
    from athena import pack

    if opts["list_only"] or not name:
        for n in pack.names():
            q = pack.load(n)
            click.echo(f"{n}: {q.description}")
            for p in q.params:
                default = "required" if p.required else f"default {p.default!r}"
                click.echo(f"    {p.name} ({p.type}, {default}) {p.doc}")
        return
    settings = apply_athena_options(settings, opts)
    if opts["source"] is not None and opts["backend"] != "local":
        raise click.UsageError("--source applies to --backend local (Athena reads S3)")
    try:
        query = pack.load(name)
        values = query.bind(parse_params(opts["params"]))
    except pack.QueryError as exc:
        raise click.ClickException(str(exc)) from exc
    if opts["show_sql"]:
        if opts["backend"] == "local":
            click.echo(pack.for_duckdb(query))
        else:
            sql, parameters = pack.for_athena(query, values)
            click.echo(f"{sql}\n-- ExecutionParameters: {json.dumps(parameters)}")
        return
    columns, rows = _run(settings, opts["backend"], query, values, opts["source"] or "local")
    if opts["fmt"] == "table":
        print_table(f"{name} ({len(rows)} rows)", columns, rows)
    else:
        click.echo(render(columns, rows, opts["fmt"]))


def _run(
    settings: Settings, backend: str, query: Any, values: dict[str, Any], source: str = "local"
) -> tuple[list[str], list[tuple[Any, ...]]]:
    if backend == "local":
        from athena import local
        from basket_pipeline import stages

        try:
            con = stages.query_connection(settings, "s3" if source == "s3" else "local")
        except OSError as exc:  # S3 unreachable, access denied, no such bucket
            raise click.ClickException(f"reading {source} results: {exc}") from exc
        try:
            return local.run(con, query, values)
        finally:
            con.close()
    from athena import remote
    from basket_core.aws.athena import AthenaQueryError, for_settings

    try:
        return remote.run(for_settings(settings), query, values)
    except AthenaQueryError as exc:
        raise click.ClickException(str(exc)) from exc
