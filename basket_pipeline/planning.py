"""What one scheduled run does, from its kind and its day (pure: no I/O but globbing).

A run of kind ``daily`` or ``weekly`` is keyed by its *day* ``dt``: the last complete
calendar day before the end of the run's data interval (a run firing on 2026-11-25 at
02:30 is the run of 2026-11-24). Everything it writes is keyed by ``dt`` and by
``run_id = "<kind>-<dt>"``, so re-running a day overwrites that day's outputs and adds
no new partition, and catchup/backfill runs never touch each other.

- ``daily``: the trailing window ``[dt - trailing_days + 1, dt]``;
- ``weekly``: a full recomputation over everything up to ``dt``.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

from basket_core.config import Settings
from basket_core.layout import Target, validate_run_id

RunKind = Literal["daily", "weekly"]
KINDS: tuple[RunKind, ...] = ("daily", "weekly")
_SKIP_SUFFIXES = {".json", ".md", ".crc", ".tmp"}
_NOT_ID = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class RunPlan:
    kind: RunKind
    dt: date
    start_date: date | None  # None: from the beginning (full recomputation)
    end_date: date
    run_id: str

    def as_dict(self) -> dict[str, str | None]:
        """The XCom form: plain strings."""
        return {
            "kind": self.kind,
            "dt": self.dt.isoformat(),
            "start_date": self.start_date.isoformat() if self.start_date else None,
            "end_date": self.end_date.isoformat(),
            "run_id": self.run_id,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunPlan:
        start = d.get("start_date")
        return cls(
            kind=check_kind(str(d["kind"])),
            dt=date.fromisoformat(str(d["dt"])),
            start_date=date.fromisoformat(str(start)) if start else None,
            end_date=date.fromisoformat(str(d["end_date"])),
            run_id=validate_run_id(str(d["run_id"])),
        )


def check_kind(kind: str) -> RunKind:
    if kind not in KINDS:
        raise ValueError(f"run kind must be one of {', '.join(KINDS)}, got {kind!r}")
    return cast(RunKind, kind)


def run_id_for(kind: str, dt: date) -> str:
    """``daily-2026-11-24``: the same id for every attempt, retry and re-run of a day."""
    return validate_run_id(f"{check_kind(kind)}-{dt.isoformat()}")


def plan_for(settings: Settings, kind: str, dt: date) -> RunPlan:
    k = check_kind(kind)
    start = None if k == "weekly" else dt - timedelta(days=settings.orchestration.trailing_days - 1)
    return RunPlan(kind=k, dt=dt, start_date=start, end_date=dt, run_id=run_id_for(k, dt))


def run_day(interval_end: datetime, tz: str = "UTC") -> date:
    """The last complete day before ``interval_end``, in the schedule's time zone."""
    if interval_end.tzinfo is None:
        raise ValueError(f"interval end must be time-zone aware, got {interval_end!r}")
    return interval_end.astimezone(ZoneInfo(tz)).date() - timedelta(days=1)


def interval_end(context: Mapping[str, Any]) -> datetime:
    """The end of the run's data interval; asset-triggered and manual runs without one
    fall back to the logical date, then to the time the run was due (``run_after``)."""
    for key in ("data_interval_end", "logical_date"):
        value = context.get(key)
        if value is not None:
            return cast(datetime, value)
    dag_run = context.get("dag_run")
    run_after = getattr(dag_run, "run_after", None)
    if run_after is None:
        raise ValueError("the run has no data interval, logical date or run_after")
    return cast(datetime, run_after)


def plan_from_context(settings: Settings, kind: str, context: Mapping[str, Any]) -> RunPlan:
    dt = run_day(interval_end(context), settings.orchestration.timezone)
    return plan_for(settings, kind, dt)


def slug(text: str, limit: int = 64) -> str:
    return _NOT_ID.sub("_", text).strip("_")[:limit] or "x"


# ---- where new transactions land ------------------------------------------------------


def is_s3(uri: str) -> bool:
    return uri.startswith(("s3://", "s3a://"))


def input_uri(settings: Settings) -> str:
    """The configured landing location: an ``s3://`` prefix or an absolute folder."""
    uri = settings.orchestration.input_uri
    if uri and is_s3(uri):
        return uri.rstrip("/")
    return str(Path(uri or settings.paths.data_dir / "incoming").resolve())


def input_glob(settings: Settings, dt: date) -> str:
    """The file pattern for a day (``{dt}`` and ``{dt_nodash}`` filled in)."""
    return settings.orchestration.input_glob.format(
        dt=dt.isoformat(), dt_nodash=dt.strftime("%Y%m%d")
    )


def input_key_pattern(settings: Settings, dt: date) -> tuple[str, str]:
    """``(bucket, key pattern)`` of the S3 landing prefix, for a wildcard key sensor."""
    uri = input_uri(settings)
    if not is_s3(uri):
        raise ValueError(f"input {uri} is not an s3:// prefix")
    bucket, _, prefix = uri.split("://", 1)[1].partition("/")
    key = f"{prefix}/{input_glob(settings, dt)}" if prefix else input_glob(settings, dt)
    return bucket, key


def find_input(settings: Settings, dt: date) -> list[str]:
    """Local data files for the day under the landing folder (hidden, ``_``-prefixed and
    sidecar files excluded), sorted; empty when nothing has landed yet."""
    root = Path(input_uri(settings))
    if is_s3(str(root)):
        raise ValueError("find_input is for local folders; use the S3 key sensor")
    pattern = str(root / "**" / input_glob(settings, dt))
    found = sorted(
        p
        for p in (Path(m) for m in glob.glob(pattern, recursive=True))
        if p.is_file()
        and not p.name.startswith((".", "_"))
        and p.suffix.lower() not in _SKIP_SUFFIXES
    )
    return [str(p) for p in found]


def spark_input(settings: Settings) -> str:
    """The landing location as Spark reads it (``s3a://`` for S3)."""
    uri = input_uri(settings)
    return "s3a://" + uri.split("://", 1)[1] if is_s3(uri) else uri


def transactions_asset_uri(settings: Settings) -> str:
    uri = input_uri(settings)
    return uri.replace("s3a://", "s3://", 1) if is_s3(uri) else Path(uri).as_uri()


def results_asset_uri(settings: Settings) -> str:
    """The published rules dataset (``s3://bucket/prefix/rules``)."""
    return f"{Target.of(settings.aws).root}/rules"
