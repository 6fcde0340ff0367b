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
)
CSV_LIMIT = 1_000_000


@dataclass(frozen=True)
class Filters:
    """What the user picked: one run, one segment and the rule thresholds."""

    run_id: str = ""
    segment: str = ""
    min_support: float = 0.0
    min_confidence: float = 0.0
    min_lift: float = 0.0
    item: str = ""

    def __post_init__(self) -> None:
        for name in ("min_support", "min_confidence", "min_lift"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")

    @classmethod
    def from_inputs(cls, **raw: Any) -> Filters:
        """Filters from form values: blanks and ``None`` become the defaults."""
        clean: dict[str, Any] = {}
        for key, value in raw.items():
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            if key.startswith("min_"):
                clean[key] = max(0.0, float(value))
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


def edges(src: QuerySource, filters: Filters, top_n: int = 60) -> list[Row]:
    return src.run("rule_edges", top_n=top_n, **filters.edge_params())


def previous_run(run_list: list[Row], run_id: str) -> str | None:
    """The run just before ``run_id`` in a newest-first list (``''``: the latest run)."""
    ids = [str(r["run_id"]) for r in run_list]
    if not ids:
        return None
    at = 0 if not run_id else ids.index(run_id) if run_id in ids else -1
    return ids[at + 1] if 0 <= at < len(ids) - 1 else None


def changes(
    src: QuerySource, run_list: list[Row], run_id: str = ""
) -> tuple[str | None, list[Row]]:
    """``(earlier run id, rule changes from it to run_id)``; ``(None, [])`` with no earlier run."""
    current = run_id or (str(run_list[0]["run_id"]) if run_list else "")
    before = previous_run(run_list, current)
    if before is None:
        return None, []
    return before, src.run("rule_changes", run_a=before, run_b=current)


def change_counts(rows: list[Row]) -> dict[str, int]:
    counts = {k: 0 for k in ("new", "vanished", "strengthened", "weakened")}
    for r in rows:
        counts[str(r["change"])] = counts.get(str(r["change"]), 0) + 1
    return counts


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
