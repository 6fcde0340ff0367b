"""Engine choice and the PFP engine's parts: planning, partition keys, encoding, group
prefixes, memory splitting, and what a run records."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from basket.commands.mine import apply_mine_options
from spark import pfp
from spark.engine import resolve_engine
from spark.fpcommon import min_count
from spark.job import MineRequest, run_mine
from tests import reference as ref


def _vocab(baskets: list[list[str]], threshold: int, segment: str = "all") -> pfp.Vocabulary:
    counted = Counter(i for b in baskets for i in b)
    return pfp.vocabulary(segment, len(baskets), threshold, list(counted.items()))


def _covering(groups: tuple[pfp.Group, ...], segment: str, n_items: int) -> bool:
    """Groups of a segment are contiguous, ordered and cover ids 0..n_items-1 once."""
    ranges = [(g.lo, g.hi) for g in groups if g.segment == segment]
    return (
        ranges[0][0] == 0
        and ranges[-1][1] == n_items - 1
        and all(a[1] + 1 == b[0] and a[0] <= a[1] for a, b in pairwise(ranges))
    )


# ------------------------------------------------------------------ pure parts


def test_resolve_engine() -> None:
    assert resolve_engine("auto") == "pfp"
    assert resolve_engine("pfp") == "pfp"
    assert resolve_engine("mllib") == "mllib"
    with pytest.raises(ValueError, match="'spam'"):
        resolve_engine("spam")


def test_vocabulary_orders_by_count_then_name() -> None:
    v = pfp.vocabulary("s", 10, 2, [("b", 3), ("a", 3), ("c", 5), ("d", 1)])
    assert v.items == ("c", "a", "b") and v.counts == (5, 3, 3)


def test_auto_plans_one_group_when_it_fits_and_pfp_several() -> None:
    v = _vocab(ref.random_baskets(500, 30, seed=1), 5)
    one = pfp.plan_groups([v], groups=None, group_memory_mb=64, parallelism=2, allow_single=True)
    assert one.single_group and len(one.groups) == 1
    assert (one.groups[0].lo, one.groups[0].hi) == (0, len(v.items) - 1)
    several = pfp.plan_groups(
        [v], groups=None, group_memory_mb=64, parallelism=2, allow_single=False
    )
    assert len(several.groups) == 2 and _covering(several.groups, "all", len(v.items))
    fixed = pfp.plan_groups([v], groups=5, group_memory_mb=64, parallelism=2, allow_single=True)
    assert 3 <= len(fixed.groups) <= 5 and _covering(fixed.groups, "all", len(v.items))


def test_group_over_the_memory_budget_is_split() -> None:
    v = _vocab(ref.random_baskets(20_000, 40, seed=2, mean_size=5.0), 20)
    big = pfp.plan_groups([v], groups=1, group_memory_mb=1, parallelism=1, allow_single=False)
    assert len(big.groups) > 1 and _covering(big.groups, "all", len(v.items))
    budget = big.budget_bytes
    for g in big.groups:
        assert g.est_bytes <= budget or (g.lo == g.hi and g.index in big.oversize)
    # an auto run whose data does not fit comfortably is not a single group either
    auto = pfp.plan_groups([v], groups=None, group_memory_mb=3, parallelism=1, allow_single=True)
    assert not auto.single_group and len(auto.groups) > 1


def _measured_bytes(
    vocab: pfp.Vocabulary, baskets: list[list[str]], plan: pfp.GroupPlan
) -> dict[int, int]:
    """Each group's conditional transactions as really sent (rows and items), in bytes."""
    items = pa.array(baskets, pa.list_(pa.string()))
    offsets, ids = pfp.encode_lists(items, pa.array(vocab.items))
    key_of_id = np.zeros(len(vocab.items), np.int32)
    for g in plan.groups:
        key_of_id[g.lo : g.hi + 1] = g.index
    keys, out_off, _ = pfp.group_prefixes(offsets, ids, key_of_id)
    lengths = np.diff(out_off)
    return {
        g.index: int((keys == g.index).sum()) * pfp.BYTES_PER_BASKET
        + int(lengths[keys == g.index].sum()) * pfp.BYTES_PER_ITEM
        for g in plan.groups
    }


@pytest.mark.parametrize(
    ("seed", "n_items", "mean_size", "threshold"),
    [(1, 200, 5.0, 40), (2, 2000, 5.0, 20), (3, 50, 8.0, 10)],
)
def test_group_memory_estimate_is_close_above_the_measured_size(
    seed: int, n_items: int, mean_size: float, threshold: int
) -> None:
    baskets = ref.random_baskets(20_000, n_items, seed=seed, mean_size=mean_size)
    v = _vocab(baskets, threshold)
    for k in (1, 2, 4, 8):
        plan = pfp.plan_groups(
            [v], groups=k, group_memory_mb=10**6, parallelism=1, allow_single=False
        )
        measured = _measured_bytes(v, baskets, plan)
        for g in plan.groups:
            assert measured[g.index] <= g.est_bytes <= 1.6 * measured[g.index], (k, g)


def test_plan_spans_segments_and_skips_empty_ones() -> None:
    a = _vocab([["x", "y"], ["x"], ["y"]], 1, "a")
    b = _vocab([["p"]], 2, "b")  # nothing frequent
    plan = pfp.plan_groups([a, b], groups=2, group_memory_mb=8, parallelism=1, allow_single=True)
    assert {g.segment for g in plan.groups} == {"a"}
    assert [g.index for g in plan.groups] == list(range(len(plan.groups)))
    with pytest.raises(ValueError, match="groups must be >= 1, got 0"):
        pfp.plan_groups([a], groups=0, group_memory_mb=8, parallelism=1, allow_single=True)


def test_encode_lists_drops_infrequent_and_sorts_ids() -> None:
    items = pa.array([["b", "zz", "a"], ["zz"], [], ["c", "a"]], pa.list_(pa.string()))
    offsets, ids = pfp.encode_lists(items, pa.array(["a", "b", "c"]))
    lists = [ids[offsets[i] : offsets[i + 1]].tolist() for i in range(4)]
    assert lists == [[0, 1], [], [], [0, 2]]


def test_to_lists_reads_slices_and_chunks() -> None:
    arr = pa.array([[1, 2], [], [3], [4, 5, 6]], pa.list_(pa.int32())).slice(1)
    assert pfp.to_lists(arr) == [[], [3], [4, 5, 6]]
    assert pfp.to_lists(pa.chunked_array([arr, arr])) == [[], [3], [4, 5, 6]] * 2


def test_group_prefixes_send_each_group_its_prefix() -> None:
    # ids 0..5; groups by key: {0,1} -> 7, {2,3} -> 8, {4,5} -> 9
    key_of_id = np.array([7, 7, 8, 8, 9, 9], dtype=np.int32)
    offsets = np.array([0, 4, 5, 5, 7])
    ids = np.array([0, 2, 3, 5, 1, 4, 5], dtype=np.int32)
    keys, out_off, out_ids = pfp.group_prefixes(offsets, ids, key_of_id)
    rows = [(int(k), out_ids[out_off[i] : out_off[i + 1]].tolist()) for i, k in enumerate(keys)]
    assert rows == [(7, [0]), (8, [0, 2, 3]), (9, [0, 2, 3, 5]), (7, [1]), (9, [4, 5])]


def test_mine_group_keeps_owned_itemsets_and_items_in_every_basket() -> None:
    group = pfp.Group(0, "all", 1, 2, 0)
    found = {
        tuple(sorted(k)): v
        for k, v in pfp.mine_group(group, [[0, 1, 2]] * 5 + [[0, 1]] * 3, 3, None)
    }
    # {0} alone belongs to another group; {0, 1} is in every basket and still reported
    assert found == {(1,): 8, (0, 1): 8, (2,): 5, (0, 2): 5, (1, 2): 5, (0, 1, 2): 5}


# ------------------------------------------------------------------ against Spark


def test_spark_hash_and_partition_keys_match_spark(spark) -> None:  # type: ignore[no-untyped-def]
    from pyspark.sql import functions as F

    rows = spark.range(-50, 500).select("id", F.hash(F.col("id").cast("int")).alias("h")).collect()
    assert all(pfp.spark_hash_int(r["id"]) == r["h"] for r in rows)
    for n in (1, 3, 7):
        keys = pfp.partition_keys(n)
        placed = (
            spark.createDataFrame([(k,) for k in keys] * 3, "part int")
            .repartition(n, "part")
            .select("part", F.spark_partition_id().alias("pid"))
            .distinct()
            .collect()
        )
        assert sorted((r["pid"], r["part"]) for r in placed) == list(enumerate(keys))


def test_item_counts_one_pass(spark) -> None:  # type: ignore[no-untyped-def]
    from spark.items import count_items

    rows = [
        ("a", "1", ["x", "y"]),
        ("a", "2", ["x"]),
        ("a", "3", ["x", 'z, "q"', "é"]),
        ("b", "4", ["y"]),
        ("c", "5", []),  # an empty basket still counts as a basket
    ]
    df = spark.createDataFrame(rows, "segment string, basket_id string, items array<string>")
    counts = count_items(df, 0.5)
    a, b, c = counts.segments["a"], counts.segments["b"], counts.segments["c"]
    assert counts.distinct_items == 4 and counts.baskets == {"a": 3, "b": 1, "c": 1}
    assert (a.distinct_items, a.occurrences, b.distinct_items, b.occurrences) == (4, 6, 1, 1)
    assert (c.distinct_items, c.occurrences, c.candidates) == (0, 0, ())
    # every item with count >= min_support * n - 1 (0.5): all of a's, and b's y
    assert sorted(a.candidates) == [("x", 3), ("y", 1), ('z, "q"', 1), ("é", 1)]
    assert b.candidates == (("y", 1),)
    only_a = count_items(df.where("segment = 'a'"), 0.9)  # one segment: one job
    assert only_a.distinct_items == 4 and only_a.baskets == {"a": 3}
    assert only_a.segments["a"].candidates == (("x", 3),)  # 3 >= 0.9 * 3 - 1 only


def test_item_counts_from_rows() -> None:
    from spark.items import from_rows

    rows: list[dict[str, object]] = [
        {"segment": "s", "n": 3, "distinct": 2, "occurrences": 4,
         "candidates": [{"item": "p", "count": 3}]},
        {"segment": "t", "n": 1, "distinct": 0, "occurrences": 0, "candidates": None},
    ]  # fmt: skip
    counts = from_rows(rows, 2)
    assert counts.baskets == {"s": 3, "t": 1} and counts.distinct_items == 2
    assert counts.segments["s"].candidates == (("p", 3),)
    assert counts.segments["t"].candidates == () and counts.segments["t"].occurrences == 0


def test_tiny_memory_budget_splits_groups_and_keeps_results(spark) -> None:  # type: ignore[no-untyped-def]
    baskets = ref.random_baskets(2500, 50, seed=5, mean_size=4.0)
    df = spark.createDataFrame([("all", b) for b in baskets], "segment string, items array<string>")
    run = pfp.mine_pfp(df, {"all": len(baskets)}, min_support=0.01, group_memory_mb=1)
    assert len(run.plan.groups) > 2
    got = {frozenset(r["items"]): r["count"] for r in run.itemsets.collect()}
    assert got == ref.pyfim_itemsets(baskets, min_count(0.01, len(baskets)))


@pytest.mark.parametrize("engine", ["auto", "pfp", "mllib"])
def test_run_records_engine_and_timings(spark, settings, tmp_path: Path, engine: str) -> None:  # type: ignore[no-untyped-def]
    baskets = ref.random_baskets(300, 12, seed=9)
    src = ref.write_basket_file(tmp_path / "b.txt", baskets)
    settings = settings.with_overrides(
        **{"input.format": "basket", "mining.engine": engine, "mining.min_support": 0.05}
    )
    report = run_mine(settings, MineRequest(inputs=(str(src),), run_id="e1"), spark=spark)
    used = "mllib" if engine == "mllib" else "pfp"
    assert report.engine == used and report.engine_details["requested"] == engine
    assert report.timings["mine_s"] >= report.timings["mine_fpgrowth_s"] > 0
    if used == "pfp":
        assert report.engine_details["groups"] == (1 if engine == "auto" else 2)
        assert report.timings["mine_prepare_s"] > 0
    on_disk = ref.read_report(settings.paths.output_dir)
    assert on_disk["engine"] == used
    runs = pd.read_parquet(settings.paths.output_dir / "runs")
    assert runs["engine"].tolist() == [used]
    assert ref.read_itemsets(settings.paths.output_dir) == ref.brute_force(
        baskets, min_count(0.05, len(baskets))
    )


def test_cli_options_reach_the_settings(settings) -> None:  # type: ignore[no-untyped-def]
    out = apply_mine_options(
        settings, {"engine": "pfp", "groups": 6, "group_memory_mb": 512, "partitions": None}
    )
    assert (out.mining.engine, out.mining.groups, out.mining.group_memory_mb) == ("pfp", 6, 512)
    with pytest.raises(ValueError):
        apply_mine_options(settings, {"groups": 0})
