"""A Spark Connect server warms itself before ``basket services start spark`` returns
(:mod:`basket_devtools.connect_warmup`): real mines as a client, nothing left behind, a
failed warm-up reported with the server left up, and a stop during the warm-up ending it."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from basket.commands import services
from basket_core.config import Settings
from basket_devtools.connect_warmup import read_warm
from basket_devtools.processes import free_port
from basket_devtools.spark_connect import SparkConnectServer, read_state, stop_recorded
from spark.fpcommon import min_count
from spark.job import MineRequest, run_mine
from spark.session import connect_session
from tests import reference as ref


def _children_running(marker: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in text:
            found.append(text)
    return found


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The server's (and its warm-up's) temporary folder, to see what is left in it."""
    where = tmp_path / "scratch"
    where.mkdir()
    monkeypatch.setenv("TMPDIR", str(where))
    return where


def _start(settings: Settings, state: Path) -> tuple[CliRunner, list[str], int, Result]:
    """``basket services start spark`` on a free port, with its state in ``state``."""
    port = free_port("127.0.0.1")
    runner = CliRunner()
    args = ["--state-dir", str(state)]
    started = runner.invoke(
        services.command, ["start", "spark", "--port", str(port), *args], obj=settings
    )
    return runner, args, port, started


def test_start_warms_the_server_and_leaves_nothing(
    spark_settings: Settings, tmp_path: Path, scratch: Path
) -> None:
    settings = spark_settings.with_overrides(
        **{"spark.driver_memory": "1g", "spark.connect_warmup_mines": 2}
    )
    state = tmp_path / "state"
    runner, args, port, started = _start(settings, state)
    try:
        assert started.exit_code == 0, started.output
        assert "spark connect warmed up by 2 mines (" in started.output
        warm = read_warm(state)
        assert warm is not None and warm.error is None and len(warm.seconds) == 2
        assert all(s > 0 for s in warm.seconds)
        assert "warmed up by 2 mines" in (state / "server.log").read_text()
        status = runner.invoke(services.command, ["status", "spark", *args], obj=settings)
        assert f"spark: listening on sc://127.0.0.1:{port}" in status.output
        # the warm-up's data and results went with it
        assert not [p for p in scratch.iterdir() if p.name.startswith("basket-warmup")]
        # and the server mines for real clients as before
        baskets = ref.random_baskets(300, 12, seed=3, mean_size=3.0)
        src = ref.write_basket_file(tmp_path / "b.txt", baskets)
        client = spark_settings.with_overrides(
            **{
                "spark.remote": f"sc://127.0.0.1:{port}",
                "input.format": "basket",
                "mining.min_support": 0.05,
                "paths.output_dir": tmp_path / "out",
            }
        )
        session = connect_session(client)
        try:
            run_mine(client, MineRequest(inputs=(str(src),), run_id="after-warm-up"), spark=session)
        finally:
            session.stop()  # before its server, which it would otherwise retry at exit
        assert ref.read_itemsets(tmp_path / "out") == ref.brute_force(
            baskets, min_count(0.05, len(baskets))
        )
    finally:
        os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)
        stopped = runner.invoke(services.command, ["stop", "spark", *args], obj=settings)
        assert "spark stopped" in stopped.output


def test_a_failed_warm_up_is_reported_and_the_server_stays_up(
    spark_settings: Settings, tmp_path: Path, scratch: Path
) -> None:
    """Every warm-up mine refused (a one-itemset cap): ``start`` still succeeds, says on
    stderr what failed, and the server answers."""
    settings = spark_settings.with_overrides(
        **{
            "spark.driver_memory": "1g",
            "spark.connect_warmup_mines": 2,
            "mining.max_itemsets": 1,
        }
    )
    state = tmp_path / "state"
    runner, args, port, started = _start(settings, state)
    try:
        assert started.exit_code == 0, started.output
        assert "warm-up failed after 0 of 2 mines: OptionError" in started.stderr
        warm = read_warm(state)
        assert warm is not None and warm.error is not None and warm.seconds == ()
        status = runner.invoke(services.command, ["status", "spark", *args], obj=settings)
        assert f"spark: listening on sc://127.0.0.1:{port}" in status.output
        assert not [p for p in scratch.iterdir() if p.name.startswith("basket-warmup")]
    finally:
        runner.invoke(services.command, ["stop", "spark", *args], obj=settings)


def test_stopping_a_warming_server_ends_its_warm_up(
    spark_settings: Settings, tmp_path: Path, scratch: Path
) -> None:
    """``stop`` while the warm-up mines: the server and its warm-up child both end, and
    no ``warm.json`` claims a warm server."""
    settings = spark_settings.with_overrides(
        **{"spark.driver_memory": "1g", "spark.connect_warmup_mines": 200}
    )
    state = tmp_path / "state"
    server = SparkConnectServer(state, settings, host="127.0.0.1", port=free_port("127.0.0.1"))
    failure: list[BaseException] = []

    def start() -> None:
        try:
            server.start()
        except BaseException as exc:  # the stop below makes start fail: expected
            failure.append(exc)

    starter = threading.Thread(target=start)
    starter.start()
    deadline = time.monotonic() + 180
    marker = f"basket_devtools.connect_warmup sc://127.0.0.1:{server.port}"
    while not _children_running(marker):
        assert time.monotonic() < deadline, "the warm-up never started"
        assert starter.is_alive(), failure
        time.sleep(0.5)
    recorded = read_state(state)
    assert recorded is not None
    stop_recorded(state)
    starter.join(timeout=120)
    assert not starter.is_alive()
    warm = read_warm(state)
    # start either saw the server exit, or the warm-up's own record of being stopped
    assert (failure and "exited" in str(failure[0])) or (
        warm is not None and warm.error == "the server is stopping"
    ), (failure, warm)
    deadline = time.monotonic() + 30
    while _children_running(marker):
        assert time.monotonic() < deadline, "the warm-up child outlived its server"
        time.sleep(0.5)
    assert read_state(state) is None  # stopped, not left for status to find
    assert not list(scratch.iterdir())  # nor the warm-up's data


def test_a_hung_warm_up_ends_at_its_own_limit(spark_settings: Settings, scratch: Path) -> None:
    """A server that accepts connections and never answers: the warm-up's child is killed
    at the limit and the warm-up reported failed (``start`` then keeps the server, whose
    own deadline comes later: :func:`basket_devtools.connect_warmup.time_limit`)."""
    import socket

    from basket_devtools.connect_warmup import warm_up

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"sc://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        warm = warm_up(spark_settings, url, 2, timeout_s=8.0)
        took = time.monotonic() - started
    assert warm.error == "did not finish in 8 s", warm
    assert 8.0 <= took < 20.0
    assert not _children_running(f"basket_devtools.connect_warmup {url}")
    assert not list(scratch.iterdir())  # the killed child's data went with its folder
