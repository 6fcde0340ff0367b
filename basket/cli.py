"""``basket``: the command-line entry point. Commands are thin adapters in
:mod:`basket.commands`, imported only when used so ``basket --help`` is fast."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
from typing import Any

import click

from basket_core.config import CONFIG_ENV, load_settings

# name -> "module:attribute". A module that does not exist yet is not listed.
COMMANDS: dict[str, str] = {
    "demo": "basket.commands.demo:command",
    "generate": "basket.commands.generate:command",
    "mine": "basket.commands.mine:command",
    "services": "basket.commands.services:command",
    "replay": "basket.commands.replay:command",
    "ingest": "basket.commands.ingest:command",
    "publish": "basket.commands.publish:command",
    "athena": "basket.commands.athena:command",
    "query": "basket.commands.query:command",
    "dashboard": "basket.commands.dashboard:command",
    "quicksight": "basket.commands.quicksight:command",
    "powerbi": "basket.commands.powerbi:command",
    "airflow": "basket.commands.airflow:command",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(
            name
            for name, target in COMMANDS.items()
            if importlib.util.find_spec(target.split(":")[0]) is not None
        )

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None or cmd_name not in self.list_commands(ctx):
            return None
        module_name, attr = target.split(":")
        cmd: click.Command = getattr(importlib.import_module(module_name), attr)
        return cmd


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    envvar=CONFIG_ENV,
    help="TOML config file (default: ./basket.toml if present). Env BASKET_<SECTION>__<FIELD> overrides it.",
)
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
@click.version_option(package_name="basket-pipeline")
@click.pass_context
def main(ctx: click.Context, config_file: str | None, verbose: int) -> None:
    """Market basket analysis pipeline: generate, ingest, mine, publish, query, dashboards."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("py4j", "botocore", "urllib3", "s3transfer", "kafka", "werkzeug"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    try:
        ctx.obj = load_settings(config_file)
    except Exception as exc:  # invalid config is a user error: one clear line
        raise click.ClickException(f"invalid configuration: {exc}") from exc


def run(argv: list[str] | None = None) -> Any:
    return main.main(args=argv, prog_name="basket", standalone_mode=False)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
