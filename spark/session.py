"""Build the SparkSession every stage uses: local or cluster, Delta enabled,
cached jars on the classpath, bound to loopback for local runs."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from basket.config import Settings
from basket.jars import cached_jars

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession


def spark_conf(settings: Settings) -> dict[str, str]:
    """The Spark configuration for these settings (pure: no JVM is started)."""
    s = settings.spark
    jars = cached_jars(settings.paths.jars_dir)
    conf = {
        "spark.master": s.master,
        "spark.app.name": s.app_name,
        "spark.driver.memory": s.driver_memory,
        "spark.driver.host": s.local_ip,
        "spark.driver.bindAddress": s.local_ip,
        "spark.sql.shuffle.partitions": str(s.shuffle_partitions),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.jars": ",".join(str(p.resolve()) for p in jars),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.databricks.delta.snapshotPartitions": "2",
        "spark.sql.sources.partitionOverwriteMode": "dynamic",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
    }
    aws = settings.aws
    if aws.endpoint_url:
        conf["spark.hadoop.fs.s3a.endpoint"] = aws.endpoint_url
        conf["spark.hadoop.fs.s3a.endpoint.region"] = aws.region
    conf.update(s.conf)
    return conf


def get_spark(settings: Settings) -> SparkSession:
    """Get (or create) the session. Reuses an active session if one exists."""
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
