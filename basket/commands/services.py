"""``basket services``: local development services (a KRaft Kafka broker, a Spark
Connect server)."""

from __future__ import annotations

from pathlib import Path

import click

from basket_core.config import Settings

SERVICES = ("kafka", "spark")


def _state_dir(settings: Settings, state_dir: Path | None, service: str = "kafka") -> Path:
    return state_dir or settings.paths.cache_dir / "services" / service


@click.group("services")
def command() -> None:
    """Start, stop and inspect local services (Kafka, Spark Connect; on 127.0.0.1)."""


@command.command("start")
@click.argument("service", type=click.Choice(SERVICES))
@click.option("--state-dir", type=click.Path(path_type=Path), help="Service state folder.")
@click.option(
    "--partitions",
    type=click.IntRange(min=1),
    help="kafka: default partitions of a new topic (default 2).",
)
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    help="spark: the Spark Connect port (default spark.connect_port, 15002).",
)
@click.pass_obj
def start(
    settings: Settings,
    service: str,
    state_dir: Path | None,
    partitions: int | None,
    port: int | None,
) -> None:
    """Start SERVICE in the background: kafka on kafka.bootstrap_servers; spark, a Spark
    Connect server on spark.local_ip:spark.connect_port with this project's jars and
    settings (then set spark.remote, or pass --remote, to use it)."""
    if service == "spark":
        if partitions is not None:
            raise click.UsageError("--partitions is for kafka (a Spark Connect server has none)")
        _start_spark(settings, _state_dir(settings, state_dir, "spark"), port)
        return
    if port is not None:
        raise click.UsageError(
            "--port is for spark; kafka listens on kafka.bootstrap_servers "
            "(set BASKET_KAFKA__BOOTSTRAP_SERVERS=127.0.0.1:PORT)"
        )
    from basket_devtools.kafka_broker import BrokerError, KafkaBroker

    host, _, kafka_port = settings.kafka.bootstrap_servers.split(",")[0].rpartition(":")
    broker = KafkaBroker(
        _state_dir(settings, state_dir),
        settings.paths.cache_dir / "kafka",
        host=host or settings.spark.local_ip,
        port=int(kafka_port),
        partitions=partitions or 2,
    )
    try:
        state = broker.start()
    except BrokerError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"kafka running on {state.bootstrap_servers} (pid {state.pid}, log {state.log})")


def _start_spark(settings: Settings, state_dir: Path, port: int | None) -> None:
    from basket_devtools.spark_connect import ConnectServerError, SparkConnectServer

    server = SparkConnectServer(state_dir, settings, port=port or settings.spark.connect_port)
    try:
        state = server.start()
    except ConnectServerError as exc:
        raise click.ClickException(str(exc)) from exc
    from basket_devtools.connect_warmup import read_warm

    click.echo(
        f"spark connect running on {state.url} (pid {state.pid}, log {state.log}); "
        f"use it with --remote {state.url} or BASKET_SPARK__REMOTE={state.url}"
    )
    warm = read_warm(state_dir)
    if warm is not None and warm.mines:
        click.echo(f"spark connect {warm.summary()}", err=warm.error is not None)


@command.command("stop")
@click.argument("service", type=click.Choice(SERVICES), required=False)
@click.option("--state-dir", type=click.Path(path_type=Path), help="Service state folder.")
@click.pass_obj
def stop(settings: Settings, service: str | None, state_dir: Path | None) -> None:
    """Stop SERVICE (default: every running service)."""
    from basket_devtools import kafka_broker, spark_connect

    for name in (service,) if service else SERVICES:
        where = _state_dir(settings, state_dir, name)
        if name == "spark":
            spark = spark_connect.stop_recorded(where)
            click.echo(f"spark stopped (pid {spark.pid})" if spark else "spark was not running")
        else:
            kafka = kafka_broker.stop_recorded(where)
            click.echo(f"kafka stopped (pid {kafka.pid})" if kafka else "kafka was not running")


@command.command("status")
@click.argument("service", type=click.Choice(SERVICES), required=False)
@click.option("--state-dir", type=click.Path(path_type=Path), help="Service state folder.")
@click.pass_obj
def status(settings: Settings, service: str | None, state_dir: Path | None) -> None:
    """Show which services are running (SERVICE: just that one)."""
    from basket_devtools import spark_connect
    from basket_devtools.kafka_broker import port_open, read_state

    names = (service,) if service else SERVICES
    if "kafka" in names:
        state = read_state(_state_dir(settings, state_dir))
        if state is None:
            click.echo("kafka: stopped")
        else:
            up = "listening" if port_open(state.host, state.port) else "starting"
            click.echo(f"kafka: {up} on {state.bootstrap_servers} (pid {state.pid})")
    if "spark" in names:
        from basket_devtools.connect_warmup import read_warm

        where = _state_dir(settings, state_dir, "spark")
        spark = spark_connect.read_state(where)
        if spark is None:
            click.echo("spark: stopped")
            return
        up = "listening" if port_open(spark.host, spark.port) else "starting"
        if up == "listening" and read_warm(where) is None:
            up = "warming up, listening"
        rss = spark_connect.rss_bytes(spark.pid) / 2**20
        click.echo(f"spark: {up} on {spark.url} (pid {spark.pid}, {rss:,.0f} MB resident)")
