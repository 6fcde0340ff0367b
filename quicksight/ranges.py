"""The dashboard's slider ranges, taken from the run being deployed (pure).

A slider over 0-1 in steps of 0.01 is useless when every mined support is below 0.01: the
first step already passes every rule. :func:`slider` turns the data's own (min, max) into a
slider whose bounds are the data's, rounded outwards to a 1-2-5 step of about a fiftieth of
the span. :func:`ranges_from_local` reads them from a run's local Parquet files, and
:func:`ranges_for_run` from a local run's layout (``basket_pipeline.stages.find_run(...)
.layout()``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from basket_core.layout import RunLayout

STEPS = 50
"""About how many steps a slider has between the data's minimum and maximum."""


@dataclass(frozen=True)
class Slider:
    minimum: float
    maximum: float
    step: float
    default: float


def _nice_step(span: float, steps: int = STEPS) -> float:
    raw = span / steps
    exp = math.floor(math.log10(raw))
    for mult in (1, 2, 5, 10):
        step = mult * 10.0**exp
        if step >= raw:
            return float(f"{step:.12g}")
    raise AssertionError("unreachable")  # pragma: no cover


def slider(lo: float, hi: float, *, default: float | None = None) -> Slider:
    """A slider covering [lo, hi], bounds rounded outwards to its step; its default is
    ``default`` clamped into the range, or the minimum (nothing filtered out)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
        raise ValueError(f"not a range: {lo!r}..{hi!r}")
    span = hi - lo if hi > lo else max(abs(hi), 1e-6)
    step = _nice_step(span)
    minimum = float(f"{math.floor(lo / step + 1e-9) * step:.12g}")
    maximum = float(f"{math.ceil(hi / step - 1e-9) * step:.12g}")
    if maximum <= minimum:
        maximum = float(f"{minimum + step:.12g}")
    value = minimum if default is None else min(max(default, minimum), maximum)
    return Slider(minimum, maximum, step, value)


@dataclass(frozen=True)
class DataRanges:
    """(min, max) of the measures the dashboard's sliders filter, for one run."""

    support: tuple[float, float] = (0.0, 1.0)
    confidence: tuple[float, float] = (0.0, 1.0)
    lift: tuple[float, float] = (0.0, 10.0)

    def sliders(self) -> dict[str, Slider]:
        """Slider per measure; lift defaults to 1 (independence) when the data reaches it."""
        return {
            "support": slider(*self.support),
            "confidence": slider(*self.confidence),
            "lift": slider(*self.lift, default=1.0),
        }


DEFAULT_RANGES = DataRanges()
"""Used when no run is at hand (``deploy --print`` without results)."""


def _span(values: Iterable[Any], fallback: tuple[float, float]) -> tuple[float, float]:
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return (min(finite), max(finite)) if finite else fallback


def data_ranges(
    itemsets: Iterable[Mapping[str, Any]], rules: Iterable[Mapping[str, Any]]
) -> DataRanges:
    """The ranges of one run's rows (``support`` of itemsets and rules; ``confidence`` and
    ``lift`` of rules). A run with no rules keeps the default confidence and lift ranges."""
    rule_rows = list(rules)
    supports = [r["support"] for r in itemsets] + [r["support"] for r in rule_rows]
    return DataRanges(
        support=_span(supports, DEFAULT_RANGES.support),
        confidence=_span((r["confidence"] for r in rule_rows), DEFAULT_RANGES.confidence),
        lift=_span((r["lift"] for r in rule_rows), DEFAULT_RANGES.lift),
    )


def ranges_from_local(itemsets_dir: str | Path, rules_dir: str | Path) -> DataRanges:
    """:func:`data_ranges` of a run's local ``itemsets`` and ``rules`` Parquet folders."""
    import pyarrow.parquet as pq

    itemsets = pq.read_table(itemsets_dir, columns=["support"]).to_pylist()
    rules = pq.read_table(rules_dir, columns=["support", "confidence", "lift"]).to_pylist()
    return data_ranges(itemsets, rules)


def ranges_for_run(layout: RunLayout) -> DataRanges:
    """:func:`ranges_from_local` of a local run, at the attempt its layout names."""
    return ranges_from_local(layout.dataset("itemsets"), layout.dataset("rules"))
