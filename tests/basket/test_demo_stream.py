"""`basket demo` (the README's first command) in its default, streaming shape, in-process:
generated POS rows -> Kafka events (the session's KRaft broker) and CSV drops -> Delta
`lines`/`quarantine` -> the daily DAG on a local Airflow (``dag.test()``) -> S3, Glue and
QuickSight on the moto server -> the printed hop counts, each checked against a count
taken apart from the demo: end offsets on the topic, the drop files' lines, Delta rows
read with Spark, the run's parquet rows and objects listed in S3 with boto3, the run's
Glue partitions, the CreateIngestion calls the moto server received."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from basket.cli import main
from basket_core.config import AwsConfig
from tests.paths import REPO_ROOT

DAY = "2026-11-24"
RUN_ID = f"daily-{DAY}"
ROW = re.compile(r"^│ (?P<hop>[A-Za-z3 ()]+?)\s+│\s+(?P<count>[\d,]+) │", re.MULTILINE)


def _hops(out: str) -> dict[str, int]:
    return {m["hop"]: int(m["count"].replace(",", "")) for m in ROW.finditer(out)}


def _objects(s3: Any, bucket: str, prefix: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out.update({o["Key"]: o["Size"] for o in page.get("Contents", [])})
    return out


def _parquet_rows(s3: Any, bucket: str, keys: list[str]) -> int:
    import pyarrow.parquet as pq

    return sum(
        pq.read_metadata(io.BytesIO(s3.get_object(Bucket=bucket, Key=k)["Body"].read())).num_rows
        for k in keys
        if k.endswith(".parquet")
    )


def test_stream_demo_counts_reconcile_at_every_hop(
    airflow_home: Path,  # Airflow reads its home once per process: the session's, first
    spark: Any,
    kafka_broker: Any,
    moto_aws: AwsConfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kafka.admin import KafkaAdminClient
    from moto.quicksight.models import QuickSightBackend

    from basket_core.aws import glue as glue_api
    from basket_core.aws.session import client
    from ingest.offsets import end_offsets

    s3 = client(moto_aws, "s3")
    s3.create_bucket(Bucket=moto_aws.bucket)
    data = tmp_path / "data"
    for key, value in {
        "PATHS__OUTPUT_DIR": str(tmp_path / "output"),
        "PATHS__DATA_DIR": str(data),
        "PATHS__CACHE_DIR": str(REPO_ROOT / ".cache"),
        "AWS__ENDPOINT_URL": str(moto_aws.endpoint_url),
        "AWS__REGION": moto_aws.region,
        "AWS__BUCKET": moto_aws.bucket,
        "AWS__PREFIX": moto_aws.prefix,
    }.items():
        monkeypatch.setenv(f"BASKET_{key}", value)
    ingestions: list[tuple[str, str]] = []
    create = QuickSightBackend.create_ingestion

    def record(self: Any, data_set_id: str, ingestion_id: str) -> Any:
        ingestions.append((data_set_id, ingestion_id))
        return create(self, data_set_id, ingestion_id)

    monkeypatch.setattr(QuickSightBackend, "create_ingestion", record)

    result = CliRunner().invoke(
        main,
        [
            "demo",
            "-n",
            "1500",
            "--items",
            "100",
            "--min-support",
            "0.01",
            "--kafka-bootstrap",
            kafka_broker.bootstrap_servers,
        ],
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    out = result.output
    hops = _hops(out)
    assert "Counts reconcile." in out, out
    assert len(hops) == 11, hops

    # events: the end offsets of the demo's topic
    admin = KafkaAdminClient(bootstrap_servers=kafka_broker.bootstrap_servers)
    try:
        topics = [t for t in admin.list_topics() if t.startswith("basket-demo-")]
    finally:
        admin.close()
    assert len(topics) == 1
    events = sum(end_offsets(kafka_broker.bootstrap_servers, topics[0]).values())
    assert hops["Kafka events produced"] == events == hops["kafka ingest"] > 0

    # CSV drops: their records (lines less the header)
    root = data / "demo-stream"
    drops = sorted((root / "drops").glob("*.csv"))
    dropped = sum(len(p.read_bytes().splitlines()) - 1 for p in drops)
    assert len(drops) == 2 and hops["CSV records dropped"] == dropped == hops["drop ingest"] > 0
    source_rows = len((root / "pos.csv").read_bytes().splitlines()) - 1
    assert events + dropped == source_rows

    # Delta: lines and quarantine rows, read with Spark; each source's report reconciles
    folder = root / "delta" / "_reports"
    reports = {p.stem: json.loads(p.read_text()) for p in folder.glob("ingest-*.json")}
    assert len(reports) == 2
    # the DAG's catch-up compacted the tables after ingesting (maintenance.after_catch_up)
    maintained = json.loads((folder / "maintenance.json").read_text())
    assert {m["table"] for m in maintained} == {"lines", "quarantine"}
    for r in reports.values():
        assert r["records"] == r["lines"] + r["quarantined"] + r["repeats_dropped"]
    lines = spark.read.format("delta").load(str(root / "delta" / "lines")).count()
    quarantine = spark.read.format("delta").load(str(root / "delta" / "quarantine")).count()
    assert lines == sum(r["lines"] for r in reports.values()) == hops["Delta lines (both streams)"]
    assert quarantine == sum(r["quarantined"] for r in reports.values()) > 0
    assert events + dropped == lines + quarantine + sum(
        r["repeats_dropped"] for r in reports.values()
    )

    # S3: the run's published attempt, listed with boto3
    latest = json.loads(
        s3.get_object(Bucket=moto_aws.bucket, Key=f"{moto_aws.prefix}/_latest.json")["Body"].read()
    )
    assert (latest["run_id"], latest["dt"]) == (RUN_ID, DAY)
    part = f"dt={DAY}/run_id={RUN_ID}/attempt={latest['attempt']}/"
    published: dict[str, int] = {}
    for dataset in ("itemsets", "rules", "quarantine", "runs", "exports"):
        found = _objects(s3, moto_aws.bucket, f"{moto_aws.prefix}/{dataset}/{part}")
        assert found, dataset
        published.update(found)
    assert hops["S3 objects"] == len(published)
    assert f"{sum(published.values()):,} bytes" in out

    # mining: baskets in the run report; itemsets and rules as published parquet rows
    report = json.loads(
        s3.get_object(Bucket=moto_aws.bucket, Key=f"{moto_aws.prefix}/exports/{part}run.json")[
            "Body"
        ].read()
    )
    assert report["params"]["request"]["table"].endswith("delta/lines")
    assert hops["baskets"] == report["counts"]["baskets"] == 1500
    for hop, dataset in (("frequent itemsets", "itemsets"), ("rules", "rules")):
        keys = [k for k in published if k.startswith(f"{moto_aws.prefix}/{dataset}/")]
        assert hops[hop] == _parquet_rows(s3, moto_aws.bucket, keys) > 0, hop

    # Glue: the run's partition in every table
    glue = client(moto_aws, "glue")
    tables = ("itemsets", "rules", "quarantine", "runs")
    values = {t: glue_api.partition_values(glue, _db(), t) for t in tables}
    assert all(v == [[DAY, RUN_ID]] for v in values.values()), values
    assert hops["Glue partitions"] == len(tables)

    # QuickSight: one CreateIngestion per data set, all for this run
    assert hops["QuickSight ingestions"] == len(ingestions) > 0
    assert all(i.startswith(f"{RUN_ID}-") for _, i in ingestions)
    assert len({d for d, _ in ingestions}) == len(ingestions)

    assert (tmp_path / "output" / "dashboard" / f"dt={DAY}" / "index.html").is_file()


def _db() -> str:
    from basket_core.config import load_settings

    return load_settings().athena.database
