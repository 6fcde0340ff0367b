"""Scale-out is real: a Spark standalone cluster on 127.0.0.1 (a master and two workers,
started with the ``spark-class`` script that ships with pyspark) runs ``basket mine
--engine pfp`` with several groups, and gets the same itemsets and rules as local mode."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyspark
import pytest

from spark.job import MineRequest, run_mine
from tests import reference as ref
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT
SPARK_CLASS = Path(pyspark.__file__).parent / "bin" / "spark-class"
HOST = "127.0.0.1"
WORKERS = 2
START_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SPARK_LOCAL_IP=HOST,
        SPARK_HOME=str(SPARK_CLASS.parent.parent),
        SPARK_LOG_DIR=str(tmp / "logs"),
        SPARK_WORKER_DIR=str(tmp / "work"),
        SPARK_NO_DAEMONIZE="1",
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
    )
    return env


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as fh:
        return subprocess.Popen(
            [str(SPARK_CLASS), *args],
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _alive_workers(ui_port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{ui_port}/json/", timeout=2) as resp:
            state = json.load(resp)
    except OSError:
        return 0
    return sum(1 for w in state.get("workers", []) if w.get("state") == "ALIVE")


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in reversed(procs):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGTERM)
    for p in reversed(procs):
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()


@pytest.fixture
def standalone_cluster(tmp_path: Path) -> Iterator[str]:
    """``spark://127.0.0.1:PORT`` of a master with two 1-core, 1 GB workers."""
    env = _env(tmp_path)
    (tmp_path / "logs").mkdir()
    port, ui = _free_port(), _free_port()
    master_url = f"spark://{HOST}:{port}"
    procs = [
        _start(
            ["org.apache.spark.deploy.master.Master", "--host", HOST, "--port", str(port),
             "--webui-port", str(ui)],
            env, tmp_path / "logs" / "master.log",
        )
    ]  # fmt: skip
    try:
        for n in range(WORKERS):
            procs.append(
                _start(
                    ["org.apache.spark.deploy.worker.Worker", master_url, "--host", HOST,
                     "--cores", "1", "--memory", "1g", "--webui-port", str(_free_port()),
                     "--work-dir", str(tmp_path / f"work{n}")],
                    env, tmp_path / "logs" / f"worker{n}.log",
                )
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT_S
        while _alive_workers(ui) < WORKERS:
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                logs = "\n".join(
                    f.read_text(errors="replace")[-2000:] for f in (tmp_path / "logs").iterdir()
                )
                pytest.fail(f"standalone cluster did not start:\n{logs}")
            time.sleep(0.5)
        yield master_url
    finally:
        _stop(procs)


def _config(path: Path, master: str, output: Path) -> Path:
    path.write_text(
        f"""
[paths]
cache_dir = "{ROOT / ".cache"}"
output_dir = "{output}"

[spark]
master = "{master}"
driver_memory = "1g"
shuffle_partitions = 4

[spark.conf]
"spark.executor.memory" = "512m"
"spark.executor.cores" = "1"
"spark.cores.max" = "{WORKERS}"
"spark.pyspark.python" = "{sys.executable}"
""",
        encoding="utf-8",
    )
    return path


@pytest.mark.slow
def test_cluster_mine_equals_local_mode(  # type: ignore[no-untyped-def]
    standalone_cluster: str, spark, settings, tmp_path: Path
) -> None:
    baskets = ref.random_baskets(3000, 60, seed=11, mean_size=4.0)
    src = ref.write_basket_file(tmp_path / "baskets.txt", baskets)
    knobs = {"mining.min_support": 0.01, "mining.min_confidence": 0.2}

    local = settings.with_overrides(**knobs, **{"input.format": "basket"})
    run_mine(local, MineRequest(inputs=(str(src),), run_id="local"), spark=spark)

    out = tmp_path / "cluster-output"
    config = _config(tmp_path / "basket.toml", standalone_cluster, out)
    env = _env(tmp_path)
    env.pop("BASKET_CONFIG", None)
    cmd = [
        sys.executable, "-m", "basket.cli", "--config", str(config), "mine",
        "--input", str(src), "--format", "basket", "--min-support", "0.01",
        "--min-confidence", "0.2", "--engine", "pfp", "--groups", "4",
        "--run-id", "cluster", "--json",
    ]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout[done.stdout.index("{") :])
    print("cluster run timings:", report["timings"])
    assert report["engine"] == "pfp"
    assert report["engine_details"]["groups"] >= 3
    assert report["versions"]["pyspark"] == pyspark.__version__

    expected = ref.read_itemsets(local.paths.output_dir)
    assert ref.read_itemsets(out) == expected
    assert expected == ref.pyfim_itemsets(baskets, report["counts"]["baskets"] // 100)
    ours, theirs = ref.read_rules(out), ref.read_rules(local.paths.output_dir)
    assert set(ours.index) == set(theirs.index) and len(ours) > 50
    assert report["counts"]["rules"] == len(ours)
    numeric = list(theirs.select_dtypes("number").columns)
    assert "lift" in numeric and "antecedent_count" in numeric
    merged = theirs[numeric].join(ours[numeric], rsuffix="_cluster")
    for col in numeric:
        assert np.allclose(merged[col], merged[f"{col}_cluster"], rtol=0, atol=1e-9), col
