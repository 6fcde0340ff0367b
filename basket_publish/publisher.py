"""Publish one local run to S3 with the same layout (:mod:`basket_core.layout`).

A run id is published again and again (every re-run of a scheduled day), while analysts
read it. So a publish never writes where a reader looks; it writes a new *attempt* and
switches to it:

1. find the run locally at its current attempt (``latest`` = the run ``_latest.json``
   names) and check it is complete (:func:`check_complete`): its ``run.json`` says
   succeeded and when it finished, every dataset is there with the row counts the report
   has. Otherwise one :class:`IncompleteRun` error and nothing is written;
2. the S3 attempt id is a digest of the files' SHA-256 and the encryption settings
   (:func:`attempt_id`): the same content under the same key publishes to the same
   prefix (a re-run after a crash resumes it; a repeat is a no-op), anything new (a
   re-mine, a KMS key change) to a new prefix no reader points at;
3. upload in parallel what that prefix does not already hold byte for byte (same size,
   SHA-256 in the metadata, encryption and KMS key), with SSE, a checksum S3 verifies on
   receipt, multipart above the threshold (an upload that fails is aborted by the
   transfer manager); then compare the checksum S3 reports with the local one;
4. switch: the catalog first (``switch``, e.g. the Glue partition locations), then the
   run's pointer ``_attempts/dt=.../run_id=....json``, then ``_latest.json`` if this run
   is the latest (:func:`basket_core.layout.latest_order`). Pointer and manifest are
   conditional writes (If-Match on the ETag read, If-None-Match for the first), re-read
   and retried when another publisher got there first;
5. retire: delete the attempts the pointer superseded beyond ``retain_attempts`` (the
   kept ones are tagged for the bucket's expiry rule, :func:`setup_bucket`), attempts no
   pointer ever named and open multipart uploads once older than ``orphan_grace_s``.

A publish killed anywhere leaves readers on the old attempt or, from the switch on, on
the new one; running it again completes it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from basket_core.aws import s3 as s3_api
from basket_core.aws.s3 import ChecksumAlgorithm, LocalChecksums, sse_args
from basket_core.aws.session import retry_throttled
from basket_core.layout import (
    DATASETS,
    EXPORTS,
    LATEST,
    LEGACY_ATTEMPT,
    Pointer,
    RunLayout,
    Target,
    attempt_folder,
    attempt_of,
    current_layout,
    first_pointer,
    latest_order,
    pointer_rel,
    validate_run_id,
)

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
Switch = Callable[[str], None]
"""Moves readers (the catalog) to an attempt of the run being published."""
SUPERSEDED_TAG = ("basket-attempt", "superseded")
"""The tag on kept superseded attempts; the lifecycle rule expires what carries it."""
_WRITE_TRIES = 8


class PublishError(RuntimeError):
    """The run could not be published; readers still see what they saw before."""


class ChecksumMismatch(PublishError):
    pass


class IncompleteRun(PublishError):
    """The local run is not complete (no success marker, missing data, wrong counts)."""


@dataclass(frozen=True)
class PublishOptions:
    checksum: ChecksumAlgorithm = "SHA256"
    workers: int = 8
    multipart_threshold: int = 64 * MiB
    multipart_chunksize: int = 16 * MiB
    attempts: int = 5
    prune: bool = True
    """Delete superseded attempts after the switch (beyond ``retain_attempts``)."""
    retain_attempts: int = 1
    orphan_grace_s: float = 3600.0

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
        if self.retain_attempts < 0 or self.orphan_grace_s < 0:
            raise ValueError("retain_attempts and orphan_grace_s must be >= 0")


@dataclass(frozen=True)
class LocalRun:
    root: Path
    dt: date
    run_id: str
    finished_at: str | None = None
    attempt: str = LEGACY_ATTEMPT
    """The local attempt the run's pointer names (``""``: a run from before attempts)."""

    def layout(self, root: str | None = None, attempt: str | None = None) -> RunLayout:
        return RunLayout(
            root=root or str(self.root),
            dt=self.dt,
            run_id=self.run_id,
            attempt=self.attempt if attempt is None else attempt,
        )

    def folders(self) -> dict[str, Path]:
        """Each dataset's folder and the exports folder, at the current attempt."""
        layout = self.layout()
        return {name: Path(layout.dataset(name)) for name in DATASETS} | {
            EXPORTS: Path(layout.exports)
        }


@dataclass(frozen=True)
class LocalFile:
    path: Path
    rel: str  # path relative to the results root, "/"-separated
    dataset: str = ""  # a dataset name or "exports"
    name: str = ""  # path inside the attempt folder, "/"-separated

    def key_rel(self, run: LocalRun, attempt: str) -> str:
        """Where the file goes below the S3 root: the same run folder, the given attempt."""
        folder = attempt_folder(attempt)
        base = f"{self.dataset}/{run.layout().partition}"
        return f"{base}/{folder}/{self.name}" if folder else f"{base}/{self.name}"


@dataclass
class PublishResult:
    target: str
    run_id: str
    attempt: str = ""
    uploaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    manifest_written: bool = False
    manifest_reason: str = ""
    switched: bool = False
    aborted_uploads: list[str] = field(default_factory=list)


# ---- pure helpers ---------------------------------------------------------------------


def content_type(path: Path) -> str:
    return _CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")


def is_published_file(path: Path) -> bool:
    return path.is_file() and not path.name.startswith((".", "_"))


def manifest(
    run: LocalRun, target: Target, attempt: str, files: Mapping[str, LocalChecksums]
) -> dict[str, Any]:
    """The ``_latest.json`` body: which run is latest, its attempt and exactly which
    objects it has (``files`` keyed by the path below the S3 root)."""
    layout = run.layout(target.root, attempt)
    return {
        "run_id": run.run_id,
        "dt": run.dt.isoformat(),
        "finished_at": run.finished_at,
        "attempt": attempt,
        "root": target.root,
        "datasets": {name: layout.dataset(name) + "/" for name in DATASETS},
        "exports": layout.exports + "/",
        "objects": [
            {"key": rel, "size": c.size, "sha256": c.sha256_hex} for rel, c in sorted(files.items())
        ],
    }


def encode_manifest(body: Mapping[str, Any]) -> bytes:
    return (json.dumps(body, indent=2, sort_keys=True) + "\n").encode()


def manifest_decision(current: Mapping[str, Any] | None, new: Mapping[str, Any]) -> str:
    """``"write"``, ``"same"`` (already current) or ``"older"`` (the manifest names a run
    that is later by :func:`basket_core.layout.latest_order`)."""
    if current is None:
        return "write"
    if dict(current) == dict(new):
        return "same"
    if current.get("run_id") == new.get("run_id"):
        return "write"  # the same run, re-published
    if latest_order(str(new.get("dt") or ""), new.get("finished_at")) < latest_order(
        str(current.get("dt") or ""), current.get("finished_at")
    ):
        return "older"
    return "write"


def attempt_id(files: Mapping[str, LocalChecksums], sse: Mapping[str, str]) -> str:
    """The S3 attempt of a run's content: a digest of every file (its path inside the
    attempt and SHA-256) and of the encryption asked for. Same files, same key: same
    attempt (a re-run resumes, a repeat is a no-op); anything else: a new prefix."""
    h = hashlib.sha256()
    for rel, c in sorted(files.items()):
        h.update(f"{rel}\x1f{c.sha256_hex}\n".encode())
    h.update(json.dumps(dict(sse), sort_keys=True).encode())
    return "p" + h.hexdigest()[:20]


def remote_matches(
    remote: s3_api.RemoteObject | None, local: LocalChecksums, sse: Mapping[str, str]
) -> bool:
    """True when S3 already holds exactly this file with the wanted encryption (and, for
    SSE-KMS, under the wanted key: an object under another key counts as changed)."""
    if remote is None or remote.size != local.size:
        return False
    if remote.metadata.get(s3_api.SHA256_METADATA) != local.sha256_hex:
        return False
    if remote.checksum is not None and not local.accepts(remote.checksum):
        return False
    wanted = sse.get("ServerSideEncryption")
    if wanted is not None and remote.sse != wanted:
        return False
    key = sse.get("SSEKMSKeyId")
    return key is None or s3_api.kms_key_matches(remote.kms_key_id, key)


# ---- local discovery ------------------------------------------------------------------


def find_run(root: Path, run_id: str = "latest") -> LocalRun:
    """Locate a run under the local results root (``latest`` = per ``_latest.json``), at
    the attempt its pointer names."""
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
    layout = current_layout(root, dt, run_id)
    report = read_report(Path(layout.exports) / "run.json")
    finished = report.get("finished_at") if report else None
    return LocalRun(
        root=root,
        dt=dt,
        run_id=run_id,
        finished_at=str(finished) if finished is not None else None,
        attempt=layout.attempt,
    )


def read_report(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def expected_rows(report: Mapping[str, Any]) -> dict[str, int | None]:
    """Rows each dataset must hold per the run report (``quarantine``: every rejected
    row; ``runs``: the run's one row; ``rule_changes``: the changes of every kind the
    report counts, ``{"new": 2, "gone": 1, ...}``; ``rule_changes`` and ``item_edges``
    are None when the report does not count them, a run mined before that dataset
    existed, whose folder is not checked)."""
    counts = report.get("counts")
    if not isinstance(counts, Mapping):
        raise KeyError("counts")
    changes = counts.get("rule_changes")
    if isinstance(changes, Mapping):
        changes = sum(int(n) for n in changes.values())
    edges = counts.get("item_edges")
    return {
        "itemsets": int(counts["itemsets"]),
        "rules": int(counts["rules"]),
        "item_edges": None if edges is None else int(edges),
        "rule_changes": None if changes is None else int(changes),
        "quarantine": int(counts["rejected_rows"]),
        "runs": 1,
    }


def parquet_rows(folder: Path) -> int | None:
    """Rows in the folder's Parquet files (their footers only), or None if it has none."""
    import pyarrow.parquet as pq

    files = [p for p in sorted(folder.glob("*.parquet")) if is_published_file(p)]
    if not files:
        return None
    return sum(pq.read_metadata(p).num_rows for p in files)


def completeness_problems(run: LocalRun) -> list[str]:
    """What keeps the run from being publishable (empty: complete). The success marker
    is ``run.json`` with ``status = succeeded``, ``finished_at`` and the counts; every
    dataset must be there with exactly the counted rows."""
    folders = run.folders()
    report = read_report(folders[EXPORTS] / "run.json")
    if report is None:
        return ["no run report (exports/.../run.json): the mine did not finish"]
    problems = []
    if report.get("status") != "succeeded":
        problems.append(f"run.json status is {report.get('status')!r}, not 'succeeded'")
    if not report.get("finished_at"):
        problems.append("run.json has no finished_at")
    try:
        want = expected_rows(report)
    except (KeyError, TypeError, ValueError):
        return [*problems, "run.json has no counts (itemsets, rules, rejected_rows)"]
    for name in DATASETS:
        if want[name] is None:
            continue  # not counted by this run's report (a run from before the dataset)
        rows = parquet_rows(folders[name])
        if rows is None and want[name] == 0 and (folders[name] / "_SUCCESS").is_file():
            continue  # an empty dataset committed with no file (nothing to publish)
        if rows is None:
            problems.append(f"dataset {name} has no Parquet files in {folders[name]}")
        elif rows != want[name]:
            problems.append(f"dataset {name} has {rows} rows, run.json says {want[name]}")
    return problems


def check_complete(run: LocalRun) -> None:
    """Raise :class:`IncompleteRun` (one message) unless the run is publishable."""
    problems = completeness_problems(run)
    if problems:
        raise IncompleteRun(
            f"run {run.run_id} ({run.dt}) is not complete, not published: " + "; ".join(problems)
        )


def list_files(run: LocalRun) -> list[LocalFile]:
    """Every file of the run's current attempt to publish, in a stable order (hidden and
    ``_``-prefixed files such as Spark's ``_SUCCESS`` and ``.crc`` are skipped: Athena
    ignores them anyway)."""
    files: list[LocalFile] = []
    for name, folder in run.folders().items():
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            inner = path.relative_to(folder)
            if not is_published_file(path) or any(
                part.startswith((".", "_")) for part in inner.parts
            ):
                continue
            if not run.attempt and attempt_of(inner.as_posix()):
                continue  # a newer attempt's file below a legacy run folder
            files.append(
                LocalFile(path, path.relative_to(run.root).as_posix(), name, inner.as_posix())
            )
    if not files:
        raise FileNotFoundError(f"run {run.run_id!r} has no files under {run.root}")
    return files


# ---- I/O -----------------------------------------------------------------------------


def _checksums(f: LocalFile, options: PublishOptions) -> LocalChecksums:
    return s3_api.file_checksums(
        f.path,
        options.checksum,
        threshold=options.multipart_threshold,
        chunksize=options.multipart_chunksize,
    )


def _publish_file(
    s3: Any,
    f: LocalFile,
    key: str,
    local: LocalChecksums,
    bucket: str,
    options: PublishOptions,
    sse: Mapping[str, str],
    config: Any,
    on_bytes: Callable[[int], None] | None = None,
) -> Outcome:
    if remote_matches(s3_api.head(s3, bucket, key, options.checksum), local, sse):
        if on_bytes is not None:
            on_bytes(f.path.stat().st_size)
        return "skipped"
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
        bucket,
        key,
        extra_args=extra,
        config=config,
        on_bytes=on_bytes,
        attempts=options.attempts,
    )
    remote = s3_api.head(s3, bucket, key, options.checksum)
    if remote is None or remote.size != local.size:
        raise PublishError(f"s3://{bucket}/{key}: size differs after upload")
    if remote.checksum is not None and not local.accepts(remote.checksum):
        s3_api.delete(s3, bucket, key)  # never leave a corrupt object that looks current
        raise ChecksumMismatch(
            f"s3://{bucket}/{key}: {options.checksum} {remote.checksum} does not match "
            f"the local file ({local.full} / {local.composite})"
        )
    return "uploaded"


def transfer_config(options: PublishOptions) -> Any:
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(
        multipart_threshold=options.multipart_threshold,
        multipart_chunksize=options.multipart_chunksize,
        max_concurrency=options.workers,
        use_threads=True,
    )


def _parallel(
    options: PublishOptions, items: list[LocalFile], work: Callable[[LocalFile], Any]
) -> tuple[dict[str, Any], list[str]]:
    """``work`` on every file in the thread pool: results by file, and the failures."""
    done: dict[str, Any] = {}
    failures: list[str] = []
    with ThreadPoolExecutor(max_workers=options.workers, thread_name_prefix="publish") as pool:
        futures: dict[Future[Any], LocalFile] = {pool.submit(work, f): f for f in items}
        try:
            for fut in as_completed(futures):
                f = futures[fut]
                try:
                    done[f.rel] = fut.result()
                except Exception as exc:
                    log.error("publish %s failed: %s", f.rel, exc)
                    failures.append(f"{f.rel}: {exc}")
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return done, failures


def run_bytes(run: LocalRun) -> int:
    """Bytes a publish of ``run`` sends or checks: every file it lists."""
    return sum(f.path.stat().st_size for f in list_files(run))


def publish_run(
    s3: Any,
    run: LocalRun,
    target: Target,
    *,
    aws: AwsConfig,
    options: PublishOptions | None = None,
    on_file: Callable[[str, Outcome], None] | None = None,
    switch: Switch | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> PublishResult:
    """Upload one run as a new attempt, switch readers to it, retire what it replaced.
    Safe to repeat and to kill anywhere; see the module doc."""
    options = options or PublishOptions()
    check_complete(run)
    sse = sse_args(aws)
    files = list_files(run)
    config = transfer_config(options)
    result = PublishResult(target=target.root, run_id=run.run_id)

    local, failures = _parallel(options, files, lambda f: _checksums(f, options))
    if failures:
        raise PublishError("could not read the local run:\n  " + "\n  ".join(sorted(failures)))
    by_name = {f"{f.dataset}/{f.name}": local[f.rel] for f in files}
    attempt = result.attempt = attempt_id(by_name, sse)
    keys = {f.rel: target.key(f.key_rel(run, attempt)) for f in files}

    def upload(f: LocalFile) -> Outcome:
        outcome = _publish_file(
            s3, f, keys[f.rel], local[f.rel], target.bucket, options, sse, config, on_bytes
        )
        if on_file is not None:
            on_file(f.rel, outcome)
        return outcome

    outcomes, failures = _parallel(options, files, upload)
    if failures:
        raise PublishError(
            f"{len(failures)} of {len(files)} files failed; readers still see the previous "
            f"attempt (re-run to complete):\n  " + "\n  ".join(sorted(failures))
        )
    for rel, outcome in outcomes.items():
        (result.uploaded if outcome == "uploaded" else result.skipped).append(rel)

    if switch is not None:
        switch(attempt)
    pointer, result.switched = _switch_pointer(s3, run, target, attempt, sse)
    published = {keys[f.rel].removeprefix(target.key("")): local[f.rel] for f in files}
    _write_manifest(s3, run, target, attempt, published, sse, result)
    if options.prune:
        result.deleted, result.aborted_uploads = _retire(s3, run, target, pointer, options)
        if result.switched:
            _tag_superseded(s3, run, target, pointer, options.retain_attempts)
    result.uploaded.sort()
    result.skipped.sort()
    return result


# ---- switch ---------------------------------------------------------------------------


def update_json(
    s3: Any,
    bucket: str,
    key: str,
    decide: Callable[[dict[str, Any] | None], dict[str, Any] | None],
    *,
    extra_args: Mapping[str, Any],
    tries: int = _WRITE_TRIES,
) -> dict[str, Any] | None:
    """Read-modify-write a small JSON object with a conditional put; on a conflict (another
    writer in between) read again and decide again. ``decide`` gets the current body and
    returns the new one, or None to leave it. Returns what was written (None: nothing)."""
    for _ in range(tries):
        raw, etag = s3_api.get_with_etag(s3, bucket, key)
        current = json.loads(raw) if raw else None
        body = decide(current)
        if body is None:
            return None
        try:
            s3_api.put_if(s3, bucket, key, encode_manifest(body), etag=etag, extra_args=extra_args)
        except s3_api.PreconditionFailed:
            log.info("s3://%s/%s changed while being updated; reading it again", bucket, key)
            continue
        return body
    raise PublishError(f"s3://{bucket}/{key}: gave up after {tries} conflicting writes")


def _json_extra(sse: Mapping[str, str]) -> dict[str, Any]:
    return {**sse, "ContentType": "application/json", "ChecksumAlgorithm": "SHA256"}


def _switch_pointer(
    s3: Any, run: LocalRun, target: Target, attempt: str, sse: Mapping[str, str]
) -> tuple[Pointer, bool]:
    """Point the run at ``attempt`` in S3; the pointer, and whether it moved."""
    state: dict[str, Pointer] = {}

    def decide(current: dict[str, Any] | None) -> dict[str, Any] | None:
        old = Pointer.from_dict(current) if current else None
        new = old.switch(attempt) if old else first_pointer(attempt)
        state["pointer"] = new
        return None if new == old else new.to_dict()

    written = update_json(
        s3,
        target.bucket,
        target.key(pointer_rel(run.dt, run.run_id)),
        decide,
        extra_args=_json_extra(sse),
    )
    return state["pointer"], written is not None


def read_s3_pointer(s3: Any, target: Target, dt: date, run_id: str) -> Pointer | None:
    """The run's current S3 attempt (None: not published with attempts)."""
    raw = s3_api.get_bytes(s3, target.bucket, target.key(pointer_rel(dt, run_id)))
    return Pointer.from_dict(json.loads(raw)) if raw else None


def _write_manifest(
    s3: Any,
    run: LocalRun,
    target: Target,
    attempt: str,
    files: Mapping[str, LocalChecksums],
    sse: Mapping[str, str],
    result: PublishResult,
) -> None:
    body = manifest(run, target, attempt, files)

    def decide(current: dict[str, Any] | None) -> dict[str, Any] | None:
        result.manifest_reason = manifest_decision(current, body)
        return body if result.manifest_reason == "write" else None

    key = target.key(LATEST)
    result.manifest_written = (
        update_json(s3, target.bucket, key, decide, extra_args=_json_extra(sse)) is not None
    )
    if result.manifest_reason == "older":
        log.warning("%s names a later run; left as is", key)


# ---- retire ---------------------------------------------------------------------------


def _run_prefixes(run: LocalRun, target: Target) -> list[str]:
    layout = run.layout(target.root)
    return [
        target.key(layout.run_dir(name).removeprefix(target.root + "/")) + "/"
        for name in (*DATASETS, EXPORTS)
    ]


def _retire(
    s3: Any, run: LocalRun, target: Target, pointer: Pointer, options: PublishOptions
) -> tuple[list[str], list[str]]:
    """Delete the run's attempts the pointer no longer keeps: superseded ones beyond the
    retention at once, never-switched ones (a killed publish) once older than the grace;
    abort multipart uploads left open under the run as old. Deleted keys, aborted keys."""
    keep = pointer.keep(options.retain_attempts)
    cutoff = datetime.now(UTC) - timedelta(seconds=options.orphan_grace_s)
    doomed: list[str] = []
    aborted: list[str] = []
    for prefix in _run_prefixes(run, target):
        groups: dict[str, list[s3_api.Listed]] = {}
        for obj in s3_api.list_objects(s3, target.bucket, prefix):
            groups.setdefault(attempt_of(obj.key.removeprefix(prefix)), []).append(obj)
        for attempt, objects in groups.items():
            if attempt in keep:
                continue
            superseded = attempt in pointer.previous or attempt == LEGACY_ATTEMPT
            if superseded or max(o.last_modified for o in objects) < cutoff:
                doomed.extend(o.key for o in objects)
        for upload in s3_api.open_uploads(s3, target.bucket, prefix):
            if upload.initiated < cutoff:
                s3_api.abort_upload(s3, target.bucket, upload)
                aborted.append(upload.key)
    s3_api.delete_many(s3, target.bucket, doomed)
    return sorted(doomed), sorted(aborted)


def _tag_superseded(s3: Any, run: LocalRun, target: Target, pointer: Pointer, retain: int) -> None:
    """Tag the superseded attempts kept for readers, so the bucket's lifecycle rule
    expires them even if this run is never published again."""
    kept = pointer.keep(retain) - {pointer.attempt}
    for prefix in _run_prefixes(run, target):
        for obj in s3_api.list_objects(s3, target.bucket, prefix):
            if attempt_of(obj.key.removeprefix(prefix)) in kept:
                s3_api.tag(s3, target.bucket, obj.key, dict([SUPERSEDED_TAG]))


def setup_bucket(
    s3: Any, target: Target, *, abort_multipart_days: int, superseded_expire_days: int
) -> list[dict[str, Any]]:
    """Apply the lifecycle rules of the results prefix (:func:`s3_api.lifecycle_rules`):
    open multipart uploads aborted, tagged superseded attempts expired. The rules."""
    rules = s3_api.lifecycle_rules(
        target.prefix,
        abort_days=abort_multipart_days,
        expire_days=superseded_expire_days,
        tag_key=SUPERSEDED_TAG[0],
        tag_value=SUPERSEDED_TAG[1],
    )
    s3_api.put_lifecycle(s3, target.bucket, rules)
    return rules
