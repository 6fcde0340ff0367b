"""``basket airflow``: run the project's DAGs on a local Airflow 3 (the ``airflow`` extra).

- ``basket airflow env``: the environment a local Airflow needs (home, DAG folder, SQLite
  DB, ``aws_default``/``spark_default`` connections from the project config), as
  ``export`` lines;
- ``basket airflow standalone``: ``airflow standalone`` with that environment (scheduler,
  DAG processor, triggerer and UI on 127.0.0.1); ``--local-aws`` also starts a moto server
  and points the connection at it;
- ``basket airflow test daily --day 2026-11-24``: one DAG run in this process
  (``dag.test()``), no scheduler needed.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from contextlib import nullcontext, suppress
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import click

from basket_core.config import Settings

_HOME_HELP = "AIRFLOW_HOME (default: <cache_dir>/airflow)."


def _home(settings: Settings, home: Path | None) -> Path:
    path = (home or settings.paths.cache_dir / "airflow").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _env(settings: Settings, home: Path) -> dict[str, str]:
    from basket_pipeline.airflow_runtime import airflow_env

    return airflow_env(settings, home)


@click.group("airflow")
def command() -> None:
    """Run the market basket DAGs on a local Airflow (pip install '.[airflow]')."""


@command.command("env")
@click.option("--home", type=click.Path(path_type=Path), help=_HOME_HELP)
@click.pass_obj
def env(settings: Settings, home: Path | None) -> None:
    """Print the environment for a local Airflow as shell ``export`` lines."""
    for key, value in _env(settings, _home(settings, home)).items():
        click.echo(f"export {key}={shlex.quote(value)}")


@command.command("standalone")
@click.option("--home", type=click.Path(path_type=Path), help=_HOME_HELP)
@click.option(
    "--local-aws",
    is_flag=True,
    help="Start a moto server on 127.0.0.1 for S3/Glue/Athena/QuickSight and use it.",
)
@click.pass_obj
def standalone(settings: Settings, home: Path | None, local_aws: bool) -> None:
    """Run ``airflow standalone`` on this project's DAGs (Ctrl-C stops it)."""
    airflow = shutil.which("airflow")
    if airflow is None:
        raise click.ClickException("airflow is not installed: pip install '.[airflow]'")
    folder = _home(settings, home)
    from basket_devtools.local_aws import FAKE_CREDENTIALS
    from basket_devtools.local_aws import local_aws as moto

    ctx: Any = moto(settings.aws) if local_aws else nullcontext(settings.aws)
    with ctx as aws:
        run_settings = settings.model_copy(update={"aws": aws})
        child = {**os.environ, **_env(run_settings, folder)}
        if local_aws:
            child.update(FAKE_CREDENTIALS)
            child["BASKET_AWS__ENDPOINT_URL"] = str(aws.endpoint_url)
            click.echo(f"moto server on {aws.endpoint_url}, bucket {aws.bucket}", err=True)
        click.echo(f"AIRFLOW_HOME={folder}; the UI prints its admin password below", err=True)
        with suppress(KeyboardInterrupt):  # Ctrl-C reaches airflow too; it shuts down
            subprocess.run([airflow, "standalone"], env=child, check=False)


@command.command("test")
@click.argument("kind", type=click.Choice(["daily", "weekly"]))
@click.option(
    "--day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    required=True,
    help="The day to run (the run fires the next day at 00:00 in the schedule's time zone).",
)
@click.option("--home", type=click.Path(path_type=Path), help=_HOME_HELP)
@click.pass_obj
def test(settings: Settings, kind: str, day: datetime, home: Path | None) -> None:
    """Run one DAG run for DAY in this process with ``dag.test()`` and report its state."""
    folder = _home(settings, home)
    os.environ.update(_env(settings, folder))
    try:
        from airflow.utils.db import initdb
    except ImportError as exc:
        raise click.ClickException("airflow is not installed: pip install '.[airflow]'") from exc
    from zoneinfo import ZoneInfo

    from basket_pipeline.airflow_runtime import load_dag_file

    initdb()
    module = load_dag_file("market_basket_cli")
    dag = module.build_dag(settings, kind)
    tz = ZoneInfo(settings.orchestration.timezone)
    fired = datetime.combine(day.date() + timedelta(days=1), time(), tz)
    run = dag.test(logical_date=fired.astimezone(UTC))
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    for task_id, state in sorted(states.items()):
        click.echo(f"{task_id:32} {state}")
    click.echo(f"{dag.dag_id} {day.date()}: {run.state}")
    if str(run.state) != "success":
        raise click.ClickException(f"run {run.run_id} ended {run.state}")
