"""``basket services``: local development services (a KRaft Kafka broker)."""

from __future__ import annotations

from pathlib import Path

import click

from basket_core.config import Settings


def _state_dir(settings: Settings, state_dir: Path | None) -> Path:
    return state_dir or settings.paths.cache_dir / "services" / "kafka"


@click.group("services")
def command() -> None:
    """Start, stop and inspect local services (Kafka on 127.0.0.1)."""


@command.command("start")
@click.argument("service", type=click.Choice(["kafka"]))
@click.option("--state-dir", type=click.Path(path_type=Path), help="Broker state folder.")
@click.option("--partitions", type=int, default=2, show_default=True, help="Default partitions.")
@click.pass_obj
def start(settings: Settings, service: str, state_dir: Path | None, partitions: int) -> None:
    """Start SERVICE in the background, listening on kafka.bootstrap_servers."""
    from basket_devtools.kafka_broker import BrokerError, KafkaBroker

    host, _, port = settings.kafka.bootstrap_servers.split(",")[0].rpartition(":")
    broker = KafkaBroker(
        _state_dir(settings, state_dir),
        settings.paths.cache_dir / "kafka",
        host=host or settings.spark.local_ip,
        port=int(port),
        partitions=partitions,
    )
    try:
        state = broker.start()
    except BrokerError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"kafka running on {state.bootstrap_servers} (pid {state.pid}, log {state.log})")


@command.command("stop")
@click.option("--state-dir", type=click.Path(path_type=Path), help="Broker state folder.")
@click.pass_obj
def stop(settings: Settings, state_dir: Path | None) -> None:
    """Stop the running services."""
    from basket_devtools.kafka_broker import stop_recorded

    state = stop_recorded(_state_dir(settings, state_dir))
    click.echo(f"kafka stopped (pid {state.pid})" if state else "kafka was not running")


@command.command("status")
@click.option("--state-dir", type=click.Path(path_type=Path), help="Broker state folder.")
@click.pass_obj
def status(settings: Settings, state_dir: Path | None) -> None:
    """Show which services are running."""
    from basket_devtools.kafka_broker import port_open, read_state

    state = read_state(_state_dir(settings, state_dir))
    if state is None:
        click.echo("kafka: stopped")
        return
    up = "listening" if port_open(state.host, state.port) else "starting"
    click.echo(f"kafka: {up} on {state.bootstrap_servers} (pid {state.pid})")
