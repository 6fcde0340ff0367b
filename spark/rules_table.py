"""Association rules derived in the driver from itemsets held there as Arrow.

:func:`spark.rules.untested_rules` derives the rules with joins on the cluster. When the
itemsets are few enough to be held in the driver (``mining.held_rows``), that plan costs
more than its data: a warm 100k-basket mine over Spark Connect spent ~1.0-1.9 s on it for
1,569 itemsets and 893 rules (six broadcasts, two shuffles and a sort aggregate,
planned and scheduled for a few thousand rows). :func:`untested_rules_table` computes
the same table in the driver: the splits and their lookups in a dict, the measures from
the one registry (:mod:`spark.metrics`, on numpy arrays), chi-squared, improvement and
the rule key. Same rows, same columns, same types and nullability, the same doubles
(``tests/spark/test_rules_table.py`` holds it to the cluster's result).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from basket_core import rule_key
from spark.metrics import METRICS, NUMPY_OPS
from spark.significance import chi_squared

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import numpy.typing as npt
    import pyarrow as pa

    from spark.rules import RuleOptions

Key = tuple[str, tuple[str, ...]]


def untested_rules_table(
    itemsets: pa.Table, options: RuleOptions, baskets: Mapping[str, int]
) -> pa.Table:
    """:func:`spark.rules.untested_rules` of the ``ITEMSETS`` table ``itemsets``;
    ``baskets`` is the number of baskets per segment."""
    import numpy as np

    from spark.redundancy import check_antecedent_size
    from spark.rules import BASKETS, check_split_size

    segments = itemsets.column("segment").to_pylist()
    item_lists = itemsets.column("items").to_pylist()
    counts = itemsets.column("count").to_pylist()
    supports = itemsets.column("support").to_pylist()
    found: dict[Key, tuple[int, float]] = {
        (segment, tuple(items)): (count, support)
        for segment, items, count, support in zip(
            segments, item_lists, counts, supports, strict=True
        )
    }
    largest = max((len(items) for items in item_lists), default=0)
    if options.max_consequent > 1:
        check_split_size(largest)
    check_antecedent_size(largest)

    kept = _Kept()
    for segment, items, count, support in zip(segments, item_lists, counts, supports, strict=True):
        if len(items) < 2:
            continue
        for antecedent, consequent in _splits(items, options.max_consequent):
            left = found.get((segment, antecedent))
            right = found.get((segment, consequent))
            if left is None or right is None or count / left[0] < options.min_confidence:
                continue
            kept.add(segment, antecedent, consequent, (count, support), left, right)

    n = np.array([baskets[s] for s in kept.segment], dtype=np.int64)
    count_a = np.array(kept.count, dtype=np.int64)
    antecedent_count = np.array(kept.antecedent_count, dtype=np.int64)
    consequent_count = np.array(kept.consequent_count, dtype=np.int64)
    sAC = np.array(kept.support, dtype=np.float64)
    sA = np.array(kept.antecedent_support, dtype=np.float64)
    sC = np.array(kept.consequent_support, dtype=np.float64)
    columns: dict[str, Any] = {
        "segment": kept.segment,
        "antecedent": [list(a) for a in kept.antecedent],
        "consequent": [list(c) for c in kept.consequent],
        "antecedent_size": [len(a) for a in kept.antecedent],
        "consequent_size": [len(c) for c in kept.consequent],
        "antecedent_count": antecedent_count,
        "consequent_count": consequent_count,
        "count": count_a,
        "antecedent_support": sA,
        "consequent_support": sC,
        "support": sAC,
    }
    confidence = count_a.astype(np.float64) / antecedent_count.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        for name, metric in METRICS.items():
            # confidence from the integer counts, as on the cluster (exact at the threshold)
            columns[name] = confidence if name == "confidence" else metric(sAC, sA, sC, NUMPY_OPS)
        only_a = antecedent_count - count_a
        only_c = consequent_count - count_a
        neither = n - count_a - only_a - only_c
        as_double = [x.astype(np.float64) for x in (count_a, only_a, only_c, neither)]
        columns["chi_squared"] = chi_squared(
            as_double[0], as_double[1], as_double[2], as_double[3], NUMPY_OPS
        )
        sub_count, sub_antecedent_count = _best_sub_rules(kept, found)
        has_sub = sub_antecedent_count > 0
        sub_confidence = np.where(
            has_sub, sub_count.astype(np.float64) / sub_antecedent_count.astype(np.float64), 0.0
        )
    # the empty antecedent's rule: confidence P(C) = consequent_count / baskets
    empty_better = count_a * n <= consequent_count * antecedent_count
    sub_better = has_sub & (count_a * sub_antecedent_count <= sub_count * antecedent_count)
    columns["improvement"] = confidence - np.maximum(sC, sub_confidence)
    columns["redundant"] = empty_better | sub_better
    columns["rule_key"] = [
        rule_key.rule_key(s, a, c)
        for s, a, c in zip(kept.segment, kept.antecedent, kept.consequent, strict=True)
    ]
    columns[BASKETS] = n
    import pyarrow as pa

    schema = untested_schema()
    return pa.table({field.name: columns[field.name] for field in schema}, schema=schema)


def untested_schema() -> pa.Schema:
    """The columns of :func:`spark.rules.untested_rules` as Arrow: the ``RULES`` columns
    as :mod:`basket_core.schemas` declares them (Spark writes every Parquet column as
    nullable whatever the frame says, so the files do not depend on where the rules were
    derived), without the p-values, then the segment's basket count."""
    import pyarrow as pa

    from basket_core.schemas import RULES, arrow_schema
    from spark.rules import BASKETS, P_VALUES

    declared = arrow_schema(RULES.without(*P_VALUES))
    return declared.append(pa.field(BASKETS, pa.int64(), nullable=False))


@dataclass
class _Kept:
    """The rules kept so far, one list per column."""

    segment: list[str] = field(default_factory=list)
    antecedent: list[tuple[str, ...]] = field(default_factory=list)
    consequent: list[tuple[str, ...]] = field(default_factory=list)
    count: list[int] = field(default_factory=list)
    support: list[float] = field(default_factory=list)
    antecedent_count: list[int] = field(default_factory=list)
    antecedent_support: list[float] = field(default_factory=list)
    consequent_count: list[int] = field(default_factory=list)
    consequent_support: list[float] = field(default_factory=list)

    def add(
        self,
        segment: str,
        antecedent: tuple[str, ...],
        consequent: tuple[str, ...],
        both: tuple[int, float],
        left: tuple[int, float],
        right: tuple[int, float],
    ) -> None:
        self.segment.append(segment)
        self.antecedent.append(antecedent)
        self.consequent.append(consequent)
        self.count.append(both[0])
        self.support.append(both[1])
        self.antecedent_count.append(left[0])
        self.antecedent_support.append(left[1])
        self.consequent_count.append(right[0])
        self.consequent_support.append(right[1])


def _splits(
    items: Sequence[str], max_consequent: int
) -> Iterator[tuple[tuple[str, ...], tuple[str, ...]]]:
    """(antecedent, consequent) of every split of ``items`` with both sides non-empty and
    at most ``max_consequent`` consequent items; both keep the items' order."""
    k = len(items)
    for mask in range(1, (1 << k) - 1):
        if mask.bit_count() > max_consequent:
            continue
        yield (
            tuple(items[i] for i in range(k) if not (mask >> i) & 1),
            tuple(items[i] for i in range(k) if (mask >> i) & 1),
        )


def _best_sub_rules(
    rules: _Kept, found: Mapping[Key, tuple[int, float]]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """For each rule, the counts (A' ∪ C, A') of its most confident proper sub-rule
    ``A' -> C`` (A' non-empty; :func:`spark.redundancy.best_sub_rules`), 0 and 0 for a
    rule with one antecedent item."""
    import numpy as np

    segments, antecedents, consequents = rules.segment, rules.antecedent, rules.consequent
    sub_count = np.zeros(len(segments), dtype=np.int64)
    sub_antecedent = np.zeros(len(segments), dtype=np.int64)
    for row, (segment, antecedent, consequent) in enumerate(
        zip(segments, antecedents, consequents, strict=True)
    ):
        k = len(antecedent)
        best: tuple[float, int, int] | None = None
        for mask in range(1, (1 << k) - 1):
            sub = tuple(antecedent[i] for i in range(k) if (mask >> i) & 1)
            union = found.get((segment, tuple(sorted((*sub, *consequent)))))
            alone = found.get((segment, sub))
            if union is None or alone is None:
                continue
            ratio = union[0] / alone[0]
            if best is None or ratio > best[0]:
                best = (ratio, union[0], alone[0])
        if best is not None:
            sub_count[row], sub_antecedent[row] = best[1], best[2]
    return sub_count, sub_antecedent
