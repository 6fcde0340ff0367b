"""The miner over Spark Connect (issue 20): a real server on 127.0.0.1 (one for the
module, started by :class:`basket_devtools.spark_connect.SparkConnectServer` on a free
port, stopped at teardown), the mining correctness tests run once over it, results
equal to an in-process run, two clients at once isolated, a failed job not poisoning
the next.

A Spark Connect session sets ``SPARK_CONNECT_MODE_ENABLED`` in the environment, which
turns ``pyspark.sql.functions`` into their Connect versions for the whole process; every
test here runs under :func:`connect_mode`, which removes it again, so the in-process
session of the other tests keeps working."""

from __future__ import annotations

import os
import statistics
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from basket_core.config import Settings
from basket_devtools.spark_connect import ServerState, read_state, rss_bytes
from spark.fpcommon import min_count
from spark.job import MineRequest, run_mine
from tests import reference as ref
from tests.spark import test_mine_correctness as correctness

CONNECT_ENV = "SPARK_CONNECT_MODE_ENABLED"


@pytest.fixture(scope="module")
def connect_server(
    spark_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerState]:
    """A server started, checked and stopped through ``basket services ... spark``."""
    from click.testing import CliRunner

    from basket.commands import services
    from basket_devtools.processes import free_port

    state_dir = tmp_path_factory.mktemp("connect")
    state = str(state_dir)
    settings = spark_settings.with_overrides(**{"spark.driver_memory": "1g"})
    port = free_port("127.0.0.1")
    runner = CliRunner()

    def cli(*args: str) -> str:
        out = runner.invoke(services.command, [*args, "--state-dir", state], obj=settings)
        assert out.exit_code == 0, out.output
        return out.output

    cli("start", "spark", "--port", str(port))
    url = f"sc://127.0.0.1:{port}"
    try:
        assert f"spark: listening on {url}" in cli("status", "spark")
        server = read_state(state_dir)
        assert server is not None and server.url == url
        yield server
    finally:
        assert "spark stopped" in cli("stop", "spark")
    assert "spark: stopped" in cli("status", "spark")


@pytest.fixture
def connect_mode() -> Iterator[None]:
    """Connect sessions may be made in the test; the process is classic again after it
    (not monkeypatch: it would restore the variable pyspark set)."""
    os.environ.pop(CONNECT_ENV, None)
    yield
    os.environ.pop(CONNECT_ENV, None)


@pytest.fixture
def remote(connect_server: ServerState, settings: Settings, connect_mode: None) -> Settings:
    return settings.with_overrides(**{"spark.remote": connect_server.url})


@pytest.fixture
def client(remote: Settings) -> Iterator[Any]:
    from spark.session import connect_session

    session = connect_session(remote)
    yield session
    session.stop()


CORRECTNESS: dict[str, Callable[..., None]] = {
    "brute_force_basket": lambda s, st, p: correctness.test_itemsets_equal_brute_force(
        s, st, p, "basket"
    ),
    "brute_force_long": lambda s, st, p: correctness.test_itemsets_equal_brute_force(
        s, st, p, "long"
    ),
    "max_size": correctness.test_max_size_limits_itemsets_and_rules,
    "at_threshold": correctness.test_support_exactly_at_threshold_is_kept,
    "pyfim_mlxtend": correctness.test_against_pyfim_and_mlxtend,
    "planted_rule": correctness.test_planted_rule_is_found_with_high_lift,
    "odd_items": correctness.test_items_with_commas_quotes_and_non_ascii,
    "empty_result": correctness.test_empty_result_is_a_valid_run,
}
"""Every test of :mod:`tests.spark.test_mine_correctness`, run once over Connect with the
default engine (the driver path: baskets to the client as Arrow) ..."""
MAP_IN_ARROW = ("brute_force_basket", "pyfim_mlxtend")
"""... and these also with several PFP groups (``mapInArrow`` on the server's workers)."""


DEFAULT_PATH = {("pyfim_mlxtend", "pfp-3-groups")}
"""The case CI's default path runs over Connect (references, the driver path for the
rules and ``mapInArrow`` for the itemsets); ``make test-slow`` runs them all."""


def _case(name: str, engine: str) -> Any:
    marks = () if (name, engine) in DEFAULT_PATH else (pytest.mark.slow,)
    return pytest.param(name, engine, marks=marks, id=f"{name}-{engine}")


@pytest.mark.parametrize(
    ("name", "engine"),
    [_case(n, "auto") for n in CORRECTNESS] + [_case(n, "pfp-3-groups") for n in MAP_IN_ARROW],
)
def test_correctness_over_connect(
    client: Any, remote: Settings, tmp_path: Path, name: str, engine: str
) -> None:
    from spark.session import is_connect

    assert is_connect(client)
    mining = correctness.ENGINES[engine]
    settings = remote.with_overrides(**{f"mining.{k}": v for k, v in mining.items()})
    CORRECTNESS[name](client, settings, tmp_path)


def _same_results(got: Path, want: Path, min_rules: int = 10) -> None:
    import pandas as pd

    assert ref.read_itemsets(got) == ref.read_itemsets(want)
    a, b = ref.read_rules(got).sort_index(), ref.read_rules(want).sort_index()
    numeric = [c for c in b.columns if pd.api.types.is_numeric_dtype(b[c])]
    assert len(b) > min_rules
    pd.testing.assert_frame_equal(a[numeric], b[numeric])


def test_same_outputs_as_in_process(
    spark: Any, settings: Settings, connect_server: ServerState, tmp_path: Path, connect_mode: None
) -> None:
    """The same long CSV mined in process and over Connect: equal itemsets, rules, counts."""
    from spark.session import connect_session

    baskets = ref.random_baskets(300, 14, seed=21)
    src = ref.write_long_csv(tmp_path / "lines.csv", baskets)
    base = settings.with_overrides(
        **{"columns.customer": "", "columns.store": "", "mining.min_support": 0.04}
    )
    here = base.with_overrides(**{"paths.output_dir": tmp_path / "here"})
    local = run_mine(here, MineRequest(inputs=(str(src),), run_id="here"), spark=spark)
    there = base.with_overrides(
        **{"paths.output_dir": tmp_path / "there", "spark.remote": connect_server.url}
    )
    session = connect_session(there)
    try:
        over = run_mine(there, MineRequest(inputs=(str(src),), run_id="there"), spark=session)
    finally:
        session.stop()
    assert over.counts == local.counts
    _same_results(tmp_path / "there", tmp_path / "here")


@pytest.mark.slow  # a minute: a Delta table ingested, then mined both ways
def test_delta_table_mined_over_connect_while_ingest_stays_in_process(
    spark: Any, remote: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``mine --table`` reads the Delta table on the server, with the in-process result;
    the ingest catch-up with ``spark.remote`` set runs in this process and says so
    (its DeltaTable API needs Delta's Connect plugin, not published for Delta 4.4)."""
    from basket_pipeline import stages
    from ingest.tables import TablePaths
    from spark.session import connect_session
    from tests.fixtures.kafka import sample_rows, write_csv

    s = remote.with_overrides(
        **{
            "orchestration.ingest": "files",
            "mining.min_support": 0.04,
            "spark.shuffle_partitions": 2,
        }
    )
    incoming = s.paths.data_dir / "incoming"
    incoming.mkdir(parents=True)
    write_csv(incoming / "part-1.csv", sample_rows(150, seed=5))
    with caplog.at_level("WARNING", logger="basket_pipeline.stages"):
        ingested = stages.catch_up_ingest(s)
    assert "ingest runs in this process, not on the Spark Connect server" in caplog.text
    assert ingested.batches
    table = str(TablePaths.under(s.paths.delta_dir).lines)
    here = s.with_overrides(**{"spark.remote": "", "paths.output_dir": tmp_path / "here"})
    local = run_mine(here, MineRequest(table=table, run_id="here"), spark=spark)
    there = s.with_overrides(**{"paths.output_dir": tmp_path / "there"})
    session = connect_session(there)
    try:
        over = run_mine(there, MineRequest(table=table, run_id="there"), spark=session)
        status = stages.ingest_status(there, spark=session)  # Delta SQL over Connect
    finally:
        session.stop()
    assert over.counts == local.counts and local.counts.baskets == 150
    lines = next(t for t in status.tables if t.name == "lines")
    assert lines.rows == local.counts.input_rows and lines.version >= 0
    _same_results(tmp_path / "there", tmp_path / "here", min_rules=3)


def test_rows_come_to_the_client_in_one_round_trip(client: Any) -> None:
    """:func:`spark.arrow_rows.to_arrow` gives ``toArrow()``'s table (types, nullability,
    time zone, an empty result) without its schema request: one ExecutePlan, no
    AnalyzePlan."""
    from pyspark.sql import functions as F

    from spark.arrow_rows import to_arrow

    frame = client.range(6).select(
        "id",
        F.array(F.col("id").cast("string"), F.lit(None).cast("string")).alias("items"),
        F.when(F.col("id") % 2 == 0, F.col("id") / 3).alias("maybe"),
        F.timestamp_seconds(F.col("id")).alias("at"),
        F.struct(F.col("id").alias("n"), F.lit("x").alias("s")).alias("pair"),
    )
    calls: list[str] = []
    connection = client.client
    for name in ("_analyze", "_execute_and_fetch"):
        method = getattr(connection, name)

        def counted(*args: Any, _name: str = name, _method: Any = method, **kwargs: Any) -> Any:
            calls.append(_name)
            return _method(*args, **kwargs)

        setattr(connection, name, counted)
    try:
        for df in (frame, frame.where("id > 100")):
            calls.clear()
            got = to_arrow(df)
            assert calls == ["_execute_and_fetch"]
            want = df.toArrow()
            assert got.schema == want.schema and got.equals(want)
    finally:
        for name in ("_analyze", "_execute_and_fetch"):
            delattr(connection, name)


def test_two_clients_at_once_are_isolated(remote: Settings, tmp_path: Path) -> None:
    """Two sessions mining at the same time: each has its own settings and temp views,
    and each gets its own baskets' result."""
    from spark.session import connect_session

    data = {
        "a": ref.random_baskets(120, 8, seed=1),
        "b": ref.random_baskets(150, 11, seed=2),
    }
    found: dict[str, Any] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def work(name: str, partitions: int) -> None:
        try:
            src = ref.write_basket_file(tmp_path / f"{name}.txt", data[name])
            s = remote.with_overrides(
                **{
                    "paths.output_dir": tmp_path / name,
                    "input.format": "basket",
                    "mining.min_support": 0.05,
                }
            )
            session = connect_session(s)
            try:
                session.conf.set("spark.sql.shuffle.partitions", str(partitions))
                session.createDataFrame([(name,)], "who string").createOrReplaceTempView("probe")
                barrier.wait(timeout=60)
                report = run_mine(s, MineRequest(inputs=(str(src),), run_id=name), spark=session)
                barrier.wait(timeout=120)
                found[name] = (
                    session.table("probe").first()[0],
                    session.conf.get("spark.sql.shuffle.partitions"),
                    report.counts.baskets,
                    ref.read_itemsets(tmp_path / name),
                )
            finally:
                session.stop()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=work, args=(n, p)) for n, p in (("a", 3), ("b", 5))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    for name, partitions in (("a", "3"), ("b", "5")):
        who, parts, n, itemsets = found[name]
        assert (who, parts, n) == (name, partitions, len(data[name]))
        assert itemsets == ref.brute_force(data[name], min_count(0.05, len(data[name])))


def test_a_client_needs_no_jar_cache(remote: Settings, tmp_path: Path) -> None:
    """The jars are the server's: a client whose cache directory is empty (a command run
    from outside the project, a DAG worker) mines as any other."""
    from spark.session import connect_session

    baskets = ref.random_baskets(60, 10, seed=3)
    src = ref.write_basket_file(tmp_path / "b.txt", baskets)
    s = remote.with_overrides(
        **{
            "paths.cache_dir": tmp_path / "no-cache",
            "paths.output_dir": tmp_path / "out",
            "input.format": "basket",
            "mining.min_support": 0.1,
        }
    )
    session = connect_session(s)
    try:
        report = run_mine(s, MineRequest(inputs=(str(src),), run_id="bare"), spark=session)
    finally:
        session.stop()
    assert report.counts.baskets == len(baskets)
    assert ref.read_itemsets(tmp_path / "out") == ref.brute_force(
        baskets, min_count(0.1, len(baskets))
    )


def test_a_failed_job_does_not_poison_the_next(
    client: Any, remote: Settings, tmp_path: Path
) -> None:
    """A mine refused mid-job (after baskets were cached) and a query failing on the
    server leave the session and the server able to mine the same input correctly."""
    from basket_core.errors import OptionError

    baskets = ref.random_baskets(100, 10, seed=5)
    src = ref.write_basket_file(tmp_path / "b.txt", baskets)
    s = remote.with_overrides(**{"input.format": "basket", "mining.min_support": 0.02})
    with pytest.raises(OptionError, match="max_itemsets"):
        run_mine(
            s.with_overrides(**{"mining.max_itemsets": 1}),
            MineRequest(inputs=(str(src),), run_id="refused"),
            spark=client,
        )
    with pytest.raises(Exception, match=r"(?i)assert|true"):
        client.sql("SELECT assert_true(id < 0) FROM range(3)").collect()
    report = run_mine(s, MineRequest(inputs=(str(src),), run_id="after"), spark=client)
    assert report.counts.baskets == len(baskets)
    assert ref.read_itemsets(s.paths.output_dir) == ref.brute_force(
        baskets, min_count(0.02, len(baskets))
    )


@pytest.mark.slow
def test_many_mines_on_one_server_stay_fast_and_flat(
    connect_server: ServerState, remote: Settings, tmp_path: Path
) -> None:
    """A bounded soak (the 50-run version is ``make bench-soak``): 16 mines in a row, each
    in its own session as separate commands would be, one in four refused mid-job; the
    correct result every time, the last run within 25% of the second's time (small runs
    are noisy on a shared machine), the server's median RSS over the last four runs within
    10% of its median over runs 5-8."""
    import time

    from basket_core.errors import OptionError
    from spark.session import connect_session

    baskets = ref.random_baskets(2000, 30, seed=9, mean_size=4.0)
    src = ref.write_basket_file(tmp_path / "b.txt", baskets)
    s = remote.with_overrides(**{"input.format": "basket", "mining.min_support": 0.02})
    expected = ref.brute_force(baskets, min_count(0.02, len(baskets)))
    walls: list[float] = []
    rss: list[int] = []
    for i in range(16):
        out = s.with_overrides(**{"paths.output_dir": tmp_path / f"out{i}"})
        session = connect_session(out)
        try:
            if i % 4 == 3:
                with pytest.raises(OptionError):
                    run_mine(
                        out.with_overrides(**{"mining.max_itemsets": 1}),
                        MineRequest(inputs=(str(src),), run_id=f"refused{i}"),
                        spark=session,
                    )
            t0 = time.perf_counter()
            run_mine(out, MineRequest(inputs=(str(src),), run_id=f"r{i}"), spark=session)
            walls.append(time.perf_counter() - t0)
        finally:
            session.stop()
        assert ref.read_itemsets(tmp_path / f"out{i}") == expected
        rss.append(rss_bytes(connect_server.pid))
    assert walls[-1] <= 1.25 * walls[1], walls
    # medians of four runs, as make bench-soak compares windows: one reading can catch the
    # JVM growing its committed heap (one run read 1,391 MiB after the fifth mine and
    # 1,548 MiB after the last; its neighbours were not recorded)
    settled, last = statistics.median(rss[4:8]), statistics.median(rss[-4:])
    assert last <= 1.10 * settled, [r // 2**20 for r in rss]


def test_a_killed_server_ends_its_clients_commands_in_one_line_soon(
    spark_settings: Settings, settings: Settings, tmp_path: Path, connect_mode: None
) -> None:
    """A server of its own whose driver JVM is killed (kill -9): the server process goes
    too (``status`` no longer reports a server that never answers), a client's next call
    fails after about ``spark.connect_retry_s`` (not the client library's 10 minutes),
    the calls right after fail at once, and the CLI says it in one line."""
    import contextlib
    import signal
    import time

    from basket.cli import user_error
    from basket_devtools.processes import free_port
    from basket_devtools.spark_connect import SparkConnectServer, jvm_pid
    from spark.session import connect_lost, connect_session

    server = SparkConnectServer(
        tmp_path / "state",
        spark_settings.with_overrides(**{"spark.driver_memory": "1g"}),
        host="127.0.0.1",
        port=free_port("127.0.0.1"),
    )
    state = server.start()
    try:
        client_settings = settings.with_overrides(
            **{"spark.remote": state.url, "spark.connect_retry_s": 2.0}
        )
        session = connect_session(client_settings)
        assert session.range(3).count() == 3
        jvm = jvm_pid(state.pid)
        assert jvm is not None and jvm != state.pid
        os.kill(jvm, signal.SIGKILL)

        started = time.monotonic()
        with pytest.raises(Exception) as failed:
            session.range(5).count()
        waited = time.monotonic() - started
        assert connect_lost(failed.value)
        assert 1.5 <= waited < 20, waited
        started = time.monotonic()
        with pytest.raises(Exception) as again:
            session.range(7).count()
        assert connect_lost(again.value) and time.monotonic() - started < 1.5

        with contextlib.suppress(Exception):  # released now, while the give-up is fresh
            session.stop()
        message = user_error(failed.value, client_settings).format_message()
        assert message.startswith(f"the Spark Connect server {state.url} stopped answering")
        assert "\n" not in message and "(retried for 2 s" in message

        assert server._proc is not None
        assert server._proc.wait(timeout=15) == 1  # the server process exits on its own
        assert read_state(tmp_path / "state") is None
    finally:
        server.stop()
