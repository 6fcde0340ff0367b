"""Crash test: ``basket ingest kafka`` is killed with SIGKILL at random points while events
flow, three times (ten in ``make test-slow``), and restarted; at the end the Delta table has
every accepted line exactly once and quarantine every rejected record exactly once."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from basket_devtools.kafka_broker import KafkaBroker
from ingest.replay import csv_messages, producer, publish
from ingest.tables import TablePaths
from spark.clean import clean_lines
from spark.load import read_long
from tests.fixtures.kafka import ingest_settings, sample_rows, write_csv
from tests.paths import REPO_ROOT

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession

    from basket_core.config import Settings

REPO = REPO_ROOT
KEY = ("transaction_id", "item", "quantity", "price", "ts", "customer_id", "store_id")


def _ingest_env(settings: Settings, tmp_path: Path) -> dict[str, str]:
    """The environment of a ``basket ingest`` child writing under ``settings``' paths."""
    return {
        **os.environ,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "BASKET_PATHS__DELTA_DIR": str(settings.paths.delta_dir),
        "BASKET_PATHS__CHECKPOINT_DIR": str(settings.paths.checkpoint_dir),
        "BASKET_SPARK__SHUFFLE_PARTITIONS": "2",
        "BASKET_SPARK__DRIVER_MEMORY": "1g",
        # a killed driver leaves its scratch (a copy of every jar) behind: keep it here
        "BASKET_SPARK__CONF": json.dumps({"spark.local.dir": str(tmp_path / "spark-local")}),
    }


def _ingest(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``basket ingest <args>`` in a process group of its own, its output added to ``log``."""
    cmd = [sys.executable, "-m", "basket.cli", "ingest", *args]
    with open(log, "ab") as out:
        return subprocess.Popen(
            cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


@pytest.mark.parametrize("kills_wanted", [3, pytest.param(10, marks=pytest.mark.slow)])
def test_kill_9_at_random_points_loses_and_duplicates_nothing(
    ingest_spark: SparkSession,
    kafka_broker: KafkaBroker,
    kafka_topic: str,
    tmp_path: Path,
    kills_wanted: int,
) -> None:
    spark = ingest_spark
    settings = ingest_settings(tmp_path)
    paths = TablePaths.under(settings.paths.delta_dir)
    env = _ingest_env(settings, tmp_path)
    args = ["--bootstrap-servers", kafka_broker.bootstrap_servers, "--topic", kafka_topic]
    log = tmp_path / "ingest.log"
    csv = write_csv(tmp_path / "sales.csv", sample_rows(80, seed=11))
    messages = list(csv_messages(csv, settings.columns, settings.input))

    prod = producer(kafka_broker.bootstrap_servers)
    feeder = threading.Thread(
        target=publish,
        args=(iter(messages), prod, kafka_topic),
        kwargs={"rate": len(messages) / 45.0},
    )
    feeder.start()
    seed = int(os.environ.get("BASKET_CRASH_SEED", time.time()))
    print(f"kill points from seed {seed} (BASKET_CRASH_SEED)")
    rng = random.Random(seed)
    try:
        kills = 0
        for _ in range(3 * kills_wanted):  # a run that died by itself does not count as a kill
            if kills == kills_wanted:
                break
            proc = _ingest(
                ["kafka", *args, "--trigger-seconds", "1", "--max-offsets-per-trigger", "40"],
                env,
                log,
            )
            time.sleep(rng.uniform(4.0, 20.0))  # startup, mid-batch or idle
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                kills += 1
            proc.wait()
        feeder.join()
        assert kills == kills_wanted, log.read_text()[-3000:]
    finally:
        feeder.join()
        prod.close()
    for _ in range(3):  # a run that fails (broker too slow to answer) is restarted too
        if _ingest(["kafka", *args, "--once"], env, log).wait(timeout=300) == 0:
            break
    else:
        raise AssertionError(log.read_text()[-3000:])

    raw = read_long(spark, [str(csv)], settings.input, settings.columns)
    _, batch = clean_lines(
        raw.df,
        data_columns=raw.data_columns,
        columns=settings.columns,
        cleaning=settings.cleaning,
        timestamp_formats=settings.input.timestamp_formats,
    )
    lines = spark.read.format("delta").load(paths.lines)
    quarantine = spark.read.format("delta").load(paths.quarantine)
    expected = Counter(tuple(r) for r in batch.accepted.select(*KEY).collect())
    assert Counter(tuple(r) for r in lines.select(*KEY).collect()) == expected  # none lost
    assert lines.select("line_key").distinct().count() == lines.count()  # none twice
    positions = quarantine.select("source", "source_offset")
    assert positions.distinct().count() == quarantine.count()
    reasons = Counter(r[0] for r in quarantine.select("reason").collect())
    assert reasons == Counter(r[0] for r in batch.rejected.select("reason").collect())


def test_a_run_killed_while_creating_the_table_does_not_wedge_the_next(
    ingest_spark: SparkSession, tmp_path: Path
) -> None:
    """kill -9 the moment ``lines/_delta_log`` exists and its first commit does not (Delta
    makes the folder before it writes the commit): the next run creates the table and
    ingests the drop. Before the fix, every later run failed with DELTA_TABLE_NOT_FOUND."""
    settings = ingest_settings(tmp_path)
    paths = TablePaths.under(settings.paths.delta_dir)
    env = _ingest_env(settings, tmp_path)
    drop, log = tmp_path / "drop", tmp_path / "ingest.log"
    once = ["files", "--input", str(drop), "--once"]
    drop.mkdir()
    rows = sample_rows(20, seed=5)
    write_csv(drop / "sales.csv", rows)
    log_dir = Path(paths.lines) / "_delta_log"
    first_commit = log_dir / "00000000000000000000.json"
    caught = False
    for _ in range(5):  # the window is a few ms wide; each try starts from nothing
        shutil.rmtree(settings.paths.delta_dir, ignore_errors=True)
        shutil.rmtree(settings.paths.checkpoint_dir, ignore_errors=True)
        proc = _ingest(once, env, log)
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline and not first_commit.exists():
            if log_dir.is_dir() and not first_commit.exists():
                os.killpg(proc.pid, signal.SIGKILL)
                break
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        # the commit may have landed between the look and the kill: then try again
        caught = log_dir.is_dir() and not first_commit.exists()
        if caught:
            break
    assert caught, "no kill landed between the log folder and the first commit in 5 runs"

    assert _ingest(once, env, log).wait(timeout=300) == 0, log.read_text()[-3000:]
    assert "no version was ever committed there" in log.read_text()
    lines = ingest_spark.read.format("delta").load(paths.lines)
    quarantine = ingest_spark.read.format("delta").load(paths.quarantine)
    assert lines.count() + quarantine.count() == len(rows)
