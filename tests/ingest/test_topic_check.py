"""A mistyped topic or an unreachable broker stops `basket ingest kafka` before the
stream starts, with one line: Spark's Kafka source would retry the missing topic for
about ten seconds and then fail the query with ~300 lines of stack traces."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from basket.cli import main
from basket_core.errors import InputError, ServiceUnavailable
from basket_devtools.kafka_broker import KafkaBroker
from basket_devtools.processes import free_port
from ingest.offsets import check_topic


def test_check_topic_names_the_missing_topic_and_the_ones_there(
    kafka_broker: KafkaBroker, kafka_topic: str
) -> None:
    check_topic(kafka_broker.bootstrap_servers, kafka_topic)  # there: no error
    with pytest.raises(InputError) as err:
        check_topic(kafka_broker.bootstrap_servers, kafka_topic + "x")
    assert repr(kafka_topic + "x") in str(err.value)
    assert kafka_topic in str(err.value).split("topics there:")[1]


def test_check_topic_without_a_broker_says_so_soon() -> None:
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable, match="no Kafka broker answers"):
        check_topic(f"127.0.0.1:{free_port('127.0.0.1')}", "pos-transactions", timeout_s=2)
    assert time.monotonic() - started < 15


def test_ingest_of_a_mistyped_topic_ends_in_one_line(
    kafka_broker: KafkaBroker, kafka_topic: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        main,
        [
            "ingest",
            "kafka",
            "--once",
            "--bootstrap-servers",
            kafka_broker.bootstrap_servers,
            "--topic",
            kafka_topic + "-typo",
            "--delta-dir",
            str(tmp_path / "delta"),
        ],
    )
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and f"topic '{kafka_topic}-typo' does not exist" in errors[0]
    assert "\tat " not in result.output and "Traceback" not in result.output
    assert not (tmp_path / "delta" / "lines").exists()  # nothing was started or written
