"""kill -9 a re-mine and a re-publish of one run id at random points; readers never mix.

The run exists as generation 1: mined locally and published (S3, Glue partitions on the
moto server). Then, in child processes (``crash_child``) killed with SIGKILL after a
seeded random delay:

1. generation 2 is re-mined under the same run id; after every kill the local readers
   (the DuckDB backend, as the dashboard uses it) see all of generation 1 or all of
   generation 2 in every dataset, and the run stays publishable;
2. generation 2 is re-published; after every kill each dataset read through its Glue
   partition location as Athena reads it (every object under the location, Parquet
   rows counted) is exactly generation 1 or exactly generation 2, and every object the
   S3 manifest names exists.

Then an unkilled re-publish converges: every partition and the manifest on the pointer's
attempt, only the current and the retained attempt left, no multipart upload open.
Every generation has its own row counts (``crash_child.expected``), so a mix of files can
match neither.
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from athena import catalog
from basket_core.aws import glue as glue_api
from basket_core.aws.session import client
from basket_core.config import AwsConfig
from basket_core.layout import RunLayout, Target, read_pointer
from tests.basket_publish import crash_child
from tests.paths import REPO_ROOT

DT = date(2026, 1, 2)
RUN = "daily-2026-01-02"
DB = "basket_faults"
SEED = 20261205
MiB = 1024 * 1024
BIG = 11 * MiB  # three 5 MiB parts: kills land inside a multipart upload too
ROUNDS = 7


def _child(mode: str, args: dict[str, Any], kill_after: float | None) -> tuple[bool, float]:
    """Run the child; SIGKILL it ``kill_after`` seconds after it is ready (None: let it
    finish). Returns (killed, seconds from ready to exit or kill)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.basket_publish.crash_child", mode, json.dumps(args)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "ready", line + proc.communicate()[1]
    start = time.monotonic()
    if kill_after is None:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "done" in out, err
        return False, time.monotonic() - start
    try:
        proc.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        return True, kill_after
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    return False, time.monotonic() - start


def _generation(counts: dict[str, Counter[str]]) -> dict[str, int]:
    """Per dataset, the one generation its rows are all from, checking the row count is
    exactly that generation's; fails on any mix."""
    found = {}
    for name, markers in counts.items():
        assert len(markers) == 1, f"{name}: rows of several generations {dict(markers)}"
        ((marker, rows),) = markers.items()
        gen = int(marker.removeprefix("g"))
        assert rows == crash_child.expected(gen)[name], (name, marker, rows)
        found[name] = gen
    return found


def _local_counts(root: Path) -> dict[str, Counter[str]]:
    from athena import local

    con = local.connect(root)
    out = {}
    for name, column in crash_child.MARKERS.items():
        rows = con.execute(
            f'SELECT "{column}", count(*) FROM {name} WHERE run_id = ? GROUP BY 1', [RUN]
        ).fetchall()
        out[name] = Counter({str(m): int(n) for m, n in rows})
    return out


def _athena_counts(s3: Any, glue: Any) -> dict[str, Counter[str]]:
    """Each dataset as Athena reads it: the Glue partition's location, every object under
    it (recursively; names starting with ``_`` or ``.`` skipped), Parquet rows."""
    import pyarrow.parquet as pq

    out = {}
    for name, column in crash_child.MARKERS.items():
        location = glue_api.partition_location(glue, DB, name, [DT.isoformat(), RUN])
        assert location is not None, name
        bucket, _, prefix = location.removeprefix("s3://").partition("/")
        markers: Counter[str] = Counter()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                if obj["Key"].rsplit("/", 1)[-1].startswith(("_", ".")):
                    continue
                body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                markers.update(
                    pq.read_table(io.BytesIO(body), columns=[column])[column].to_pylist()
                )
        out[name] = markers
    return out


def _manifest_objects_exist(s3: Any, aws: AwsConfig) -> None:
    raw = s3.get_object(Bucket=aws.bucket, Key=f"{aws.prefix}/_latest.json")["Body"].read()
    body = json.loads(raw)
    for obj in body["objects"]:
        s3.head_object(Bucket=aws.bucket, Key=f"{aws.prefix}/{obj['key']}")


@pytest.mark.timeout(180)
def test_kill_9_during_remine_and_republish_never_shows_a_mix(
    tmp_path: Path, moto_aws: AwsConfig
) -> None:
    from basket_publish.publisher import check_complete, find_run

    t0 = time.monotonic()
    rng = random.Random(SEED)
    root = tmp_path / "output"
    aws = moto_aws
    s3, glue = client(aws, "s3"), client(aws, "glue")
    s3.create_bucket(Bucket=aws.bucket)
    catalog.setup_glue(glue, DB, Target.of(aws).root)
    remine = {"root": str(root), "dt": DT.isoformat(), "run_id": RUN, "retain": 1}
    remine |= {"pause_s": 0.01, "big": BIG}
    publish = {
        "root": str(root),
        "run_id": RUN,
        "database": DB,
        "retain": 1,
        "grace_s": 3600,
        "aws": aws.model_dump(mode="json"),
    }

    # ---- generation 1, mined and published in full (their durations set the kill range)
    _, remine_s = _child("remine", {**remine, "gen": 1}, None)
    _, publish_s = _child("publish", publish, None)
    assert _generation(_local_counts(root)) == dict.fromkeys(crash_child.MARKERS, 1)
    assert _generation(_athena_counts(s3, glue)) == dict.fromkeys(crash_child.MARKERS, 1)

    # ---- each round: re-mine a new generation, killed; then re-publish it, killed
    local_gen = 1
    athena_gen = dict.fromkeys(crash_child.MARKERS, 1)
    kills = Counter[str]()
    seen = Counter[str]()
    gen = 1
    for _ in range(ROUNDS):
        gen += 1
        killed, _ = _child("remine", {**remine, "gen": gen}, rng.uniform(0.0, remine_s))
        kills["remine"] += killed
        now = set(_generation(_local_counts(root)).values())
        assert len(now) == 1 and now <= {local_gen, gen}, (now, local_gen, gen)
        seen[f"local {'new' if now == {gen} else 'old'}"] += 1
        check_complete(find_run(root, RUN))  # the current attempt stays publishable
        if now != {gen}:
            _child("remine", {**remine, "gen": gen, "pause_s": 0.0}, None)
        local_gen = gen

        killed, _ = _child("publish", publish, rng.uniform(0.0, publish_s))
        kills["publish"] += killed
        read = _generation(_athena_counts(s3, glue))
        for name, g in read.items():
            assert g in (athena_gen[name], gen), (name, g, athena_gen[name], gen)
            seen[f"athena {'new' if g == gen else 'old'}"] += 1
        athena_gen = read
        _manifest_objects_exist(s3, aws)

    # ---- an unkilled re-run converges
    _child("publish", {**publish, "grace_s": 0}, None)
    assert _generation(_athena_counts(s3, glue)) == dict.fromkeys(crash_child.MARKERS, gen)
    key = f"{aws.prefix}/_attempts/dt={DT}/run_id={RUN}.json"
    s3_pointer = json.loads(s3.get_object(Bucket=aws.bucket, Key=key)["Body"].read())
    latest = json.loads(
        s3.get_object(Bucket=aws.bucket, Key=f"{aws.prefix}/_latest.json")["Body"].read()
    )
    assert latest["attempt"] == s3_pointer["attempt"]
    for name in crash_child.MARKERS:
        location = glue_api.partition_location(glue, DB, name, [DT.isoformat(), RUN])
        assert location is not None and location.endswith(f"/attempt={s3_pointer['attempt']}/")
    left = set()
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=aws.bucket, Prefix=f"{aws.prefix}/itemsets/dt={DT}/run_id={RUN}/"
    ):
        left |= {o["Key"].split("/attempt=")[1].split("/")[0] for o in page.get("Contents", [])}
    assert left <= {s3_pointer["attempt"], *s3_pointer["previous"][:1]}, left
    assert not s3.list_multipart_uploads(Bucket=aws.bucket).get("Uploads")
    layout = RunLayout(str(root), DT, RUN)
    pointer = read_pointer(layout)
    assert pointer is not None
    folders = {p.name for p in Path(layout.run_dir("itemsets")).iterdir()}
    assert folders <= {f"attempt={a}" for a in pointer.keep(1)}  # killed mines pruned

    elapsed = time.monotonic() - t0
    print(
        f"\n{ROUNDS} rounds, kills {dict(kills)}, readers saw {dict(seen)}, "
        f"remine {remine_s:.2f}s, publish {publish_s:.2f}s, total {elapsed:.1f}s"
    )
    assert sum(kills.values()) >= 10, kills
