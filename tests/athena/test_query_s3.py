"""The local DuckDB backend over the published copy in S3 (``basket query --backend local
--source s3``), against a real moto server on 127.0.0.1 (tests/fixtures/moto_server.py):
the sample results published by the real publisher answer every pack query exactly as
the local folder does, and an attempt no pointer names is never read."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from athena import local, pack
from basket.cli import main
from basket_core.aws.session import client
from basket_core.config import AwsConfig
from basket_core.layout import Pointer, Target, pointer_rel
from basket_devtools import sample_results
from basket_publish.publisher import find_run, publish_run

TABLES = ("itemsets", "rules", "rule_changes", "quarantine", "runs")
GHOST = "ghost-item"


@pytest.fixture
def published(moto_aws: AwsConfig, tmp_path: Path) -> tuple[Path, AwsConfig, Any]:
    """The sample results written locally and published, run by run, to moto S3."""
    root = tmp_path / "output"
    sample_results.write_sample(root)
    s3 = client(moto_aws, "s3")
    s3.create_bucket(Bucket=moto_aws.bucket)
    for run in sample_results.SAMPLE_RUNS:
        result = publish_run(s3, find_run(root, run.run_id), Target.of(moto_aws), aws=moto_aws)
        assert result.switched and result.uploaded
    return root, moto_aws, s3


def variants(query: pack.Query) -> list[dict[str, str]]:
    """The query with its defaults and the required parameters filled in; a run-scoped
    query once more on the older run."""
    required = {"item": "milk", "run_a": sample_results.RUN_A, "run_b": sample_results.RUN_B}
    base = {p.name: required[p.name] for p in query.params if p.required}
    out = [base]
    if any(p.name == "run_id" for p in query.params):
        out.append({**base, "run_id": sample_results.RUN_A})
    return out


def answers(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    out = {}
    for name in pack.names():
        q = pack.load(name)
        for i, given in enumerate(variants(q)):
            out[f"{name}#{i}"] = local.run(con, q, q.bind(given))
    return out


def column_types(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """The columns of the tables and latest_* views the pack reads, with their types."""
    names = [*TABLES, *(f"latest_{t}" for t in TABLES)]
    return [
        (str(t), str(c), str(d))
        for t, c, d in con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE list_contains(?, table_name) ORDER BY table_name, ordinal_position",
            [names],
        ).fetchall()
    ]


def test_every_pack_query_answers_the_same_over_s3_as_over_the_folder(
    published: tuple[Path, AwsConfig, Any],
) -> None:
    root, aws, _s3 = published
    folder, bucket = local.connect(root), local.connect_s3(aws)
    try:
        assert column_types(bucket) == column_types(folder)  # tables and latest_* views
        over_folder, over_s3 = answers(folder), answers(bucket)
    finally:
        folder.close()
        bucket.close()
    assert over_s3.keys() == over_folder.keys()
    for key, (columns, rows) in over_folder.items():
        assert over_s3[key] == (columns, rows), key
    # not vacuous: the sample's runs, rules and itemsets are there
    assert len(over_s3["run_list#0"][1]) == 2
    assert over_s3["top_rules_by_lift#0"][1] and over_s3["top_itemsets_by_size#0"][1]
    assert over_s3["rule_changes#0"][1] and over_s3["quarantine_summary#0"][1]
    assert over_s3["changes_this_week#0"][1] and over_s3["run_changes#0"][1]
    empty = sorted(k for k, (_c, rows) in over_s3.items() if not rows)
    # the first run's rule_changes: none recorded
    assert empty == ["run_change_counts#1", "run_changes#1"], empty


def _parquet(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def _read_parquet(s3: Any, bucket: str, key: str) -> pa.Table:
    return pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))


def _upload_ghost_attempt(s3: Any, aws: AwsConfig, dt: date, run_id: str, attempt: str) -> str:
    """Upload a whole new attempt of the run, as a publish does before it switches: every
    object of the current attempt copied, except the rules, whose antecedents all become
    a ghost item. The current attempt's name."""
    pointer_key = f"{aws.prefix}/{pointer_rel(dt, run_id)}"
    body = s3.get_object(Bucket=aws.bucket, Key=pointer_key)["Body"].read()
    current = Pointer.from_dict(json.loads(body)).attempt
    copied = 0
    for name in (*TABLES, "exports"):
        prefix = f"{aws.prefix}/{name}/dt={dt.isoformat()}/run_id={run_id}/attempt={current}/"
        listed = s3.list_objects_v2(Bucket=aws.bucket, Prefix=prefix).get("Contents", [])
        for obj in listed:
            key = obj["Key"].replace(f"/attempt={current}/", f"/attempt={attempt}/")
            if name == "rules" and key.endswith(".parquet"):
                rules = _read_parquet(s3, aws.bucket, obj["Key"])
                field = rules.schema.field("antecedent")
                ghost = rules.set_column(
                    rules.schema.get_field_index("antecedent"),
                    field,
                    pa.array([[GHOST]] * rules.num_rows, field.type),
                )
                s3.put_object(Bucket=aws.bucket, Key=key, Body=_parquet(ghost))
            else:
                s3.copy_object(
                    Bucket=aws.bucket, Key=key, CopySource={"Bucket": aws.bucket, "Key": obj["Key"]}
                )
            copied += 1
    assert copied >= 5
    return current


def test_an_attempt_uploaded_but_not_switched_is_not_read(
    published: tuple[Path, AwsConfig, Any],
) -> None:
    root, aws, s3 = published
    dt, run_id = sample_results.DT_B, sample_results.RUN_B
    # a re-publish of the latest run, uploaded but not switched
    old = _upload_ghost_attempt(s3, aws, dt, run_id, "pnot-switched-yet")
    # and a first publish of a new, later run: its files, but no pointer yet
    later = date(2026, 1, 3)
    runs_key = next(
        o["Key"]
        for o in s3.list_objects_v2(Bucket=aws.bucket, Prefix=f"{aws.prefix}/runs/dt={dt}/")[
            "Contents"
        ]
    )
    runs = _read_parquet(s3, aws.bucket, runs_key)
    s3.put_object(
        Bucket=aws.bucket,
        Key=f"{aws.prefix}/runs/dt={later}/run_id=20260103T010000Z-cccccc/attempt=pnew/part-0.parquet",
        Body=_parquet(runs),
    )

    folder, bucket = local.connect(root), local.connect_s3(aws)
    try:
        for table in TABLES:
            sql = f"SELECT * FROM {table} ORDER BY ALL"
            assert bucket.execute(sql).fetchall() == folder.execute(sql).fetchall(), table
        assert bucket.execute("SELECT DISTINCT dt FROM runs ORDER BY dt").fetchall() == [
            ("2026-01-01",),
            ("2026-01-02",),
        ]
        q = pack.load("rules_with_antecedent_item")
        assert local.run(bucket, q, q.bind({"item": GHOST}))[1] == []
        assert local.run(bucket, q, q.bind({"item": "milk"}))[1]

        # the switch: the same long-lived connection now reads the new attempt, whole
        pointer = Pointer(attempt="pnot-switched-yet", previous=(old,))
        s3.put_object(
            Bucket=aws.bucket,
            Key=f"{aws.prefix}/{pointer_rel(dt, run_id)}",
            Body=json.dumps(pointer.to_dict()).encode(),
        )
        ghost_rules = local.run(bucket, q, q.bind({"item": GHOST}))[1]
        assert (
            ghost_rules
            and len(ghost_rules)
            == folder.execute("SELECT count(*) FROM rules WHERE run_id = ?", [run_id]).fetchone()[0]
        )  # type: ignore[index]
        assert local.run(bucket, q, q.bind({"item": "milk"}))[1] == []  # old attempt not mixed in
    finally:
        folder.close()
        bucket.close()


def test_the_s3_connection_never_loads_an_extension(
    published: tuple[Path, AwsConfig, Any],
) -> None:
    _root, aws, _s3 = published
    con = local.connect_s3(aws)
    try:
        setting = con.execute("SELECT current_setting('autoinstall_known_extensions')").fetchone()
        assert setting == (False,)
        loaded = {
            r[0]
            for r in con.execute(
                "SELECT extension_name FROM duckdb_extensions() WHERE loaded"
            ).fetchall()
        }
        assert "httpfs" not in loaded and "aws" not in loaded
    finally:
        con.close()


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_cli_source_s3_prints_what_the_folder_prints(
    published: tuple[Path, AwsConfig, Any], fmt: str
) -> None:
    root, aws, _s3 = published
    base = ["query", "top_rules_by_lift", "-p", "min_confidence=0.5", "--format", fmt]
    from_folder = CliRunner().invoke(main, [*base, "--backend", "local", "--output", str(root)])
    aws_flags = ["--endpoint-url", str(aws.endpoint_url), "--region", aws.region]
    aws_flags += ["--bucket", aws.bucket, "--prefix", aws.prefix]
    from_s3 = CliRunner().invoke(
        main,
        [*base, "--backend", "local", "--source", "s3", *aws_flags, "--output", "/nonexistent"],
    )
    assert from_folder.exit_code == 0, from_folder.output
    assert from_s3.exit_code == 0, from_s3.output
    assert from_s3.output == from_folder.output and from_s3.output.count("\n") > 2


def test_cli_source_s3_is_for_the_local_backend_and_reports_a_missing_bucket(
    moto_aws: AwsConfig,
) -> None:
    aws_flags = ["--endpoint-url", str(moto_aws.endpoint_url), "--bucket", "no-such-bucket"]
    wrong = CliRunner().invoke(
        main, ["query", "run_list", "--backend", "athena", "--source", "s3", *aws_flags]
    )
    assert wrong.exit_code != 0 and "--source applies to --backend local" in wrong.output
    missing = CliRunner().invoke(main, ["query", "run_list", "--source", "s3", *aws_flags])
    assert missing.exit_code == 1 and "reading s3 results" in missing.output, missing.output


def test_a_run_from_before_attempts_reads_as_from_the_folder(
    published: tuple[Path, AwsConfig, Any],
) -> None:
    """A run without a pointer (published before attempts existed) reads from the files
    directly in its ``run_id=`` folder, never from an ``attempt=`` below it, in S3 as in
    the folder."""
    root, aws, s3 = published
    run_file = next(root.glob("runs/dt=*/run_id=*/*.parquet"))
    legacy = "runs/dt=2026-01-04/run_id=20260104T010000Z-dddddd"
    for rel in (f"{legacy}/part-00000.parquet", f"{legacy}/attempt=punswitched/part-00000.parquet"):
        (root / rel).parent.mkdir(parents=True)
        (root / rel).write_bytes(run_file.read_bytes())
        s3.put_object(Bucket=aws.bucket, Key=f"{aws.prefix}/{rel}", Body=run_file.read_bytes())
    folder, bucket = local.connect(root), local.connect_s3(aws)
    try:
        sql = "SELECT * FROM runs ORDER BY ALL"
        assert bucket.execute(sql).fetchall() == folder.execute(sql).fetchall()
        assert bucket.execute(
            "SELECT count(*) FROM runs WHERE run_id = '20260104T010000Z-dddddd'"
        ).fetchall() == [(1,)]
    finally:
        folder.close()
        bucket.close()


def test_a_bucket_with_nothing_published_reads_as_an_empty_folder(
    moto_aws: AwsConfig, tmp_path: Path
) -> None:
    client(moto_aws, "s3").create_bucket(Bucket=moto_aws.bucket)
    folder, bucket = local.connect(tmp_path / "empty"), local.connect_s3(moto_aws)
    try:
        assert column_types(bucket) == column_types(folder)
        q = pack.load("run_list")
        assert local.run(bucket, q, q.bind({})) == local.run(folder, q, q.bind({}))
        assert local.run(bucket, q, q.bind({}))[1] == []
    finally:
        folder.close()
        bucket.close()
