"""A small, known result set in the miner's exact layout and schemas, written with pyarrow.

Two runs over two segments (``FR``, ``UK``; 100 baskets each), with every rule's measures
computed from its counts. Tests check each analyst query against these numbers, and it
lets anyone try ``basket query --backend local`` without running Spark.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from basket_core.layout import LATEST, RunLayout
from basket_core.schemas import ITEMSETS, QUARANTINE, RULES, RUNS, Dataset, arrow_type

N_BASKETS = 100
RUN_A = "20260101T010000Z-aaaaaa"
RUN_B = "20260102T010000Z-bbbbbb"
DT_A = date(2026, 1, 1)
DT_B = date(2026, 1, 2)

# segment -> itemset (sorted tuple) -> baskets containing it
Counts = Mapping[str, Mapping[tuple[str, ...], int]]
Rules = Mapping[str, Sequence[tuple[tuple[str, ...], tuple[str, ...]]]]
Rejects = Sequence[tuple[str, str | None, str | None]]

COUNTS_A: Counts = {
    "FR": {
        ("bread",): 60,
        ("butter",): 50,
        ("milk",): 40,
        ("jam",): 10,
        ("bread", "butter"): 40,
        ("bread", "milk"): 20,
        ("butter", "jam"): 8,
    },
    "UK": {("tea",): 70, ("milk",): 60, ("milk", "tea"): 56},
}
COUNTS_B: Counts = {
    "FR": {
        ("bread",): 60,
        ("butter",): 50,
        ("milk",): 40,
        ("eggs",): 30,
        ("bread", "butter"): 45,
        ("bread", "milk"): 20,
        ("eggs", "milk"): 24,
        ("bread", "butter", "milk"): 12,
    },
    "UK": {("tea",): 70, ("milk",): 60, ("milk", "tea"): 50},
}
# segment -> (antecedent, consequent) rules mined in each run
RULES_A: Rules = {
    "FR": [
        (("bread",), ("butter",)),
        (("butter",), ("bread",)),
        (("milk",), ("bread",)),
        (("jam",), ("butter",)),
    ],
    "UK": [(("tea",), ("milk",)), (("milk",), ("tea",))],
}
RULES_B: Rules = {
    "FR": [
        (("bread",), ("butter",)),
        (("butter",), ("bread",)),
        (("milk",), ("bread",)),
        (("eggs",), ("milk",)),
        (("milk",), ("eggs",)),
    ],
    "UK": [(("tea",), ("milk",)), (("milk",), ("tea",))],
}
QUARANTINE_A: Rejects = [("bad_quantity", "Quantity", "x")] * 2 + [("duplicate", None, None)] * 3
QUARANTINE_B: Rejects = (
    [("non_positive_quantity", "Quantity", "Quantity -1 <= 0")] * 3
    + [("cancellation", "InvoiceNo", "InvoiceNo C123 starts with C")] * 2
    + [("blank_item", "Description", "Description is blank")]
)


def _r(x: float) -> float:
    return round(x, 6)


def rule_row(
    segment: str, a: tuple[str, ...], c: tuple[str, ...], counts: Counts
) -> dict[str, Any]:
    seg = counts[segment]
    n_a, n_c = seg[a], seg[c]
    n_ac = seg[tuple(sorted(a + c))]
    s_a, s_c, s_ac = n_a / N_BASKETS, n_c / N_BASKETS, n_ac / N_BASKETS
    conf = n_ac / n_a
    lift = conf / s_c
    leverage = s_ac - s_a * s_c
    conviction = (1 - s_c) / (1 - conf) if conf < 1 else float("inf")
    zhang = leverage / max(s_ac * (1 - s_a), s_a * (s_c - s_ac))
    return {
        "segment": segment,
        "antecedent": list(a),
        "consequent": list(c),
        "antecedent_size": len(a),
        "antecedent_count": n_a,
        "consequent_count": n_c,
        "count": n_ac,
        "antecedent_support": _r(s_a),
        "consequent_support": _r(s_c),
        "support": _r(s_ac),
        "confidence": _r(conf),
        "lift": _r(lift),
        "leverage": _r(leverage),
        "conviction": _r(conviction),
        "zhangs_metric": _r(zhang),
        "jaccard": _r(s_ac / (s_a + s_c - s_ac)),
        "kulczynski": _r((conf + n_ac / n_c) / 2),
        "certainty": _r((conf - s_c) / (1 - s_c)),
    }


def itemset_rows(counts: Counts) -> list[dict[str, Any]]:
    return [
        {
            "segment": seg,
            "items": list(items),
            "size": len(items),
            "count": n,
            "support": _r(n / N_BASKETS),
        }
        for seg, sets in counts.items()
        for items, n in sets.items()
    ]


def quarantine_rows(rows: Rejects) -> list[dict[str, Any]]:
    return [
        {
            "reason": reason,
            "field": field,
            "detail": detail,
            "source": "data/sample.csv",
            "source_offset": None,
            "raw": json.dumps({"row": i}),
        }
        for i, (reason, field, detail) in enumerate(rows)
    ]


def run_row(started: datetime, finished: datetime, counts: Counts, n_rules: int) -> dict[str, Any]:
    return {
        "started_at": started,
        "finished_at": finished,
        "status": "succeeded",
        "engine": "sample",
        "input": "data/sample.csv",
        "segment_by": "Country",
        "min_support": 0.05,
        "min_confidence": 0.2,
        "input_rows": 1000,
        "accepted_rows": 990,
        "rejected_rows": 10,
        "rejected_by_reason": "{}",
        "filtered_rows": 0,
        "baskets": N_BASKETS * len(counts),
        "distinct_items": len({i for s in counts.values() for k in s for i in k}),
        "itemsets": sum(len(s) for s in counts.values()),
        "rules": n_rules,
        "params": "{}",
        "timings": "{}",
        "versions": "{}",
    }


def write_dataset(path: str, dataset: Dataset, rows: list[dict[str, Any]]) -> None:
    """One ``part-00000.parquet`` with the dataset's schema (as Spark would write it)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [pa.field(c.name, arrow_type(c.type), nullable=c.nullable) for c in dataset.columns]
    )
    table = pa.Table.from_pylist(rows, schema=schema)
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "part-00000.parquet", compression="snappy")
    (folder / "_SUCCESS").write_bytes(b"")


def _write_csv(path: Path, rows: Sequence[Mapping[str, Any]], cols: Sequence[str]) -> None:
    import csv

    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for r in rows:
            w.writerow([json.dumps(r[c]) if isinstance(r[c], list) else r[c] for c in cols])


@dataclass(frozen=True)
class SampleRun:
    dt: date
    run_id: str
    counts: Counts
    rules: Rules
    quarantine: Rejects


SAMPLE_RUNS = (
    SampleRun(DT_A, RUN_A, COUNTS_A, RULES_A, QUARANTINE_A),
    SampleRun(DT_B, RUN_B, COUNTS_B, RULES_B, QUARANTINE_B),
)


def write_run(root: Path, run: SampleRun, *, pad_bytes: int = 0) -> RunLayout:
    """Write one run's datasets, exports and ``_latest.json``; ``pad_bytes`` adds a big
    export file (to exercise multipart uploads)."""
    layout = RunLayout(str(root), run.dt, run.run_id)
    rules = [rule_row(s, a, c, run.counts) for s, pairs in run.rules.items() for a, c in pairs]
    started = datetime(run.dt.year, run.dt.month, run.dt.day, 1, 0, tzinfo=UTC)
    finished = started.replace(minute=5)
    write_dataset(layout.dataset("itemsets"), ITEMSETS, itemset_rows(run.counts))
    write_dataset(layout.dataset("rules"), RULES, rules)
    write_dataset(layout.dataset("quarantine"), QUARANTINE, quarantine_rows(run.quarantine))
    write_dataset(
        layout.dataset("runs"), RUNS, [run_row(started, finished, run.counts, len(rules))]
    )
    exports = Path(layout.exports)
    exports.mkdir(parents=True, exist_ok=True)
    counts = {
        "itemsets": sum(len(s) for s in run.counts.values()),
        "rules": len(rules),
        "rejected_rows": len(run.quarantine),
    }  # what the publisher checks the files against (the miner writes every count)
    report = {
        "run_id": run.run_id,
        "dt": run.dt.isoformat(),
        "finished_at": finished.isoformat(),
        "status": "succeeded",
        "counts": counts,
    }
    (exports / "run.json").write_text(json.dumps(report, indent=2) + "\n")
    _write_csv(exports / "rules.csv", rules, ("segment", "antecedent", "consequent", "lift"))
    _write_csv(exports / "itemsets.csv", itemset_rows(run.counts), ("segment", "items", "support"))
    if pad_bytes:
        import os

        (exports / "baskets-sample.bin").write_bytes(os.urandom(pad_bytes))
    latest = {"run_id": run.run_id, "dt": run.dt.isoformat(), "finished_at": finished.isoformat()}
    (root / LATEST).write_text(json.dumps(latest, indent=2) + "\n")
    return layout


def write_sample(root: Path, runs: tuple[SampleRun, ...] = SAMPLE_RUNS) -> list[RunLayout]:
    """Write every sample run under ``root`` (the last one is the latest)."""
    root.mkdir(parents=True, exist_ok=True)
    return [write_run(root, r) for r in runs]
