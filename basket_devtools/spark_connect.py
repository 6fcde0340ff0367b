"""A local Spark Connect server: one warm Spark driver that ``basket mine``, ``basket
ingest``, the dashboard and the DAG tasks reach as thin clients (``spark.remote``), so
none of them pays a cold JVM.

The server is a Python process holding an ordinary session built from the same
:func:`spark.session.connect_server_conf` as an in-process run (the jar cache, the
class-data archive, Delta, the JVM options) with Spark's Connect plugin listening on
127.0.0.1; it is also the Python that runs the clients' ``mapInArrow`` functions (its
workers import this project). A server lives in a state folder holding
``server.json`` (pid, host, port), ``settings.json`` (the settings it was started with)
and ``server.log``, so ``basket services status/stop`` in another process find it.

    python -m basket_devtools.spark_connect --serve <state_dir>   # what start() runs
    python -m basket_devtools.spark_connect --host 0.0.0.0 --port 15002
        # in the foreground, from the config (docker-compose's spark-connect service)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from basket_core.config import Settings
from basket_devtools import processes
from basket_devtools.processes import port_open, stop_pid

STATE_FILE = "server.json"
SETTINGS_FILE = "settings.json"
_SERVE = "--serve"
JVM_CHECK_S = 1.0


class ConnectServerError(RuntimeError):
    """The server could not start; the message says why (and where its log is)."""


@dataclass(frozen=True)
class ServerState:
    pid: int
    host: str
    port: int
    log: str

    @property
    def url(self) -> str:
        return f"sc://{self.host}:{self.port}"


def server_settings(settings: Settings) -> Settings:
    """The settings the server runs with: these, but never a client of another server."""
    return settings.with_overrides(**{"spark.remote": ""})  # "" clears it; None is ignored


class SparkConnectServer:
    """One local Spark Connect server. ``start()`` launches it and waits until it
    answers; ``stop()`` sends SIGTERM (the session stops cleanly) and waits."""

    def __init__(
        self, state_dir: Path, settings: Settings, *, host: str | None = None, port: int = 0
    ) -> None:
        self.state_dir = state_dir
        self.settings = server_settings(settings)
        self.host = host or settings.spark.local_ip
        self.port = port
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"sc://{self.host}:{self.port}"

    def start(self, timeout: float = 180.0) -> ServerState:
        running = read_state(self.state_dir)
        if running is not None:
            raise ConnectServerError(
                f"a Spark Connect server is already running from {self.state_dir} "
                f"({running.url}, pid {running.pid})"
            )
        self.state_dir.mkdir(parents=True, exist_ok=True)
        from basket_devtools.connect_warmup import WARM_FILE

        (self.state_dir / WARM_FILE).unlink(missing_ok=True)  # a former server's
        if self.port == 0:
            self.port = processes.free_port(self.host)
        elif port_open(self.host, self.port):
            raise ConnectServerError(f"port {self.host}:{self.port} is already in use")
        (self.state_dir / SETTINGS_FILE).write_text(
            json.dumps(
                {
                    "settings": json.loads(self.settings.model_dump_json()),
                    "host": self.host,
                    "port": self.port,
                }
            )
        )
        log = self.state_dir / "server.log"
        env = {**os.environ, "SPARK_LOCAL_IP": self.host}
        env.pop("SPARK_REMOTE", None)
        env.pop("SPARK_CONNECT_MODE_ENABLED", None)
        with open(log, "ab") as out:
            self._proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "basket_devtools.spark_connect",
                    _SERVE,
                    str(self.state_dir),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=env,
            )
        state = ServerState(self._proc.pid, self.host, self.port, str(log))
        deadline = time.monotonic() + timeout
        while not port_open(self.host, self.port):
            if self._proc.poll() is not None:
                raise ConnectServerError(
                    f"the Spark Connect server exited with {self._proc.returncode}; "
                    f"see {log}:\n{_tail(log)}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise ConnectServerError(
                    f"Spark Connect did not listen on {self.url} in {timeout}s"
                )
            time.sleep(0.2)
        (self.state_dir / STATE_FILE).write_text(json.dumps(asdict(state)))
        self._wait_warm(log, timeout)
        return state

    def _wait_warm(self, log: Path, timeout: float) -> None:
        """Wait for the server's warm-up (:mod:`.connect_warmup`) to end, well or not; a
        server that exits meanwhile is an error, as at start."""
        from basket_devtools.connect_warmup import WARM_FILE, time_limit

        assert self._proc is not None
        # the warm-up's own limit ends a hung warm-up first (reported, server kept)
        limit = time_limit(self.settings.spark.connect_warmup_mines)
        deadline = time.monotonic() + timeout + limit
        while not (self.state_dir / WARM_FILE).exists():
            if self._proc.poll() is not None:
                raise ConnectServerError(
                    f"the Spark Connect server exited with {self._proc.returncode} while "
                    f"warming up; see {log}:\n{_tail(log)}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise ConnectServerError(f"Spark Connect on {self.url} did not warm up in time")
            time.sleep(0.2)

    def stop(self, timeout: float = 60.0) -> None:
        processes.stop_server(self._proc, self.state_dir / STATE_FILE, timeout)
        self._proc = None


def _tail(log: Path, chars: int = 3000) -> str:
    try:
        return log.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def read_state(state_dir: Path) -> ServerState | None:
    """The server recorded in ``state_dir`` if its process is still alive."""
    return processes.read_state(state_dir / STATE_FILE, ServerState)


def stop_recorded(state_dir: Path, timeout: float = 60.0) -> ServerState | None:
    """Stop the server recorded in ``state_dir``; returns it, or None if none was running."""
    state = read_state(state_dir)
    if state is not None:
        stop_pid(state.pid, timeout)
        (state_dir / STATE_FILE).unlink(missing_ok=True)
    return state


def rss_bytes(pid: int) -> int:
    """Resident memory of the server: its Python process and the JVM (and any Python
    workers) under it, from /proc (Linux); 0 where /proc is not there."""
    total = 0
    for p in [pid, *_descendants(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def live_heap_bytes(pid: int) -> int | None:
    """The live heap of the JVM under ``pid`` (the server's Python process, or the JVM
    itself) after a full GC: the total of ``jcmd <jvm> GC.class_histogram``, which runs
    one. None without ``jcmd`` or a JVM. A leak shows here as live data that grows; RSS only
    shows the heap the JVM has committed, which it grows towards its maximum over its
    first jobs and seldom returns."""
    import shutil

    jcmd = shutil.which("jcmd") or str(
        Path(os.environ.get("JAVA_HOME", "/nonexistent")) / "bin" / "jcmd"
    )
    jvm = jvm_pid(pid)
    if jvm is None or not Path(jcmd).exists():
        return None
    out = subprocess.run(
        [jcmd, str(jvm), "GC.class_histogram"], capture_output=True, text=True, timeout=120
    ).stdout
    totals = [line.split() for line in out.splitlines() if line.startswith("Total")]
    return int(totals[-1][2]) if totals else None


def jvm_pid(pid: int) -> int | None:
    """The Java process among ``pid`` (the server's Python process, or the JVM itself) and
    its descendants, from /proc; None without one (a child that exits meanwhile is
    passed over)."""
    for candidate in (pid, *_descendants(pid)):
        try:
            if os.readlink(f"/proc/{candidate}/exe").endswith("/java"):
                return candidate
        except OSError:
            continue
    return None


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[-1].split()
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def serve(state_dir: Path) -> None:
    """The server process of :meth:`SparkConnectServer.start`."""
    recorded = json.loads((state_dir / SETTINGS_FILE).read_text())
    settings = Settings.model_validate(recorded["settings"])
    serve_settings(settings, recorded["host"], int(recorded["port"]), state_dir)


def serve_settings(settings: Settings, host: str, port: int, state_dir: Path | None = None) -> None:
    """An ordinary session with the Connect plugin on ``host:port``, until SIGTERM; once
    it listens, ``spark.connect_warmup_mines`` mines warm it (:mod:`.connect_warmup`),
    recorded in ``state_dir`` when there is one."""
    from spark.session import connect_server_conf

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder
    for key, value in connect_server_conf(settings, host, port).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(settings.spark.log_level)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    print(f"spark connect listening on sc://{host}:{port}", flush=True)
    here = "127.0.0.1" if host in ("0.0.0.0", "") else host  # the warm-up's own address
    threading.Thread(
        target=_warm, args=(settings, f"sc://{here}:{port}", state_dir, done), daemon=True
    ).start()
    # the JVM is a child process: if it dies (killed, out of memory), this process must
    # not stay up as a server that never answers (`status` would say "starting" forever
    # and `start` would refuse to replace it)
    jvm = getattr(spark.sparkContext._gateway, "proc", None)
    while not done.wait(JVM_CHECK_S):
        if jvm is not None and jvm.poll() is not None:
            print(f"the Spark driver JVM exited (code {jvm.returncode}): stopping", flush=True)
            sys.exit(1)
    spark.stop()


def _warm(settings: Settings, url: str, state_dir: Path | None, stopping: threading.Event) -> None:
    from basket_devtools.connect_warmup import warm_up, write_warm

    mines = settings.spark.connect_warmup_mines
    if mines:
        print(f"warming up: {mines} mines of generated data", flush=True)
    warm = warm_up(settings, url, mines, cancel=stopping)
    print(warm.summary(), flush=True)
    if state_dir is not None:
        write_warm(state_dir, warm)


def main(argv: list[str] | None = None) -> None:
    import argparse

    from basket_core.config import load_settings

    parser = argparse.ArgumentParser(
        prog="python -m basket_devtools.spark_connect",
        description="Run a Spark Connect server in the foreground, from the project config.",
    )
    parser.add_argument("--host", default=None, help="listen address (default spark.local_ip)")
    parser.add_argument("--port", type=int, default=None, help="default spark.connect_port")
    args = parser.parse_args(argv)
    settings = server_settings(load_settings(os.environ.get("BASKET_CONFIG")))
    serve_settings(
        settings, args.host or settings.spark.local_ip, args.port or settings.spark.connect_port
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == _SERVE:
        serve(Path(sys.argv[2]))
    else:
        main()
