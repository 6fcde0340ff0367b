"""``basket mine``: load CSV (or the Delta table), clean, FP-Growth, rules, write."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from basket.commands.options import BadOption, column_options, column_overrides
from basket_core.config import Settings
from basket_core.progress import Progress

_DATE = click.DateTime(formats=["%Y-%m-%d"])


def _d(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


@click.command("mine")
@click.option(
    "--input", "-i", "inputs", multiple=True, help="CSV file, folder or glob (repeatable; .gz ok)."
)
@click.option("--table", help="Mine the Delta lines table at this path instead of CSV.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["long", "basket"]),
    help="long: a row per line item; basket: a transaction per line.",
)
@click.option("--sep", help="Item separator for --format basket (default ',').")
@click.option("--delimiter", help="CSV field delimiter (default ',').")
@click.option(
    "--header", type=click.Choice(["auto", "yes", "no"]), help="Header row (default auto-detect)."
)
@click.option("--encoding", help="Input encoding (default UTF-8).")
@column_options
@click.option("--casefold/--no-casefold", default=None, help="Lower-case item keys.")
@click.option(
    "--cancellation-prefix", help="Invoices starting with this are cancellations ('' to disable)."
)
@click.option("--dedupe/--no-dedupe", default=None, help="Quarantine repeated identical lines.")
@click.option("--min-support", type=float, help="Minimum support, fraction of baskets.")
@click.option("--min-confidence", type=float, help="Minimum rule confidence.")
@click.option("--max-size", type=int, help="Largest itemset size kept.")
@click.option("--partitions", type=int, help="MLlib FP-Growth partitions (--engine mllib).")
@click.option(
    "--engine",
    type=click.Choice(["auto", "pfp", "mllib"]),
    help="auto (default): parallel FP-growth with pyfim, one group when the baskets fit; "
    "pfp: always several groups; mllib: Spark MLlib FPGrowth.",
)
@click.option("--groups", type=int, help="PFP groups per segment (default: from cores and memory).")
@click.option(
    "--group-memory-mb",
    type=int,
    help="Estimated memory one PFP group may use (default 2048); bigger groups are split.",
)
@click.option(
    "--basket-by", type=click.Choice(["transaction", "customer-day"]), help="What makes a basket."
)
@click.option(
    "--max-consequent", type=click.IntRange(min=1), help="Most items in a rule's consequent (1)."
)
@click.option(
    "--itemsets",
    "itemset_kind",
    type=click.Choice(["all", "closed", "maximal"]),
    help="Which frequent itemsets to write (rules always use all of them).",
)
@click.option(
    "--p-adjust",
    type=click.Choice(["bonferroni", "holm", "fdr", "none"]),
    help="Correction of the rules' Fisher p-values for their number (bonferroni).",
)
@click.option(
    "--max-p",
    type=click.FloatRange(min=0.0, max=1.0, min_open=True),
    help="Keep only rules whose adjusted Fisher p-value is at most this.",
)
@click.option(
    "--prune-redundant/--keep-redundant",
    default=None,
    help="Drop rules a more general rule predicts at least as well (improvement <= 0).",
)
@click.option("--start-date", type=_DATE, help="First event date to mine (inclusive).")
@click.option("--end-date", type=_DATE, help="Last event date to mine (inclusive).")
@click.option("--where", help="Spark SQL filter on lines, e.g. \"Country = 'France'\".")
@click.option("--segment-by", help="Mine each value of this column separately (e.g. Country).")
@click.option(
    "--item-map", type=click.Path(path_type=Path), help="CSV item,category: mine categories."
)
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Results root folder.")
@click.option("--run-id", help="Run id (default: timestamp + random).")
@click.option("--run-date", type=_DATE, help="Run date partition dt (default: today UTC).")
@click.option("--master", help="Spark master (default local[*]).")
@click.option("--top", type=int, default=10, show_default=True, help="Rules to print at the end.")
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
@click.pass_obj
def command(settings: Settings, **opts: Any) -> None:
    """Mine frequent itemsets and association rules with Spark FP-Growth.

    The default engine (auto) is parallel FP-growth: Spark counts, encodes and groups
    the baskets, pyfim mines each group; --engine mllib uses Spark MLlib FPGrowth.

    Every rule carries its interest measures, chi-squared and Fisher p-values (adjusted
    for the run's number of rules) and its improvement over more general rules; each
    run is compared with the previous run of the same kind (rule_changes).

    Writes Parquet datasets itemsets/, rules/, rule_changes/, quarantine/, runs/
    (partitioned by dt and run_id), CSV exports and run.json under --output.
    """
    from basket_core.errors import InputError, OptionError
    from basket_pipeline import stages
    from spark.job import MineRequest

    settings = apply_mine_options(settings, opts)
    console = Console(stderr=True)
    try:
        request = MineRequest(
            inputs=tuple(opts["inputs"]),
            table=opts["table"],
            run_id=opts["run_id"],
            run_date=_d(opts["run_date"]),
            start_date=_d(opts["start_date"]),
            end_date=_d(opts["end_date"]),
            where=opts["where"],
            segment_by=opts["segment_by"],
            item_map=opts["item_map"],
        )
        report = stages.mine(settings, request, progress=Progress(console=console))
    except OptionError as exc:
        raise BadOption(str(exc)) from exc
    except (InputError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    if opts["as_json"]:
        click.echo(json.dumps(report.to_dict(), indent=2, default=str))
        return
    from basket.show import print_top_rules

    print_top_rules(report.exports / "rules.csv", limit=opts["top"])
    c = report.counts
    click.echo(
        f"run {report.run_id}: {c.input_rows:,} rows in = {c.accepted_rows:,} accepted "
        f"+ {c.rejected_rows:,} quarantined; {c.baskets:,} baskets, "
        f"{c.itemsets:,} itemsets, {c.rules:,} rules in {report.timings['total_s']:.1f}s "
        f"-> {report.exports}"
    )


def apply_mine_options(settings: Settings, opts: dict[str, Any]) -> Settings:
    """Fold the command-line flags into the settings (flags win)."""
    cancellation = opts.get("cancellation_prefix")
    return settings.with_overrides(
        **{
            "input.format": opts.get("fmt"),
            "input.basket_sep": opts.get("sep"),
            "input.delimiter": opts.get("delimiter"),
            "input.header": opts.get("header"),
            "input.encoding": opts.get("encoding"),
            **column_overrides(opts),
            "cleaning.casefold": opts.get("casefold"),
            "cleaning.cancellation_prefix": cancellation,  # "" disables the rule
            "cleaning.deduplicate": opts.get("dedupe"),
            "mining.min_support": opts.get("min_support"),
            "mining.min_confidence": opts.get("min_confidence"),
            "mining.max_size": opts.get("max_size"),
            "mining.partitions": opts.get("partitions"),
            "mining.engine": opts.get("engine"),
            "mining.groups": opts.get("groups"),
            "mining.group_memory_mb": opts.get("group_memory_mb"),
            "mining.basket_by": opts.get("basket_by"),
            "mining.max_consequent": opts.get("max_consequent"),
            "mining.itemsets": opts.get("itemset_kind"),
            "mining.p_adjust": opts.get("p_adjust"),
            "mining.max_p": opts.get("max_p"),
            "mining.prune_redundant": opts.get("prune_redundant"),
            "paths.output_dir": opts.get("output"),
            "spark.master": opts.get("master"),
        }
    )
