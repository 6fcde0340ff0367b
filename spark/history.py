"""Earlier runs under the output root: which one a new run compares itself with.

A run's "kind" is what makes two runs comparable: the same ``segment_by`` and
``basket_by`` (runs of the same kind over different days or inputs are what a schedule
produces). The previous run is the latest succeeded run of that kind ordered by
:func:`basket_core.layout.latest_order` that comes before this one -- an earlier data
date, or the same date finished before this run started -- and is not this run (a re-mine
of a day compares with the run before it, so a retry gives the same changes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from basket_core.layout import EXPORTS, RunLayout, current_layout, latest_order


@dataclass(frozen=True)
class RunKind:
    segment_by: str | None
    basket_by: str

    @classmethod
    def of_report(cls, report: dict[str, Any]) -> RunKind:
        params = report.get("params") or {}
        request = params.get("request") or {}
        mining = params.get("mining") or {}
        return cls(request.get("segment_by"), str(mining.get("basket_by") or "transaction"))


@dataclass(frozen=True)
class PreviousRun:
    layout: RunLayout
    report: dict[str, Any]

    @property
    def run_id(self) -> str:
        return self.layout.run_id

    @property
    def dt(self) -> str:
        return self.layout.dt.isoformat()


def previous_run(
    root: str | Path, *, dt: date, run_id: str, started_at: datetime, kind: RunKind
) -> PreviousRun | None:
    """The run this one compares itself with, or None (local roots only)."""
    base = Path(root) / EXPORTS
    if not base.is_dir():
        return None
    limit = latest_order(dt, started_at)
    best: tuple[tuple[str, str], PreviousRun] | None = None
    for run_dir in base.glob("dt=*/run_id=*"):
        try:
            day = date.fromisoformat(run_dir.parent.name.removeprefix("dt="))
            other = run_dir.name.removeprefix("run_id=")
            if other == run_id:
                continue
            layout = current_layout(root, day, other)
            report = json.loads(Path(layout.exports, "run.json").read_text(encoding="utf-8"))
        except (ValueError, OSError):
            continue  # a half-written or foreign folder is not a run to compare with
        if report.get("status") != "succeeded" or RunKind.of_report(report) != kind:
            continue
        order = latest_order(day, report.get("finished_at"))
        if order >= limit:
            continue
        if best is None or order > best[0]:
            best = (order, PreviousRun(layout, report))
    return best[1] if best else None
