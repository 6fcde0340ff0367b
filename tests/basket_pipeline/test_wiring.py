"""The one wiring of the stages (basket_pipeline.stages), as the DAG and the CLI reach it:
the DAG's Kafka catch-up runs with the loaded ``kafka.*`` settings, and every S3 location
is derived from the one ``Target.of(settings.aws)``."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner

from basket_core.config import Settings
from basket_core.layout import Target
from basket_devtools.kafka_broker import KafkaBroker
from ingest import events
from ingest.replay import producer
from ingest.tables import TablePaths
from tests.fixtures.airflow import DAGS
from tests.fixtures.kafka import ingest_settings

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession


def _dag_module() -> Any:
    spec = importlib.util.spec_from_file_location("market_basket_wiring", DAGS / "market_basket.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dag_kafka_catch_up_runs_with_the_loaded_kafka_settings(
    airflow_home: Path,
    ingest_spark: SparkSession,
    kafka_broker: KafkaBroker,
    kafka_topic: str,
    tmp_path: Path,
) -> None:
    """Small batches and a small event limit, neither of them the class defaults: the
    batch count and the oversized event in quarantine show they reached the source."""
    per_batch, limit, good = 7, 400, 20
    settings = ingest_settings(
        tmp_path,
        **{
            "kafka.bootstrap_servers": kafka_broker.bootstrap_servers,
            "kafka.topic": kafka_topic,
            "kafka.max_offsets_per_trigger": per_batch,
            "kafka.max_event_bytes": limit,
            "orchestration.ingest": "kafka",
            "orchestration.publish": False,
            "orchestration.dashboard_snapshot": False,
        },
    )
    defaults = type(settings.kafka)()
    assert (per_batch, limit) != (defaults.max_offsets_per_trigger, defaults.max_event_bytes)
    send = producer(kafka_broker.bootstrap_servers)
    for n in range(good):
        event = events.make_event(
            transaction_id=f"W{n // 4}",
            line_no=n % 4,
            item=f"item-{n}",
            ts="2026-11-20 10:00:00",
            quantity=1,
            price=1.5,
        )
        send.send(kafka_topic, value=events.encode(event))
    oversized = events.make_event(
        transaction_id="BIG", line_no=1, item="x" * (2 * limit), ts="2026-11-20 10:00:00"
    )
    send.send(kafka_topic, value=events.encode(oversized))
    send.flush()

    dag = _dag_module().build_dag(settings, "daily")
    summary = dag.get_task("ingest_catch_up").python_callable()

    assert summary["records"] == good + 1
    assert (summary["lines"], summary["quarantined"]) == (good, 1)
    assert summary["quarantined_by_reason"] == {"bad_event": 1}
    assert summary["batches"] >= math.ceil((good + 1) / per_batch)  # 1 with the default
    paths = TablePaths.under(settings.paths.delta_dir)
    lines = ingest_spark.read.format("delta").load(paths.lines)
    assert lines.count() == good
    quarantine = ingest_spark.read.format("delta").load(paths.quarantine).collect()
    assert [(r["reason"], "over the" in r["detail"]) for r in quarantine] == [("bad_event", True)]


@pytest.mark.parametrize("prefix", ["market-basket", "/market-basket/", "a/b/", ""])
def test_every_s3_location_comes_from_the_one_target(prefix: str) -> None:
    from basket_core.aws.athena import QueryTarget
    from basket_pipeline import planning, stages

    settings = Settings().with_overrides(**{"aws.bucket": "results", "aws.prefix": prefix})
    root = Target.of(settings.aws).root
    assert "//" not in root.removeprefix("s3://") and not root.endswith("/")
    assert planning.results_asset_uri(settings) == f"{root}/rules"
    assert QueryTarget.of(settings).output_location == f"{root}/_athena-results/"
    assert stages.athena_output(settings) == f"{root}/_athena-results/"
    for statement in stages.setup_statements(settings):
        for location in statement.split("LOCATION '")[1:]:
            assert location.startswith(f"{root}/"), statement


def test_cli_and_stages_print_the_same_catalog(tmp_path: Path) -> None:
    from basket.commands.athena import command
    from basket_pipeline import stages

    settings = Settings().with_overrides(**{"aws.bucket": "results", "aws.prefix": "/p/"})
    out = CliRunner().invoke(command, ["setup", "--print"], obj=settings)
    assert out.exit_code == 0, out.output
    assert out.output.strip() == ";\n\n".join(stages.setup_statements(settings)) + ";"


def test_publish_moves_the_glue_partitions_and_the_sql_path_follows(
    tmp_path: Path, moto_aws: Any
) -> None:
    """``stages.publish`` switches the Glue partitions to the new attempt itself (before it
    retires the old one); the Athena-SQL catalog task then emits one order-free statement
    per table: SET LOCATION for a partition the catalog has, ADD for a new one."""
    from athena.catalog import setup_glue
    from basket_core.aws import glue as glue_api
    from basket_core.aws.session import client
    from basket_core.schemas import RESULT_DATASETS
    from basket_devtools import sample_results
    from basket_pipeline import stages

    out = tmp_path / "out"
    sample_results.write_sample(out)
    settings = Settings().with_overrides(
        **{
            "paths.output_dir": out,
            "aws.endpoint_url": moto_aws.endpoint_url,
            "aws.bucket": moto_aws.bucket,
            "athena.database": "wiring",
        }
    )
    clients = stages.default_clients(settings)
    clients("s3").create_bucket(Bucket=moto_aws.bucket)
    glue = client(settings.aws, "glue")
    root = Target.of(settings.aws).root
    setup_glue(glue, "wiring", root)
    glue_api.create_partitions(  # registered before attempts: at the run folder
        glue, "wiring", "rules", [{"Values": ["2026-01-02", sample_results.RUN_B],
                                   "StorageDescriptor": {"Location": "s3://x/legacy/"}}]
    )  # fmt: skip

    result = stages.publish(settings, clients, sample_results.RUN_B)

    tables = [d.name for d in RESULT_DATASETS]  # rule_changes and item_edges too
    for table in tables:
        location = glue_api.partition_location(
            glue, "wiring", table, ["2026-01-02", sample_results.RUN_B]
        )
        assert location == (
            f"{root}/{table}/dt=2026-01-02/run_id={sample_results.RUN_B}/attempt={result.attempt}/"
        )
    statements = stages.partition_statements(settings, sample_results.DT_B, sample_results.RUN_B)
    assert len(statements) == len(tables) == 6
    assert all("SET LOCATION" in s and f"attempt={result.attempt}/" in s for s in statements)
    unpublished = stages.partition_statements(settings, sample_results.DT_A, sample_results.RUN_A)
    assert all("ADD IF NOT EXISTS" in s and "attempt=" not in s for s in unpublished)


def test_connect_runs_get_absolute_local_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over Spark Connect the server reads and writes the files: relative local paths
    become absolute against the client's folder; URIs stay as they are."""
    from basket_core.config import Settings
    from basket_pipeline.stages import client_paths
    from spark.job import MineRequest

    monkeypatch.chdir(tmp_path)
    s = Settings().with_overrides(
        **{"paths.output_dir": "out", "spark.remote": "sc://127.0.0.1:15002"}
    )
    request = MineRequest(inputs=("data/a.csv", "s3a://bucket/b.csv"), item_map=Path("m.csv"))
    settings, resolved = client_paths(s, request)
    assert settings.paths.output_dir == tmp_path / "out"
    assert resolved.inputs == (str(tmp_path / "data" / "a.csv"), "s3a://bucket/b.csv")
    assert resolved.item_map == tmp_path / "m.csv"
    _, table = client_paths(s, MineRequest(table="output/delta/lines"))
    assert table.table == str(tmp_path / "output" / "delta" / "lines")
