"""A real Apache Kafka broker (KRaft, combined broker + controller) for development and
tests, run from the official jars with ``java -cp``.

The jars are resolved once from ``basket_devtools/kafka-pom.xml`` with Maven into
``<cache_dir>/kafka`` (kept apart from Spark's jar cache: they must never share a
classpath). A broker lives in a state folder holding ``server.properties``, its log
directory, ``broker.log`` and ``broker.json`` (pid and ports), so another process
(``basket services stop``) can find and stop it.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from basket_devtools import processes
from basket_devtools.processes import free_port, port_open, stop_pid

POM = Path(__file__).resolve().parent / "kafka-pom.xml"
COMPLETE = ".complete"
STATE_FILE = "broker.json"
MAIN_CLASS = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"
_LOG4J = """Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: WARN
      AppenderRef:
        - ref: STDOUT
"""


class BrokerError(RuntimeError):
    """The broker could not be fetched, formatted or started; the message says why."""


def fetch_jars(dest: Path, pom: Path = POM) -> list[Path]:
    """Resolve the broker's runtime jars with Maven into ``dest`` (idempotent)."""
    dest = dest.resolve()
    if (dest / COMPLETE).is_file():
        return sorted(dest.glob("*.jar"))
    if shutil.which("mvn") is None:
        raise BrokerError("Maven (mvn) is needed to fetch the Kafka broker jars")
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        cmd = ["mvn", "-q", "-B", "-f", str(pom), "dependency:copy-dependencies"]
        cmd += ["-DincludeScope=runtime", f"-DoutputDirectory={tmp}"]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise BrokerError(f"mvn failed fetching Kafka jars:\n{done.stdout[-2000:]}")
        for jar in sorted(Path(tmp).glob("*.jar")):
            shutil.move(str(jar), dest / jar.name)
    jars = sorted(dest.glob("*.jar"))
    (dest / COMPLETE).write_text("\n".join(p.name for p in jars) + "\n")
    return jars


def java_binary() -> str:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise BrokerError("no java found (set JAVA_HOME or put java on PATH); Kafka needs 17+")
    return found


def cluster_id() -> str:
    """A random KRaft cluster id (22-character URL-safe base64 UUID)."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


@dataclass(frozen=True)
class BrokerState:
    pid: int
    host: str
    port: int
    controller_port: int
    log: str

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"


def server_properties(
    state_dir: Path, host: str, port: int, controller_port: int, partitions: int
) -> str:
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{host}:{controller_port}",
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str((state_dir / "data").resolve()),
        "num.partitions": str(partitions),
        "auto.create.topics.enable": "true",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "2",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "group.initial.rebalance.delay.ms": "0",
    }
    return "".join(f"{k}={v}\n" for k, v in props.items())


class KafkaBroker:
    """One local KRaft broker. ``start()`` formats storage on first use, starts the JVM
    and waits for the listener; ``stop()`` sends SIGTERM and waits (SIGKILL on timeout)."""

    def __init__(
        self,
        state_dir: Path,
        jars_dir: Path,
        *,
        host: str,
        port: int = 0,
        partitions: int = 2,
        heap: str = "512m",
    ) -> None:
        self.state_dir = state_dir
        self.jars_dir = jars_dir
        self.host = host
        self.port = port
        self.partitions = partitions
        self.heap = heap
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def _java(self, main: str, *args: str) -> list[str]:
        return [
            java_binary(),
            f"-Xmx{self.heap}",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.state_dir.resolve() / 'log4j2.yaml'}",
            "-cp",
            str(self.jars_dir.resolve() / "*"),
            main,
            *args,
        ]

    def start(self, timeout: float = 90.0) -> BrokerState:
        running = read_state(self.state_dir)
        if running is not None:
            raise BrokerError(
                f"a broker is already running from {self.state_dir} (pid {running.pid})"
            )
        fetch_jars(self.jars_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self.port == 0:
            self.port = free_port(self.host)
        elif port_open(self.host, self.port):
            raise BrokerError(f"port {self.host}:{self.port} is already in use")
        controller_port = free_port(self.host)
        props = self.state_dir / "server.properties"
        props.write_text(
            server_properties(
                self.state_dir, self.host, self.port, controller_port, self.partitions
            )
        )
        (self.state_dir / "log4j2.yaml").write_text(_LOG4J)
        if not (self.state_dir / "data" / "meta.properties").is_file():
            # "--cluster-id=": an id may start with "-", which a separate argument would
            # turn into an unknown option
            fmt = self._java(
                STORAGE_TOOL, "format", f"--cluster-id={cluster_id()}", "-c", str(props)
            )
            done = subprocess.run(fmt, capture_output=True, text=True)
            if done.returncode != 0:
                raise BrokerError(f"kafka storage format failed:\n{done.stdout}{done.stderr}")
        log = self.state_dir / "broker.log"
        with open(log, "ab") as out:
            self._proc = subprocess.Popen(
                self._java(MAIN_CLASS, str(props)),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        state = BrokerState(self._proc.pid, self.host, self.port, controller_port, str(log))
        deadline = time.monotonic() + timeout
        while not port_open(self.host, self.port):
            if self._proc.poll() is not None:
                raise BrokerError(f"kafka exited with {self._proc.returncode}; see {log}")
            if time.monotonic() > deadline:
                self.stop()
                raise BrokerError(f"kafka did not listen on {self.bootstrap_servers} in {timeout}s")
            time.sleep(0.2)
        (self.state_dir / STATE_FILE).write_text(json.dumps(asdict(state)))
        return state

    def stop(self, timeout: float = 30.0) -> None:
        processes.stop_server(self._proc, self.state_dir / STATE_FILE, timeout)
        self._proc = None


def read_state(state_dir: Path) -> BrokerState | None:
    """The broker recorded in ``state_dir`` if its process is still alive."""
    return processes.read_state(state_dir / STATE_FILE, BrokerState)


def stop_recorded(state_dir: Path, timeout: float = 30.0) -> BrokerState | None:
    """Stop the broker recorded in ``state_dir``; returns it, or None if none was running."""
    state = read_state(state_dir)
    if state is not None:
        stop_pid(state.pid, timeout)
        (state_dir / STATE_FILE).unlink(missing_ok=True)
    return state
