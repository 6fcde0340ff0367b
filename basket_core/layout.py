"""Where a run's results live, locally and in S3: one layout for both.

::

    <root>/itemsets/dt=YYYY-MM-DD/run_id=<id>/attempt=<a>/part-*.parquet
    <root>/rules/dt=.../run_id=.../attempt=<a>/part-*.parquet
    <root>/quarantine/dt=.../run_id=.../attempt=<a>/part-*.parquet
    <root>/runs/dt=.../run_id=.../attempt=<a>/part-*.parquet   one row, the run report
    <root>/exports/dt=.../run_id=.../attempt=<a>/run.json, itemsets.csv, rules.csv
    <root>/_attempts/dt=.../run_id=<id>.json     the run's current attempt (the switch)
    <root>/_latest.json                          the latest run (:func:`latest_order`)

``<root>`` is a local folder or ``s3://bucket/prefix``. Athena tables point at
``<root>/<dataset>/`` with partitions ``dt`` and ``run_id``; each partition's location is
the run's current attempt folder.

Why attempts: a run id is reused (every re-run of a scheduled day is ``daily-<dt>``), and
readers query while it is re-mined or re-published. Every mine, and every publish, writes
a new attempt folder that nobody reads yet; one small pointer (``_attempts/...json``
locally and in S3, the Glue partition location for Athena) then switches to it at once.
A reader sees the old attempt or the new one, never a mix. Runs written before attempts
existed have their files directly in the ``run_id=`` folder and no pointer; they read as
they always did (:data:`LEGACY_ATTEMPT`).
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from basket_core.config import AwsConfig

DATASETS = ("itemsets", "rules", "rule_changes", "quarantine", "runs", "item_edges")
EXPORTS = "exports"
LATEST = "_latest.json"
ATTEMPTS = "_attempts"
LEGACY_ATTEMPT = ""
"""The attempt name of files written directly in the ``run_id=`` folder (no pointer)."""

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_ATTEMPT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def new_run_id(now: datetime | None = None) -> str:
    """A sortable unique run id, e.g. ``20261125T163000Z-3f9a1c``."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def validate_run_id(run_id: str) -> str:
    if not _RUN_ID.match(run_id):
        raise ValueError(f"run id {run_id!r} must be 1-128 chars of letters, digits, '_', '.', '-'")
    return run_id


def new_attempt_id(now: datetime | None = None) -> str:
    """A sortable unique attempt id for a local mine (same form as :func:`new_run_id`)."""
    return new_run_id(now)


def validate_attempt(attempt: str) -> str:
    if attempt != LEGACY_ATTEMPT and not _ATTEMPT.match(attempt):
        raise ValueError(
            f"attempt {attempt!r} must be 1-64 chars of letters, digits, '_', '.', '-'"
        )
    return attempt


def attempt_folder(attempt: str) -> str:
    """The folder an attempt's files sit in, relative to the run's ``run_id=`` folder."""
    return f"attempt={validate_attempt(attempt)}" if attempt else ""


def attempt_of(rel: str) -> str:
    """The attempt a path below a ``run_id=`` folder belongs to (``""``: legacy files)."""
    first = rel.split("/", 1)[0]
    return first.removeprefix("attempt=") if first.startswith("attempt=") and "/" in rel else ""


def latest_order(dt: date | str, finished_at: datetime | str | None) -> tuple[str, str]:
    """The one meaning of "latest": among succeeded runs, the newest data date, then the
    newest finish. A backfill of an old day therefore never becomes latest, however late
    it ran. The local ``_latest.json``, the S3 manifest and the ``latest_*`` views
    (:func:`athena.ddl.latest_run_subquery`) all order runs by this key.

    Times compare as ISO-8601 text, so they must share a form (UTC, as the miner writes).
    """
    day = dt.isoformat() if isinstance(dt, date) else str(dt)
    done = finished_at.isoformat() if isinstance(finished_at, datetime) else finished_at
    return (day, str(done or ""))


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
    attempt: str = LEGACY_ATTEMPT
    """The attempt folder the run's files are in (``""``: directly in ``run_id=``)."""

    def __post_init__(self) -> None:
        validate_run_id(self.run_id)
        validate_attempt(self.attempt)

    def at(self, attempt: str) -> RunLayout:
        return replace(self, attempt=attempt)

    @property
    def partition(self) -> str:
        return f"dt={self.dt.isoformat()}/run_id={self.run_id}"

    def run_dir(self, name: str) -> str:
        """``<root>/<name>/dt=.../run_id=...``: every attempt of the run is below it."""
        if name not in (*DATASETS, EXPORTS):
            raise KeyError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
        return f"{self.root.rstrip('/')}/{name}/{self.partition}"

    def _in_attempt(self, name: str) -> str:
        folder = attempt_folder(self.attempt)
        return f"{self.run_dir(name)}/{folder}" if folder else self.run_dir(name)

    def dataset(self, name: str) -> str:
        if name not in DATASETS:
            raise KeyError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
        return self._in_attempt(name)

    @property
    def exports(self) -> str:
        return self._in_attempt(EXPORTS)

    @property
    def pointer(self) -> str:
        """The run's current-attempt pointer (one file per run, switched atomically)."""
        return f"{self.root.rstrip('/')}/{pointer_rel(self.dt, self.run_id)}"

    @property
    def latest(self) -> str:
        return f"{self.root.rstrip('/')}/{LATEST}"


def pointer_rel(dt: date, run_id: str) -> str:
    return f"{ATTEMPTS}/dt={dt.isoformat()}/run_id={validate_run_id(run_id)}.json"


@dataclass(frozen=True)
class Pointer:
    """A run's current attempt and the attempts it replaced, newest first."""

    attempt: str
    previous: tuple[str, ...] = ()
    switched_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "attempt": self.attempt,
            "previous": list(self.previous),
            "switched_at": self.switched_at,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Pointer:
        return cls(
            attempt=validate_attempt(str(d["attempt"])),
            previous=tuple(validate_attempt(str(a)) for a in d.get("previous") or ()),
            switched_at=str(d.get("switched_at") or ""),
        )

    def switch(self, attempt: str, now: datetime | None = None) -> Pointer:
        """The pointer after switching to ``attempt`` (the current one becomes previous)."""
        if attempt == self.attempt:
            return self
        previous = (self.attempt, *(a for a in self.previous if a not in (attempt, self.attempt)))
        return Pointer(attempt, previous, (now or datetime.now(UTC)).isoformat())

    def keep(self, retain: int) -> frozenset[str]:
        """Attempts that must stay: the current one and the ``retain`` it replaced last."""
        return frozenset((self.attempt, *self.previous[: max(0, retain)]))


def first_pointer(attempt: str, now: datetime | None = None) -> Pointer:
    """The pointer of a run seen for the first time; files written before attempts
    existed (if any) count as the attempt it replaced."""
    return Pointer(attempt, (LEGACY_ATTEMPT,), (now or datetime.now(UTC)).isoformat())


# ---- the local pointer ---------------------------------------------------------------


def read_pointer(layout: RunLayout) -> Pointer | None:
    path = Path(layout.pointer)
    if not path.is_file():
        return None
    return Pointer.from_dict(json.loads(path.read_text(encoding="utf-8")))


def current_layout(root: str | Path, dt: date, run_id: str) -> RunLayout:
    """The run's layout at its current attempt (the legacy folder without a pointer)."""
    layout = RunLayout(str(root), dt, run_id)
    pointer = read_pointer(layout)
    return layout.at(pointer.attempt) if pointer else layout


def write_atomic(path: Path, body: bytes) -> None:
    """Write a file so a reader sees the old content or the new, never a torn one: a
    temporary file beside it, flushed to disk, then ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with tmp.open("wb") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def switch_local(layout: RunLayout, now: datetime | None = None) -> Pointer:
    """Point the run at ``layout.attempt`` (one atomic rename); the new pointer."""
    current = read_pointer(layout)
    pointer = current.switch(layout.attempt, now) if current else first_pointer(layout.attempt, now)
    write_atomic(Path(layout.pointer), (json.dumps(pointer.to_dict(), indent=2) + "\n").encode())
    return pointer
