"""``basket``: the command-line entry point. Commands are thin adapters in
:mod:`basket.commands`, imported only when used so ``basket --help`` is fast."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
from typing import Any, NoReturn

import click

CONFIG_ENV = "BASKET_CONFIG"
"""``basket_core.config.CONFIG_ENV`` (a test checks they agree): the settings module, and
pydantic with it, is imported only once a command runs, not for ``basket --help``."""

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

# name -> the command's short help, so ``basket --help`` lists the commands without
# importing them (a test checks each against the command's own).
SHORT_HELP: dict[str, str] = {
    "demo": "Run the pipeline on the embedded default (local Kafka, Spark, Airflow, moto).",
    "generate": 'Generate synthetic point-of-sale data shaped like UCI "Online Retail".',
    "mine": "Mine frequent itemsets and association rules with Spark FP-Growth.",
    "services": "Start, stop and inspect local services (Kafka, Spark Connect; on 127.0.0.1).",
    "replay": "Publish CSV_FILE (one row per line item, `basket mine` layout) to a topic, one "
    "JSON event per line keyed by transaction id (contract: ingest/events.py).",
    "ingest": "Continuous ingestion into <delta_dir>/lines and <delta_dir>/quarantine.",
    "publish": "Upload a complete run's datasets and exports to s3://BUCKET/PREFIX/ (idempotent).",
    "athena": "Athena catalog over the published results.",
    "query": "Run analyst query NAME (see --list) with bound parameters.",
    "dashboard": "Interactive dashboard over the results, through the analyst query pack.",
    "quicksight": "QuickSight data source, data sets, analysis and dashboard, defined in code.",
    "powerbi": "Power BI through the Athena ODBC driver.",
    "airflow": "Run the market basket DAGs on a local Airflow (pip install '.[airflow]').",
}


def one_line(exc: BaseException) -> str:
    """An exception as one line: a settings error as ``setting: problem``, a JVM error as
    the Java exception's own message, anything else as its first line."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
        return "; ".join(problems)
    java = getattr(exc, "java_exception", None)
    text = str(java.toString()) if java is not None else str(exc) or type(exc).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def user_error(exc: Exception, settings: Any = None) -> click.ClickException:
    """The click exception (exit 2 for a usage mistake, 1 otherwise) for ``exc``
    (``settings``: the command's, to name a Spark Connect server that went away)."""
    from pydantic import ValidationError

    from basket.commands.options import BadOption
    from basket_core.config import Settings
    from basket_core.errors import InputError, OptionError, ServiceUnavailable
    from spark.session import connect_lost

    if isinstance(exc, ValidationError | OptionError):
        return BadOption(one_line(exc))
    if isinstance(exc, InputError | ServiceUnavailable):
        return click.ClickException(one_line(exc))
    if isinstance(settings, Settings) and settings.spark.remote and connect_lost(exc):
        return click.ClickException(
            f"the Spark Connect server {settings.spark.remote} stopped answering during the "
            f"command (retried for {settings.spark.connect_retry_s:g} s, "
            "spark.connect_retry_s); `basket services status spark` shows whether it runs"
        )
    return click.ClickException(
        f"{type(exc).__name__}: {one_line(exc)} (run with -v for the traceback)"
    )


class LazyGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        """Every mistake ends in one line on stderr and a non-zero exit; the traceback only
        with ``-v``."""
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if ctx.meta.get("basket.verbose", 0) > 0:
                raise
            raise user_error(exc, ctx.obj) from exc

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # a command's --help must show even when the settings are invalid (main loads
        # them before the command parses its own options)
        ctx.meta["basket.help"] = any(a in HELP_OPTIONS for a in args)
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(
            name
            for name, target in COMMANDS.items()
            if importlib.util.find_spec(target.split(":")[0]) is not None
        )

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands and their short help from :data:`SHORT_HELP`, importing only a
        command that has none there."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            text = SHORT_HELP.get(name)
            if text is not None:
                rows.append((name, click.Command(name, help=text).get_short_help_str(limit)))
                continue
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None or cmd_name not in self.list_commands(ctx):
            return None
        module_name, attr = target.split(":")
        cmd: click.Command = getattr(importlib.import_module(module_name), attr)
        return cmd


HELP_OPTIONS = ("-h", "--help")


@click.group(cls=LazyGroup, context_settings={"help_option_names": list(HELP_OPTIONS)})
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    envvar=CONFIG_ENV,
    help="TOML config file (default: ./basket.toml if present). Env BASKET_<SECTION>__<FIELD> overrides it.",
)
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
@click.option(
    "--remote",
    metavar="sc://HOST:PORT",
    help="Run Spark work on this Spark Connect server (spark.remote; "
    "`basket services start spark` runs one on sc://127.0.0.1:15002).",
)
@click.version_option(package_name="basket-pipeline")
@click.pass_context
def main(ctx: click.Context, config_file: str | None, verbose: int, remote: str | None) -> None:
    """Market basket analysis pipeline: generate, ingest, mine, publish, query, dashboards."""
    ctx.meta["basket.verbose"] = verbose
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("py4j", "botocore", "urllib3", "s3transfer", "kafka", "werkzeug"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    if not verbose:  # kafka-python logs each failed connection; the command says it once
        logging.getLogger("kafka").setLevel(logging.CRITICAL)
    from basket_core.config import load_settings

    try:
        ctx.obj = load_settings(config_file)
        if remote is not None:
            ctx.obj = ctx.obj.with_overrides(**{"spark.remote": remote})
    except Exception as exc:  # invalid config is a user error: one clear line
        if ctx.meta.get("basket.help"):
            return  # the command shows its help and exits before it needs settings
        raise click.UsageError(f"invalid configuration: {one_line(exc)}") from exc


def run(argv: list[str] | None = None) -> Any:
    return main.main(args=argv, prog_name="basket", standalone_mode=False)


def console() -> NoReturn:
    """The ``basket`` console script (and ``python -m basket.cli``): :func:`main` as click
    runs it, then :func:`leave` with its exit status."""
    try:
        main.main(prog_name="basket")
    except SystemExit as stop:
        leave(stop.code)
    leave(0)


def leave(code: object) -> NoReturn:
    """End the process with ``code`` (as ``SystemExit`` reads it) without the interpreter's
    teardown, which frees every imported module's objects one by one (numpy, pandas,
    pyarrow, gRPC, pyspark): about 0.2 s of a warm ``basket mine`` of ~3 s, measured.

    What an exit must do is still done, in the interpreter's order: thread pools left
    open are woken and non-daemon threads joined, the ``atexit`` functions run (logging's flush, ``weakref.finalize``
    clean-ups, Spark's own shutdown hooks), unreachable objects are collected (their
    ``__del__`` runs), files still open for writing are flushed (teardown would close
    them), and so are stdout and stderr (a closed pipe, as ``basket ... | head`` leaves,
    is not an error)."""
    import atexit
    import contextlib
    import gc
    import io
    import os
    import threading

    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    # the interpreter's own first step: threading's exit hooks (which wake the idle
    # workers of thread pools left open), then every non-daemon thread joined
    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    gc.collect()
    writers = (io.TextIOWrapper, io.BufferedWriter, io.BufferedRandom)
    for stream in [o for o in gc.get_objects() if type(o) in writers] + [sys.stdout, sys.stderr]:
        with contextlib.suppress(OSError, ValueError):
            if not stream.closed and stream.writable():
                stream.flush()
    os._exit(status)


if __name__ == "__main__":  # pragma: no cover
    console()
