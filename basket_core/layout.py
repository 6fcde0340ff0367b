"""Where a run's results live, locally and in S3: one layout for both.

::

    <root>/itemsets/dt=YYYY-MM-DD/run_id=<id>/part-*.parquet
    <root>/rules/dt=.../run_id=.../part-*.parquet
    <root>/quarantine/dt=.../run_id=.../part-*.parquet
    <root>/runs/dt=.../run_id=.../part-*.parquet     one row, the run report
    <root>/exports/dt=.../run_id=.../run.json, itemsets.csv, rules.csv
    <root>/_latest.json                              the newest complete run, written last

``<root>`` is a local folder or ``s3://bucket/prefix``. Athena tables point at
``<root>/<dataset>/`` with partitions ``dt`` and ``run_id``.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from basket_core.config import AwsConfig

DATASETS = ("itemsets", "rules", "quarantine", "runs")
EXPORTS = "exports"
LATEST = "_latest.json"

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def new_run_id(now: datetime | None = None) -> str:
    """A sortable unique run id, e.g. ``20261125T163000Z-3f9a1c``."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def validate_run_id(run_id: str) -> str:
    if not _RUN_ID.match(run_id):
        raise ValueError(f"run id {run_id!r} must be 1-128 chars of letters, digits, '_', '.', '-'")
    return run_id


@dataclass(frozen=True)
class Target:
    """Where results are published: ``s3://<bucket>/<prefix>``. :meth:`of` is the one
    place settings become that root."""

    bucket: str
    prefix: str

    @classmethod
    def of(cls, aws: AwsConfig) -> Target:
        return cls(aws.bucket, aws.prefix)

    @property
    def root(self) -> str:
        p = self.prefix.strip("/")
        return f"s3://{self.bucket}/{p}" if p else f"s3://{self.bucket}"

    def key(self, rel: str) -> str:
        p = self.prefix.strip("/")
        return f"{p}/{rel}" if p else rel

    def uri(self, rel: str) -> str:
        return f"s3://{self.bucket}/{self.key(rel)}"


@dataclass(frozen=True)
class RunLayout:
    """Paths of one run under a root (local path or s3:// URI)."""

    root: str
    dt: date
    run_id: str

    def __post_init__(self) -> None:
        validate_run_id(self.run_id)

    @property
    def partition(self) -> str:
        return f"dt={self.dt.isoformat()}/run_id={self.run_id}"

    def dataset(self, name: str) -> str:
        if name not in DATASETS:
            raise KeyError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
        return f"{self.root.rstrip('/')}/{name}/{self.partition}"

    @property
    def exports(self) -> str:
        return f"{self.root.rstrip('/')}/{EXPORTS}/{self.partition}"

    @property
    def latest(self) -> str:
        return f"{self.root.rstrip('/')}/{LATEST}"
