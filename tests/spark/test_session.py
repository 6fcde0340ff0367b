"""The Spark session's configuration: the JVM class-data-sharing archive."""

from __future__ import annotations

from pathlib import Path

from basket_core.config import Settings
from spark.session import (
    DATAFRAME_DEBUGGING,
    DRIVER_JAVA_OPTIONS,
    EXECUTOR_JAVA_OPTIONS,
    JIT_OPTIONS,
    class_archive,
    spark_conf,
)

JIT = " ".join(JIT_OPTIONS)


def _settings(cache: Path, **overrides: object) -> Settings:
    return Settings().with_overrides(**{"paths.cache_dir": str(cache), **overrides})


def test_archive_is_mapped_only_when_it_exists_and_is_wanted(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("spark.session.session_jars", lambda settings, argv=None: [])
    settings = _settings(tmp_path, **{"spark.conf": {DRIVER_JAVA_OPTIONS: "-Dmine=1"}})
    assert spark_conf(settings)[DRIVER_JAVA_OPTIONS] == f"{JIT} -Dmine=1"  # not created yet
    archive = class_archive(settings)
    assert archive.parent == tmp_path / "jvm" and archive.suffix == ".jsa"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"not a real archive: the JVM would ignore it")
    options = spark_conf(settings)[DRIVER_JAVA_OPTIONS]
    assert options.startswith(f"-XX:SharedArchiveFile={archive.resolve()} -Xshare:auto")
    assert options.endswith("-Dmine=1")  # the user's options are kept, after ours
    off = settings.with_overrides(**{"spark.class_archive": False})
    assert spark_conf(off)[DRIVER_JAVA_OPTIONS] == f"{JIT} -Dmine=1"
    assert spark_conf(off)[EXECUTOR_JAVA_OPTIONS] == JIT


def test_running_driver_maps_the_archive_made_by_setup(spark, spark_settings) -> None:  # type: ignore[no-untyped-def]
    archive = class_archive(spark_settings)
    assert archive.is_file(), f"no class archive at {archive}: `make setup` creates it"
    jvm = spark.sparkContext._jvm
    args = list(jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
    assert f"-XX:SharedArchiveFile={archive.resolve()}" in args
    # "sharing" in java.vm.info: the JVM really mapped the archive (not just was told to)
    assert "sharing" in jvm.java.lang.System.getProperty("java.vm.info")


def test_driver_jit_compiles_huge_generated_methods(spark) -> None:  # type: ignore[no-untyped-def]
    """Whole-stage code of a wide projection is over HotSpot's 8,000-byte limit; the
    running driver must really have the limit lifted (the JVM's own view of the flag)."""
    jvm = spark.sparkContext._jvm
    bean = jvm.java.lang.management.ManagementFactory.getPlatformMXBean(
        jvm.java.lang.Class.forName("com.sun.management.HotSpotDiagnosticMXBean")
    )
    assert bean.getVMOption("DontCompileHugeMethods").getValue() == "false"


def test_generated_classes_stay_compiled_past_sparks_default_of_100(spark) -> None:  # type: ignore[no-untyped-def]
    """An ingest micro-batch uses about 100 generated classes; with Spark's default cache
    of 100 every batch recompiled some (and the JIT warmed them up again). Compile 150
    distinct stages, run the first 20 again: nothing may be compiled a second time."""
    metrics = spark.sparkContext._jvm.org.apache.spark.metrics.source.CodegenMetrics

    def compiles() -> int:
        return int(metrics.METRIC_COMPILATION_TIME().getCount())

    # the literal is part of the generated code: each query is a class of its own
    queries = [spark.range(2).selectExpr(f"id * {7919 + i} AS x") for i in range(150)]
    first = compiles()
    for q in queries:
        q.collect()
    assert compiles() - first >= 150  # each really compiled (the check below can fail)
    before = compiles()
    for q in queries[:20]:
        q.collect()
    assert compiles() == before


def test_connect_address_reads_host_port_and_default() -> None:
    from spark.session import connect_address

    assert connect_address("sc://127.0.0.1:15003") == ("127.0.0.1", 15003)
    assert connect_address("sc://spark.internal") == ("spark.internal", 15002)
    assert connect_address("sc://h:443/;use_ssl=true;token=abc") == ("h", 443)
    assert connect_address("sc://[::1]:15002") == ("::1", 15002)


def test_column_calls_do_not_record_their_python_call_site(spark) -> None:  # type: ignore[no-untyped-def]
    """PySpark records each DataFrame/column call's Python stack for error messages unless
    told not to: ~4 calls into the JVM per call, and an ingest micro-batch makes 180-900.
    The running session has it off, and so does PySpark's own (process-wide) switch."""
    from pyspark.errors.utils import is_debugging_enabled

    assert spark.conf.get(DATAFRAME_DEBUGGING, "true") == "false"
    assert not is_debugging_enabled()
