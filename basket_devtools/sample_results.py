"""A small, known result set in the miner's exact layout and schemas, written with pyarrow.

Two runs over two segments (``FR``, ``UK``; 100 baskets each), with every rule's measures
computed from its counts (the significance and redundancy ones too: chi-squared, Fisher's
one-sided exact test, Bonferroni over the run's rules, improvement over the empty
antecedent), and the second run's ``rule_changes`` against the first as the miner writes
them (the first run's is empty: it has no previous run). Tests check each analyst query
against these numbers, and it lets anyone try ``basket query --backend local`` without
running Spark.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from basket_core.layout import LATEST, RunLayout
from basket_core.rule_key import rule_key
from basket_core.schemas import (
    ITEM_EDGES,
    ITEMSETS,
    QUARANTINE,
    RULE_CHANGES,
    RULES,
    RUNS,
    Dataset,
    arrow_type,
)

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


CHANGE_LIFT_RATIO = 1.1
"""The sample's ``rule_changes`` thresholds (``mining.change_lift_ratio`` and
``change_confidence_delta``): a rule is strengthened or weakened when its lift moved by
this factor or its confidence by this much; they give the changes the pack query
``rule_changes`` reports at ``min_lift_change = 0.1``."""
CHANGE_CONFIDENCE_DELTA = 0.1


def _r(x: float) -> float:
    return round(x, 6)


def _sig(x: float) -> float:
    """Rounded to 6 significant digits (p-values can be tiny)."""
    return float(f"{x:.6g}")


def fisher_greater(n_ac: int, n_a: int, n_c: int, n: int) -> float:
    """Fisher's exact test of the 2x2 table of A and C, one-sided (``greater``): the
    hypergeometric probability of ``n_ac`` or more baskets with both."""
    from math import comb

    top = min(n_a, n_c)
    return min(
        1.0,
        sum(comb(n_c, k) * comb(n - n_c, n_a - k) for k in range(n_ac, top + 1)) / comb(n, n_a),
    )


def chi_squared(n_ac: int, n_a: int, n_c: int, n: int) -> float:
    """Pearson's chi-squared statistic of the 2x2 table (no continuity correction)."""
    num = n * (n_ac * (n - n_a - n_c + n_ac) - (n_a - n_ac) * (n_c - n_ac)) ** 2
    return num / (n_a * (n - n_a) * n_c * (n - n_c))


def chi_squared_p(x: float) -> float:
    """The p-value of a chi-squared statistic with one degree of freedom."""
    from math import erfc, sqrt

    return erfc(sqrt(x / 2))


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
        "consequent_size": len(c),
        "chi_squared": _r(chi_squared(n_ac, n_a, n_c, N_BASKETS)),
        "chi_squared_p": _sig(chi_squared_p(chi_squared(n_ac, n_a, n_c, N_BASKETS))),
        "fisher_p": _sig(fisher_greater(n_ac, n_a, n_c, N_BASKETS)),
        "fisher_p_adjusted": None,  # set by rule_rows: it depends on the run's rules
        # every sample rule has one antecedent item: its only proper subset is the empty
        # set, whose confidence is P(C)
        "improvement": _r(conf - s_c),
        "redundant": conf - s_c <= 0,
        "rule_key": rule_key(segment, a, c),
    }


def edge_rows(rules: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The ``item_edges`` of rule rows, as :func:`spark.edges.item_edges` derives them."""
    edges: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in rules:
        for source in r["antecedent"]:
            for target in r["consequent"]:
                key = (r["segment"], source, target)
                edge = edges.setdefault(
                    key,
                    {"segment": key[0], "source": source, "target": target, "rules": 0}
                    | dict.fromkeys(("lift", "confidence", "support"), float("-inf")),
                )
                edge["rules"] += 1
                for measure in ("lift", "confidence", "support"):
                    edge[measure] = max(edge[measure], r[measure])
    return list(edges.values())


def rule_rows(counts: Counts, rules: Rules) -> list[dict[str, Any]]:
    """Every rule of a run, with ``fisher_p_adjusted`` by Bonferroni over the run's rules
    (``mining.p_adjust``'s default)."""
    rows = [rule_row(s, a, c, counts) for s, pairs in rules.items() for a, c in pairs]
    for row in rows:
        row["fisher_p_adjusted"] = _sig(min(1.0, row["fisher_p"] * len(rows)))
    return rows


def _proportion_change_p(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided p-value of a two-proportion z-test (pooled) that k1/n1 == k2/n2."""
    from math import erfc, sqrt

    pooled = (k1 + k2) / (n1 + n2)
    se = sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    return erfc(abs(k2 / n2 - k1 / n1) / se / sqrt(2))


def rule_change_rows(previous: SampleRun, current: SampleRun) -> list[dict[str, Any]]:
    """``rule_changes`` of ``current`` against ``previous``, as the miner writes them:
    rules new, gone, or whose lift moved by :data:`CHANGE_LIFT_RATIO` or confidence by
    :data:`CHANGE_CONFIDENCE_DELTA` (a small epsilon keeps a change of exactly the
    threshold in)."""
    before = {
        (r["segment"], tuple(r["antecedent"]), tuple(r["consequent"])): r
        for r in rule_rows(previous.counts, previous.rules)
    }
    after = {
        (r["segment"], tuple(r["antecedent"]), tuple(r["consequent"])): r
        for r in rule_rows(current.counts, current.rules)
    }
    rows = []
    for key in sorted(before.keys() | after.keys()):
        b, a = before.get(key), after.get(key)
        if b is None:
            change = "new"
        elif a is None:
            change = "gone"
        else:
            ratio = a["lift"] / b["lift"]
            delta = a["confidence"] - b["confidence"]
            eps = 1e-9
            if ratio >= CHANGE_LIFT_RATIO - eps or delta >= CHANGE_CONFIDENCE_DELTA - eps:
                change = "strengthened"
            elif ratio <= 1 / CHANGE_LIFT_RATIO + eps or -delta >= CHANGE_CONFIDENCE_DELTA - eps:
                change = "weakened"
            else:
                continue
        rows.append(
            {
                "segment": key[0],
                "antecedent": list(key[1]),
                "consequent": list(key[2]),
                "change": change,
                "previous_run_id": previous.run_id,
                "previous_dt": previous.dt.isoformat(),
                "lift_before": b["lift"] if b else None,
                "lift_after": a["lift"] if a else None,
                "lift_ratio": _r(a["lift"] / b["lift"]) if a and b else None,
                "confidence_before": b["confidence"] if b else None,
                "confidence_after": a["confidence"] if a else None,
                "confidence_delta": _r(a["confidence"] - b["confidence"]) if a and b else None,
                "confidence_change_p": _sig(
                    _proportion_change_p(
                        b["count"], b["antecedent_count"], a["count"], a["antecedent_count"]
                    )
                )
                if a and b
                else None,
                "count_before": b["count"] if b else None,
                "count_after": a["count"] if a else None,
                "fisher_p_adjusted": a["fisher_p_adjusted"] if a else None,
            }
        )
    return rows


def itemset_rows(counts: Counts) -> list[dict[str, Any]]:
    """Every itemset; ``closed``/``maximal`` among the segment's listed (frequent) ones."""

    def supersets(seg: str, items: tuple[str, ...]) -> list[int]:
        return [
            n
            for other, n in counts[seg].items()
            if len(other) > len(items) and set(items) < set(other)
        ]

    return [
        {
            "segment": seg,
            "items": list(items),
            "size": len(items),
            "count": n,
            "support": _r(n / N_BASKETS),
            "closed": n not in supersets(seg, items),
            "maximal": not supersets(seg, items),
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


def previous_run(run: SampleRun) -> SampleRun | None:
    """The sample run before ``run`` (what its ``rule_changes`` compare with), if any."""
    runs = list(SAMPLE_RUNS)
    place = runs.index(run) if run in runs else 0
    return runs[place - 1] if place > 0 else None


def write_run(root: Path, run: SampleRun, *, pad_bytes: int = 0) -> RunLayout:
    """Write one run's datasets, exports and ``_latest.json``; ``pad_bytes`` adds a big
    export file (to exercise multipart uploads). The first run's ``rule_changes`` is an
    empty Parquet file, as the miner writes it for a run with no previous run."""
    layout = RunLayout(str(root), run.dt, run.run_id)
    rules = rule_rows(run.counts, run.rules)
    previous = previous_run(run)
    changes = rule_change_rows(previous, run) if previous is not None else []
    started = datetime(run.dt.year, run.dt.month, run.dt.day, 1, 0, tzinfo=UTC)
    finished = started.replace(minute=5)
    write_dataset(layout.dataset("itemsets"), ITEMSETS, itemset_rows(run.counts))
    write_dataset(layout.dataset("rules"), RULES, rules)
    write_dataset(layout.dataset("item_edges"), ITEM_EDGES, edge_rows(rules))
    write_dataset(layout.dataset("rule_changes"), RULE_CHANGES, changes)
    write_dataset(layout.dataset("quarantine"), QUARANTINE, quarantine_rows(run.quarantine))
    write_dataset(
        layout.dataset("runs"), RUNS, [run_row(started, finished, run.counts, len(rules))]
    )
    exports = Path(layout.exports)
    exports.mkdir(parents=True, exist_ok=True)
    counts = {
        "itemsets": sum(len(s) for s in run.counts.values()),
        "rules": len(rules),
        "item_edges": len(edge_rows(rules)),
        "rule_changes": dict(Counter(c["change"] for c in changes)),  # by kind of change
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
