"""The run report: what one mine read, rejected, found and wrote, and how long it took.

:func:`spark.job.run_mine` returns a :class:`RunReport`; it is written as
``exports/dt=.../run_id=.../run.json`` (:meth:`RunReport.write`) and as the one row of the
``runs`` dataset, and read back by the CLI, the DAG tasks and the run record.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any


@dataclass
class Counts:
    """Rows read, accepted and rejected (by reason), and what the run built and found.

    ``input_rows`` is counted from the files by a reader of its own (not as accepted +
    rejected), and a run whose counts differ fails (:func:`spark.reads.reconcile`)."""

    input_rows: int = 0
    accepted_rows: int = 0
    rejected_rows: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    skipped_lines: dict[str, int] = field(default_factory=dict)
    """Lines that hold no record: ``blank`` lines and ``header`` lines (not in input_rows)."""
    filtered_rows: int = 0
    baskets: int = 0
    distinct_items: int = 0
    segments: int = 0
    itemsets: int = 0
    rules: int = 0
    rules_pruned: int = 0
    """Rules found but not kept (``prune_redundant``, ``max_p``)."""
    item_edges: int = 0
    """Item-to-item edges of the kept rules (the ``item_edges`` rows)."""
    compared_with: str | None = None
    """The previous run the rule changes are against (None: none of this kind)."""
    rule_changes: dict[str, int] = field(default_factory=dict)
    """Changed rules by kind of change (new, gone, strengthened, weakened)."""


@dataclass(frozen=True)
class RunInput:
    """What was mined: the input paths or the Delta table, and its format."""

    paths: list[str]
    table: str | None
    format: str


@dataclass(frozen=True)
class RunReport:
    """One mining run, as ``run.json`` has it."""

    run_id: str
    dt: date
    status: str
    engine: str
    engine_details: dict[str, Any]
    started_at: datetime
    finished_at: datetime
    input: RunInput
    params: dict[str, Any]
    counts: Counts
    timings: dict[str, float]
    versions: dict[str, str]
    outputs: dict[str, str]
    """Dataset name -> path of the run's partition, and ``exports``."""

    @property
    def exports(self) -> Path:
        """The run's exports folder (CSV files and ``run.json``)."""
        return Path(self.outputs["exports"])

    def to_dict(self) -> dict[str, Any]:
        """The ``run.json`` form (dates and times as ISO strings)."""
        return {
            "run_id": self.run_id,
            "dt": self.dt.isoformat(),
            "status": self.status,
            "engine": self.engine,
            "engine_details": self.engine_details,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "input": asdict(self.input),
            "params": self.params,
            "counts": asdict(self.counts),
            "timings": dict(self.timings),
            "versions": dict(self.versions),
            "outputs": dict(self.outputs),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunReport:
        """The report of a ``run.json`` document (:meth:`to_dict`'s inverse)."""
        return cls(
            run_id=str(d["run_id"]),
            dt=date.fromisoformat(str(d["dt"])),
            status=str(d["status"]),
            engine=str(d["engine"]),
            engine_details=dict(d.get("engine_details") or {}),
            started_at=datetime.fromisoformat(str(d["started_at"])),
            finished_at=datetime.fromisoformat(str(d["finished_at"])),
            input=RunInput(**d["input"]),
            params=dict(d["params"]),
            counts=Counts(**d["counts"]),
            timings=dict(d["timings"]),
            versions=dict(d["versions"]),
            outputs=dict(d["outputs"]),
        )

    def write(self, path: Path) -> None:
        """Write :meth:`to_dict` as ``run.json`` at ``path`` (indented, newline-terminated)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n")

    @classmethod
    def read(cls, path: Path) -> RunReport:
        """The report in the ``run.json`` at ``path``."""
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))

    def summary(self) -> dict[str, Any]:
        """The part a DAG passes on: where the outputs are and the headline counts."""
        c = self.counts
        return {
            "run_id": self.run_id,
            "dt": self.dt.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "outputs": dict(self.outputs),
            "counts": {
                "input_rows": c.input_rows,
                "baskets": c.baskets,
                "itemsets": c.itemsets,
                "rules": c.rules,
            },
        }
