"""Publish one local run to S3 with the same layout (:mod:`basket_core.layout`).

Steps, each safe to repeat:

1. find the run locally (``latest`` = the run named by ``<output>/_latest.json``);
2. list its files: every dataset partition ``<dataset>/dt=.../run_id=.../`` and the
   exports folder (hidden and ``_``-prefixed files such as Spark's ``_SUCCESS`` and
   ``.crc`` are skipped: Athena ignores them anyway);
3. upload in parallel whatever S3 does not already hold byte for byte (same size and
   same SHA-256 recorded in the object's metadata), with SSE, a checksum S3 verifies on
   receipt, multipart above the threshold; then compare the checksum S3 reports with
   the local one;
4. delete objects inside this run's partitions that the local run does not have;
5. write ``_latest.json`` last, and only when this run is at least as new as the run it
   names, and only if its content changes.

A publish interrupted anywhere before step 5 leaves the manifest untouched, so readers
never see a half-written run; running it again completes it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from basket_core.aws import s3 as s3_api
from basket_core.aws.s3 import ChecksumAlgorithm, LocalChecksums, sse_args
from basket_core.aws.session import retry_throttled
from basket_core.layout import DATASETS, EXPORTS, LATEST, RunLayout, Target, validate_run_id

if TYPE_CHECKING:  # pragma: no cover
    from basket_core.config import AwsConfig

log = logging.getLogger(__name__)

MiB = 1024 * 1024
_CONTENT_TYPES = {
    ".parquet": "application/vnd.apache.parquet",
    ".csv": "text/csv; charset=utf-8",
    ".json": "application/json",
}
Outcome = Literal["uploaded", "skipped"]


class PublishError(RuntimeError):
    """Some files could not be published; the manifest was not written."""


class ChecksumMismatch(PublishError):
    pass


@dataclass(frozen=True)
class PublishOptions:
    checksum: ChecksumAlgorithm = "SHA256"
    workers: int = 8
    multipart_threshold: int = 64 * MiB
    multipart_chunksize: int = 16 * MiB
    attempts: int = 5
    prune: bool = True

    def __post_init__(self) -> None:
        if self.checksum not in ("SHA256", "CRC32"):
            raise ValueError(f"checksum must be SHA256 or CRC32, got {self.checksum!r}")
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        if self.multipart_chunksize < 5 * MiB:
            raise ValueError(
                f"multipart_chunksize must be >= 5 MiB (S3 minimum), got {self.multipart_chunksize}"
            )
        if self.attempts < 1:
            raise ValueError(f"attempts must be >= 1, got {self.attempts}")


@dataclass(frozen=True)
class LocalRun:
    root: Path
    dt: date
    run_id: str
    finished_at: str | None = None

    def layout(self, root: str | None = None) -> RunLayout:
        return RunLayout(root=root or str(self.root), dt=self.dt, run_id=self.run_id)

    def partition_dirs(self) -> list[str]:
        """Relative folders of the run: one per dataset plus the exports folder."""
        part = self.layout().partition
        return [f"{name}/{part}" for name in (*DATASETS, EXPORTS)]


@dataclass(frozen=True)
class LocalFile:
    path: Path
    rel: str  # path relative to the results root, "/"-separated


@dataclass
class PublishResult:
    target: str
    run_id: str
    uploaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    manifest_written: bool = False
    manifest_reason: str = ""


# ---- pure helpers ---------------------------------------------------------------------


def content_type(path: Path) -> str:
    return _CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")


def is_published_file(path: Path) -> bool:
    return path.is_file() and not path.name.startswith((".", "_"))


def manifest(run: LocalRun, target: Target, files: Mapping[str, LocalChecksums]) -> dict[str, Any]:
    """The ``_latest.json`` body: which run is newest and exactly which objects it has."""
    layout = run.layout(target.root)
    return {
        "run_id": run.run_id,
        "dt": run.dt.isoformat(),
        "finished_at": run.finished_at,
        "root": target.root,
        "datasets": {name: layout.dataset(name) + "/" for name in DATASETS},
        "exports": layout.exports + "/",
        "objects": [
            {"key": rel, "size": c.size, "sha256": c.sha256_hex} for rel, c in sorted(files.items())
        ],
    }


def encode_manifest(body: Mapping[str, Any]) -> bytes:
    return (json.dumps(body, indent=2, sort_keys=True) + "\n").encode()


def _order(m: Mapping[str, Any]) -> tuple[str, str]:
    return (str(m.get("dt") or ""), str(m.get("finished_at") or ""))


def manifest_decision(current: Mapping[str, Any] | None, new: Mapping[str, Any]) -> str:
    """``"write"``, ``"same"`` (already current) or ``"older"`` (a newer run is published)."""
    if current is None:
        return "write"
    if dict(current) == dict(new):
        return "same"
    if _order(new) < _order(current):
        return "older"
    return "write"


def remote_matches(
    remote: s3_api.RemoteObject | None, local: LocalChecksums, sse: Mapping[str, str]
) -> bool:
    """True when S3 already holds exactly this file with the wanted encryption."""
    if remote is None or remote.size != local.size:
        return False
    if remote.metadata.get(s3_api.SHA256_METADATA) != local.sha256_hex:
        return False
    if remote.checksum is not None and not local.accepts(remote.checksum):
        return False
    wanted = sse.get("ServerSideEncryption")
    return wanted is None or remote.sse == wanted


# ---- local discovery ------------------------------------------------------------------


def find_run(root: Path, run_id: str = "latest") -> LocalRun:
    """Locate a run under the local results root (``latest`` = per ``_latest.json``)."""
    if run_id == "latest":
        latest = root / LATEST
        if not latest.is_file():
            raise FileNotFoundError(f"{latest} not found: mine a run first or pass --run-id")
        run_id = str(json.loads(latest.read_text(encoding="utf-8"))["run_id"])
    validate_run_id(run_id)
    found = sorted(
        {p.parent.name for p in root.glob(f"*/dt=*/run_id={run_id}") if p.is_dir()}
        | {p.parent.name for p in root.glob(f"{EXPORTS}/dt=*/run_id={run_id}")}
    )
    if not found:
        raise FileNotFoundError(f"run {run_id!r} not found under {root}")
    if len(found) > 1:
        raise ValueError(f"run {run_id!r} appears under several dates: {', '.join(found)}")
    dt = date.fromisoformat(found[0].removeprefix("dt="))
    return LocalRun(root=root, dt=dt, run_id=run_id, finished_at=_finished_at(root, dt, run_id))


def _finished_at(root: Path, dt: date, run_id: str) -> str | None:
    report = Path(RunLayout(str(root), dt, run_id).exports) / "run.json"
    if report.is_file():
        value = json.loads(report.read_text(encoding="utf-8")).get("finished_at")
        return str(value) if value is not None else None
    return None


def list_files(run: LocalRun) -> list[LocalFile]:
    """Every file of the run to publish, in a stable order."""
    files: list[LocalFile] = []
    for rel_dir in run.partition_dirs():
        folder = run.root / rel_dir
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if is_published_file(path) and not any(
                part.startswith((".", "_")) for part in path.relative_to(folder).parts
            ):
                files.append(LocalFile(path, path.relative_to(run.root).as_posix()))
    if not files:
        raise FileNotFoundError(f"run {run.run_id!r} has no files under {run.root}")
    return files


# ---- I/O -----------------------------------------------------------------------------


def _publish_file(
    s3: Any,
    f: LocalFile,
    target: Target,
    options: PublishOptions,
    sse: Mapping[str, str],
    config: Any,
) -> tuple[Outcome, LocalChecksums]:
    local = s3_api.file_checksums(
        f.path,
        options.checksum,
        threshold=options.multipart_threshold,
        chunksize=options.multipart_chunksize,
    )
    key = target.key(f.rel)
    if remote_matches(s3_api.head(s3, target.bucket, key, options.checksum), local, sse):
        return "skipped", local
    extra = {
        **sse,
        "ChecksumAlgorithm": options.checksum,
        "ContentType": content_type(f.path),
        "Metadata": {s3_api.SHA256_METADATA: local.sha256_hex},
    }
    retry_throttled(
        s3_api.upload_file,
        s3,
        f.path,
        target.bucket,
        key,
        extra_args=extra,
        config=config,
        attempts=options.attempts,
    )
    remote = s3_api.head(s3, target.bucket, key, options.checksum)
    if remote is None or remote.size != local.size:
        raise PublishError(f"s3://{target.bucket}/{key}: size differs after upload")
    if remote.checksum is not None and not local.accepts(remote.checksum):
        s3_api.delete(s3, target.bucket, key)  # never leave a corrupt object that looks current
        raise ChecksumMismatch(
            f"s3://{target.bucket}/{key}: {options.checksum} {remote.checksum} does not match "
            f"the local file ({local.full} / {local.composite})"
        )
    return "uploaded", local


def transfer_config(options: PublishOptions) -> Any:
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(
        multipart_threshold=options.multipart_threshold,
        multipart_chunksize=options.multipart_chunksize,
        max_concurrency=options.workers,
        use_threads=True,
    )


def publish_run(
    s3: Any,
    run: LocalRun,
    target: Target,
    *,
    aws: AwsConfig,
    options: PublishOptions | None = None,
    on_file: Callable[[str, Outcome], None] | None = None,
) -> PublishResult:
    """Upload one run and then, last, the manifest. Safe to repeat; see the module doc."""
    options = options or PublishOptions()
    sse = sse_args(aws)
    files = list_files(run)
    config = transfer_config(options)
    result = PublishResult(target=target.root, run_id=run.run_id)
    checksums: dict[str, LocalChecksums] = {}
    failures: list[str] = []
    with ThreadPoolExecutor(max_workers=options.workers, thread_name_prefix="publish") as pool:
        futures: dict[Future[tuple[Outcome, LocalChecksums]], LocalFile] = {
            pool.submit(_publish_file, s3, f, target, options, sse, config): f for f in files
        }
        try:
            for fut in as_completed(futures):
                f = futures[fut]
                try:
                    outcome, local = fut.result()
                except Exception as exc:
                    log.error("publish %s failed: %s", f.rel, exc)
                    failures.append(f"{f.rel}: {exc}")
                    continue
                checksums[f.rel] = local
                (result.uploaded if outcome == "uploaded" else result.skipped).append(f.rel)
                if on_file is not None:
                    on_file(f.rel, outcome)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    if failures:
        raise PublishError(
            f"{len(failures)} of {len(files)} files failed; manifest not written "
            f"(re-run to complete):\n  " + "\n  ".join(sorted(failures))
        )
    if options.prune:
        result.deleted = _prune(s3, run, target, set(checksums))
    _write_manifest(s3, run, target, checksums, sse, result)
    result.uploaded.sort()
    result.skipped.sort()
    return result


def _prune(s3: Any, run: LocalRun, target: Target, keep: set[str]) -> list[str]:
    """Delete objects inside this run's partitions that the local run does not have."""
    keep_keys = {target.key(rel) for rel in keep}
    deleted: list[str] = []
    for rel_dir in run.partition_dirs():
        for key in s3_api.list_keys(s3, target.bucket, target.key(rel_dir) + "/"):
            if key not in keep_keys:
                s3_api.delete(s3, target.bucket, key)
                deleted.append(key)
    return sorted(deleted)


def _write_manifest(
    s3: Any,
    run: LocalRun,
    target: Target,
    checksums: Mapping[str, LocalChecksums],
    sse: Mapping[str, str],
    result: PublishResult,
) -> None:
    body = manifest(run, target, checksums)
    key = target.key(LATEST)
    raw = s3_api.get_bytes(s3, target.bucket, key)
    current = json.loads(raw) if raw else None
    decision = manifest_decision(current, body)
    result.manifest_reason = decision
    if decision == "older":
        log.warning("%s names newer run %s; left as is", key, (current or {}).get("run_id"))
        return
    if decision == "same":
        return
    extra = {**sse, "ContentType": "application/json", "ChecksumAlgorithm": "SHA256"}
    s3_api.put_bytes(s3, target.bucket, key, encode_manifest(body), extra_args=extra)
    result.manifest_written = True
