"""kill -9 a re-mine and a re-publish of one run id at random points; readers never mix.

The run exists as generation 1: mined locally and published (S3, Glue partitions on the
moto server). Then each round, in child processes (``crash_child``):

1. generation ``g`` is re-mined under the same run id, killed with SIGKILL after a seeded
   random delay; afterwards the local readers (the DuckDB backend, as the dashboard and
   ``basket query --backend local`` read) see all of the previous generation or all of
   ``g`` in every dataset, and the run stays publishable (then the mine is completed);
2. ``g`` is re-published, the publisher SIGKILLing itself just before a seeded random
   one of its AWS requests (drawn from the request count of a full publish, so kills
   land anywhere: between uploads, inside a multipart upload, between the Glue switch of
   two tables, before the pointer or manifest, inside the retirement); afterwards each
   dataset read through its Glue partition location as Athena reads it (every object
   under the location, Parquet rows counted) is exactly the generation that dataset had
   before or exactly ``g``, and every object the S3 manifest names exists.

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


def _child(mode: str, args: dict[str, Any], kill_after: float | None) -> tuple[bool, float, str]:
    """Run the child; SIGKILL it ``kill_after`` seconds after it is ready (None: let it
    finish or kill itself). Returns (killed, seconds from ready to exit, its output)."""
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
    if kill_after is not None:
        try:
            proc.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
    out, err = proc.communicate(timeout=60)
    if proc.returncode == -signal.SIGKILL:
        return True, time.monotonic() - start, out
    assert proc.returncode == 0 and "done" in out, err
    return False, time.monotonic() - start, out


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
@pytest.mark.parametrize("rounds", [4, pytest.param(12, marks=pytest.mark.slow)])
def test_kill_9_during_remine_and_republish_never_shows_a_mix(
    tmp_path: Path, moto_aws: AwsConfig, rounds: int
) -> None:
    from basket_publish.publisher import check_complete, find_run
    from spark.writes import begin_attempt, commit_attempt

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
    _, remine_s, _ = _child("remine", {**remine, "gen": 1}, None)
    _, _, out = _child("publish", publish, None)
    requests = int(out.split("requests ")[1].split()[0])  # a full publish, every request
    assert _generation(_local_counts(root)) == dict.fromkeys(crash_child.MARKERS, 1)
    assert _generation(_athena_counts(s3, glue)) == dict.fromkeys(crash_child.MARKERS, 1)

    # ---- each round: re-mine a new generation, killed; then re-publish it, killed
    local_gen = 1
    athena_gen = dict.fromkeys(crash_child.MARKERS, 1)
    kills = Counter[str]()
    kill_points: list[int] = []
    seen = Counter[str]()
    gen = 1
    for round_ in range(rounds):
        gen += 1
        killed, _, _ = _child("remine", {**remine, "gen": gen}, rng.uniform(0.0, 1.1 * remine_s))
        kills["remine"] += killed
        now = set(_generation(_local_counts(root)).values())
        assert len(now) == 1 and now <= {local_gen, gen}, (now, local_gen, gen)
        seen[f"local {'new' if now == {gen} else 'old'}"] += 1
        check_complete(find_run(root, RUN))  # the current attempt stays publishable
        if now != {gen}:  # complete the mine (in this process: no start-up to wait for)
            layout = begin_attempt(root, DT, RUN)
            commit_attempt(layout, crash_child.write_generation(layout, gen), retain=1)
        local_gen = gen

        # one kill point per stratum of the request range: the tail (switch, pointer,
        # manifest, retirement) is hit as surely as the uploads
        kill_at = rng.randint(1 + round_ * requests // rounds, (round_ + 1) * requests // rounds)
        kill_points.append(kill_at)
        killed, _, _ = _child("publish", {**publish, "kill_at": kill_at}, None)
        kills["publish"] += killed
        read = _generation(_athena_counts(s3, glue))
        for name, g in read.items():
            assert g in (athena_gen[name], gen), (name, g, athena_gen[name], gen)
            seen[f"athena {'new' if g == gen else 'old'}"] += 1
        athena_gen = read
        _manifest_objects_exist(s3, aws)

    # ---- an unkilled re-run (a mine, then a publish) converges. The mine also prunes
    # what a remine killed between its switch and its pruning left behind: only a later
    # commit of the run removes that (a reader never sees it: it is not the current one)
    gen += 1
    _child("remine", {**remine, "gen": gen}, None)
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
        f"\n{rounds} rounds, kills {dict(kills)}, readers saw {dict(seen)}, "
        f"remine {remine_s:.2f}s, publish killed before request {kill_points} of "
        f"{requests}, total {elapsed:.1f}s"
    )
    assert sum(kills.values()) >= rounds + rounds // 2, kills
