"""A flag that cannot apply, or a port out of range, ends in an error and exit code 2
before anything starts: never a silent fallback (a port of 99999 once served the
dashboard on 34463, the socket keeping the low 16 bits; ``services start kafka --port``
once started Kafka on its usual port)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from basket.cli import main


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["dashboard", "--port", "99999"], "99999 is not in the range 0<=x<=65535"),
        (["services", "start", "spark", "--port", "0"], "0 is not in the range 1<=x<=65535"),
        (["services", "start", "kafka", "--port", "9093"], "--port is for spark"),
        (["services", "start", "spark", "--partitions", "3"], "--partitions is for kafka"),
        (["services", "start", "kafka", "--partitions", "0"], "0 is not in the range x>=1"),
    ],
)
def test_a_flag_that_cannot_apply_is_refused(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines()[-1].startswith("Error:")
    assert message in result.output


def test_a_dashboard_port_out_of_range_in_the_environment_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BASKET_DASHBOARDS__PORT", "99999")
    result = CliRunner().invoke(main, ["dashboard", "--help"])
    assert result.exit_code == 0  # --help needs no settings
    result = CliRunner().invoke(main, ["dashboard"])
    assert result.exit_code == 2, result.output
    assert "dashboards.port" in result.output and "65535" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--once", "--trigger-seconds", "3"], "--trigger-seconds is for continuous mode"),
        (["--trigger-seconds", "0"], "0.0 is not in the range x>0"),
        (["--max-files-per-trigger", "0"], "0 is not in the range x>=1"),
    ],
)
def test_ingest_flags_are_checked_before_spark_starts(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(main, ["ingest", "files", "--input", str(tmp_path), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate", "0"], "0.0 is not in the range x>0"),
        (["--rate", "-5"], "-5.0 is not in the range x>0"),
        (["--limit", "-1"], "-1 is not in the range x>=0"),
    ],
)
def test_replay_flags_are_checked_before_connecting(
    tmp_path: Path, args: list[str], message: str
) -> None:
    src = tmp_path / "lines.csv"
    src.write_text("InvoiceNo,Description\n1,milk\n")
    result = CliRunner().invoke(main, ["replay", str(src), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output


BASKET = (sys.executable, "-m", "basket.cli")


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_replay_without_a_broker_says_so_in_one_line(tmp_path: Path) -> None:
    src = tmp_path / "lines.csv"
    src.write_text("InvoiceNo,Description\n1,milk\n")
    port = _closed_port()
    started = time.monotonic()
    result = subprocess.run(
        [*BASKET, "replay", str(src), "--bootstrap-servers", f"127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        f"Error: no Kafka broker answers at 127.0.0.1:{port}; start one (`basket services "
        "start kafka`) or pass --bootstrap-servers"
    ]
    assert time.monotonic() - started < 30  # kafka-python alone waits 30 s


def test_mine_on_a_spark_connect_server_that_is_down_fails_at_once(tmp_path: Path) -> None:
    """The Connect client alone retries a refused connection for many minutes, silently."""
    src = tmp_path / "baskets.txt"
    src.write_text("milk,bread\n")
    port = _closed_port()
    started = time.monotonic()
    mine = ["mine", "--input", str(src), "--format", "basket", "--output", str(tmp_path / "out")]
    result = subprocess.run(
        [*BASKET, "--remote", f"sc://127.0.0.1:{port}", *mine],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert lines[0].startswith(f"Error: no Spark Connect server answers at sc://127.0.0.1:{port}")
    assert "basket services start spark" in lines[0]
    assert time.monotonic() - started < 30
    assert not (tmp_path / "out").exists()
