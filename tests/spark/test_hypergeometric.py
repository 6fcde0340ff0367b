"""The hypergeometric upper tail behind every rule's Fisher p-value, held to exact
rational sums (``tests.reference.fisher_greater_exact``) and to SciPy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import hypergeom

from spark.hypergeometric import deviance, stirling_error, upper_tail
from tests import reference as ref


def _tail(a: int, with_a: int, with_c: int, n: int) -> float:
    return float(
        upper_tail(np.array([a]), np.array([with_a]), np.array([n - with_a]), np.array([with_c]))[0]
    )


def _relative(ours: float, exact: float) -> float:
    return abs(ours - exact) / exact if exact else abs(ours)


def test_every_table_of_up_to_twelve_baskets_is_exact() -> None:
    """Every count, margin and edge (a = 0, a above the smaller margin, a margin of 0 or
    of every basket) of populations up to 12, in one call."""
    tables = [
        (a, with_a, with_c, n)
        for n in range(1, 13)
        for with_a in range(n + 1)
        for with_c in range(n + 1)
        for a in range(-1, min(with_a, with_c) + 2)
    ]
    a, with_a, with_c, n = (np.array(column) for column in zip(*tables, strict=True))
    ours = upper_tail(a, with_a, n - with_a, with_c)
    for (count, wa, wc, size), p in zip(tables, ours, strict=True):
        exact = ref.fisher_greater_exact(max(count, 0), wa, wc, size)
        assert _relative(p, exact) < 1e-13, (count, wa, wc, size, p, exact)


@pytest.mark.parametrize("baskets", [300, 5_000, 26_000, 1_000_000])
def test_tails_of_large_populations_are_exact_to_1e_12(baskets: int) -> None:
    """Counts around and far above the independent expectation (the rules a store keeps),
    and below it, against exact sums; the margins kept under a few thousand so that the
    rational reference stays quick."""
    rng = np.random.default_rng(baskets)
    largest = min(baskets - 1, 2_500)
    with_a = rng.integers(1, largest, 60)
    with_c = rng.integers(1, largest, 60)
    expected = with_a * with_c / baskets
    spread = np.sqrt(expected) + 1  # about the standard deviation, for these margins
    a = np.clip(expected + spread * rng.uniform(-2, 12, 60), 0, np.minimum(with_a, with_c))
    a = a.astype(np.int64)
    ours = upper_tail(a, with_a, baskets - with_a, with_c)
    checked = 0
    for count, wa, wc, p in zip(a, with_a, with_c, ours, strict=True):
        exact = ref.fisher_greater_exact(int(count), int(wa), int(wc), baskets)
        if exact < 1e-300:  # below the doubles' range: both are 0 or subnormal
            assert p < 1e-290
            continue
        checked += 1
        assert _relative(p, exact) < 1e-12, (count, wa, wc, baskets, p, exact)
    assert checked > 40


def test_equals_scipy_on_a_store_shaped_run() -> None:
    """Thousands of rules over 26,000 baskets: where SciPy takes its exact prime-factor
    path, the two agree to 1e-12 (and tails that underflow are 0 in both)."""
    rng = np.random.default_rng(7)
    baskets, rules = 26_000, 4_000
    with_a = rng.integers(20, 1_300, rules)
    with_c = rng.integers(20, 1_300, rules)
    expected = with_a * with_c / baskets
    a = np.minimum(
        np.minimum(with_a, with_c), (expected * rng.uniform(0.2, 20, rules)).astype(np.int64)
    )
    ours = upper_tail(a, with_a, baskets - with_a, with_c)
    theirs = hypergeom.sf(a - 1, baskets, with_a, with_c)
    shown = theirs > 1e-300
    assert shown.sum() > rules // 2
    np.testing.assert_allclose(ours[shown], theirs[shown], rtol=1e-12, atol=0)
    assert np.all(ours[~shown] < 1e-290)


def test_a_certain_rule_and_an_impossible_count() -> None:
    assert _tail(0, 5, 5, 10) == 1.0  # every table has at least 0
    assert _tail(6, 5, 5, 10) == 0.0  # more than the smaller margin
    assert _tail(3, 10, 3, 10) == 1.0  # A in every basket: X = 3 for sure
    assert _tail(4, 7, 7, 10) == 1.0  # 7 + 7 - 10 = 4 is the least X can be
    assert _tail(5, 5, 5, 10) == pytest.approx(1 / 252, rel=1e-15)  # C(10, 5)


def test_the_building_blocks_against_their_definitions() -> None:
    import math

    k = np.array([1.0, 2.0, 15.0, 16.0, 36.0, 81.0, 501.0])
    exact = [
        math.lgamma(x + 1) - (x + 0.5) * math.log(x) + x - 0.5 * math.log(2 * math.pi) for x in k
    ]
    # lgamma's own rounding (~1e-16 of log(k!)) is the tolerance
    np.testing.assert_allclose(stirling_error(k), exact, rtol=0, atol=1e-12)
    large = np.array([1e4, 1e6])
    series = 1 / (12 * large) - 1 / (360 * large**3) + 1 / (1260 * large**5)
    np.testing.assert_allclose(stirling_error(large), series, rtol=1e-15)
    x = np.array([3.0, 100.0, 100.0, 5.0])
    numerator, denominator = (
        np.array([9.0, 10_100.0, 30_000.0, 1.0]),
        np.array([3.0, 100.0, 100.0, 1.0]),
    )
    mean = numerator / denominator
    np.testing.assert_allclose(
        deviance(x, numerator, denominator), x * np.log(x / mean) + mean - x, rtol=1e-10
    )
