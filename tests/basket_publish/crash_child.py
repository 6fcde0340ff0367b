"""The process the fault-injection test kills: a re-mine or a publish of one run.

``python -m tests.basket_publish.crash_child remine|publish '<json args>'`` prints ``ready``
once its imports are done (so the test's kill delay measures work, not start-up), then
does the whole job and prints ``done``.

- ``remine`` writes generation ``gen`` of the run as a new local attempt, file by file
  (:func:`write_generation`), and commits it as the miner does
  (:func:`spark.writes.commit_attempt`): the same switch, latest and retention code.
- ``publish`` publishes the run's current local attempt with the Glue partition switch
  wired as ``basket_pipeline.stages.publish`` wires it. With ``kill_at`` it SIGKILLs
  itself just before sending its ``kill_at``-th AWS request (S3 or Glue, any thread):
  a kill -9 at an exact, seeded point — between two uploads, inside a multipart upload,
  between the Glue switch of two tables, before the pointer, before the manifest, inside
  the retirement. It prints how many requests it sent, so the test draws points from
  the whole run.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from basket_core.layout import RunLayout
from basket_core.schemas import (
    ITEMSETS,
    QUARANTINE,
    RULE_CHANGES,
    RULES,
    RUNS,
    Dataset,
    arrow_type,
)

MARKERS = {
    "itemsets": "segment",
    "rules": "segment",
    "rule_changes": "segment",
    "quarantine": "reason",
    "runs": "engine",
}
"""The string column of each dataset that says which generation wrote a row."""
PARTS = {"itemsets": 10, "rules": 10, "rule_changes": 3, "quarantine": 4, "runs": 1}
DATASETS: dict[str, Dataset] = {
    "itemsets": ITEMSETS,
    "rules": RULES,
    "rule_changes": RULE_CHANGES,
    "quarantine": QUARANTINE,
    "runs": RUNS,
}


def rows_per_part(name: str, gen: int) -> int:
    """Every generation has its own row counts, so a mix can never add up to either."""
    return 1 if name == "runs" else 20 + 7 * gen + len(name)


def expected(gen: int) -> dict[str, int]:
    return {name: PARTS[name] * rows_per_part(name, gen) for name in DATASETS}


def _value(kind: str, i: int, marker: str | None) -> Any:
    if marker is not None:
        return marker
    return {
        "string": f"v{i}",
        "bigint": i,
        "int": i,
        "double": 0.5,
        "boolean": False,
        "timestamp": datetime(2026, 1, 2, tzinfo=UTC),
        "date": date(2026, 1, 2),
        "array<string>": ["a", "b"],
    }[kind]


def _write_part(path: Path, dataset: Dataset, rows: list[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([pa.field(c.name, arrow_type(c.type)) for c in dataset.columns])
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def write_generation(
    layout: RunLayout, gen: int, *, pause_s: float = 0.0, big_bytes: int = 0
) -> datetime:
    """Every dataset, the exports and ``run.json`` of generation ``gen`` in ``layout``'s
    attempt folder; ``pause_s`` between files stretches the write so kills land inside
    it; ``big_bytes`` adds an export that big (a multipart upload). Returns the run's
    finish time."""
    for name, dataset in DATASETS.items():
        marker = MARKERS[name]
        for part in range(PARTS[name]):
            rows = [
                {c.name: _value(c.type, i, f"g{gen}" if c.name == marker else None)
                 for c in dataset.columns}
                for i in range(rows_per_part(name, gen))
            ]  # fmt: skip
            _write_part(
                Path(layout.dataset(name)) / f"part-{part:05d}-g{gen}.parquet", dataset, rows
            )
            time.sleep(pause_s)
    exports = Path(layout.exports)
    exports.mkdir(parents=True, exist_ok=True)
    (exports / "rules.csv").write_text(f"segment\ng{gen}\n")
    if big_bytes:
        import random

        (exports / "baskets.bin").write_bytes(random.Random(gen).randbytes(big_bytes))
    finished = datetime(2026, 1, 3, tzinfo=UTC) + timedelta(minutes=gen)
    want = expected(gen)
    report = {
        "run_id": layout.run_id,
        "dt": layout.dt.isoformat(),
        "status": "succeeded",
        "finished_at": finished.isoformat(),
        "counts": {
            "itemsets": want["itemsets"],
            "rules": want["rules"],
            "rule_changes": {"new": want["rule_changes"]},  # by kind, as the miner counts
            "rejected_rows": want["quarantine"],
        },
    }
    (exports / "run.json").write_text(json.dumps(report) + "\n")
    return finished


def remine(args: dict[str, Any]) -> None:
    import pyarrow

    pyarrow.Table.from_pylist([{"warm": 1}])  # its lazy imports too, before "ready"
    from spark.writes import begin_attempt, commit_attempt

    layout = begin_attempt(Path(args["root"]), date.fromisoformat(args["dt"]), args["run_id"])
    print("ready", flush=True)
    finished = write_generation(
        layout, int(args["gen"]), pause_s=float(args["pause_s"]), big_bytes=int(args["big"])
    )
    commit_attempt(layout, finished, retain=int(args["retain"]))


def publish(args: dict[str, Any]) -> None:
    from athena.catalog import switch_partitions_glue
    from basket_core.aws.session import client
    from basket_core.config import AwsConfig
    from basket_core.layout import Target
    from basket_publish.publisher import PublishOptions, find_run, publish_run

    aws = AwsConfig(**args["aws"])
    s3, glue = client(aws, "s3"), client(aws, "glue")
    sent = [0]
    lock = threading.Lock()
    kill_at = args.get("kill_at")

    def count(**_: Any) -> None:
        with lock:
            sent[0] += 1
            if kill_at is not None and sent[0] >= int(kill_at):
                os.kill(os.getpid(), signal.SIGKILL)

    for c in (s3, glue):
        c.meta.events.register("before-send", count)
    target = Target.of(aws)
    run = find_run(Path(args["root"]), args["run_id"])
    mib = 1024 * 1024
    options = PublishOptions(
        workers=2,
        multipart_threshold=5 * mib,
        multipart_chunksize=5 * mib,
        retain_attempts=int(args["retain"]),
        orphan_grace_s=float(args["grace_s"]),
    )

    def switch(attempt: str) -> None:
        switch_partitions_glue(glue, args["database"], target.root, run.dt, run.run_id, attempt)

    print("ready", flush=True)
    publish_run(s3, run, target, aws=aws, options=options, switch=switch)
    print(f"requests {sent[0]}", flush=True)


def main(argv: list[str]) -> int:
    mode, args = argv[0], json.loads(argv[1])
    {"remine": remine, "publish": publish}[mode](args)
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
