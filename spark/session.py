"""Build the SparkSession every stage uses: local or cluster, Delta enabled,
cached jars on the classpath, bound to loopback for local runs.

The S3 jars (hadoop-aws, the ~690 MB AWS SDK bundle, the analytics accelerator) slow every
JVM start, so with ``spark.s3_jars = "auto"`` they are only added when S3 is in use
(:func:`uses_s3`)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from basket_core.config import Settings
from basket_core.jars import artifact_name, cached_jars

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession


S3_ARTIFACTS = frozenset({"hadoop-aws", "bundle", "analyticsaccelerator-s3"})
"""Jars only the s3a:// filesystem needs (``bundle`` is the AWS SDK v2 bundle)."""
DRIVER_JAVA_OPTIONS = "spark.driver.extraJavaOptions"
EXECUTOR_JAVA_OPTIONS = "spark.executor.extraJavaOptions"
JIT_OPTIONS = ("-XX:-DontCompileHugeMethods",)
"""HotSpot never JIT-compiles a method over 8,000 bytes of bytecode; Spark's whole-stage
code for a wide projection (the event staging + cleaning rules fuse into one
``processNext``) is larger, so it ran *interpreted*: 500k events staged, classified and
hashed in 4.7 s, 2.1 s with this flag (``spark.sql.codegen.hugeMethodLimit=8000``, which
splits the stage instead, gave 2.5 s). Options in ``spark.conf`` come after these, so a
user's ``-XX:+DontCompileHugeMethods`` wins."""
CODEGEN_CACHE_ENTRIES = 1000
"""Generated classes Spark keeps compiled (``spark.sql.codegen.cache.maxEntries``, default
100, fixed when the JVM starts). One ingest micro-batch alone uses about 100 (the staging
and cleaning stage, the sink's aggregations, joins and writes, Delta's log replay); just
over the limit, every batch evicted and recompiled ~22 of them, and the JVM's compiler
threads then spent 5-7 s of CPU per 9 s batch warming the new classes up again."""
_S3_PREFIXES = ("s3://", "s3a://", "s3n://", "s3:/", "s3a:/", "s3n:/")


def _is_s3(text: object) -> bool:
    return isinstance(text, str | Path) and str(text).strip().lower().startswith(_S3_PREFIXES)


def uses_s3(settings: Settings, argv: Iterable[str] | None = None) -> bool:
    """Whether this process may touch S3 through Spark: a non-local master, an AWS
    endpoint, ``fs.s3a`` Spark conf, an ``s3://``/``s3a://`` path or URI among the settings
    (``Path`` turns ``s3a://b`` into ``s3a:/b``) or on the command line (``argv``, default
    ``sys.argv``: e.g. ``basket mine --input s3a://...``)."""
    s = settings.spark
    if not s.master.startswith("local"):
        return True
    if settings.aws.endpoint_url:
        return True
    if any("s3a" in k or _is_s3(v) for k, v in s.conf.items()):
        return True
    paths = settings.paths
    values: list[object] = [
        paths.data_dir,
        paths.output_dir,
        paths.checkpoint_dir,
        paths.delta_dir,
        settings.orchestration.input_uri,
    ]
    if any(_is_s3(v) for v in values):
        return True
    args = sys.argv if argv is None else argv
    return any(_is_s3(a) or "=s3" in a.lower() for a in args if isinstance(a, str))


def session_jars(settings: Settings, argv: Iterable[str] | None = None) -> list[Path]:
    """The cached jars for this session: without the S3 ones unless they are needed."""
    jars = cached_jars(settings.paths.jars_dir)
    mode = settings.spark.s3_jars
    if mode == "always" or (mode == "auto" and uses_s3(settings, argv)):
        return jars
    return [j for j in jars if artifact_name(j.name) not in S3_ARTIFACTS]


ARCHIVE_OPTIONS = ("-Xshare:auto", "-Xlog:cds=off", "-Xlog:cds+dynamic=off")
"""A missing or stale archive must not print anything or fail: the JVM then starts
without it (``-Xshare:auto``)."""


def java_executable() -> str | None:
    """The ``java`` that spark-submit runs: ``$JAVA_HOME/bin/java`` or the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    found = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    return os.path.realpath(found) if found else None


def class_archive(settings: Settings) -> Path:
    """Where the class-data-sharing archive for this JVM and this Spark lives. The name
    carries a digest of the JVM, the Spark version and its jars: an archive only fits
    the exact class path it was made from, so a new JDK or pyspark gets a new one."""
    import hashlib

    import pyspark

    spark_jars = Path(pyspark.__file__).parent / "jars"
    listing = sorted(p.name for p in spark_jars.glob("*.jar")) if spark_jars.is_dir() else []
    key = "\n".join([java_executable() or "", pyspark.__version__, *listing])
    digest = hashlib.sha1(key.encode()).hexdigest()[:12]
    return settings.paths.cache_dir / "jvm" / f"spark-{pyspark.__version__}-{digest}.jsa"


def archive_java_options(settings: Settings) -> str:
    """Driver JVM options mapping the archive, or ``""`` when off or not created yet."""
    if not settings.spark.class_archive:
        return ""
    archive = class_archive(settings)
    if not archive.is_file():
        return ""
    return " ".join((f"-XX:SharedArchiveFile={archive.resolve()}", *ARCHIVE_OPTIONS))


DATAFRAME_DEBUGGING = "spark.python.sql.dataFrameDebugging.enabled"


def session_conf(settings: Settings) -> dict[str, str]:
    """The runtime SQL settings of :func:`spark_conf`: the ones a Spark Connect client
    sets on its own server-side session (it needs neither the jar cache nor a JVM); the
    others (memory, jars, JVM options, master) are the server's, fixed when it started
    (:func:`connect_server_conf`)."""
    return {
        "spark.sql.shuffle.partitions": str(settings.spark.shuffle_partitions),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.databricks.delta.snapshotPartitions": "2",
        # PySpark 4 wraps every DataFrame and column function to record the Python call
        # site for error messages: ~4 calls into the JVM and a walk of the Python stack
        # per call. A micro-batch staged in Python (CSV drops) makes ~900 such calls,
        # ~2 s of the driver's time; a Kafka one ~180. Our errors name the file, row and
        # field themselves.
        DATAFRAME_DEBUGGING: "false",
    }


def spark_conf(settings: Settings, argv: Iterable[str] | None = None) -> dict[str, str]:
    """The Spark configuration for these settings (pure: no JVM is started)."""
    s = settings.spark
    jars = session_jars(settings, argv)
    conf = {
        "spark.master": s.master,
        "spark.app.name": s.app_name,
        "spark.driver.memory": s.driver_memory,
        "spark.driver.host": s.local_ip,
        "spark.driver.bindAddress": s.local_ip,
        **session_conf(settings),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.codegen.cache.maxEntries": str(CODEGEN_CACHE_ENTRIES),
        "spark.jars": ",".join(str(p.resolve()) for p in jars),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
        # Spark sizes memory pages from the heap (2 GB, 2 cores: 32 MB), and every broadcast
        # hash relation read back holds at least one page until a GC lets the context
        # cleaner drop it. Rule derivation broadcasts many small tables: 15 derivations
        # left 630-860 MB of such pages (a 2 GB driver then failed "Not enough memory to
        # build and broadcast"), 200 MB with 4 MB pages. Tasks still address 8,192 pages.
        "spark.buffer.pageSize": "4m",
    }
    aws = settings.aws
    if aws.endpoint_url:
        conf["spark.hadoop.fs.s3a.endpoint"] = aws.endpoint_url
        conf["spark.hadoop.fs.s3a.endpoint.region"] = aws.region
    conf.update(s.conf)
    jit = " ".join(JIT_OPTIONS)
    archive = archive_java_options(settings)
    for key, first in ((DRIVER_JAVA_OPTIONS, f"{archive} {jit}"), (EXECUTOR_JAVA_OPTIONS, jit)):
        conf[key] = f"{first.strip()} {conf.get(key, '')}".strip()
    return conf


def get_spark(settings: Settings) -> SparkSession:
    """Get (or create) the session. Reuses an active session if one exists. With
    ``spark.remote`` set, a Spark Connect client session of that server
    (:func:`connect_session`) instead of a JVM in this process."""
    if settings.spark.remote:
        return connect_session(settings)
    os.environ.setdefault("SPARK_LOCAL_IP", settings.spark.local_ip)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder
    for key, value in spark_conf(settings).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(settings.spark.log_level)
    return spark


# --- Spark Connect -------------------------------------------------------------------

CONNECT_PLUGIN = "org.apache.spark.sql.connect.SparkConnectPlugin"


def is_connect(spark: SparkSession) -> bool:
    """Whether ``spark`` is a Spark Connect client session (no ``sparkContext``)."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


SERVER_RETENTION = {
    "spark.ui.retainedJobs": "100",
    "spark.ui.retainedStages": "200",
    "spark.ui.retainedTasks": "10000",
    "spark.sql.ui.retainedExecutions": "100",
    "spark.connect.ui.retainedSessions": "20",
    "spark.connect.ui.retainedStatements": "100",
}
"""How much finished work a long-lived server remembers. The driver's status store keeps
finished jobs, stages, tasks, SQL executions and Connect statements even with the UI off,
by default up to 1,000 jobs and stages (a mine runs ~55 jobs and ~150 stages): a server's
live heap grew ~8 MB per mine until those caps (issue 20's soak). A server needs the
recent ones only."""


def connect_server_conf(settings: Settings, host: str, port: int) -> dict[str, str]:
    """The configuration of a Spark Connect server for these settings: the same
    :func:`spark_conf` as an in-process session (jars, class archive, Delta, JVM
    options), the Connect plugin listening on ``host:port``, and bounded memory of
    finished work (:data:`SERVER_RETENTION`; ``spark.conf`` overrides it)."""
    conf = {**SERVER_RETENTION, **spark_conf(settings)}
    conf.update(
        {
            "spark.plugins": CONNECT_PLUGIN,
            "spark.connect.grpc.binding.address": host,
            "spark.connect.grpc.binding.port": str(port),
            "spark.app.name": f"{settings.spark.app_name}-connect",
        }
    )
    cores = local_cores(conf["spark.master"])
    if cores is not None:  # what a local master uses anyway; clients read it (no sparkContext)
        conf.setdefault("spark.default.parallelism", str(cores))
    return conf


def local_cores(master_url: str) -> int | None:
    """The cores of a ``local``/``local[N]``/``local[*]``/``local[N,F]`` master, else None."""
    import re

    m = re.fullmatch(r"local(?:\[(\*|\d+)(?:,\s*\d+)?\])?", master_url.strip())
    if m is None:
        return None
    n = m.group(1)
    return int(n) if n and n != "*" else (os.cpu_count() or 1) if n == "*" else 1


CONNECT_DEFAULT_PORT = 15002


def connect_address(remote: str) -> tuple[str, int]:
    """Host and port of a Spark Connect URL (``sc://host:port/;param=value``)."""
    from urllib.parse import urlsplit

    netloc = remote.removeprefix("sc://").split("/")[0]
    parsed = urlsplit(f"//{netloc}")
    return parsed.hostname or "localhost", parsed.port or CONNECT_DEFAULT_PORT


def check_answers(remote: str, timeout_s: float = 5.0) -> None:
    """Raise :class:`ServiceUnavailable` unless something accepts connections at
    ``remote``: the Connect client itself retries a refused connection with backoff for
    many minutes, silently, before it fails."""
    import socket

    from basket_core.errors import ServiceUnavailable

    host, port = connect_address(remote)
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as exc:
        raise ServiceUnavailable(
            f"no Spark Connect server answers at {remote} ({exc.strerror or exc}); start "
            "one with `basket services start spark`, or leave spark.remote (--remote) unset "
            "to run Spark in this process"
        ) from exc


def connect_session(settings: Settings) -> SparkSession:
    """A new Spark Connect session on ``spark.remote``, with this process's runtime SQL
    settings (:func:`session_conf` and the ``spark.conf`` entries the server lets a
    session set; the rest are the server's and are logged, not dropped silently). Each
    session has its own temp views and settings on the server; it is released when this
    process exits."""
    import atexit
    import logging
    import warnings

    from pyspark.sql import SparkSession

    from spark.connect_retries import BoundedRetries

    remote = settings.spark.remote
    assert remote
    check_answers(remote)
    spark = SparkSession.builder.remote(remote).create()
    spark.client.set_retry_policies([BoundedRetries(settings.spark.connect_retry_s)])
    # the client warns "[RETRIES_EXCEEDED]" before it raises; the command says it once
    warnings.filterwarnings("ignore", message=r"\[RETRIES_EXCEEDED\]")
    atexit.register(_release, spark)
    runtime = session_conf(settings) | settings.spark.conf
    kept: list[str] = []
    for key, value in runtime.items():
        try:
            spark.conf.set(key, value)
        except Exception:  # static or core setting: fixed when the server started
            kept.append(key)
    if kept:
        logging.getLogger(__name__).warning(
            "Spark Connect %s: the server keeps its own %s (set them where it starts)",
            remote,
            ", ".join(sorted(kept)),
        )
    return spark


def connect_lost(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is a Spark Connect call that found no server:
    gRPC's UNAVAILABLE, raised once the retries are spent."""
    import grpc
    from pyspark.errors.exceptions.connect import SparkConnectGrpcException

    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    for link in chain:
        if isinstance(link, grpc.RpcError) and link.code() == grpc.StatusCode.UNAVAILABLE:
            return True
        if isinstance(link, SparkConnectGrpcException) and "UNAVAILABLE" in str(link):
            return True
    return False


def _release(spark: SparkSession) -> None:
    import contextlib

    with contextlib.suppress(Exception):  # the server may be gone already
        spark.stop()


def master(spark: SparkSession) -> str:
    """The master the session runs on (the server's, over Spark Connect)."""
    if not is_connect(spark):
        return spark.sparkContext.master or ""
    return spark.conf.get("spark.master", "") or ""


def default_parallelism(spark: SparkSession) -> int:
    """``sparkContext.defaultParallelism``, also over Spark Connect: the server's
    ``spark.default.parallelism`` when set (a local server sets it), else the partitions
    of a ``range`` (which Spark splits into exactly that many)."""
    if not is_connect(spark):
        return int(spark.sparkContext.defaultParallelism)
    value = spark.conf.get("spark.default.parallelism", None)
    if value:
        return int(value)
    from pyspark.sql import functions as F

    row = spark.range(0, 1 << 16).select(F.max(F.spark_partition_id())).first()
    return int(row[0]) + 1 if row is not None and row[0] is not None else 1


@contextmanager
def overridden_conf(spark: SparkSession, values: Mapping[str, str]) -> Iterator[None]:
    """Session settings ``values`` for the duration of the block, then each key back to
    what it was (unset again if it was not set)."""
    previous = {key: spark.conf.get(key, None) for key in values}
    try:
        for key, value in values.items():
            spark.conf.set(key, value)
        yield
    finally:
        for key, was in previous.items():
            if was is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, was)
