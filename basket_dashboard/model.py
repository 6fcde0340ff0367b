"""The data behind each panel, fetched through a :class:`~basket_dashboard.source.QuerySource`.

Pure glue over pack queries: no SQL here, no Plotly. ``run_id = ''`` means the latest run,
as in the queries.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import asdict, dataclass
from typing import Any

from basket_dashboard.source import QuerySource, Row

# (run_summary column, label) of the headline figures, in display order
HEADLINE: tuple[tuple[str, str], ...] = (
    ("baskets", "Baskets (transactions)"),
    ("distinct_items", "Items"),
    ("itemsets", "Itemsets"),
    ("rules", "Rules"),
    ("rejected_rows", "Rejected rows"),
    ("input_rows", "Input rows"),
)
RULE_COLUMNS: tuple[str, ...] = (
    "segment",
    "antecedent",
    "consequent",
    "support",
    "confidence",
    "lift",
    "leverage",
    "conviction",
    "count",
    "fisher_p_adjusted",
    "improvement",
    "redundant",
)
CHANGE_KINDS: tuple[str, ...] = ("new", "strengthened", "weakened", "gone")
"""The kinds of ``rule_changes`` rows, in display order."""
CSV_LIMIT = 1_000_000


@dataclass(frozen=True)
class Filters:
    """What the user picked: one run, one segment and the rule thresholds (``max_p``:
    largest adjusted Fisher p-value, 1 = every rule; ``include_redundant``: 0 hides rules
    a more general rule predicts at least as well)."""

    run_id: str = ""
    segment: str = ""
    min_support: float = 0.0
    min_confidence: float = 0.0
    min_lift: float = 0.0
    item: str = ""
    max_p: float = 1.0
    include_redundant: int = 1

    def __post_init__(self) -> None:
        for name in ("min_support", "min_confidence", "min_lift"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        if not math.isfinite(self.max_p) or not 0 < self.max_p <= 1:
            raise ValueError(f"max_p must be a number in (0, 1], got {self.max_p!r}")

    @classmethod
    def from_inputs(cls, **raw: Any) -> Filters:
        """Filters from form values: blanks and ``None`` become the defaults."""
        clean: dict[str, Any] = {}
        for key, value in raw.items():
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            if key.startswith("min_"):
                clean[key] = max(0.0, float(value))
            elif key == "max_p":
                p = float(value)
                clean[key] = 1.0 if not math.isfinite(p) or p <= 0 else min(1.0, p)
            elif key == "include_redundant":
                clean[key] = 1 if value else 0
            else:
                clean[key] = str(value).strip()
        return cls(**clean)

    def rule_params(self) -> dict[str, Any]:
        return asdict(self)

    def edge_params(self) -> dict[str, Any]:
        params = asdict(self)
        params.pop("item")
        return params


def runs(src: QuerySource, top_n: int = 50) -> list[Row]:
    """Runs, newest first."""
    return src.run("run_list", top_n=top_n)


def headline(src: QuerySource, run_id: str = "") -> Row | None:
    rows = src.run("run_summary", run_id=run_id)
    return rows[0] if rows else None


def segments(src: QuerySource, run_id: str = "") -> list[str]:
    return [str(r["segment"]) for r in src.run("run_segments", run_id=run_id)]


def items(src: QuerySource, run_id: str = "", segment: str = "") -> list[str]:
    return [str(r["item"]) for r in src.run("run_items", run_id=run_id, segment=segment)]


def top_itemsets(
    src: QuerySource, run_id: str = "", segment: str = "", min_size: int = 1, top_n: int = 15
) -> list[Row]:
    return src.run("run_itemsets", run_id=run_id, segment=segment, min_size=min_size, top_n=top_n)


def rules(src: QuerySource, filters: Filters, top_n: int = 1000) -> list[Row]:
    return src.run("run_rules", top_n=top_n, **filters.rule_params())


def fmt_p(value: Any) -> str:
    """A p-value: fixed down to 0.001, then scientific."""
    if value is None:
        return ""
    v = float(value)
    return f"{v:.3f}" if v >= 0.001 else f"{v:.1e}"


def fmt_flag(value: Any) -> str:
    return "" if value is None else "yes" if value else "no"


def edges(src: QuerySource, filters: Filters, top_n: int = 60) -> list[Row]:
    return src.run("rule_edges", top_n=top_n, **filters.edge_params())


def previous_run(run_list: list[Row], run_id: str) -> str | None:
    """The run just before ``run_id`` in a newest-first list (``''``: the latest run)."""
    ids = [str(r["run_id"]) for r in run_list]
    if not ids:
        return None
    at = 0 if not run_id else ids.index(run_id) if run_id in ids else -1
    return ids[at + 1] if 0 <= at < len(ids) - 1 else None


@dataclass(frozen=True)
class ChangeCounts:
    """How many of a run's rules changed, by kind, against the run it was compared with
    (``previous_run_id`` None: no changes recorded)."""

    previous_run_id: str | None
    previous_dt: str | None
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def change_counts(src: QuerySource, run_id: str = "", segment: str = "") -> ChangeCounts:
    """The counts of every recorded rule change of ``run_id`` (not only of the rows a
    table shows). No changes recorded: a first run of its kind, no rule crossed the
    thresholds, or a run mined before rule changes were recorded."""
    rows = src.run("run_change_counts", run_id=run_id, segment=segment)
    counts = dict.fromkeys(CHANGE_KINDS, 0)
    for r in rows:
        counts[str(r["change"])] = counts.get(str(r["change"]), 0) + int(r["rules"])
    if not rows:
        return ChangeCounts(None, None, counts)
    return ChangeCounts(str(rows[0]["previous_run_id"]), str(rows[0]["previous_dt"]), counts)


def changes(src: QuerySource, run_id: str = "", segment: str = "", top_n: int = 200) -> list[Row]:
    """The ``top_n`` first of ``run_id``'s recorded rule changes (by kind, then the largest
    lift moves), as the miner recorded them against the previous run of its kind."""
    return src.run("run_changes", run_id=run_id, segment=segment, top_n=top_n)


def change_summary(counts: ChangeCounts) -> str:
    """One line over the changes panel."""
    if counts.previous_run_id is None:
        return (
            "No rule changes recorded for this run (the first run of its kind, none beyond "
            "the thresholds, or mined before changes were recorded)."
        )
    when = f" of {counts.previous_dt}" if counts.previous_dt else ""
    listed = ", ".join(f"{fmt_count(n)} {k}" for k, n in counts.counts.items())
    return f"Compared with run {counts.previous_run_id}{when}: {listed}"


def bought_together(src: QuerySource, item: str, segment: str = "", top_n: int = 20) -> list[Row]:
    """Items most often in the same basket as ``item`` (latest run)."""
    if not item:
        return []
    return src.run("bought_together", item=item, segment=segment, top_n=top_n)


def rules_csv(rows: list[Row], columns: tuple[str, ...] = RULE_COLUMNS) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([r.get(c) for c in columns])
    return buf.getvalue()


def fmt_count(value: Any) -> str:
    return "–" if value is None else f"{int(value):,}"


def fmt_measure(value: Any, digits: int = 3) -> str:
    if value is None:
        return ""
    v = float(value)
    return "∞" if math.isinf(v) else f"{v:.{digits}f}"
