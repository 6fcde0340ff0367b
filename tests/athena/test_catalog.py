"""Glue catalog (tables, views, partitions) against the moto server; Athena poll loop."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from athena import catalog, ddl
from basket.cli import main
from basket_core.aws import athena as athena_api
from basket_core.aws import glue as glue_api
from basket_core.aws.session import client
from basket_core.config import AwsConfig
from basket_core.schemas import RESULT_DATASETS
from basket_devtools import sample_results

DB = "market_basket_test"


def _root(aws: AwsConfig) -> str:
    return f"s3://{aws.bucket}/{aws.prefix}"


def test_setup_and_partitions_via_glue_are_idempotent(moto_aws: AwsConfig) -> None:
    glue = client(moto_aws, "glue")
    first = catalog.setup_glue(glue, DB, _root(moto_aws))
    second = catalog.setup_glue(glue, DB, _root(moto_aws))
    assert first.database_created and not second.database_created
    assert set(first.tables.values()) == {"created"} and set(second.tables.values()) == {"updated"}
    names = {d.name for d in RESULT_DATASETS}
    assert set(glue_api.table_names(glue, DB)) == names | {f"latest_{n}" for n in names}
    rules = glue.get_table(DatabaseName=DB, Name="rules")["Table"]
    assert rules["StorageDescriptor"]["Location"] == f"{_root(moto_aws)}/rules/"
    assert [k["Name"] for k in rules["PartitionKeys"]] == ["dt", "run_id"]

    for _ in range(2):
        for run in sample_results.SAMPLE_RUNS:
            catalog.add_partitions_glue(glue, DB, _root(moto_aws), run.dt, run.run_id)
    for name in names:
        assert glue_api.partition_values(glue, DB, name) == [
            [r.dt.isoformat(), r.run_id] for r in sample_results.SAMPLE_RUNS
        ]
    part = glue.get_partition(
        DatabaseName=DB, TableName="rules", PartitionValues=["2026-01-02", sample_results.RUN_B]
    )["Partition"]
    assert part["StorageDescriptor"]["Location"] == ddl.partition_location(
        _root(moto_aws), RESULT_DATASETS[1], date(2026, 1, 2), sample_results.RUN_B
    )


def _cli(aws: AwsConfig, *args: str) -> str:
    common = ["--endpoint-url", str(aws.endpoint_url), "--bucket", aws.bucket]
    common += ["--prefix", aws.prefix, "--database", DB]
    result = CliRunner().invoke(main, ["athena", *args, *common])
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_glue_path_adds_the_local_latest_run(moto_aws: AwsConfig, tmp_path: Path) -> None:
    sample_results.write_sample(tmp_path)
    _cli(moto_aws, "setup", "--via", "glue")
    out = _cli(moto_aws, "add-partitions", "--via", "glue", "--output", str(tmp_path))
    assert sample_results.RUN_B in out and "+1" in out
    out = _cli(moto_aws, "add-partitions", "--via", "glue", "--output", str(tmp_path))
    assert "+0 (1 existed)" in out
    glue = client(moto_aws, "glue")
    assert glue_api.partition_values(glue, DB, "runs") == [["2026-01-02", sample_results.RUN_B]]


def test_cli_sql_path_sends_the_ddl_through_athena(moto_aws: AwsConfig) -> None:
    _cli(moto_aws, "setup", "--via", "sql", "--workgroup", "primary")
    _cli(moto_aws, "add-partitions", "--via", "sql", "--run-id", "r1", "--dt", "2026-01-02")
    athena = client(moto_aws, "athena")
    ids = athena.list_query_executions(WorkGroup="primary")["QueryExecutionIds"]
    sent = [athena.get_query_execution(QueryExecutionId=i)["QueryExecution"]["Query"] for i in ids]
    want = ddl.setup_statements(DB, _root(moto_aws)) + ddl.add_partition_statements(
        DB, _root(moto_aws), date(2026, 1, 2), "r1"
    )
    assert sorted(sent) == sorted(want)
    assert "ALTER TABLE" in _cli(
        moto_aws, "add-partitions", "--print", "--run-id", "r1", "--dt", "2026-01-02"
    )


def test_sql_path_runs_each_statement_once_through_pyathena(moto_aws: AwsConfig) -> None:
    """``run_statements`` goes through the PyAthena connection (botocore's retries only:
    no whole-operation retry wraps an Athena call) and returns the query ids in order."""
    import inspect

    from athena import remote

    target = athena_api.QueryTarget("primary", f"{_root(moto_aws)}/_athena-results/", DB)
    athena = athena_api.connect(moto_aws, target)
    statements = ddl.setup_statements(DB, _root(moto_aws))[:3]
    ids = catalog.run_statements(athena, statements)
    plain = client(moto_aws, "athena")
    sent = [plain.get_query_execution(QueryExecutionId=i)["QueryExecution"] for i in ids]
    assert [q["Query"] for q in sent] == statements
    assert {q["Status"]["State"] for q in sent} == {"SUCCEEDED"}
    for module in (athena_api, catalog, remote):
        assert "retry_throttled" not in inspect.getsource(module)


def test_retries_on_throttling_only() -> None:
    """The whole-operation layer kept for Glue, QuickSight and publish calls (not Athena)."""
    from botocore.exceptions import ClientError

    from basket_core.aws.session import retry_throttled

    calls = {"n": 0}

    def flaky(code: str) -> str:
        calls["n"] += 1
        if calls["n"] < 3:
            raise ClientError({"Error": {"Code": code, "Message": "x"}}, "Op")
        return "ok"

    assert retry_throttled(flaky, "ThrottlingException", sleep=lambda _: None) == "ok"
    calls["n"] = 0
    with pytest.raises(ClientError):
        retry_throttled(flaky, "AccessDeniedException", sleep=lambda _: None)
    assert calls["n"] == 1
