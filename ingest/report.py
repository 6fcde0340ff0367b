"""What the ingest did, batch by batch and in total: records read, lines stored, records
quarantined (by reason), repeats dropped, time and rate.

The sink makes a :class:`BatchReport` after each micro-batch commits and folds it into the
query's :class:`IngestReport`, kept as JSON beside the tables
(``<delta_dir>/_reports/ingest-<source>.json``, replaced atomically), so the figures
outlive the process as ``run.json`` does for a mine. A batch that Spark re-runs after a
crash (same batch id) replaces its entry instead of counting twice.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RECENT_BATCHES = 50
"""Batches kept one by one in the report; the totals cover every batch."""


@dataclass(frozen=True)
class BatchReport:
    """One committed micro-batch. ``records = lines + quarantined + repeats_dropped``."""

    batch_id: int
    records: int
    """Records the batch read (events, or CSV records and refused files)."""
    lines: int
    """New lines appended to ``lines``."""
    quarantined: int
    quarantined_by_reason: dict[str, int]
    repeats_dropped: int
    """Records whose line key was already stored or repeated in the batch (retries, replays)."""
    seconds: float
    finished_at: str

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        """One log line: what the batch read and where it went."""
        reasons = ", ".join(f"{k} {v:,}" for k, v in self.quarantined_by_reason.items())
        return (
            f"batch {self.batch_id}: {self.records:,} records -> {self.lines:,} lines, "
            f"{self.quarantined:,} quarantined{f' ({reasons})' if reasons else ''}, "
            f"{self.repeats_dropped:,} repeats dropped; {self.seconds:.1f} s "
            f"({self.rate:,.0f} records/s)"
        )


@dataclass
class IngestReport:
    """Every committed batch of one ingest query (one checkpoint)."""

    source: str
    table: str
    batches: int = 0
    records: int = 0
    lines: int = 0
    quarantined: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    repeats_dropped: int = 0
    seconds: float = 0.0
    last_batch_id: int = -1
    updated_at: str = ""
    recent: list[dict[str, Any]] = field(default_factory=list)
    maintenance: list[dict[str, Any]] = field(default_factory=list)
    """The tables' compaction and VACUUM after this run, when it ran (file counts)."""

    def add(self, batch: BatchReport) -> None:
        """Fold in a committed batch; a batch id already counted (a replay) only replaces
        its recent entry."""
        self.recent = [b for b in self.recent if b["batch_id"] != batch.batch_id]
        self.recent = sorted([*self.recent, asdict(batch)], key=lambda b: b["batch_id"])
        self.recent = self.recent[-RECENT_BATCHES:]
        self.updated_at = batch.finished_at
        if batch.batch_id <= self.last_batch_id:
            return
        self.last_batch_id = batch.batch_id
        self.batches += 1
        self.records += batch.records
        self.lines += batch.lines
        self.quarantined += batch.quarantined
        self.repeats_dropped += batch.repeats_dropped
        self.seconds += batch.seconds
        for reason, n in batch.quarantined_by_reason.items():
            self.quarantined_by_reason[reason] = self.quarantined_by_reason.get(reason, 0) + n

    @property
    def reconciles(self) -> bool:
        return self.records == self.lines + self.quarantined + self.repeats_dropped

    def summary(self) -> str:
        """The closing line of an ingest run."""
        reasons = ", ".join(f"{k} {v:,}" for k, v in sorted(self.quarantined_by_reason.items()))
        rate = self.records / self.seconds if self.seconds > 0 else 0.0
        return (
            f"ingest {self.source}: {self.batches:,} batches, {self.records:,} records in = "
            f"{self.lines:,} lines + {self.quarantined:,} quarantined"
            f"{f' ({reasons})' if reasons else ''} + {self.repeats_dropped:,} repeats "
            f"dropped; {self.seconds:.1f} s in batches ({rate:,.0f} records/s) -> {self.table}"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def report_path(delta_dir: Path, source: str) -> Path:
    return Path(delta_dir) / "_reports" / f"ingest-{source}.json"


def load(path: Path, source: str, table: str) -> IngestReport:
    """The report at ``path``, or a new one."""
    if not path.is_file():
        return IngestReport(source=source, table=table)
    data = json.loads(path.read_text(encoding="utf-8"))
    return IngestReport(**data)


def save(report: IngestReport, path: Path) -> None:
    """Write atomically (a reader sees the old report or the new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")
    os.replace(tmp, path)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Recorder:
    """The sink's ``on_batch``: folds each batch into this run's report and into the
    query's report on disk (saved after every batch), then calls ``forward`` (the CLI
    prints the batch's line)."""

    def __init__(
        self,
        path: Path,
        source: str,
        table: str,
        forward: Callable[[BatchReport], None] | None = None,
    ) -> None:
        self.path = path
        self.run = IngestReport(source=source, table=table)
        self.forward = forward

    def __call__(self, batch: BatchReport) -> None:
        self.run.add(batch)
        stored = load(self.path, self.run.source, self.run.table)
        stored.add(batch)
        save(stored, self.path)
        if self.forward is not None:
            self.forward(batch)
