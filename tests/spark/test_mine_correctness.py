"""The miner against independent implementations: brute force, pyfim, mlxtend.

Every test runs once per engine: MLlib, PFP as ``auto`` picks it here (one group), and
PFP with several groups (conditional transactions and group ownership exercised)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from spark.fpcommon import min_count
from spark.job import MineRequest, run_mine
from tests import reference as ref

METRICS = ref.MLXTEND_METRICS


ENGINES = {
    "mllib": {"engine": "mllib"},
    "auto": {"engine": "auto"},
    "pfp-3-groups": {"engine": "pfp", "groups": 3},
}


@pytest.fixture(params=list(ENGINES))
def engine(request: pytest.FixtureRequest) -> dict[str, object]:
    return ENGINES[request.param]


@pytest.fixture
def settings(settings, engine):  # type: ignore[no-untyped-def]
    return settings.with_overrides(**{f"mining.{k}": v for k, v in engine.items()})


def _mine(spark, settings, tmp_path: Path, baskets, *, fmt: str, **mining):  # type: ignore[no-untyped-def]
    if fmt == "basket":
        src = ref.write_basket_file(tmp_path / "baskets.txt", baskets)
        settings = settings.with_overrides(**{"input.format": "basket"})
    else:
        src = ref.write_long_csv(tmp_path / "lines.csv", baskets)
        settings = settings.with_overrides(
            **{"columns.customer": "", "columns.store": "", "input.format": "long"}
        )
    settings = settings.with_overrides(**{f"mining.{k}": v for k, v in mining.items()})
    report = run_mine(settings, MineRequest(inputs=(str(src),), run_id="t1"), spark=spark)
    return settings.paths.output_dir, report


@pytest.mark.parametrize("fmt", ["basket", "long"])
def test_itemsets_equal_brute_force(spark, settings, tmp_path: Path, fmt: str) -> None:
    baskets = ref.random_baskets(80, 9, seed=7)
    out, report = _mine(
        spark, settings, tmp_path, baskets, fmt=fmt, min_support=0.05, min_confidence=0.1
    )
    expected = ref.brute_force(baskets, min_count(0.05, len(baskets)))
    assert ref.read_itemsets(out) == expected
    assert report.counts.baskets == len(baskets)
    assert report.counts.itemsets == len(expected)
    assert (
        report.counts.input_rows == sum(len(b) for b in baskets) if fmt == "long" else len(baskets)
    )


def test_max_size_limits_itemsets_and_rules(spark, settings, tmp_path: Path) -> None:
    baskets = ref.random_baskets(80, 9, seed=8)
    out, _ = _mine(
        spark, settings, tmp_path, baskets, fmt="basket",
        min_support=0.05, min_confidence=0.1, max_size=2,
    )  # fmt: skip
    assert ref.read_itemsets(out) == ref.brute_force(baskets, min_count(0.05, 80), max_size=2)
    rules = ref.read_rules(out)
    assert (rules["antecedent_size"] == 1).all()


def test_support_exactly_at_threshold_is_kept(spark, settings, tmp_path: Path) -> None:
    # 100 baskets, min support 0.07: float 0.07 * 100 = 7.000000000000001, still 7 baskets
    baskets = [["a", "b"]] * 7 + [["a"]] * 6 + [["c"]] * 87
    out, _ = _mine(spark, settings, tmp_path, baskets, fmt="basket", min_support=0.07)
    found = ref.read_itemsets(out)
    assert found[frozenset({"a", "b"})] == 7
    assert frozenset({"a"}) in found and frozenset({"c"}) in found
    assert set(found) == {
        frozenset({"a", "b"}),
        frozenset({"a"}),
        frozenset({"b"}),
        frozenset({"c"}),
    }


def test_against_pyfim_and_mlxtend(spark, settings, tmp_path: Path) -> None:
    baskets = ref.random_baskets(3000, 60, seed=42, mean_size=4.0)
    min_support, min_confidence = 0.01, 0.2
    out, report = _mine(
        spark, settings, tmp_path, baskets, fmt="basket",
        min_support=min_support, min_confidence=min_confidence,
    )  # fmt: skip
    threshold = min_count(min_support, len(baskets))
    assert ref.read_itemsets(out) == ref.pyfim_itemsets(baskets, threshold)

    ours = ref.read_rules(out)
    theirs = ref.mlxtend_rules(baskets, threshold, min_confidence)
    assert len(ours) > 50, "test data must produce a meaningful number of rules"
    assert set(ours.index) == set(theirs.index)
    assert report.counts.rules == len(ours)
    their_rows = dict(zip(theirs.index, theirs.to_dict("records"), strict=True))
    for key, mine in zip(ours.index, ours.to_dict("records"), strict=True):
        other = their_rows[key]
        for col, their_col in METRICS.items():
            a, b = float(mine[col]), float(other[their_col])
            if math.isinf(b):
                assert math.isinf(a) and a > 0, (key, col)
            else:
                assert a == pytest.approx(b, abs=1e-9, rel=0), (key, col, a, b)
        n = len(baskets)
        assert int(mine["count"]) == round(float(other["support"]) * n)
        assert int(mine["antecedent_count"]) == round(float(other["antecedent support"]) * n)
        assert int(mine["consequent_count"]) == round(float(other["consequent support"]) * n)


def test_planted_rule_is_found_with_high_lift(spark, settings, tmp_path: Path) -> None:
    baskets = ref.random_baskets(2000, 40, seed=3)
    out, _ = _mine(
        spark, settings, tmp_path, baskets, fmt="basket", min_support=0.01, min_confidence=0.5
    )
    rules = ref.read_rules(out)
    planted = dict(zip(rules.index, rules.to_dict("records"), strict=True))[
        (("item001", "item002"), ("item011",))
    ]
    assert planted["confidence"] >= 0.75
    assert planted["lift"] > 3


def test_items_with_commas_quotes_and_non_ascii(spark, settings, tmp_path: Path) -> None:
    odd = ['BOX, "LARGE"', "CRÈME BRÛLÉE", "tea"]
    baskets = [odd[:2]] * 5 + [odd] * 3 + [["tea"]] * 2
    out, _ = _mine(spark, settings, tmp_path, baskets, fmt="long", min_support=0.2)
    assert ref.read_itemsets(out) == ref.brute_force(baskets, min_count(0.2, len(baskets)))
    csv_text = next((out / "exports").glob("dt=*/run_id=*/**/rules.csv")).read_text("utf-8")
    assert '"[""BOX, \\""LARGE\\""""]"' in csv_text or "CRÈME BRÛLÉE" in csv_text


def test_empty_result_is_a_valid_run(spark, settings, tmp_path: Path) -> None:
    baskets = [[f"i{n}"] for n in range(20)]
    out, report = _mine(spark, settings, tmp_path, baskets, fmt="basket", min_support=0.5)
    assert report.counts.itemsets == 0 and report.counts.rules == 0
    assert ref.read_itemsets(out) == {}
