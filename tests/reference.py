"""Independent reference results for the miner's tests: brute-force counting,
pyfim (itemsets) and mlxtend (rules with every metric)."""

from __future__ import annotations

import csv
import json
import random
from collections import Counter
from itertools import combinations
from pathlib import Path

import pandas as pd

Itemsets = dict[frozenset[str], int]

MLXTEND_METRICS = {
    "antecedent_support": "antecedent support",
    "consequent_support": "consequent support",
    "support": "support",
    "confidence": "confidence",
    "lift": "lift",
    "leverage": "leverage",
    "conviction": "conviction",
    "zhangs_metric": "zhangs_metric",
    "jaccard": "jaccard",
    "kulczynski": "kulczynski",
    "certainty": "certainty",
}
"""Our rule columns -> mlxtend's association_rules columns of the same measure."""


ODD_NAMES = ["Zebra", "apple", "Äpfel", "é", "e", "a,b", 'say "hi"', "日本", "", "z z"]
"""Item names whose order differs between byte, case and accent orderings."""


def random_baskets(
    n: int, n_items: int, *, seed: int, mean_size: float = 3.0, planted: bool = True
) -> list[list[str]]:
    """Skewed item popularity plus a few planted co-occurrences."""
    rng = random.Random(seed)
    items = [f"item{i:03d}" for i in range(n_items)]
    weights = [1.0 / (i + 1) ** 0.9 for i in range(n_items)]
    out = []
    for _ in range(n):
        size = max(1, min(n_items, int(rng.expovariate(1 / mean_size)) + 1))
        basket = set(rng.choices(items, weights, k=size))
        if planted and items[3] in basket and rng.random() < 0.7:
            basket.add(items[7])
        if planted and {items[1], items[2]} <= basket and rng.random() < 0.8:
            basket.add(items[min(11, n_items - 1)])
        out.append(sorted(basket))
    return out


def brute_force(baskets: list[list[str]], min_count: int, max_size: int | None = None) -> Itemsets:
    counts: Counter[frozenset[str]] = Counter()
    for b in baskets:
        top = len(b) if max_size is None else min(len(b), max_size)
        for k in range(1, top + 1):
            for combo in combinations(sorted(set(b)), k):
                counts[frozenset(combo)] += 1
    return {s: c for s, c in counts.items() if c >= min_count}


def pyfim_itemsets(baskets: list[list[str]], min_count: int) -> Itemsets:
    import fim

    found = fim.fpgrowth(baskets, target="s", supp=-min_count, zmin=1, report="a")
    return {frozenset(items): int(count) for items, count in found}


def mlxtend_rules(
    baskets: list[list[str]], min_count: int, min_confidence: float, max_consequent: int = 1
) -> pd.DataFrame:
    """Rules from mlxtend with at most ``max_consequent`` consequent items, keyed by
    (antecedent, consequent) tuples."""
    from mlxtend.frequent_patterns import association_rules, fpgrowth
    from mlxtend.preprocessing import TransactionEncoder

    te = TransactionEncoder()
    onehot = pd.DataFrame(te.fit(baskets).transform(baskets), columns=te.columns_)
    freq = fpgrowth(onehot, min_support=min_count / len(baskets), use_colnames=True)
    rules = association_rules(
        freq, num_itemsets=len(baskets), metric="confidence", min_threshold=min_confidence
    )
    rules = rules[rules["consequents"].map(len) <= max_consequent].copy()
    rules["key"] = [
        (tuple(sorted(a)), tuple(sorted(c)))
        for a, c in zip(rules["antecedents"], rules["consequents"], strict=True)
    ]
    return rules.set_index("key")


def write_basket_file(path: Path, baskets: list[list[str]], sep: str = ",") -> Path:
    path.write_text("".join(sep.join(b) + "\n" for b in baskets), encoding="utf-8")
    return path


def write_long_csv(path: Path, baskets: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["InvoiceNo", "Description", "Quantity", "UnitPrice", "InvoiceDate"])
        for n, b in enumerate(baskets):
            for item in b:
                w.writerow([f"T{n:06d}", item, 1, "1.50", f"2026-11-{1 + n % 28:02d} 10:00:00"])
    return path


def read_itemsets(output: Path) -> Itemsets:
    df = pd.read_parquet(output / "itemsets")
    return {frozenset(items): int(c) for items, c in zip(df["items"], df["count"], strict=True)}


def read_rules(output: Path) -> pd.DataFrame:
    df = pd.read_parquet(output / "rules")
    df["key"] = [
        (tuple(a), tuple(c)) for a, c in zip(df["antecedent"], df["consequent"], strict=True)
    ]
    return df.set_index("key")


def read_report(output: Path) -> dict:  # type: ignore[type-arg]
    (path,) = list((output / "exports").glob("dt=*/run_id=*/**/run.json"))
    return json.loads(path.read_text())


def pyfim_rule_tests(
    baskets: list[list[str]], min_count: int, min_confidence: float
) -> dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[float, float]]:
    """pyfim's own rule evaluation: (chi-squared p-value, one-sided Fisher exact p-value)
    of every single-consequent rule, keyed like :func:`mlxtend_rules`."""
    import fim

    out: dict[tuple[tuple[str, ...], tuple[str, ...]], list[float]] = {}
    for measure in ("p", "s"):  # chi2pval, fetsupp
        found = fim.fpgrowth(
            baskets,
            target="r",
            supp=-min_count,
            conf=min_confidence * 100,
            zmin=2,
            report="e",
            eval=measure,
            thresh=100,
            mode="o",  # a rule's support is that of body and head, as ours
        )
        for head, body, value in found:
            out.setdefault((tuple(sorted(body)), (head,)), []).append(float(value))
    return {key: (values[0], values[1]) for key, values in out.items()}


def pyfim_itemsets_of_kind(
    baskets: list[list[str]], min_count: int, kind: str
) -> set[frozenset[str]]:
    """Closed ('c') or maximal ('m') frequent itemsets from pyfim."""
    import fim

    found = fim.fpgrowth(baskets, target=kind, supp=-min_count, zmin=1, report="a")
    return {frozenset(items) for items, _ in found}


def itemsets_of_kind(found: Itemsets, kind: str) -> set[frozenset[str]]:
    """Closed ('c': no proper superset has the same count) or maximal ('m': no proper
    superset is frequent) itemsets of ``found``, by the definitions. pyfim's
    ``target='c'`` leaves out the closure of the empty set (the items in every basket,
    e.g. ``{a}`` when ``a`` is in all of them), which is closed by the definition."""
    out = set()
    for items, count in found.items():
        supersets = [c for s, c in found.items() if items < s]
        if kind == "m" and not supersets:
            out.add(items)
        if kind == "c" and all(c != count for c in supersets):
            out.add(items)
    return out


def p_adjust(p: list[float], method: str) -> list[float]:
    """R's ``p.adjust`` (bonferroni, holm, fdr = BH), transcribed from its source."""
    n = len(p)
    if method == "bonferroni":
        return [min(1.0, n * x) for x in p]
    out = [0.0] * n
    if method == "holm":
        order = sorted(range(n), key=lambda i: p[i])
        running = 0.0
        for rank, i in enumerate(order, start=1):
            running = max(running, (n - rank + 1) * p[i])
            out[i] = min(1.0, running)
        return out
    if method == "fdr":
        order = sorted(range(n), key=lambda i: p[i], reverse=True)
        running = float("inf")
        for k, i in enumerate(order):
            rank = n - k
            running = min(running, n / rank * p[i])
            out[i] = min(1.0, running)
        return out
    raise ValueError(method)


def improvement(
    itemsets: Itemsets, n_baskets: int, antecedent: tuple[str, ...], consequent: tuple[str, ...]
) -> tuple[float, bool]:
    """(improvement, redundant) of a rule by brute force over every proper subset of the
    antecedent (the empty one included), with exact fractions for the flag."""
    from fractions import Fraction

    whole = itemsets[frozenset(antecedent) | frozenset(consequent)]
    conf = Fraction(whole, itemsets[frozenset(antecedent)])
    best = Fraction(itemsets[frozenset(consequent)], n_baskets)
    for k in range(1, len(antecedent)):
        for sub in combinations(antecedent, k):
            sub_conf = Fraction(
                itemsets[frozenset(sub) | frozenset(consequent)], itemsets[frozenset(sub)]
            )
            best = max(best, sub_conf)
    return float(conf) - float(best), conf <= best


def fisher_greater_exact(a: int, with_a: int, with_c: int, n: int) -> float:
    """P(X >= a), X hypergeometric (``n`` baskets, ``with_a`` with A, ``with_c`` drawn),
    summed in exact integer arithmetic and divided once, correctly rounded: the reference
    the p-values are held to. Each term comes from the one before by exact division."""
    from math import comb

    top = min(with_a, with_c)
    a = max(a, 0, with_a + with_c - n)
    if a > top:
        return 0.0
    # C(with_a, k) C(n - with_a, with_c - k), for k = a, a + 1, ..., top
    ways_a, ways_rest = comb(with_a, a), comb(n - with_a, with_c - a)
    tail = 0
    for k in range(a, top + 1):
        tail += ways_a * ways_rest
        ways_a = ways_a * (with_a - k) // (k + 1)
        drawn = with_c - k  # C(M, j - 1) = C(M, j) j / (M - j + 1), M = n - with_a
        ways_rest = ways_rest * drawn // (n - with_a - drawn + 1)
    return tail / comb(n, with_c)
