"""basket publish against a real moto server on 127.0.0.1 (tests/fixtures/moto_server.py)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from basket_core.aws import s3 as s3_api
from basket_core.aws.session import client
from basket_core.config import AwsConfig
from basket_core.layout import Target
from basket_devtools import sample_results
from basket_publish.publisher import (
    LocalRun,
    PublishError,
    PublishOptions,
    find_run,
    list_files,
    manifest_decision,
    publish_run,
    run_bytes,
)
from tests.paths import REPO_ROOT

MiB = 1024 * 1024
SMALL_PARTS = PublishOptions(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, workers=4)
WRITES = ("PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload")


@pytest.fixture
def results(tmp_path: Path) -> Path:
    root = tmp_path / "output"
    sample_results.write_run(root, sample_results.SAMPLE_RUNS[0])
    sample_results.write_run(
        root, sample_results.SAMPLE_RUNS[1], pad_bytes=6 * MiB
    )  # 2 parts: 5 MiB + 1 MiB
    return root


@pytest.fixture
def s3(moto_aws: AwsConfig) -> Any:
    c = client(moto_aws, "s3")
    c.create_bucket(Bucket=moto_aws.bucket)
    return c


@pytest.fixture
def calls(s3: Any) -> Iterator[list[tuple[str, str]]]:
    """Every write call the client makes, as (operation, key), in order."""
    seen: list[tuple[str, str]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        if model.name in WRITES:
            seen.append((model.name, params.get("Key", "")))

    s3.meta.events.register("before-parameter-build.s3", record)
    yield seen
    s3.meta.events.unregister("before-parameter-build.s3", record)


def _keys(run: LocalRun, aws: AwsConfig, attempt: str) -> set[str]:
    """Where each local file of the run lands in S3 at ``attempt``."""
    return {f"{aws.prefix}/{f.key_rel(run, attempt)}" for f in list_files(run)}


def _control(run: LocalRun, aws: AwsConfig) -> set[str]:
    """The run's pointer and the manifest."""
    return {
        f"{aws.prefix}/_attempts/dt={run.dt.isoformat()}/run_id={run.run_id}.json",
        f"{aws.prefix}/_latest.json",
    }


def snapshot(s3: Any, bucket: str) -> dict[str, tuple[str, Any, int]]:
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            out[o["Key"]] = (o["ETag"], o["LastModified"], o["Size"])
    return out


def _target(aws: AwsConfig) -> Target:
    return Target(aws.bucket, aws.prefix)


def _latest(s3: Any, aws: AwsConfig) -> dict[str, Any] | None:
    raw = s3_api.get_bytes(s3, aws.bucket, f"{aws.prefix}/_latest.json")
    return json.loads(raw) if raw else None


def test_finds_runs_and_skips_spark_markers(results: Path) -> None:
    run = find_run(results, "latest")
    assert (run.run_id, run.dt) == (sample_results.RUN_B, sample_results.DT_B)
    assert run.finished_at is not None
    rels = [f.rel for f in list_files(run)]
    assert not any(Path(r).name.startswith(("_", ".")) for r in rels)
    assert f"rules/dt=2026-01-02/run_id={sample_results.RUN_B}/part-00000.parquet" in rels
    assert f"exports/dt=2026-01-02/run_id={sample_results.RUN_B}/run.json" in rels
    with pytest.raises(FileNotFoundError, match="nope"):
        find_run(results, "nope")


def test_publish_uploads_the_layout_encrypted_with_manifest_last(
    results: Path, s3: Any, moto_aws: AwsConfig, calls: list[tuple[str, str]]
) -> None:
    run = find_run(results, "latest")
    result = publish_run(s3, run, _target(moto_aws), aws=moto_aws, options=SMALL_PARTS)

    data = _keys(run, moto_aws, result.attempt)
    expected = data | _control(run, moto_aws)
    assert all(f"/attempt={result.attempt}/" in k for k in data)
    assert set(snapshot(s3, moto_aws.bucket)) == expected
    for key in expected:
        head = s3.head_object(Bucket=moto_aws.bucket, Key=key, ChecksumMode="ENABLED")
        assert head["ServerSideEncryption"] == "AES256", key
        assert head.get("ChecksumSHA256"), key
    big = next(k for k in expected if k.endswith(".bin"))
    head = s3.head_object(Bucket=moto_aws.bucket, Key=big, ChecksumMode="ENABLED")
    assert s3_api.file_checksums(
        next(f.path for f in list_files(run) if f.path.suffix == ".bin"),
        "SHA256",
        threshold=5 * MiB,
        chunksize=5 * MiB,
    ).composite.startswith(head["ChecksumSHA256"].split("-")[0])  # multipart, composite

    assert calls[-1] == ("PutObject", f"{moto_aws.prefix}/_latest.json")
    assert sum(1 for op, _ in calls if op == "UploadPart") == 2
    assert result.manifest_written and not result.skipped
    latest = _latest(s3, moto_aws)
    assert latest is not None
    assert latest["run_id"] == sample_results.RUN_B
    assert latest["datasets"]["rules"] == (
        f"s3://{moto_aws.bucket}/{moto_aws.prefix}/rules/dt=2026-01-02/"
        f"run_id={sample_results.RUN_B}/attempt={result.attempt}/"
    )
    assert len(latest["objects"]) == len(data)


def test_progress_counts_every_byte_of_the_run(results: Path, s3: Any, moto_aws: AwsConfig) -> None:
    """The byte callback (the CLI's progress bar) adds up to the run's size, whether the
    files are sent (multipart parts included) or found unchanged."""
    run = find_run(results, "latest")
    total = run_bytes(run)
    assert total > 0
    for _ in range(2):  # uploaded, then all skipped
        sent: list[int] = []
        publish_run(
            s3, run, _target(moto_aws), aws=moto_aws, options=SMALL_PARTS, on_bytes=sent.append
        )
        assert sum(sent) == total


def test_republish_is_a_no_op(
    results: Path, s3: Any, moto_aws: AwsConfig, calls: list[tuple[str, str]]
) -> None:
    run = find_run(results, "latest")
    publish_run(s3, run, _target(moto_aws), aws=moto_aws, options=SMALL_PARTS)
    before = snapshot(s3, moto_aws.bucket)
    calls.clear()

    again = publish_run(s3, run, _target(moto_aws), aws=moto_aws, options=SMALL_PARTS)

    assert calls == []
    assert snapshot(s3, moto_aws.bucket) == before  # same keys, ETags and LastModified
    assert again.uploaded == [] and not again.manifest_written
    assert again.manifest_reason == "same"
    assert len(again.skipped) == len(list_files(run))


def _fail_on_nth(op: str, n: int) -> Callable[..., None]:
    count = {"n": 0}

    def hook(model: Any, **_: Any) -> None:
        if model.name == op:
            count["n"] += 1
            if count["n"] == n:
                raise ConnectionResetError(f"injected fault on {op} #{n}")

    return hook


def test_interrupted_publish_then_rerun_completes(
    results: Path, s3: Any, moto_aws: AwsConfig
) -> None:
    run = find_run(results, "latest")
    hook = _fail_on_nth("UploadPart", 2)  # mid-way through the multipart upload
    s3.meta.events.register("before-call.s3", hook)
    try:
        with pytest.raises(PublishError, match="readers still see the previous attempt"):
            publish_run(
                s3,
                run,
                _target(moto_aws),
                aws=moto_aws,
                options=SMALL_PARTS.__class__(
                    multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, workers=4, attempts=1
                ),
            )
    finally:
        s3.meta.events.unregister("before-call.s3", hook)
    partial = snapshot(s3, moto_aws.bucket)
    assert f"{moto_aws.prefix}/_latest.json" not in partial  # readers still see no run
    assert not any(k.endswith(".bin") for k in partial)  # the failed multipart was aborted
    assert not s3.list_multipart_uploads(Bucket=moto_aws.bucket).get("Uploads")

    result = publish_run(s3, run, _target(moto_aws), aws=moto_aws, options=SMALL_PARTS)

    assert any(k.endswith(".bin") for k in result.uploaded)
    assert len(result.skipped) == len(partial)  # what made it the first time is kept
    latest = _latest(s3, moto_aws)
    assert latest is not None and latest["run_id"] == sample_results.RUN_B
    assert set(snapshot(s3, moto_aws.bucket)) == _keys(run, moto_aws, result.attempt) | _control(
        run, moto_aws
    )


def test_older_run_never_replaces_the_manifest(results: Path, s3: Any, moto_aws: AwsConfig) -> None:
    target = _target(moto_aws)
    publish_run(
        s3, find_run(results, sample_results.RUN_B), target, aws=moto_aws, options=SMALL_PARTS
    )
    older = publish_run(
        s3, find_run(results, sample_results.RUN_A), target, aws=moto_aws, options=SMALL_PARTS
    )
    assert older.uploaded and not older.manifest_written and older.manifest_reason == "older"
    latest = _latest(s3, moto_aws)
    assert latest is not None and latest["run_id"] == sample_results.RUN_B


def test_files_from_before_attempts_are_retired_after_the_switch(
    results: Path, s3: Any, moto_aws: AwsConfig
) -> None:
    run = find_run(results, sample_results.RUN_A)
    stale = (
        f"{moto_aws.prefix}/rules/dt=2026-01-01/run_id={sample_results.RUN_A}/part-99999.parquet"
    )
    s3.put_object(Bucket=moto_aws.bucket, Key=stale, Body=b"old")
    kept = publish_run(s3, run, _target(moto_aws), aws=moto_aws, options=SMALL_PARTS)
    assert kept.deleted == [] and stale in snapshot(s3, moto_aws.bucket)  # retained: 1
    tags = s3.get_object_tagging(Bucket=moto_aws.bucket, Key=stale)["TagSet"]
    assert tags == [{"Key": "basket-attempt", "Value": "superseded"}]  # the expiry rule's
    no_retention = PublishOptions(
        multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB, retain_attempts=0
    )
    result = publish_run(s3, run, _target(moto_aws), aws=moto_aws, options=no_retention)
    assert result.deleted == [stale]
    assert stale not in snapshot(s3, moto_aws.bucket)


def test_sse_kms_and_crc32(results: Path, s3: Any, moto_aws: AwsConfig) -> None:
    kms = moto_aws.model_copy(update={"sse": "aws:kms", "kms_key_id": "alias/basket-test"})
    opts = PublishOptions(
        checksum="CRC32", multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB
    )
    publish_run(s3, find_run(results, "latest"), _target(kms), aws=kms, options=opts)
    for key in snapshot(s3, moto_aws.bucket):
        head = s3.head_object(Bucket=moto_aws.bucket, Key=key, ChecksumMode="ENABLED")
        assert head["ServerSideEncryption"] == "aws:kms", key
    again = publish_run(s3, find_run(results, "latest"), _target(kms), aws=kms, options=opts)
    assert again.uploaded == []


def test_cli_publish(results: Path, moto_aws: AwsConfig, s3: Any) -> None:
    from click.testing import CliRunner

    from basket.cli import main

    args = [
        "publish", "--output", str(results), "--endpoint-url", str(moto_aws.endpoint_url),
        "--bucket", moto_aws.bucket, "--prefix", "cli", "--multipart-threshold-mb", "5",
        "--multipart-chunksize-mb", "5", "--json",
    ]  # fmt: skip
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["manifest_written"] is True
    second = CliRunner().invoke(main, args)
    assert second.exit_code == 0, second.output
    assert json.loads(second.output)["uploaded"] == []


def test_local_checksums_match_what_s3_reports(
    tmp_path: Path, s3: Any, moto_aws: AwsConfig
) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(bytes(range(256)) * 50_000)  # 12.2 MiB
    config = __import__("basket_publish.publisher", fromlist=["x"]).transfer_config(SMALL_PARTS)
    for alg in ("SHA256", "CRC32"):
        s3_api.upload_file(
            s3, path, moto_aws.bucket, f"k-{alg}", extra_args={"ChecksumAlgorithm": alg},
            config=config,
        )  # fmt: skip
        local = s3_api.file_checksums(path, alg, threshold=5 * MiB, chunksize=5 * MiB)  # type: ignore[arg-type]
        remote = s3_api.head(s3, moto_aws.bucket, f"k-{alg}", alg)  # type: ignore[arg-type]
        assert remote is not None and remote.checksum is not None
        assert local.accepts(remote.checksum), (alg, remote.checksum, local)


def test_manifest_decision() -> None:
    new = {"dt": "2026-01-02", "finished_at": "2026-01-02T01:05:00+00:00", "run_id": "b"}
    assert manifest_decision(None, new) == "write"
    assert manifest_decision(dict(new), new) == "same"
    assert manifest_decision({**new, "run_id": "c", "dt": "2026-01-03"}, new) == "older"
    backfill = {**new, "run_id": "old-day", "dt": "2025-12-01", "finished_at": "2026-02-01"}
    assert manifest_decision(new, backfill) == "older"  # finished later, older data: not latest
    assert manifest_decision(backfill, new) == "write"
    assert manifest_decision({**new, "run_id": "a", "dt": "2026-01-01"}, new) == "write"
    assert manifest_decision({**new, "objects": []}, new) == "write"  # same run, republished


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="5 MiB"):
        PublishOptions(multipart_chunksize=1024)
    with pytest.raises(ValueError, match="MD5"):
        PublishOptions(checksum="MD5")  # type: ignore[arg-type]
    assert isinstance(LocalRun, type)


def test_iam_policy_is_scoped_to_the_configured_resources() -> None:
    import re
    from string import Template

    text = (REPO_ROOT / "iam" / "basket-pipeline-policy.json").read_text()
    names = set(re.findall(r"\$\{(\w+)\}", text))
    assert names == {
        "Bucket",
        "Prefix",
        "Region",
        "AccountId",
        "Database",
        "Workgroup",
        "KmsKeyArn",
    }
    policy = json.loads(Template(text).substitute({n: "x" for n in names}))
    for st in policy["Statement"]:
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        assert "*" not in resources and all("*" not in a for a in st["Action"]), st["Sid"]


# ---- completeness ---------------------------------------------------------------------


def _break(results: Path, how: str) -> None:
    """Make the latest sample run incomplete in one way."""
    run = find_run(results, "latest")
    folders = run.folders()
    report = folders["exports"] / "run.json"
    if how == "no report":
        report.unlink()
    elif how == "no finish":
        body = json.loads(report.read_text())
        report.write_text(json.dumps({k: v for k, v in body.items() if k != "finished_at"}))
    elif how == "failed":
        report.write_text(json.dumps({**json.loads(report.read_text()), "status": "failed"}))
    elif how == "no rules":
        for part in folders["rules"].glob("*.parquet"):
            part.unlink()
    elif how in ("short itemsets", "short rule_changes"):
        import pyarrow.parquet as pq

        (part,) = folders[how.removeprefix("short ")].glob("*.parquet")
        table = pq.read_table(part)
        pq.write_table(table.slice(0, table.num_rows - 1), part)


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("no report", "no run report"),
        ("no finish", "no finished_at"),
        ("failed", "status is 'failed'"),
        ("no rules", "dataset rules has no Parquet files"),
        ("short itemsets", "dataset itemsets has 10 rows, run.json says 11"),
        ("short rule_changes", "dataset rule_changes has 6 rows, run.json says 7"),
    ],
)
def test_an_incomplete_run_is_refused_before_anything_is_written(
    results: Path, s3: Any, moto_aws: AwsConfig, how: str, message: str
) -> None:
    from basket_publish.publisher import IncompleteRun

    _break(results, how)
    with pytest.raises(IncompleteRun, match=message):
        publish_run(
            s3, find_run(results, "latest"), _target(moto_aws), aws=moto_aws, options=SMALL_PARTS
        )
    assert snapshot(s3, moto_aws.bucket) == {}  # no object, no manifest


def test_rule_changes_of_a_first_run_or_an_older_run_are_complete(results: Path) -> None:
    """A first run's rule_changes is empty (a 0-row file, or Spark's ``_SUCCESS`` alone);
    a run mined before the dataset existed counts none and may lack the folder."""
    import shutil

    from basket_publish.publisher import completeness_problems

    first = find_run(results, sample_results.RUN_A)
    folders = first.folders()
    report = folders["exports"] / "run.json"
    assert json.loads(report.read_text())["counts"]["rule_changes"] == {}
    assert completeness_problems(first) == []  # one 0-row Parquet file
    for part in folders["rule_changes"].glob("*.parquet"):
        part.unlink()
    assert completeness_problems(first) == []  # committed empty: _SUCCESS only
    (folders["rule_changes"] / "_SUCCESS").unlink()
    assert completeness_problems(first) == [
        f"dataset rule_changes has no Parquet files in {folders['rule_changes']}"
    ]
    body = json.loads(report.read_text())
    del body["counts"]["rule_changes"]
    report.write_text(json.dumps(body))
    shutil.rmtree(folders["rule_changes"])
    assert completeness_problems(first) == []  # an older miner's run


def test_cli_refuses_an_incomplete_run_in_one_line(
    results: Path, moto_aws: AwsConfig, s3: Any
) -> None:
    from click.testing import CliRunner

    from basket.cli import main

    _break(results, "no report")
    args = [
        "publish", "--output", str(results), "--endpoint-url", str(moto_aws.endpoint_url),
        "--bucket", moto_aws.bucket, "--prefix", "cli",
    ]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: run {sample_results.RUN_B} (2026-01-02) is not complete, not published: "
        "no run report (exports/.../run.json): the mine did not finish"
    ]
    assert snapshot(s3, moto_aws.bucket) == {}


# ---- conditional manifest ----------------------------------------------------------------


def test_conditional_put_refuses_a_stale_write(s3: Any, moto_aws: AwsConfig) -> None:
    bucket, key = moto_aws.bucket, "m/_latest.json"
    first = s3_api.put_if(s3, bucket, key, b"1", etag=None, extra_args={})
    with pytest.raises(s3_api.PreconditionFailed):  # If-None-Match: * on an existing object
        s3_api.put_if(s3, bucket, key, b"2", etag=None, extra_args={})
    second = s3_api.put_if(s3, bucket, key, b"2", etag=first, extra_args={})
    with pytest.raises(s3_api.PreconditionFailed):  # If-Match on an ETag no longer current
        s3_api.put_if(s3, bucket, key, b"3", etag=first, extra_args={})
    assert s3_api.get_with_etag(s3, bucket, key) == (b"2", second)


def test_manifest_update_rereads_when_another_publisher_wins_the_race(
    results: Path, s3: Any, moto_aws: AwsConfig
) -> None:
    """The weekly DAG writes a newer run's manifest between this publisher's read and its
    write: the conditional put fails, the manifest is read again, and this (older) run
    leaves the newer one in place instead of overwriting it."""
    target = _target(moto_aws)
    key = f"{moto_aws.prefix}/_latest.json"
    newer = {"run_id": "weekly-2026-01-05", "dt": "2026-01-05", "finished_at": "2026-01-05T04:00"}
    raced = {"done": False}

    def other_publisher(model: Any, params: dict[str, Any], **_: Any) -> None:
        if model.name == "PutObject" and params.get("Key") == key and not raced["done"]:
            raced["done"] = True
            other = client(moto_aws, "s3")
            other.put_object(Bucket=moto_aws.bucket, Key=key, Body=json.dumps(newer).encode())

    s3.meta.events.register("before-parameter-build.s3", other_publisher)
    try:
        result = publish_run(
            s3, find_run(results, "latest"), target, aws=moto_aws, options=SMALL_PARTS
        )
    finally:
        s3.meta.events.unregister("before-parameter-build.s3", other_publisher)
    assert raced["done"]
    assert not result.manifest_written and result.manifest_reason == "older"
    assert _latest(s3, moto_aws) == newer  # without If-None-Match it would be RUN_B


# ---- encryption -------------------------------------------------------------------------


def test_a_kms_key_change_republishes_under_the_new_key(
    results: Path, s3: Any, moto_aws: AwsConfig
) -> None:
    run = find_run(results, "latest")
    key_a = moto_aws.model_copy(update={"sse": "aws:kms", "kms_key_id": "arn:aws:kms:k/key-a"})
    key_b = moto_aws.model_copy(update={"sse": "aws:kms", "kms_key_id": "arn:aws:kms:k/key-b"})
    first = publish_run(s3, run, _target(key_a), aws=key_a, options=SMALL_PARTS)
    again = publish_run(s3, run, _target(key_b), aws=key_b, options=SMALL_PARTS)

    assert again.attempt != first.attempt and again.skipped == []
    assert len(again.uploaded) == len(list_files(run))
    for key in _keys(run, moto_aws, again.attempt):
        head = s3.head_object(Bucket=moto_aws.bucket, Key=key)
        assert head["SSEKMSKeyId"] == "arn:aws:kms:k/key-b", key
    latest = _latest(s3, moto_aws)
    assert latest is not None and latest["attempt"] == again.attempt


def test_an_object_under_another_kms_key_counts_as_changed() -> None:
    from basket_publish.publisher import remote_matches

    local = s3_api.LocalChecksums(size=3, sha256_hex="ab", full="f", composite="c-1")

    def remote(key_id: str | None) -> s3_api.RemoteObject:
        return s3_api.RemoteObject("k", 3, '"e"', {"sha256": "ab"}, "f", "aws:kms", key_id)

    sse = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "key-b"}
    assert remote_matches(remote("arn:aws:kms:us-east-1:1:key/key-b"), local, sse)
    assert not remote_matches(remote("arn:aws:kms:us-east-1:1:key/key-a"), local, sse)
    assert not remote_matches(remote(None), local, sse)


def _denied(policy: dict[str, Any], action: str, resource: str, context: dict[str, str]) -> bool:
    """IAM's explicit-deny check for the condition operators the policy uses: a negated
    operator (StringNotEquals) matches when the key is absent or differs."""
    from fnmatch import fnmatchcase

    for st in policy["Statement"]:
        resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        if st["Effect"] != "Deny" or action not in st["Action"]:
            continue
        if not any(fnmatchcase(resource, r) for r in resources):
            continue
        matches = []
        for operator, pairs in st.get("Condition", {}).items():
            assert operator == "StringNotEquals", f"evaluator does not know {operator}"
            matches += [context.get(k) != v for k, v in pairs.items()]
        if all(matches):
            return True
    return False


def test_iam_policy_denies_puts_without_the_configured_encryption() -> None:
    from string import Template

    arn = "arn:aws:kms:eu-west-1:123456789012:key/1111"
    values = {"Bucket": "b", "Prefix": "p", "Region": "eu-west-1", "AccountId": "1"}
    values |= {"Database": "d", "Workgroup": "w", "KmsKeyArn": arn}
    text = (REPO_ROOT / "iam" / "basket-pipeline-policy.json").read_text()
    policy = json.loads(Template(text).substitute(values))
    sse, key = "s3:x-amz-server-side-encryption", "s3:x-amz-server-side-encryption-aws-kms-key-id"
    put = ("s3:PutObject", "arn:aws:s3:::b/p/rules/x.parquet")
    assert _denied(policy, *put, {})  # --sse none
    assert _denied(policy, *put, {sse: "AES256"})
    assert _denied(policy, *put, {sse: "aws:kms"})  # the account's default key
    assert _denied(policy, *put, {sse: "aws:kms", key: "arn:aws:kms:eu-west-1:1:key/other"})
    assert not _denied(policy, *put, {sse: "aws:kms", key: arn})
    assert not _denied(policy, "s3:GetObject", put[1], {})
    from basket_core.aws.s3 import sse_args

    configured = AwsConfig(sse="aws:kms", kms_key_id=arn)
    headers = {"ServerSideEncryption": sse, "SSEKMSKeyId": key}
    context = {headers[k]: v for k, v in sse_args(configured).items()}
    assert not _denied(policy, *put, context)  # what the publisher sends passes


# ---- orphans -----------------------------------------------------------------------------


def test_setup_bucket_applies_the_lifecycle_rules(moto_aws: AwsConfig, s3: Any) -> None:
    from click.testing import CliRunner

    from basket.cli import main

    s3.put_bucket_lifecycle_configuration(
        Bucket=moto_aws.bucket,
        LifecycleConfiguration={
            "Rules": [{"ID": "theirs", "Status": "Enabled", "Filter": {"Prefix": "logs/"},
                       "Expiration": {"Days": 30}}]
        },
    )  # fmt: skip
    args = [
        "publish", "--setup-bucket", "--output", "/nonexistent", "--endpoint-url",
        str(moto_aws.endpoint_url), "--bucket", moto_aws.bucket, "--prefix", "mb",
    ]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert "not found" in result.output  # nothing to publish, the bucket set up first
    rules = {
        r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=moto_aws.bucket)["Rules"]
    }
    assert set(rules) == {
        "theirs",
        "basket-abort-incomplete-multipart",
        "basket-expire-superseded-attempts",
    }
    abort = rules["basket-abort-incomplete-multipart"]
    assert abort["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert abort["Filter"] == {"Prefix": "mb/"}
    expire = rules["basket-expire-superseded-attempts"]
    assert expire["Expiration"] == {"Days": 7}
    assert expire["Filter"]["And"]["Tags"] == [{"Key": "basket-attempt", "Value": "superseded"}]


def test_a_left_open_multipart_upload_is_aborted_by_the_next_publish(
    results: Path, s3: Any, moto_aws: AwsConfig
) -> None:
    run = find_run(results, "latest")
    key = f"{moto_aws.prefix}/exports/dt=2026-01-02/run_id={run.run_id}/attempt=p1/big.bin"
    s3.create_multipart_upload(Bucket=moto_aws.bucket, Key=key)  # a killed uploader's
    elsewhere = s3.create_multipart_upload(Bucket=moto_aws.bucket, Key="other/x.bin")
    # moto reports every upload as initiated in 2010: older than publish.orphan_grace_s
    result = publish_run(s3, run, _target(moto_aws), aws=moto_aws, options=SMALL_PARTS)
    assert result.aborted_uploads == [key]
    open_keys = [u["Key"] for u in s3.list_multipart_uploads(Bucket=moto_aws.bucket)["Uploads"]]
    assert open_keys == ["other/x.bin"]  # outside the run: not this publisher's to abort
    s3.abort_multipart_upload(
        Bucket=moto_aws.bucket, Key="other/x.bin", UploadId=elsewhere["UploadId"]
    )
