"""Parallel FP-Growth (Li et al., 2008) with a native FP-growth (pyfim) mining each group.

Spark prepares and moves the data; pyfim (C) does the mining:

1. **Count** items per segment in Spark (:func:`spark.items.count_items`, the same counts
   the run report uses); keep those with ``count >= min_count``
   (:func:`spark.fpcommon.min_count`) and number them by count descending, then name:
   id 0 is the most frequent item (:func:`vocabulary`). Only these counts reach the driver.
2. **Plan** groups: contiguous id ranges per segment, sized from the item counts by an
   estimate of each group's conditional database in memory; a group over
   ``group_memory_mb`` is split further (:func:`plan_groups`).
3. **Encode and send** (``mapInArrow``, vectorised with pyarrow/numpy): each basket becomes
   its frequent items' ids, ascending; for every group with an item in the basket, the
   prefix up to that group's last item is sent to the group (:func:`group_prefixes`).
4. **Shuffle** so that partition ``p`` holds exactly group ``p``: the partition key of a
   group is an integer whose Spark hash lands on ``p`` (:func:`partition_keys`).
5. **Mine** each group with ``fim.fpgrowth`` (``mapInArrow``) and keep the itemsets the
   group owns: those whose largest id (least frequent item) is in the group's range. Each
   frequent itemset is owned by exactly one group, and that group saw every basket
   containing it, so its count is exact. Ids become names only here, for output.

With one group (``engine auto`` on data that fits comfortably) step 3 sends each encoded
basket once and step 5 is a single pyfim call; on a local master that group is mined in
the driver instead (:func:`mine_in_driver`), which saves the Python workers and the shuffle.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from spark.arrow_rows import to_arrow
from spark.explosion import ExplosionGuard, bounds_from_lists
from spark.fpcommon import (
    as_itemsets,
    as_itemsets_table,
    check_max_size,
    empty_itemsets,
    min_count,
)
from spark.items import ItemCounts, count_items

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pyarrow as pa
    from pyspark.sql import DataFrame

# Memory estimate of a conditional database inside the mining worker (Arrow buffers,
# the Python lists handed to pyfim, and pyfim's own transaction bag and FP-tree), per
# basket and per item a group receives; used by :func:`total_bytes`,
# :func:`item_loads` and :meth:`RangeEstimate.bytes`.
BYTES_PER_BASKET = 120
BYTES_PER_ITEM = 80
# "fits comfortably": one group when the whole encoded data needs at most this share of
# the per-group budget.
COMFORT = 0.5
# Rows per chunk when encoding (one hash table of the vocabulary per chunk).
ENCODE_CHUNK_ROWS = 65_536
# Itemsets per output Arrow batch.
OUTPUT_BATCH = 65_536

ENCODED_SCHEMA = "part int, tx array<int>"
FOUND_SCHEMA = "segment string, items array<string>, count bigint, n_baskets bigint"


# ------------------------------------------------------------------ plan (pure)


@dataclass(frozen=True)
class Vocabulary:
    """One segment's frequent items: id ``i`` is ``items[i]``, counts descending."""

    segment: str
    n_baskets: int
    min_count: int
    items: tuple[str, ...]
    counts: tuple[int, ...]


@dataclass(frozen=True)
class Group:
    """Items ``lo..hi`` (ids, inclusive) of a segment; ``index`` is also its partition."""

    index: int
    segment: str
    lo: int
    hi: int
    est_bytes: int


@dataclass(frozen=True)
class GroupPlan:
    """The groups of a run, over all segments, and the memory estimate they were cut by."""

    groups: tuple[Group, ...]
    single_group: bool
    est_total_bytes: int
    budget_bytes: int
    oversize: tuple[int, ...] = ()
    """Groups of one item still over budget (cannot be split by item)."""
    in_driver: bool = False
    """Mined in the driver (local master, one group that fits comfortably)."""

    def describe(self) -> dict[str, Any]:
        return {
            "groups": len(self.groups),
            "single_group": self.single_group,
            "where": "driver" if self.in_driver else "executors",
            "estimated_mb": round(self.est_total_bytes / 2**20, 1),
            "group_memory_mb": round(self.budget_bytes / 2**20),
            "largest_group_mb": round(
                max((g.est_bytes for g in self.groups), default=0) / 2**20, 1
            ),
            "oversize_groups": list(self.oversize),
        }


def vocabulary(
    segment: str, n_baskets: int, threshold: int, counted: Sequence[tuple[str, int]]
) -> Vocabulary:
    """Frequent items of a segment ordered by count descending, then name."""
    kept = sorted(((i, c) for i, c in counted if c >= threshold), key=lambda ic: (-ic[1], ic[0]))
    return Vocabulary(
        segment, n_baskets, threshold, tuple(i for i, _ in kept), tuple(c for _, c in kept)
    )


def total_bytes(vocab: Vocabulary) -> int:
    """Estimated memory of the whole encoded segment as one group."""
    return vocab.n_baskets * BYTES_PER_BASKET + sum(vocab.counts) * BYTES_PER_ITEM


def item_loads(vocab: Vocabulary) -> list[int]:
    """Additive weight of item ``i``: its baskets' prefixes up to ``i`` (a basket holding
    ``i`` sends at most ``i + 1`` items, capped at twice the mean basket length). Used to
    balance the work between groups; a group's memory is :meth:`RangeEstimate.bytes`."""
    mean_len = sum(vocab.counts) / max(1, vocab.n_baskets)
    cap = max(1.0, 2.0 * mean_len)
    return [
        int(c * (BYTES_PER_BASKET + BYTES_PER_ITEM * min(i + 1, cap)))
        for i, c in enumerate(vocab.counts)
    ]


@dataclass(frozen=True)
class RangeEstimate:
    """Prefix sums over a vocabulary for :meth:`bytes` in O(1) per range."""

    n_baskets: int
    log_absent: tuple[float, ...]
    """``log_absent[i + 1]``: sum over ids ``<= i`` of ``log(1 - count / n)``."""
    mean_prefix: tuple[float, ...]
    """``mean_prefix[i + 1]``: frequent items with id ``<= i`` in the mean basket."""

    def bytes(self, lo: int, hi: int) -> int:
        """Estimated memory of the group of ids ``lo..hi``: the baskets holding at least
        one of its items (items taken as independent: co-bought items, the usual case,
        make it an over-estimate) times their prefix up to ``hi`` (the group's item plus
        the basket's items with a lower id). Within 1.1-1.4x of the measured size on
        skewed synthetic baskets (``tests/spark/test_engines.py``)."""
        absent = math.exp(self.log_absent[hi + 1] - self.log_absent[lo])
        senders = self.n_baskets * (1.0 - absent)
        # baskets holding a rare item are longer than the mean one (a basket is more
        # likely to hold a given item the more items it has): up to twice as long when
        # few baskets send, no bias when nearly all do
        bias = 1.0 + absent
        length = 1.0 + self.mean_prefix[hi + 1] * bias
        return int(senders * (BYTES_PER_BASKET + BYTES_PER_ITEM * length))


def range_estimate(vocab: Vocabulary) -> RangeEstimate:
    n = max(1, vocab.n_baskets)
    log_absent, mean_prefix = [0.0], [0.0]
    for c in vocab.counts:
        share = min(c / n, 1.0 - 1e-12)  # an item in every basket: log(0) otherwise
        log_absent.append(log_absent[-1] + math.log1p(-share))
        mean_prefix.append(mean_prefix[-1] + c / n)
    return RangeEstimate(vocab.n_baskets, tuple(log_absent), tuple(mean_prefix))


def split_ranges(loads: Sequence[int], lo: int, hi: int, parts: int) -> list[tuple[int, int]]:
    """Cut ``lo..hi`` into at most ``parts`` contiguous ranges of similar total load
    (at least two when ``parts >= 2`` and there are two items)."""
    if parts <= 1 or lo == hi:
        return [(lo, hi)]
    target = sum(loads[lo : hi + 1]) / parts
    out: list[tuple[int, int]] = []
    start, acc = lo, 0.0
    for i in range(lo, hi + 1):
        acc += loads[i]
        if acc >= target and i < hi and len(out) < parts - 1:
            out.append((start, i))
            start, acc = i + 1, 0.0
    if not out:  # the last item carries most of the load: cut just before it
        return [(lo, hi - 1), (hi, hi)]
    out.append((start, hi))
    return out


def bounded_ranges(
    loads: Sequence[int],
    ranges: Sequence[tuple[int, int]],
    budget: int,
    estimate: RangeEstimate,
) -> list[tuple[int, int]]:
    """Split every range whose estimated memory is over ``budget`` until each fits or is
    one item."""
    out: list[tuple[int, int]] = []
    todo = list(reversed(ranges))
    while todo:
        lo, hi = todo.pop()
        size = estimate.bytes(lo, hi)
        if size <= budget or lo == hi:
            out.append((lo, hi))
            continue
        parts = split_ranges(loads, lo, hi, max(2, math.ceil(size / budget)))
        todo.extend(reversed(parts))
    return out


def plan_groups(
    vocabs: Sequence[Vocabulary],
    *,
    groups: int | None,
    group_memory_mb: int,
    parallelism: int,
    allow_single: bool,
) -> GroupPlan:
    """Groups for every segment.

    ``groups`` fixes the number of groups per segment (before memory splitting). Without
    it: one group for a segment whose encoded baskets take at most ``COMFORT`` of the
    budget when ``allow_single`` (engine ``auto``), else enough groups to keep every core
    busy and each group within the budget.
    """
    if groups is not None and groups < 1:
        raise ValueError(f"groups must be >= 1, got {groups}")
    if group_memory_mb < 1:
        raise ValueError(f"group_memory_mb must be >= 1, got {group_memory_mb}")
    budget = group_memory_mb * 2**20
    planned: list[Group] = []
    oversize: list[int] = []
    est_total = 0
    single = True
    for vocab in vocabs:
        if not vocab.items:
            continue
        whole = total_bytes(vocab)
        est_total += whole
        last = len(vocab.items) - 1
        if groups is None and allow_single and whole <= COMFORT * budget:
            planned.append(Group(len(planned), vocab.segment, 0, last, whole))
            continue
        single = False
        loads = item_loads(vocab)
        estimate = range_estimate(vocab)
        want = groups or max(parallelism, math.ceil(estimate.bytes(0, last) / budget))
        ranges = split_ranges(loads, 0, last, want)
        for lo, hi in bounded_ranges(loads, ranges, budget, estimate):
            est = estimate.bytes(lo, hi)
            if est > budget:
                oversize.append(len(planned))
            planned.append(Group(len(planned), vocab.segment, lo, hi, est))
    return GroupPlan(tuple(planned), single, est_total, budget, tuple(oversize))


# ------------------------------------------------------------------ partition keys


def _rotl32(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & 0xFFFFFFFF


def spark_hash_int(value: int, seed: int = 42) -> int:
    """Spark's ``hash(int)`` (Murmur3 x86 32-bit, seed 42), as a signed 32-bit int."""
    k1 = (value & 0xFFFFFFFF) * 0xCC9E2D51 & 0xFFFFFFFF
    k1 = _rotl32(k1, 15) * 0x1B873593 & 0xFFFFFFFF
    h1 = _rotl32(seed ^ k1, 13)
    h1 = (h1 * 5 + 0xE6546B64) & 0xFFFFFFFF
    h1 ^= 4
    h1 = ((h1 ^ (h1 >> 16)) * 0x85EBCA6B) & 0xFFFFFFFF
    h1 = ((h1 ^ (h1 >> 13)) * 0xC2B2AE35) & 0xFFFFFFFF
    h1 ^= h1 >> 16
    return h1 - (1 << 32) if h1 >= 1 << 31 else h1


def partition_keys(n: int) -> list[int]:
    """``keys[p]``: an int that ``repartition(n, key)`` sends to partition ``p``."""
    keys: list[int | None] = [None] * n
    missing, candidate = n, 0
    while missing:
        p = spark_hash_int(candidate) % n
        if keys[p] is None:
            keys[p] = candidate
            missing -= 1
        candidate += 1
    return [k for k in keys if k is not None]


# ------------------------------------------------------------------ worker side (pure)


@dataclass(frozen=True)
class SegmentCode:
    """What the encoder needs for one segment: names by id and each id's partition key."""

    names: tuple[str, ...]
    key_of_id: tuple[int, ...]


@dataclass(frozen=True)
class EncodeContext:
    segments: dict[str, SegmentCode]


@dataclass(frozen=True)
class MineContext:
    groups_by_key: dict[int, Group]
    names: dict[str, tuple[str, ...]]
    n_baskets: dict[str, int]
    min_counts: dict[str, int]
    max_size: int | None = None


def encode_lists(
    items: pa.ListArray, names: pa.Array, *, ordered: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Baskets (lists of names) as ``(offsets, ids)``: each list's frequent items' ids
    (ascending when ``ordered``, else in input order); items not in ``names`` are dropped
    (a list may become empty)."""
    import numpy as np
    import pyarrow.compute as pc

    ids = pc.index_in(pc.list_flatten(items), value_set=names)
    valid = pc.is_valid(ids)
    id_np = pc.filter(ids, valid).to_numpy().astype(np.int64)
    parent_np = pc.filter(pc.list_parent_indices(items), valid).to_numpy()
    lengths = np.bincount(parent_np, minlength=len(items))
    offsets = np.zeros(len(items) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if ordered:  # parents are already ascending: one sort of (parent, id) keys
        width = max(1, len(names))
        id_np = np.sort(parent_np.astype(np.int64) * width + id_np) % width
    return offsets, id_np.astype(np.int32)


def group_prefixes(
    offsets: np.ndarray, ids: np.ndarray, key_of_id: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group-dependent transactions: ``(keys, out_offsets, out_ids)``.

    For each list and each group key among its ids (keys are non-decreasing along the
    ascending ids: groups are id ranges), one row: the list's prefix up to its last id of
    that group."""
    import numpy as np

    n = len(ids)
    if n == 0:
        return np.zeros(0, np.int32), np.zeros(1, np.int64), np.zeros(0, np.int32)
    keys = key_of_id[ids]
    lengths = np.diff(offsets)
    starts = np.repeat(offsets[:-1], lengths)
    ends = np.zeros(n, dtype=bool)
    ends[offsets[1:][lengths > 0] - 1] = True
    ends[:-1] |= keys[:-1] != keys[1:]
    end_pos = np.flatnonzero(ends)
    first = starts[end_pos]
    out_len = end_pos - first + 1
    out_off = np.zeros(len(end_pos) + 1, dtype=np.int64)
    np.cumsum(out_len, out=out_off[1:])
    take = np.arange(out_off[-1]) - np.repeat(out_off[:-1], out_len) + np.repeat(first, out_len)
    return keys[end_pos].astype(np.int32), out_off, ids[take]


def _chunks(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    import pyarrow as pa

    pending: list[pa.RecordBatch] = []
    size = 0
    for b in batches:
        pending.append(b)
        size += b.num_rows
        if size >= rows:
            yield pa.Table.from_batches(pending)
            pending, size = [], 0
    if size:
        yield pa.Table.from_batches(pending)


def encode_partition(
    ctx: EncodeContext, batches: Iterator[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    """``mapInArrow`` body: ``(segment, items)`` baskets to ``(part, tx)`` rows."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    codes = {
        s: (pa.array(c.names, pa.string()), np.asarray(c.key_of_id, dtype=np.int32))
        for s, c in ctx.segments.items()
    }
    for table in _chunks(batches, ENCODE_CHUNK_ROWS):
        for segment in pc.unique(table.column("segment")).to_pylist():
            if segment not in codes:
                continue
            names, key_of_id = codes[segment]
            rows = table.filter(pc.equal(table.column("segment"), segment))
            items = rows.column("items").combine_chunks()
            offsets, ids = encode_lists(items, names)
            keys, out_off, out_ids = group_prefixes(offsets, ids, key_of_id)
            if len(keys) == 0:
                continue
            tx = pa.ListArray.from_arrays(
                pa.array(out_off.astype(np.int32)), pa.array(out_ids, pa.int32())
            )
            yield pa.RecordBatch.from_arrays([pa.array(keys, pa.int32()), tx], ["part", "tx"])


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic GC off while millions of lists are built and mined: each of its
    collections walks every tracked object, and building the transactions triggers
    hundreds of them (measured at 1M baskets: 0.6 s -> 0.15 s for the lists). The lists
    hold only ints, so nothing cyclic is left behind."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def to_lists(tx: pa.ChunkedArray | pa.ListArray) -> list[list[int]]:
    """Arrow lists of ints as Python lists: one flat conversion through numpy (much
    faster than Arrow's per-scalar ``to_pylist``), then slices."""
    import pyarrow as pa

    arr = tx.combine_chunks() if isinstance(tx, pa.ChunkedArray) else tx
    # ``offsets`` index ``values`` (the whole child array, even for a slice)
    values = arr.values.to_numpy(zero_copy_only=False).tolist()
    bounds = arr.offsets.to_numpy().tolist()
    return [values[a:b] for a, b in pairwise(bounds)]


def mine_group(
    group: Group, transactions: list[list[int]], threshold: int, max_size: int | None
) -> list[tuple[tuple[int, ...], int]]:
    """pyfim FP-growth on a group's transactions; only the itemsets the group owns."""
    import fim

    limits = {"zmax": max_size} if max_size else {}
    # pyfim leaves out itemsets made only of items present in *every* transaction (they
    # have the empty set's support); one empty transaction keeps them, counts unchanged.
    transactions.append([])
    found = fim.fpgrowth(transactions, target="s", supp=-threshold, zmin=1, report="a", **limits)
    lo = group.lo
    return [(items, int(count)) for items, count in found if max(items) >= lo]


def mine_partition(ctx: MineContext, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """``mapInArrow`` body: a partition's groups (normally exactly one) mined and decoded."""
    import pyarrow as pa
    import pyarrow.compute as pc

    tables = [b for b in batches if b.num_rows]
    if not tables:
        return
    table = pa.Table.from_batches(tables)
    for key in pc.unique(table.column("part")).to_pylist():
        group = ctx.groups_by_key[key]
        rows = table.filter(pc.equal(table.column("part"), key))
        with gc_paused():
            found = mine_group(
                group, to_lists(rows.column("tx")), ctx.min_counts[group.segment], ctx.max_size
            )
        yield from _decoded(found, ctx.names[group.segment], group.segment, ctx)


def _decoded(
    found: list[tuple[tuple[int, ...], int]], names: tuple[str, ...], segment: str, ctx: MineContext
) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa

    n = ctx.n_baskets[segment]
    for start in range(0, len(found), OUTPUT_BATCH):
        part = found[start : start + OUTPUT_BATCH]
        yield pa.RecordBatch.from_arrays(
            [
                pa.array([segment] * len(part), pa.string()),
                pa.array([[names[i] for i in items] for items, _ in part], pa.list_(pa.string())),
                pa.array([c for _, c in part], pa.int64()),
                pa.array([n] * len(part), pa.int64()),
            ],
            ["segment", "items", "count", "n_baskets"],
        )


# ------------------------------------------------------------------ Spark side


def encode_context(vocabs: Sequence[Vocabulary], plan: GroupPlan, keys: list[int]) -> EncodeContext:
    segments = {}
    for vocab in vocabs:
        key_of_id = [0] * len(vocab.items)
        for g in plan.groups:
            if g.segment == vocab.segment:
                key_of_id[g.lo : g.hi + 1] = [keys[g.index]] * (g.hi - g.lo + 1)
        if vocab.items:
            segments[vocab.segment] = SegmentCode(vocab.items, tuple(key_of_id))
    return EncodeContext(segments)


def mine_context(
    vocabs: Sequence[Vocabulary], plan: GroupPlan, keys: list[int], max_size: int | None
) -> MineContext:
    return MineContext(
        groups_by_key={keys[g.index]: g for g in plan.groups},
        names={v.segment: v.items for v in vocabs},
        n_baskets={v.segment: v.n_baskets for v in vocabs},
        min_counts={v.segment: v.min_count for v in vocabs},
        max_size=max_size,
    )


@dataclass
class PfpRun:
    itemsets: DataFrame
    plan: GroupPlan
    vocab_sizes: dict[str, int]
    timings: dict[str, float] = field(default_factory=dict)
    """Driver path: seconds to fetch the baskets, encode them, and run pyfim."""
    table: pa.Table | None = None
    """Driver path: the itemsets as they are in the driver (``MINED_ITEMSETS``)."""


def mine_pfp(
    baskets: DataFrame,
    n_by_segment: dict[str, int],
    *,
    min_support: float,
    max_size: int | None = None,
    groups: int | None = None,
    group_memory_mb: int = 2048,
    parallelism: int = 1,
    allow_single: bool = True,
    local_master: bool = False,
    counts: ItemCounts | None = None,
    guard: ExplosionGuard | None = None,
) -> PfpRun:
    """Frequent itemsets of every segment of ``baskets`` (``segment``, ``items``).

    ``n_by_segment`` gives each segment's basket count (segments not listed are not
    mined). ``counts``: the item counts of ``baskets`` when the caller already has them
    (:func:`spark.items.count_items`; counted here otherwise). Returns the ``ITEMSETS``
    columns (lazy) and the plan.

    With ``allow_single`` on a local master (driver and executor are one machine), when
    the baskets fit comfortably in one group's budget, the single group is mined in the
    driver (:func:`mine_in_driver`): no Python workers, no shuffle.

    ``guard`` refuses, before anything is mined, a segment sure to find too many
    itemsets (:mod:`spark.explosion`): from the baskets the driver path fetched, or with
    one Spark pass otherwise."""
    from pyspark.sql import functions as F

    check_max_size(max_size)
    thresholds = {s: min_count(min_support, n) for s, n in n_by_segment.items()}
    wanted = baskets.where(F.col("segment").isin(list(thresholds))).select("segment", "items")
    if counts is None:
        counts = count_items(wanted, min_support)
    vocabs = [
        vocabulary(s, n_by_segment[s], thresholds[s], _candidates(counts, s)) for s in thresholds
    ]
    sizes = {v.segment: len(v.items) for v in vocabs}
    spark = baskets.sparkSession
    if allow_single and local_master and groups is None:
        occurrences = sum(c.occurrences for s, c in counts.segments.items() if s in thresholds)
        raw = driver_bytes(sum(n_by_segment.values()), occurrences)
        if raw <= COMFORT * group_memory_mb * 2**20:
            return mine_in_driver(wanted, vocabs, max_size, raw, group_memory_mb, guard)
    if guard is not None:
        guard.check_baskets(wanted, {v.segment: (v.min_count, frozenset(v.items)) for v in vocabs})
    plan = plan_groups(
        vocabs,
        groups=groups,
        group_memory_mb=group_memory_mb,
        parallelism=parallelism,
        allow_single=allow_single,
    )
    if not plan.groups:
        return PfpRun(empty_itemsets(spark), plan, sizes)
    keys = partition_keys(len(plan.groups))
    encoded = wanted.mapInArrow(
        partial(encode_partition, encode_context(vocabs, plan, keys)), ENCODED_SCHEMA
    )
    found = encoded.repartition(len(plan.groups), "part").mapInArrow(
        partial(mine_partition, mine_context(vocabs, plan, keys, max_size)), FOUND_SCHEMA
    )
    return PfpRun(_itemsets(found), plan, sizes)


def _candidates(counts: ItemCounts, segment: str) -> tuple[tuple[str, int], ...]:
    found = counts.segments.get(segment)
    return found.candidates if found is not None else ()


# Strings of the baskets, held by the driver as Arrow next to the encoded data.
BYTES_PER_NAME = 48


def driver_bytes(n_baskets: int, occurrences: int) -> int:
    """Estimated driver memory to mine baskets in the driver (before infrequent items
    are dropped): the basket strings as Arrow plus the encoded group."""
    return n_baskets * BYTES_PER_BASKET + occurrences * (BYTES_PER_ITEM + BYTES_PER_NAME)


def mine_in_driver(
    wanted: DataFrame,
    vocabs: Sequence[Vocabulary],
    max_size: int | None,
    raw_bytes: int,
    group_memory_mb: int,
    guard: ExplosionGuard | None = None,
) -> PfpRun:
    """One group per segment mined in the driver: each segment's baskets come over as
    Arrow (just the item lists), are encoded with pyarrow against the vocabulary counted
    in Spark, ``guard`` checks the encoded lists, pyfim mines, and only the itemsets go
    back."""
    import pyarrow as pa
    from pyspark.sql import functions as F

    from basket_core.progress import Laps

    groups: list[Group] = []
    found: list[pa.RecordBatch] = []
    laps = Laps(("fetch_s", "encode_s", "fpgrowth_s"))

    for vocab in vocabs:
        if not vocab.items:
            continue
        segment = vocab.segment
        table = to_arrow(wanted.where(F.col("segment") == segment).select("items"))
        laps.lap("fetch_s")
        group = Group(len(groups), segment, 0, len(vocab.items) - 1, total_bytes(vocab))
        groups.append(group)
        names = pa.array(vocab.items, pa.string())
        with gc_paused():
            transactions: list[list[int]] = []
            for chunk in table.column("items").chunks:  # Arrow batches: no big concat
                offsets, ids = encode_lists(chunk, names, ordered=False)
                arr = pa.ListArray.from_arrays(pa.array(offsets.astype("int32")), pa.array(ids))
                transactions.extend(to_lists(arr))
            del table
            if guard is not None and guard.at_risk(len(vocab.items)):
                guard.check(
                    [
                        bounds_from_lists(
                            segment, vocab.min_count, len(vocab.items), transactions, max_size
                        )
                    ]
                )
            laps.lap("encode_s")
            mined = mine_group(group, transactions, vocab.min_count, max_size)
            del transactions
        laps.lap("fpgrowth_s")
        ctx = MineContext({}, {segment: vocab.items}, {segment: vocab.n_baskets}, {}, max_size)
        found.extend(_decoded(mined, vocab.items, segment, ctx))
    spark = wanted.sparkSession
    plan = GroupPlan(tuple(groups), True, raw_bytes, group_memory_mb * 2**20, in_driver=True)
    sizes = {v.segment: len(v.items) for v in vocabs}
    timings = laps.rounded(3, prefix="driver_")
    if not found:
        empty = pa.table(
            {"segment": [], "items": [], "count": [], "n_baskets": []},
            schema=pa.schema(
                [
                    ("segment", pa.string()),
                    ("items", pa.list_(pa.string())),
                    ("count", pa.int64()),
                    ("n_baskets", pa.int64()),
                ]
            ),
        )
        return PfpRun(empty_itemsets(spark), plan, sizes, timings, as_itemsets_table(empty))
    table = pa.Table.from_batches(found)
    itemsets = _itemsets(spark.createDataFrame(table))
    return PfpRun(itemsets, plan, sizes, timings, as_itemsets_table(table))


def _itemsets(found: DataFrame) -> DataFrame:
    """``FOUND_SCHEMA`` rows as the ``ITEMSETS`` columns."""
    from pyspark.sql import functions as F

    return as_itemsets(
        found,
        segment=F.col("segment"),
        count=F.col("count"),
        n_baskets=F.col("n_baskets").cast("double"),
    )
