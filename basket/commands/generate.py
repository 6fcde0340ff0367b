"""``basket generate``: synthetic point-of-sale data (see :mod:`basket_devtools.generate`)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from basket_core.config import Settings
from basket_devtools.generate import Format, GeneratorConfig, generate

DEFAULT_NAMES: dict[str, str] = {"long": "retail.csv", "basket": "baskets.txt"}


def default_output(settings: Settings, fmt: str) -> Path:
    """``<paths.data_dir>/generated/retail.csv`` (or ``baskets.txt``)."""
    return settings.paths.data_dir / "generated" / DEFAULT_NAMES[fmt]


@click.command("generate")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write; '.gz' compresses. Default: <data_dir>/generated/retail.csv "
    "(baskets.txt with --format basket).",
)
@click.option("--transactions", "-n", type=int, default=20_000, show_default=True)
@click.option("--items", type=int, default=2_000, show_default=True, help="Distinct products.")
@click.option("--stores", type=int, default=10, show_default=True)
@click.option(
    "--start-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default="2025-01-01",
    show_default=True,
    help="First sale date.",
)
@click.option("--days", type=int, default=30, show_default=True, help="Days of sales.")
@click.option(
    "--dirty-share",
    type=float,
    default=0.02,
    show_default=True,
    help="Share of rows that are dirty (long format only).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["long", "basket"]),
    default="long",
    show_default=True,
    help="long: CSV row per line item (with dirt); basket: a transaction per line, no dirt.",
)
@click.option("--sep", default=",", show_default=True, help="Item separator for --format basket.")
@click.option(
    "--mean-basket", type=float, default=5.0, show_default=True, help="Mean items per basket."
)
@click.option("--rules", type=int, default=5, show_default=True, help="Planted rules.")
@click.pass_obj
def command(
    settings: Settings,
    output: Path | None,
    transactions: int,
    items: int,
    stores: int,
    start_date: datetime,
    days: int,
    dirty_share: float,
    seed: int,
    fmt: Format,
    sep: str,
    mean_basket: float,
    rules: int,
) -> None:
    """Generate synthetic point-of-sale data shaped like UCI "Online Retail".

    Writes the data file plus <stem>.manifest.json (rows, dirty rows per kind and
    the rejection reason each kind should get) and <stem>.planted_rules.json (the
    planted association rules with their exact counts). Same seed, same bytes.
    """
    try:
        config = GeneratorConfig(
            transactions=transactions,
            items=items,
            stores=stores,
            start_date=start_date.date(),
            days=days,
            dirty_share=dirty_share if fmt == "long" else 0.0,
            seed=seed,
            mean_basket=mean_basket,
            rules=rules,
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    path = output if output is not None else default_output(settings, fmt)
    console = Console(stderr=True)
    columns = (TextColumn("generating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("generate", total=transactions)
        try:
            result = generate(
                config, path, fmt=fmt, sep=sep, on_chunk=lambda n: progress.advance(task, n)
            )
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(
        f"wrote {result.rows:,} rows ({result.transactions:,} transactions, "
        f"{result.dirty_rows:,} dirty rows) to {result.path} in {result.seconds:.1f}s; "
        f"manifest {result.manifest_path.name}, planted rules {result.rules_path.name}"
    )
