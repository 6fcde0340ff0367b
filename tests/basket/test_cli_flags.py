"""A flag that cannot apply, or a port out of range, ends in an error and exit code 2
before anything starts: never a silent fallback (a port of 99999 once served the
dashboard on 34463, the socket keeping the low 16 bits; ``services start kafka --port``
once started Kafka on its usual port)."""

from __future__ import annotations

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
