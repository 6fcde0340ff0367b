"""A real Trino server (single-node coordinator) for conformance tests and development,
run from its Maven Central release with a JDK new enough for it.

Athena engine v3 is Trino, so the analyst SQL pack is proved on Trino itself. The server
is assembled once into ``<cache_dir>/trino/trino-<version>/`` from two Maven artifacts,
fetched with ``mvn dependency:copy``:

- ``io.trino:trino-server-core:<version>:tar.gz`` (the server without connectors), and
- ``io.trino:trino-hive:<version>:zip`` (the Hive connector plugin),

about 450 MB together (the full ``trino-server`` tarball with every connector is ~820 MB).
Trino 476 needs Java 24+; it runs on the Temurin 25 JDK of this machine kind
(:func:`find_java`).

A server lives in a state folder holding ``etc/`` (config and the ``hive`` catalog), the
file metastore, ``server.log`` and ``server.json`` (pid and port), so another process
(``python -m basket_devtools.trino_server stop``) can find and stop it. It listens on one host
(127.0.0.1 by default). The Hive catalog uses Trino's file metastore and the native local
file system rooted at ``data_root``: a path ``<data_root>/x`` is ``local:///x`` in SQL
(:meth:`TrinoServer.location`), and nothing outside ``data_root`` is readable.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from basket_devtools import processes
from basket_devtools.processes import free_port, stop_pid

TRINO_VERSION = "476"
MIN_JAVA = 24  # Trino 476's floor
COMPLETE = ".complete"
STATE_FILE = "server.json"
CATALOG = "hive"
JAVA_HOMES = (Path("/usr/lib/jvm/temurin-25-jdk-amd64"),)
JAVA_ENV = "TRINO_JAVA_HOME"
_JVM_FLAGS = (
    "-XX:+UseG1GC",
    "-XX:+ExitOnOutOfMemoryError",
    "-XX:+EnableDynamicAgentLoading",
    "-XX:ReservedCodeCacheSize=128M",
    "-Djdk.attach.allowAttachSelf=true",
    "--enable-native-access=ALL-UNNAMED",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "-Dfile.encoding=UTF-8",
    "-Duser.timezone=UTC",
)


class TrinoError(RuntimeError):
    """Trino could not be fetched, configured or started; the message says why."""


# --- installation -------------------------------------------------------------------------


def _mvn_copy(artifact: str, dest: Path) -> Path:
    """``mvn dependency:copy`` one artifact (``g:a:v:type``) into ``dest``; its path."""
    if shutil.which("mvn") is None:
        raise TrinoError("Maven (mvn) is needed to fetch Trino")
    cmd = ["mvn", "-q", "-B", "dependency:copy", f"-Dartifact={artifact}"]
    cmd += [f"-DoutputDirectory={dest}", "-Dmdep.overWriteReleases=true"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=dest)
    if done.returncode != 0:
        raise TrinoError(f"mvn could not fetch {artifact}:\n{done.stdout[-2000:]}")
    _group, name, version, kind = artifact.split(":")
    path = dest / f"{name}-{version}.{kind}"
    if not path.is_file():
        raise TrinoError(f"mvn reported success but {path} is missing")
    return path


def _safe_extract_tar(archive: Path, dest: Path) -> None:
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")


def _safe_extract_zip(archive: Path, dest: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        for name in zf.namelist():
            target = (dest / name).resolve()
            if not target.is_relative_to(dest.resolve()):
                raise TrinoError(f"{archive.name}: entry {name!r} escapes the target folder")
        zf.extractall(dest)


def install(cache_dir: Path, version: str = TRINO_VERSION) -> Path:
    """The Trino server folder ``<cache_dir>/trino/trino-<version>`` with the Hive plugin,
    fetched and unpacked on first use (idempotent; a half-done install is redone)."""
    if not re.fullmatch(r"\d{3,4}", version):
        raise TrinoError(f"Trino version {version!r} is not a release number like 476")
    home = (cache_dir / "trino" / f"trino-{version}").resolve()
    if (home / COMPLETE).is_file():
        return home
    home.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=home.parent, prefix=".fetch-") as tmp_name:
        tmp = Path(tmp_name)
        core = _mvn_copy(f"io.trino:trino-server-core:{version}:tar.gz", tmp)
        hive = _mvn_copy(f"io.trino:trino-hive:{version}:zip", tmp)
        unpacked = tmp / "unpacked"
        _safe_extract_tar(core, unpacked)
        core.unlink()
        roots = [p for p in unpacked.iterdir() if p.is_dir()]
        if len(roots) != 1 or not (roots[0] / "lib").is_dir():
            raise TrinoError(f"unexpected layout in trino-server-core-{version}.tar.gz")
        server = roots[0]
        plugins = tmp / "plugins"
        _safe_extract_zip(hive, plugins)
        hive.unlink()
        (hive_dir,) = [p for p in plugins.iterdir() if p.is_dir()]
        shutil.move(str(hive_dir), server / "plugin" / "hive")
        if home.exists():
            shutil.rmtree(home)
        shutil.move(str(server), home)
    (home / COMPLETE).write_text(f"trino-server-core {version} + trino-hive {version}\n")
    return home


# --- the JDK --------------------------------------------------------------------------------


def java_version(java: Path) -> int:
    """The feature version (e.g. 25) of a ``java`` binary, from ``java -version``."""
    done = subprocess.run([str(java), "-version"], capture_output=True, text=True)
    m = re.search(r'version "(\d+)', done.stderr + done.stdout)
    if done.returncode != 0 or m is None:
        raise TrinoError(f"cannot tell the version of {java}")
    return int(m.group(1))


def find_java(minimum: int = MIN_JAVA) -> Path:
    """A ``java`` of at least ``minimum``: ``$TRINO_JAVA_HOME``, a Temurin JDK of this
    machine kind, ``$JAVA_HOME``, any ``/usr/lib/jvm/*``, then ``java`` on PATH."""
    candidates: list[Path] = []
    explicit = os.environ.get(JAVA_ENV)
    if explicit:
        java = Path(explicit) / "bin" / "java"
        if not java.is_file() or java_version(java) < minimum:
            raise TrinoError(f"{JAVA_ENV}={explicit} is not a JDK {minimum}+")
        return java
    candidates += [home / "bin" / "java" for home in JAVA_HOMES]
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]) / "bin" / "java")
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        candidates += sorted(jvm.glob("*/bin/java"), reverse=True)
    on_path = shutil.which("java")
    if on_path:
        candidates.append(Path(on_path))
    for java in candidates:
        if java.is_file() and java_version(java) >= minimum:
            return java
    raise TrinoError(
        f"Trino needs a JDK {minimum}+ (none found; set {JAVA_ENV} to one, e.g. a Temurin 25)"
    )


# --- a running server -------------------------------------------------------------------------


def server_info(host: str, port: int, timeout: float = 2.0) -> dict[str, object] | None:
    """``/v1/info`` of a server, or None when nothing answers yet."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/v1/info", timeout=timeout) as resp:
            info: dict[str, object] = json.loads(resp.read())
            return info
    except (OSError, urllib.error.URLError, ValueError):
        return None


def query_ready(host: str, port: int, timeout: float = 10.0) -> bool:
    """Whether ``SELECT 1`` runs to completion. ``/v1/info`` reports the coordinator started
    a few seconds before its own node is announced to the scheduler; a query in that window
    fails with NO_NODES_AVAILABLE, so readiness is a query that needs a node."""
    request = urllib.request.Request(
        f"http://{host}:{port}/v1/statement",
        data=b"SELECT 1",
        headers={"X-Trino-User": "basket-readiness"},
        method="POST",
    )
    deadline = time.monotonic() + timeout
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            body: dict[str, object] = json.loads(resp.read())
        while True:
            if body.get("error"):
                return False
            next_uri = body.get("nextUri")
            if not isinstance(next_uri, str):
                return True
            if time.monotonic() > deadline:
                return False
            with urllib.request.urlopen(next_uri, timeout=timeout) as resp:
                body = json.loads(resp.read())
    except (OSError, urllib.error.URLError, ValueError):
        return False


@dataclass(frozen=True)
class ServerState:
    pid: int
    host: str
    port: int
    version: str
    log: str

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def config_properties(host: str, port: int, query_memory: str) -> str:
    props = {
        "coordinator": "true",
        "node-scheduler.include-coordinator": "true",
        "node.environment": "basket",
        "node.id": "basket-local",
        "node.bind-ip": host,
        "node.internal-address": host,
        "http-server.http.port": str(port),
        "discovery.uri": f"http://{host}:{port}",
        "query.max-memory": query_memory,
        "query.max-memory-per-node": query_memory,
        "task.concurrency": "2",
        "http-server.log.enabled": "false",
    }
    return "".join(f"{k}={v}\n" for k, v in props.items())


def hive_catalog_properties(metastore_dir: str, data_root: Path) -> str:
    """The ``hive`` catalog: file metastore, native local file system rooted at data_root."""
    props = {
        "connector.name": "hive",
        "hive.metastore": "file",
        "hive.metastore.catalog.dir": metastore_dir,
        "fs.native-local.enabled": "true",
        "local.location": str(data_root.resolve()),
        "hive.non-managed-table-writes-enabled": "false",
        "hive.allow-register-partition-procedure": "true",
    }
    return "".join(f"{k}={v}\n" for k, v in props.items())


class TrinoServer:
    """One local single-node Trino. ``start()`` fetches Trino on first use, writes the
    configuration, starts the JVM and waits until ``/v1/info`` says it has started and a
    query runs (:func:`query_ready`);
    ``stop()`` sends SIGTERM and waits (SIGKILL on timeout)."""

    def __init__(
        self,
        state_dir: Path,
        data_root: Path,
        *,
        cache_dir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        version: str = TRINO_VERSION,
        heap: str = "1G",
        query_memory: str = "256MB",
    ) -> None:
        self.state_dir = state_dir.resolve()
        self.data_root = data_root.resolve()
        self.cache_dir = cache_dir
        self.host = host
        self.port = port
        self.version = version
        self.heap = heap
        self.query_memory = query_memory
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def location(self, path: Path) -> str:
        """The ``local:///`` URI Trino uses for a path under ``data_root``."""
        resolved = path.resolve()
        if not resolved.is_relative_to(self.data_root):
            raise TrinoError(f"{path} is outside the server's data root {self.data_root}")
        rel = resolved.relative_to(self.data_root).as_posix()
        return "local:///" + ("" if rel == "." else rel)

    def _write_config(self) -> Path:
        etc = self.state_dir / "etc"
        (etc / "catalog").mkdir(parents=True, exist_ok=True)
        metastore = self.data_root / "_trino_metastore"
        metastore.mkdir(parents=True, exist_ok=True)
        (etc / "config.properties").write_text(
            config_properties(self.host, self.port, self.query_memory)
        )
        (etc / "catalog" / f"{CATALOG}.properties").write_text(
            hive_catalog_properties(self.location(metastore), self.data_root)
        )
        (etc / "log.properties").write_text("io.trino=WARN\nio.airlift=WARN\n")
        return etc

    def command(self, java: Path, home: Path, etc: Path) -> list[str]:
        return [
            str(java),
            f"-Xmx{self.heap}",
            *_JVM_FLAGS,
            f"-Dconfig={etc / 'config.properties'}",
            f"-Dlog.levels-file={etc / 'log.properties'}",
            f"-Dplugin.dir={home / 'plugin'}",
            f"-Dcatalog.config-dir={etc / 'catalog'}",
            "-cp",
            str(home / "lib" / "*"),
            "io.trino.server.TrinoServer",
        ]

    def start(self, timeout: float = 180.0) -> ServerState:
        running = read_state(self.state_dir)
        if running is not None:
            raise TrinoError(f"Trino already runs from {self.state_dir} (pid {running.pid})")
        java = find_java()
        home = install(self.cache_dir, self.version)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self.port == 0:
            self.port = free_port(self.host)
        elif server_info(self.host, self.port, timeout=0.5) is not None:
            raise TrinoError(f"port {self.host}:{self.port} is already in use")
        etc = self._write_config()
        log = self.state_dir / "server.log"
        with open(log, "ab") as out:
            self._proc = subprocess.Popen(
                self.command(java, home, etc),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.state_dir,
                start_new_session=True,
            )
        state = ServerState(self._proc.pid, self.host, self.port, self.version, str(log))
        deadline = time.monotonic() + timeout
        while True:
            info = server_info(self.host, self.port)
            started = info is not None and info.get("starting") is False
            if started and query_ready(self.host, self.port):
                break
            if self._proc.poll() is not None:
                tail = log.read_text(errors="replace")[-3000:]
                raise TrinoError(f"trino exited with {self._proc.returncode}; {log}:\n{tail}")
            if time.monotonic() > deadline:
                self.stop()
                raise TrinoError(f"trino did not start on {self.url} in {timeout}s; see {log}")
            time.sleep(0.5)
        (self.state_dir / STATE_FILE).write_text(json.dumps(asdict(state)))
        return state

    def stop(self, timeout: float = 30.0) -> None:
        processes.stop_server(self._proc, self.state_dir / STATE_FILE, timeout)
        self._proc = None


def read_state(state_dir: Path) -> ServerState | None:
    """The server recorded in ``state_dir`` if its process is still alive."""
    return processes.read_state(state_dir / STATE_FILE, ServerState)


def main(argv: list[str] | None = None) -> int:
    """``python -m basket_devtools.trino_server {fetch,start,stop,status}``: a server outside the
    tests, for trying the pack on Trino by hand."""
    parser = argparse.ArgumentParser(
        prog="python -m basket_devtools.trino_server", description=__doc__
    )
    parser.add_argument("action", choices=["fetch", "start", "stop", "status"])
    parser.add_argument("--cache-dir", type=Path, default=Path(".cache"))
    parser.add_argument("--state-dir", type=Path, default=Path(".cache/services/trino"))
    parser.add_argument("--data-root", type=Path, default=Path("output"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--version", default=TRINO_VERSION)
    args = parser.parse_args(argv)
    try:
        if args.action == "fetch":
            print(install(args.cache_dir, args.version))
        elif args.action == "start":
            args.data_root.mkdir(parents=True, exist_ok=True)
            server = TrinoServer(
                args.state_dir,
                args.data_root,
                cache_dir=args.cache_dir,
                host=args.host,
                port=args.port,
                version=args.version,
            )
            state = server.start()
            print(f"trino {state.version} on {state.url} (pid {state.pid}, log {state.log})")
        elif args.action == "stop":
            recorded = read_state(args.state_dir)
            if recorded is None:
                print("trino was not running")
            else:
                stop_pid(recorded.pid, 30.0)
                (args.state_dir / STATE_FILE).unlink(missing_ok=True)
                print(f"trino stopped (pid {recorded.pid})")
        else:
            recorded = read_state(args.state_dir)
            print(
                f"trino: running on {recorded.url} (pid {recorded.pid})"
                if recorded
                else "trino: stopped"
            )
    except TrinoError as exc:
        parser.exit(1, f"error: {exc}\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
