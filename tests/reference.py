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


def mlxtend_rules(baskets: list[list[str]], min_count: int, min_confidence: float) -> pd.DataFrame:
    """Single-consequent rules from mlxtend, keyed by (antecedent, consequent) tuples."""
    from mlxtend.frequent_patterns import association_rules, fpgrowth
    from mlxtend.preprocessing import TransactionEncoder

    te = TransactionEncoder()
    onehot = pd.DataFrame(te.fit(baskets).transform(baskets), columns=te.columns_)
    freq = fpgrowth(onehot, min_support=min_count / len(baskets), use_colnames=True)
    rules = association_rules(
        freq, num_itemsets=len(baskets), metric="confidence", min_threshold=min_confidence
    )
    rules = rules[rules["consequents"].map(len) == 1].copy()
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
