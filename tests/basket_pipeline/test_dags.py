"""The Airflow DAGs (dags/market_basket.py): the run plan (pure), the DAG files import
cleanly with the expected graph and schedules, and a day's run end to end with
``dag.test()`` on the moto server and the session's local Spark: results in S3 under
the day's partition, Glue partitions, the SPICE refresh calls, the dashboard snapshot and
the run record; re-running the day changes nothing but the run record."""

from __future__ import annotations

import importlib.util
import json
import types
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from basket_core.config import AwsConfig, Settings
from basket_pipeline import airflow_runtime, planning
from tests.fixtures.airflow import DAGS

DAG_FILE = DAGS / "market_basket.py"
FIRED = datetime(2026, 11, 25, 2, 30, tzinfo=UTC)  # the daily run of 2026-11-24
DAY = date(2026, 11, 24)
BASE_TASKS = {
    "plan_run",
    "wait_for_input",
    "mine",
    "publish",
    "add_partitions",
    "dashboard_snapshot",
    "record_run",
}


# ---- the plan (pure) ------------------------------------------------------------------


def test_run_day_is_the_last_complete_day() -> None:
    assert planning.run_day(FIRED) == DAY
    assert planning.run_day(datetime(2026, 11, 25, tzinfo=UTC)) == DAY
    # 23:30 UTC on the 24th is already the 25th in Auckland: its last complete day is the 24th
    assert planning.run_day(datetime(2026, 11, 24, 23, 30, tzinfo=UTC), "Pacific/Auckland") == DAY
    with pytest.raises(ValueError, match="time-zone aware"):
        planning.run_day(datetime(2026, 11, 25))


def test_windows_and_run_ids() -> None:
    s = Settings().with_overrides(**{"orchestration.trailing_days": 7})
    daily = planning.plan_for(s, "daily", DAY)
    assert (daily.run_id, daily.start_date, daily.end_date) == (
        "daily-2026-11-24",
        date(2026, 11, 18),
        DAY,
    )
    weekly = planning.plan_for(s, "weekly", DAY)
    assert (weekly.run_id, weekly.start_date, weekly.end_date) == ("weekly-2026-11-24", None, DAY)
    assert planning.RunPlan.from_dict(daily.as_dict()) == daily
    with pytest.raises(ValueError, match="run kind"):
        planning.plan_for(s, "hourly", DAY)


def test_plan_from_context_falls_back_to_run_after() -> None:
    s = Settings()
    assert planning.plan_from_context(s, "daily", {"data_interval_end": FIRED}).dt == DAY
    assert planning.plan_from_context(s, "daily", {"logical_date": FIRED}).dt == DAY
    asset_run = {"data_interval_end": None, "logical_date": None}
    asset_run["dag_run"] = types.SimpleNamespace(run_after=FIRED)  # type: ignore[assignment]
    assert planning.plan_from_context(s, "daily", asset_run).dt == DAY


def test_spice_ingestion_ids_follow_the_one_policy(airflow_home: Path) -> None:
    """The DAG's macro is the CLI's policy: same run, same mine, same attempt -> same id (a
    retry waits for its ingestion); another attempt or a re-mined run -> a new one."""
    from basket_pipeline import stages

    macro = load_dag_module().spice_ingestion_id
    published = {"run_id": "daily-2026-11-24", "mined_at": "2026-11-25T02:40:00+00:00"}
    a = macro(published, 1)
    assert a == stages.quicksight_ingestion_id(published["run_id"], published["mined_at"], 1)
    assert a == macro(dict(published), 1)
    assert a.startswith("daily-2026-11-24-")
    assert a != macro(published, 2)
    assert a != macro({**published, "mined_at": "2026-11-26T10:00:00+00:00"}, 1)
    assert all(ch.isalnum() or ch in "-_" for ch in a) and len(a) <= 128


def test_input_location_local_and_s3(tmp_path: Path) -> None:
    s = Settings().with_overrides(
        **{"paths.data_dir": tmp_path, "orchestration.input_glob": "tx-{dt_nodash}*.csv"}
    )
    assert planning.input_uri(s) == str(tmp_path / "incoming")
    assert planning.find_input(s, DAY) == []
    (tmp_path / "incoming" / "store1").mkdir(parents=True)
    (tmp_path / "incoming" / "store1" / "tx-20261124.csv").write_text("a\n")
    (tmp_path / "incoming" / "tx-20261124.manifest.json").write_text("{}")
    (tmp_path / "incoming" / ".tx-20261124.csv.part").write_text("a\n")
    (tmp_path / "incoming" / "tx-20261123.csv").write_text("a\n")
    assert planning.find_input(s, DAY) == [
        str(tmp_path / "incoming" / "store1" / "tx-20261124.csv")
    ]
    s3 = s.with_overrides(**{"orchestration.input_uri": "s3://landing/pos/"})
    assert planning.input_key_pattern(s3, DAY) == ("landing", "pos/tx-20261124*.csv")
    assert planning.spark_input(s3) == "s3a://landing/pos"
    assert planning.transactions_asset_uri(s3) == "s3://landing/pos"


def test_local_airflow_env_carries_the_aws_connection(tmp_path: Path) -> None:
    s = Settings().with_overrides(
        **{"aws.endpoint_url": "http://127.0.0.1:5000", "aws.region": "eu-west-1"}
    )
    env = airflow_runtime.airflow_env(s, tmp_path)
    conn = json.loads(env["AIRFLOW_CONN_AWS_DEFAULT"])
    assert conn == {
        "conn_type": "aws",
        "extra": {"region_name": "eu-west-1", "endpoint_url": "http://127.0.0.1:5000"},
    }
    assert "AIRFLOW_CONN_SPARK_DEFAULT" not in env
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(DAGS)
    submit = s.with_overrides(
        **{"orchestration.spark_mode": "spark_submit", "spark.master": "yarn"}
    )
    spark = json.loads(airflow_runtime.airflow_env(submit, tmp_path)["AIRFLOW_CONN_SPARK_DEFAULT"])
    assert spark["host"] == "yarn" and spark["extra"]["deploy-mode"] == "client"


def test_mine_reads_the_landing_folder_or_the_ingest_table(tmp_path: Path) -> None:
    from basket_pipeline import stages

    s = Settings().with_overrides(
        **{"paths.data_dir": tmp_path / "data", "paths.delta_dir": tmp_path / "delta"}
    )
    plan = planning.plan_for(s.with_overrides(**{"orchestration.trailing_days": 3}), "daily", DAY)
    files = stages.mine_request(s, plan)
    assert files.inputs == (str(tmp_path / "data" / "incoming"),) and files.table is None
    assert (files.run_id, files.run_date) == ("daily-2026-11-24", DAY)
    assert (files.start_date, files.end_date) == (date(2026, 11, 22), DAY)
    table = stages.mine_request(s.with_overrides(**{"orchestration.ingest": "files"}), plan)
    assert table.table == str(tmp_path / "delta" / "lines") and table.inputs == ()


def test_failure_callback_logs_the_reason(caplog: pytest.LogCaptureFixture) -> None:
    ti = types.SimpleNamespace(
        dag_id="market_basket_daily", task_id="mine", run_id="r1", try_number=2
    )
    with caplog.at_level("ERROR", logger="basket_pipeline"):
        airflow_runtime.log_failure(
            {"task_instance": ti, "exception": ValueError("no baskets left")}
        )
    assert "task=mine" in caplog.text and "try=2" in caplog.text
    assert "ValueError: no baskets left" in caplog.text


def test_basket_airflow_env_prints_exports(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from basket.commands.airflow import command

    s = Settings().with_overrides(**{"aws.endpoint_url": "http://127.0.0.1:5000"})
    out = CliRunner().invoke(command, ["env", "--home", str(tmp_path)], obj=s)
    assert out.exit_code == 0, out.output
    assert f"export AIRFLOW_HOME={tmp_path}" in out.output
    assert "AIRFLOW_CONN_AWS_DEFAULT=" in out.output and "127.0.0.1:5000" in out.output


# ---- DAG structure --------------------------------------------------------------------


def load_dag_module(name: str = "market_basket_under_test") -> Any:
    spec = importlib.util.spec_from_file_location(name, DAG_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def edges(dag: Any) -> set[tuple[str, str]]:
    return {(t.task_id, d) for t in dag.tasks for d in t.downstream_task_ids}


def test_dag_folder_imports_without_errors(airflow_home: Path) -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == {"market_basket_daily", "market_basket_weekly"}
    for dag in bag.dags.values():
        assert set(dag.task_ids) == BASE_TASKS


def test_default_graph_schedules_and_task_policies(airflow_home: Path) -> None:
    from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable

    module = load_dag_module()
    s = Settings()
    daily, weekly = module.build(s)
    for dag in (daily, weekly):
        assert edges(dag) >= {
            ("plan_run", "wait_for_input"),
            ("wait_for_input", "mine"),
            ("mine", "publish"),
            ("publish", "add_partitions"),
            ("add_partitions", "record_run"),
            ("mine", "dashboard_snapshot"),
            ("dashboard_snapshot", "record_run"),
        }
        assert not dag.catchup and dag.max_active_runs == 1
        publish = dag.get_task("publish")
        assert [a.uri for a in publish.outlets] == [planning.results_asset_uri(s)]
        for t in dag.tasks:
            assert t.retries == 3 and t.retry_exponential_backoff == 2.0
            assert t.execution_timeout is not None
            assert t.on_failure_callback and airflow_runtime.log_failure in t.on_failure_callback
        assert dag.get_task("mine").execution_timeout == timedelta(hours=4)
        assert dag.get_task("record_run").trigger_rule == "none_failed"
    assert isinstance(daily.timetable, AssetOrTimeSchedule)
    inner: Any = daily.timetable.timetable
    condition: Any = daily.timetable.asset_condition
    assert inner.expression == "30 2 * * *"
    assert condition.uri == planning.transactions_asset_uri(s)
    assert isinstance(weekly.timetable, CronTriggerTimetable)
    assert weekly.timetable.expression == "0 4 * * 1"


def test_cluster_sql_and_quicksight_variant(airflow_home: Path) -> None:
    from airflow.providers.amazon.aws.operators.quicksight import (
        QuickSightCreateIngestionOperator,
    )
    from airflow.providers.amazon.aws.sensors.quicksight import QuickSightSensor
    from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

    s = Settings().with_overrides(
        **{
            "orchestration.spark_mode": "spark_submit",
            "orchestration.ingest": "files",
            "orchestration.catalog": "athena_sql",
            "orchestration.input_uri": "s3://landing/pos",
            "orchestration.quicksight_dataset_ids": ["basket-rules", "basket-itemsets"],
            "orchestration.trigger_on_new_data": False,
            "orchestration.daily_cron": "0 5 * * *",
            "orchestration.catchup": True,
        }
    )
    daily = load_dag_module().build_dag(s, "daily")
    assert daily.catchup and daily.timetable.expression == "0 5 * * *"
    assert isinstance(daily.get_task("wait_for_input"), S3KeySensor)
    assert daily.get_task("wait_for_input").wildcard_match
    for tid in ("ingest_catch_up", "mine"):
        assert isinstance(daily.get_task(tid), SparkSubmitOperator)
    mine = daily.get_task("mine")
    assert mine.application == str(airflow_runtime.SPARK_APP)
    assert mine.application_args[:3] == ["mine", "--kind", "daily"]
    assert daily.get_task("add_partitions").operator_name == "AthenaOperator"
    for ds in ("basket-rules", "basket-itemsets"):
        assert isinstance(daily.get_task(f"spice_refresh_{ds}"), QuickSightCreateIngestionOperator)
        assert isinstance(daily.get_task(f"spice_wait_{ds}"), QuickSightSensor)
    assert edges(daily) >= {
        ("wait_for_input", "ingest_catch_up"),
        ("ingest_catch_up", "mine"),
        ("publish", "catalog_setup"),
        ("catalog_setup", "add_partitions"),
        ("partition_statements", "add_partitions"),
        ("add_partitions", "spice_refresh_basket-rules"),
        ("spice_refresh_basket-rules", "spice_wait_basket-rules"),
        ("spice_wait_basket-rules", "record_run"),
    }
    kafka = s.with_overrides(**{"orchestration.ingest": "kafka", "orchestration.publish": False})
    dag = load_dag_module().build_dag(kafka, "weekly")
    assert set(dag.task_ids) == {
        "plan_run",
        "ingest_catch_up",
        "mine",
        "dashboard_snapshot",
        "record_run",
    }


def test_spark_app_parses_its_arguments() -> None:
    from basket_pipeline import spark_app

    with pytest.raises(SystemExit):
        spark_app.main(["mine", "--kind", "hourly", "--dt", "2026-11-24"])


# ---- end to end -----------------------------------------------------------------------


def _generate(folder: Path) -> None:
    from basket_devtools.generate import GeneratorConfig, generate

    folder.mkdir(parents=True, exist_ok=True)
    cfg = GeneratorConfig(
        transactions=1_500,
        items=40,
        stores=3,
        start_date=date(2026, 11, 15),
        days=10,
        seed=11,
        rules=3,
        dirty_share=0.02,
    )
    generate(cfg, folder / "pos-2026-11.csv")


@pytest.fixture
def e2e(
    airflow_home: Path,
    spark: Any,
    settings: Settings,
    moto_aws: AwsConfig,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Settings, Any, list[dict[str, Any]]]]:
    """Settings on the moto server, exported as BASKET_* so the DAG file and every task
    see them; the aws_default connection from the config; the daily DAG; SPICE calls."""
    from airflow.providers.amazon.aws.hooks.quicksight import QuickSightHook

    from basket_core.aws.session import client

    s = settings.with_overrides(
        **{
            "mining.min_support": 0.03,
            "mining.min_confidence": 0.3,
            "orchestration.trailing_days": 7,
            "orchestration.retries": 0,
            "orchestration.poke_interval_s": 1,
            "orchestration.wait_timeout_s": 30,
            "orchestration.quicksight_dataset_ids": ["basket-rules"],
        }
    )
    s = s.model_copy(update={"aws": moto_aws})
    client(moto_aws, "s3").create_bucket(Bucket=moto_aws.bucket)
    _generate(Path(planning.input_uri(s)))
    for section, model in s:
        monkeypatch.setenv(f"BASKET_{section.upper()}", model.model_dump_json())
    for key, value in airflow_runtime.airflow_env(s, airflow_home).items():
        if key.startswith("AIRFLOW_CONN_"):
            monkeypatch.setenv(key, value)

    calls: list[dict[str, Any]] = []
    create = QuickSightHook.create_ingestion

    def record_create(self: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return create(self, **kwargs)  # the real call, to the moto server

    # moto records CreateIngestion but has no DescribeIngestion: the sensor sees COMPLETED
    monkeypatch.setattr(QuickSightHook, "create_ingestion", record_create)
    monkeypatch.setattr(QuickSightHook, "get_status", lambda self, *a, **k: "COMPLETED")
    from basket_core.config import load_settings

    assert load_settings() == s
    daily = load_dag_module("market_basket_e2e").build_dag(s, "daily")
    yield s, daily, calls


def _objects(s3: Any, bucket: str, prefix: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out.update({o["Key"]: o["ETag"] for o in page.get("Contents", [])})
    return out


def _table(s3: Any, bucket: str, keys: list[str]) -> list[tuple[Any, ...]]:
    import io

    import pyarrow.parquet as pq

    rows: list[tuple[Any, ...]] = []
    for key in keys:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        t = pq.read_table(io.BytesIO(body))
        rows.extend(tuple(json.dumps(v, sort_keys=True) for v in r.values()) for r in t.to_pylist())
    return sorted(rows)


def test_daily_run_end_to_end_and_rerun_is_idempotent(
    e2e: tuple[Settings, Any, list[dict[str, Any]]],
) -> None:
    from airflow.sdk import DagRunState

    from basket_core.aws import glue as glue_api
    from basket_core.aws.session import client

    s, daily, calls = e2e
    aws = s.aws
    s3, glue = client(aws, "s3"), client(aws, "glue")
    run_id = "daily-2026-11-24"
    prefix = aws.prefix

    first = daily.test(logical_date=FIRED)
    assert first.state == DagRunState.SUCCESS, {
        ti.task_id: ti.state for ti in first.get_task_instances()
    }
    objects = _objects(s3, aws.bucket, prefix)
    part = f"dt=2026-11-24/run_id={run_id}/"
    for dataset in ("itemsets", "rules", "quarantine", "runs", "exports"):
        assert any(k.startswith(f"{prefix}/{dataset}/{part}") for k in objects), dataset
    assert all("dt=2026-11-24" in k for k in objects if "/dt=" in k)
    latest = json.loads(
        s3.get_object(Bucket=aws.bucket, Key=f"{prefix}/_latest.json")["Body"].read()
    )
    assert (latest["run_id"], latest["dt"]) == (run_id, "2026-11-24")
    first_attempt = f"attempt={latest['attempt']}/"
    report = json.loads(
        s3.get_object(Bucket=aws.bucket, Key=f"{prefix}/exports/{part}{first_attempt}run.json")[
            "Body"
        ].read()
    )
    req = report["params"]["request"]
    assert (req["start_date"], req["end_date"]) == ("2026-11-18", "2026-11-24")
    assert report["counts"]["rules"] > 0

    db = s.athena.database
    parts = {
        t: glue_api.partition_values(glue, db, t)
        for t in ("itemsets", "rules", "quarantine", "runs")
    }
    assert all(v == [["2026-11-24", run_id]] for v in parts.values()), parts
    location = glue_api.partition_location(glue, db, "rules", ["2026-11-24", run_id])
    assert location == f"s3://{aws.bucket}/{prefix}/rules/{part}{first_attempt}"

    assert [c["data_set_id"] for c in calls] == ["basket-rules"]
    assert calls[0]["ingestion_id"].startswith(f"{run_id}-")

    snapshot = s.paths.output_dir / "dashboard" / "dt=2026-11-24" / "index.html"
    assert snapshot.is_file() and snapshot.stat().st_size > 0
    records = [k for k in objects if "/_orchestration/" in k]
    assert len(records) == 1
    record = json.loads(s3.get_object(Bucket=aws.bucket, Key=records[0])["Body"].read())
    assert record["plan"]["run_id"] == run_id
    assert record["stages"]["catalog"]["partitions"]["rules"] == {"created": 1, "existing": 0}

    rules_before = _table(s3, aws.bucket, [k for k in objects if k.startswith(f"{prefix}/rules/")])

    # ---- the same logical date again: a new attempt of the same run, switched to at once
    second = daily.test(logical_date=FIRED)
    assert second.state == DagRunState.SUCCESS
    again = _objects(s3, aws.bucket, prefix)
    assert {k: glue_api.partition_values(glue, db, k) for k in parts} == parts
    new_records = [k for k in again if "/_orchestration/" in k]
    assert len(new_records) == 2
    latest_again = json.loads(
        s3.get_object(Bucket=aws.bucket, Key=f"{prefix}/_latest.json")["Body"].read()
    )
    second_attempt = f"attempt={latest_again['attempt']}/"
    assert second_attempt != first_attempt  # re-mined: new part files, a new S3 attempt
    location = glue_api.partition_location(glue, db, "rules", ["2026-11-24", run_id])
    assert location == f"s3://{aws.bucket}/{prefix}/rules/{part}{second_attempt}"
    current = location.removeprefix(f"s3://{aws.bucket}/")
    rules_after = _table(s3, aws.bucket, [k for k in again if k.startswith(current)])
    assert rules_after == rules_before
    kept = [k for k in again if k.startswith(f"{prefix}/rules/{part}{first_attempt}")]
    assert kept  # the superseded attempt is retained (publish.retain_attempts = 1)
    second_record = json.loads(
        s3.get_object(Bucket=aws.bucket, Key=sorted(set(new_records) - set(records))[0])[
            "Body"
        ].read()
    )
    assert second_record["stages"]["catalog"]["partitions"]["rules"] == {
        "created": 0,
        "existing": 1,
    }
    assert second_record["stages"]["publish"]["uploaded"] > 0
    assert len(calls) == 2 and calls[0]["ingestion_id"] != calls[1]["ingestion_id"]


def test_connect_mode_tasks_are_clients_of_the_spark_connect_connection(
    airflow_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``spark_mode = "connect"`` (issue 20): ingest and mine stay Python tasks (no
    SparkSubmitOperator), the local Airflow gets ``spark_default`` as the provider's
    ``spark_connect`` connection, and a task's settings take ``spark.remote`` from it
    through SparkConnectHook; other modes leave the settings alone."""
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

    s = Settings().with_overrides(
        **{
            "orchestration.spark_mode": "connect",
            "orchestration.ingest": "files",
            "spark.connect_port": 15123,
        }
    )
    daily = load_dag_module().build_dag(s, "daily")
    for tid in ("ingest_catch_up", "mine"):
        assert not isinstance(daily.get_task(tid), SparkSubmitOperator)
    env = airflow_runtime.airflow_env(s, tmp_path)
    conn = json.loads(env["AIRFLOW_CONN_SPARK_DEFAULT"])
    assert conn == {"conn_type": "spark_connect", "host": "sc://127.0.0.1", "port": 15123}
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_DEFAULT", env["AIRFLOW_CONN_SPARK_DEFAULT"])
    remote = airflow_runtime.connect_settings(s).spark.remote
    assert remote is not None and remote.startswith("sc://127.0.0.1:15123")
    in_process = s.with_overrides(**{"orchestration.spark_mode": "in_process"})
    assert airflow_runtime.connect_settings(in_process) is in_process
