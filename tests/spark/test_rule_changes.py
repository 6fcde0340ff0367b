"""rule_changes over real runs of the miner, with planted changes: a rule that appears,
one that vanishes and one whose lift grows about fourfold between two days; a re-mine of
the second day compares with the first again (not with itself). Which run is "previous"
(kind, order, failed and half-written runs) is checked on run.json files alone."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from scipy.stats import norm

from basket_core.layout import current_layout
from spark.job import MineRequest, run_mine
from tests import reference as ref

# 240 baskets a day. Day 1: x and y always together (x->y), p and q together in 40
# baskets (lift 1.6), u and v never together. Day 2: x and y never together, p and q
# always together (lift 6), u and v always together.
DAY_1 = [["x", "y"]] * 40 + [["p", "q"]] * 40 + [["p"]] * 20 + [["q"]] * 60 + [["u"]] * 40
DAY_1 += [["v"]] * 40
DAY_2 = [["x"]] * 40 + [["y"]] * 40 + [["p", "q"]] * 40 + [["u", "v"]] * 40 + [["f"]] * 80
EXPECTED = {
    (("x",), ("y",)): "gone",
    (("y",), ("x",)): "gone",
    (("p",), ("q",)): "strengthened",
    (("q",), ("p",)): "strengthened",
    (("u",), ("v",)): "new",
    (("v",), ("u",)): "new",
}


def _mine(spark, settings, tmp_path: Path, baskets, day: date, run_id: str, **request: Any):  # type: ignore[no-untyped-def]
    src = ref.write_basket_file(tmp_path / f"{run_id}-{day}.txt", baskets)
    settings = settings.with_overrides(
        **{"input.format": "basket", "mining.min_support": 0.05, "mining.min_confidence": 0.3}
    )
    return run_mine(
        settings,
        MineRequest(inputs=(str(src),), run_id=run_id, run_date=day, **request),
        spark=spark,
    )


def _changes(settings, report) -> dict[tuple[tuple[str, ...], tuple[str, ...]], dict[str, Any]]:  # type: ignore[no-untyped-def]
    layout = current_layout(settings.paths.output_dir, report.dt, report.run_id)
    rows = pq.read_table(layout.dataset("rule_changes")).to_pylist()
    return {(tuple(r["antecedent"]), tuple(r["consequent"])): r for r in rows}


@pytest.mark.parametrize("held_rows", [100_000, 0], ids=["held", "cached"])
def test_planted_changes_between_two_days(spark, settings, tmp_path: Path, held_rows: int) -> None:  # type: ignore[no-untyped-def]
    """Held in the driver, the p-values come from SciPy there; cached (``held_rows = 0``,
    as a run with more rules than the limit), from pandas UDFs: the same values."""
    settings = settings.with_overrides(**{"mining.held_rows": held_rows})
    first = _mine(spark, settings, tmp_path, DAY_1, date(2026, 3, 1), "day1")
    assert first.counts.compared_with is None and first.counts.rule_changes == {}
    assert _changes(settings, first) == {}  # written, empty: nothing to compare with

    second = _mine(spark, settings, tmp_path, DAY_2, date(2026, 3, 2), "day2")
    assert second.counts.compared_with == "day1"
    changes = _changes(settings, second)
    assert {key: row["change"] for key, row in changes.items()} == EXPECTED
    assert second.counts.rule_changes == {"gone": 2, "new": 2, "strengthened": 2}

    pq_rule = changes[(("p",), ("q",))]
    assert pq_rule["previous_run_id"] == "day1" and pq_rule["previous_dt"] == "2026-03-01"
    assert pq_rule["lift_before"] == pytest.approx(1.6)
    assert pq_rule["lift_after"] == pytest.approx(6.0)
    assert pq_rule["lift_ratio"] == pytest.approx(3.75)
    assert pq_rule["confidence_before"] == pytest.approx(40 / 60)
    assert pq_rule["confidence_after"] == pytest.approx(1.0)
    assert pq_rule["count_before"] == 40 and pq_rule["count_after"] == 40
    # 40/60 against 40/40: pooled 0.8, z = (1 - 2/3) / sqrt(0.8 * 0.2 * (1/60 + 1/40)) = 4.08
    z = (1 - 40 / 60) / (0.8 * 0.2 * (1 / 60 + 1 / 40)) ** 0.5
    assert pq_rule["confidence_change_p"] == pytest.approx(2 * norm.sf(z), rel=1e-9)
    assert pq_rule["confidence_change_p"] == pytest.approx(4.456e-5, rel=1e-3)
    gone, new = changes[(("x",), ("y",))], changes[(("u",), ("v",))]
    assert gone["lift_after"] is None and gone["lift_before"] == pytest.approx(6.0)
    assert new["lift_before"] is None and new["lift_after"] == pytest.approx(6.0)
    assert new["fisher_p_adjusted"] is not None and gone["fisher_p_adjusted"] is None
    assert new["confidence_change_p"] is None and gone["confidence_change_p"] is None

    # a retry of day 2 compares with day 1 again: the same changes
    again = _mine(spark, settings, tmp_path, DAY_2, date(2026, 3, 2), "day2")
    assert again.counts.compared_with == "day1"
    assert {k: r["change"] for k, r in _changes(settings, again).items()} == EXPECTED


def _fake_run(root: Path, day: str, run_id: str, **report: Any) -> None:
    import json

    exports = root / "exports" / f"dt={day}" / f"run_id={run_id}"
    exports.mkdir(parents=True)
    body = {
        "status": "succeeded",
        "finished_at": f"{day}T10:00:00+00:00",
        "params": {"request": {"segment_by": None}, "mining": {"basket_by": "transaction"}},
    } | report
    (exports / "run.json").write_text(json.dumps(body), encoding="utf-8")


def test_previous_run_is_the_latest_earlier_run_of_the_same_kind(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from spark.history import RunKind, previous_run

    root = tmp_path / "out"
    _fake_run(root, "2026-03-01", "a")
    _fake_run(root, "2026-03-02", "b")
    _fake_run(root, "2026-03-02", "failed", status="failed")
    _fake_run(
        root,
        "2026-03-02",
        "segmented",
        params={"request": {"segment_by": "store"}, "mining": {"basket_by": "transaction"}},
    )
    _fake_run(root, "2026-03-04", "later")  # a later day: never "previous" of a backfill
    (root / "exports" / "dt=2026-03-02" / "run_id=torn").mkdir()  # no run.json
    kind = RunKind(None, "transaction")
    started = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)

    found = previous_run(root, dt=date(2026, 3, 3), run_id="c", started_at=started, kind=kind)
    assert found is not None and found.run_id == "b"
    # a re-mine of b compares with a, never with itself
    again = previous_run(root, dt=date(2026, 3, 2), run_id="b", started_at=started, kind=kind)
    assert again is not None and again.run_id == "a"
    segmented = RunKind("store", "transaction")
    assert (
        previous_run(
            root, dt=date(2026, 3, 3), run_id="c", started_at=started, kind=segmented
        ).run_id  # type: ignore[union-attr]
        == "segmented"
    )
    first = previous_run(root, dt=date(2026, 3, 1), run_id="a", started_at=started, kind=kind)
    assert first is None
    assert (
        previous_run(
            tmp_path / "none", dt=date(2026, 3, 1), run_id="a", started_at=started, kind=kind
        )
        is None
    )


@pytest.mark.parametrize(("lift_ratio", "confidence_delta"), [(1.25, 0.1), (1.05, 0.02)])
def test_changes_compared_in_the_driver_equal_the_clusters(
    spark: Any, lift_ratio: float, confidence_delta: float
) -> None:
    """:func:`spark.changes.compared_rules_table` (rules held in the driver, the previous
    run's read from its files) against :func:`~spark.changes.compared_rules` on the same two
    days: the same rows and doubles, z and p-value included."""
    from basket_core.schemas import MINED_ITEMSETS, spark_schema
    from spark.changes import ChangeThresholds, change_tests, compared_rules, compared_rules_table
    from spark.held import local_relation
    from spark.rules import RuleOptions, rule_tests
    from spark.rules_table import untested_rules_table

    def day_rules(seed: int) -> Any:
        baskets = ref.random_baskets(300, 14, seed=seed, mean_size=4.0)
        found = ref.brute_force(baskets, 8)
        rows = [("all", sorted(s), len(s), c, c / len(baskets)) for s, c in found.items()]
        itemsets = spark.createDataFrame(rows, spark_schema(MINED_ITEMSETS)).toArrow()
        options = RuleOptions(min_confidence=0.2)
        untested = untested_rules_table(itemsets, options, {"all": len(baskets)})
        return rule_tests("bonferroni").table(untested)

    before, after = day_rules(1), day_rules(2)
    thresholds = ChangeThresholds(lift_ratio, confidence_delta)
    names = dict(previous_run_id="day1", previous_dt="2026-03-01", thresholds=thresholds)
    finish = change_tests()
    got = finish.table(compared_rules_table(after, before, **names))  # type: ignore[arg-type]
    cluster = compared_rules(local_relation(spark, after), local_relation(spark, before), **names)  # type: ignore[arg-type]
    want = finish.table(cluster.toArrow())
    assert got.column_names == want.column_names
    kinds = set(got.column("change").to_pylist())
    assert kinds == {"new", "gone", "strengthened", "weakened"}, kinds

    def listed(table: Any) -> list[dict[str, Any]]:
        return sorted(table.to_pylist(), key=lambda r: (r["antecedent"], r["consequent"]))

    assert got.num_rows == want.num_rows > 10
    assert listed(got) == listed(want)
