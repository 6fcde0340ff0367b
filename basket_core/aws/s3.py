"""S3 objects: head, upload (multipart via a transfer config), put and get small bodies,
and the checksums S3 reports for single-part and multipart objects.

Checksums: S3 stores ``Checksum<ALG>`` for an object. A single-part upload gets the
base64 checksum of the whole body; a multipart upload gets a *composite* checksum, the
checksum of the concatenated part checksums followed by ``-<parts>``.
:func:`file_checksums` computes both locally from the same part size the transfer
manager will use, so an upload is verified whichever form S3 returns.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # pragma: no cover
    from basket_core.config import AwsConfig

ChecksumAlgorithm = Literal["SHA256", "CRC32"]
SHA256_METADATA = "sha256"  # x-amz-meta-sha256: hex digest of the whole file
_READ = 1024 * 1024


@dataclass(frozen=True)
class LocalChecksums:
    """What S3 may report for a file, plus the file's own SHA-256 (hex)."""

    size: int
    sha256_hex: str
    full: str  # base64 checksum of the whole body (single-part upload)
    composite: str  # base64 checksum of part checksums + "-N" (multipart upload)

    def accepts(self, reported: str) -> bool:
        """True if S3's reported checksum is this file's, whole or composite (some
        S3-compatible servers drop the ``-N`` suffix of a composite checksum)."""
        return reported in (self.full, self.composite, self.composite.rsplit("-", 1)[0])


@dataclass(frozen=True)
class RemoteObject:
    key: str
    size: int
    etag: str
    metadata: Mapping[str, str]
    checksum: str | None
    sse: str | None
    kms_key_id: str | None = None


@dataclass(frozen=True)
class Listed:
    """One object of a listing: its key, size and when it was written."""

    key: str
    size: int
    last_modified: datetime


@dataclass(frozen=True)
class OpenUpload:
    """A multipart upload that was started and neither completed nor aborted."""

    key: str
    upload_id: str
    initiated: datetime


class PreconditionFailed(RuntimeError):
    """A conditional write lost: the object changed (or appeared) since it was read."""


class _Crc32:
    """hashlib-like CRC32 (big-endian digest, as S3 encodes it)."""

    def __init__(self) -> None:
        self.value = 0

    def update(self, data: bytes) -> None:
        self.value = zlib.crc32(data, self.value)

    def digest(self) -> bytes:
        return (self.value & 0xFFFFFFFF).to_bytes(4, "big")


def _new(algorithm: ChecksumAlgorithm) -> Any:
    if algorithm == "SHA256":
        return hashlib.sha256()
    if algorithm == "CRC32":
        return _Crc32()
    raise ValueError(f"unsupported checksum algorithm {algorithm!r}; use SHA256 or CRC32")


def part_size(file_size: int, chunksize: int) -> int:
    """The part size the transfer manager uses for a file (it grows past 10,000 parts)."""
    from s3transfer.utils import ChunksizeAdjuster

    return int(ChunksizeAdjuster().adjust_chunksize(chunksize, file_size))


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while block := fh.read(_READ):
            yield block


def file_checksums(
    path: Path, algorithm: ChecksumAlgorithm, *, threshold: int, chunksize: int
) -> LocalChecksums:
    """Checksums of a local file as S3 will report them after :func:`upload_file`."""
    size = path.stat().st_size
    psize = part_size(size, chunksize) if size >= threshold else max(size, 1)
    whole, sha, part = _new(algorithm), hashlib.sha256(), _new(algorithm)
    part_digests: list[bytes] = []
    in_part = 0
    for block in _chunks(path):
        whole.update(block)
        sha.update(block)
        view = memoryview(block)
        while view:
            take = min(len(view), psize - in_part)
            part.update(bytes(view[:take]))
            in_part += take
            view = view[take:]
            if in_part == psize:
                part_digests.append(part.digest())
                part, in_part = _new(algorithm), 0
    if in_part or not part_digests:
        part_digests.append(part.digest())
    combined = _new(algorithm)
    combined.update(b"".join(part_digests))
    b64 = base64.b64encode
    return LocalChecksums(
        size=size,
        sha256_hex=sha.hexdigest(),
        full=b64(whole.digest()).decode(),
        composite=f"{b64(combined.digest()).decode()}-{len(part_digests)}",
    )


def head(s3: Any, bucket: str, key: str, algorithm: ChecksumAlgorithm) -> RemoteObject | None:
    """The object's size, ETag, metadata, checksum and SSE, or ``None`` if it is absent."""
    from botocore.exceptions import ClientError

    try:
        r = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return RemoteObject(
        key=key,
        size=int(r["ContentLength"]),
        etag=str(r["ETag"]),
        metadata=dict(r.get("Metadata", {})),
        checksum=r.get(f"Checksum{algorithm}"),
        sse=r.get("ServerSideEncryption"),
        kms_key_id=r.get("SSEKMSKeyId"),
    )


def kms_key_matches(remote: str | None, wanted: str) -> bool:
    """True when the key S3 reports (usually a key ARN) is the configured key (an id,
    ARN, or alias). An alias cannot be told from S3's answer alone (S3 reports the key it
    resolved to), so an alias matches only itself; the attempt id carries the configured
    key anyway, so a changed key always yields a new attempt (see the publisher)."""
    if remote is None:
        return False
    if remote == wanted:
        return True
    return remote.endswith(f":key/{wanted}") or remote.endswith(f":{wanted}")


def upload_file(
    s3: Any,
    path: Path,
    bucket: str,
    key: str,
    *,
    extra_args: Mapping[str, Any],
    config: Any,
    on_bytes: Callable[[int], None] | None = None,
) -> None:
    """Upload a file; the transfer manager switches to parallel multipart above the
    config's threshold and aborts the multipart upload if a part fails. ``on_bytes``
    gets each chunk's size as it is sent (from the transfer threads)."""
    s3.upload_file(
        str(path), bucket, key, ExtraArgs=dict(extra_args), Config=config, Callback=on_bytes
    )


def put_bytes(s3: Any, bucket: str, key: str, body: bytes, *, extra_args: Mapping[str, Any]) -> str:
    """Put a small object; returns its ETag."""
    r = s3.put_object(Bucket=bucket, Key=key, Body=body, **dict(extra_args))
    return str(r["ETag"])


_CONFLICT = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})


def put_if(
    s3: Any,
    bucket: str,
    key: str,
    body: bytes,
    *,
    etag: str | None,
    extra_args: Mapping[str, Any],
) -> str:
    """Put a small object only if it is still as read: ``If-Match: <etag>`` when it existed,
    ``If-None-Match: *`` when it did not. Raises :class:`PreconditionFailed` if another
    writer got there first; returns the new ETag."""
    from botocore.exceptions import ClientError

    condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
    try:
        r = s3.put_object(Bucket=bucket, Key=key, Body=body, **condition, **dict(extra_args))
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        if code in _CONFLICT or status in ("412", "409"):
            raise PreconditionFailed(f"s3://{bucket}/{key} changed since it was read") from exc
        raise
    return str(r["ETag"])


def get_with_etag(s3: Any, bucket: str, key: str) -> tuple[bytes | None, str | None]:
    """The object's body and ETag, or ``(None, None)`` if it (or its bucket) is absent."""
    from botocore.exceptions import ClientError

    try:
        r = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code in ("404", "NoSuchKey", "NotFound", "NoSuchBucket"):
            return None, None
        raise
    body: bytes = r["Body"].read()
    return body, str(r["ETag"])


def get_bytes(s3: Any, bucket: str, key: str) -> bytes | None:
    return get_with_etag(s3, bucket, key)[0]


def delete(s3: Any, bucket: str, key: str) -> None:
    s3.delete_object(Bucket=bucket, Key=key)


def list_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    """Every key under ``prefix`` (paginated)."""
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(str(o["Key"]) for o in page.get("Contents", []))
    return keys


def list_objects(s3: Any, bucket: str, prefix: str) -> list[Listed]:
    """Every object under ``prefix`` with its size and LastModified (paginated)."""
    out: list[Listed] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out.extend(
            Listed(str(o["Key"]), int(o["Size"]), o["LastModified"])
            for o in page.get("Contents", [])
        )
    return out


def delete_many(s3: Any, bucket: str, keys: Sequence[str]) -> None:
    """Delete keys, 1,000 per ``DeleteObjects`` call; any per-key error raises."""
    for start in range(0, len(keys), 1000):
        chunk = [{"Key": k} for k in keys[start : start + 1000]]
        r = s3.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})
        if r.get("Errors"):
            raise RuntimeError(f"delete_objects on s3://{bucket}: {r['Errors'][:3]}")


def open_uploads(s3: Any, bucket: str, prefix: str) -> list[OpenUpload]:
    """Multipart uploads under ``prefix`` that are still open (started, never finished)."""
    out: list[OpenUpload] = []
    for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket, Prefix=prefix):
        out.extend(
            OpenUpload(str(u["Key"]), str(u["UploadId"]), u["Initiated"])
            for u in page.get("Uploads", [])
        )
    return out


def abort_upload(s3: Any, bucket: str, upload: OpenUpload) -> None:
    s3.abort_multipart_upload(Bucket=bucket, Key=upload.key, UploadId=upload.upload_id)


def tag(s3: Any, bucket: str, key: str, tags: Mapping[str, str]) -> None:
    tag_set = [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
    s3.put_object_tagging(Bucket=bucket, Key=key, Tagging={"TagSet": tag_set})


def lifecycle_rules(
    prefix: str, *, abort_days: int, expire_days: int, tag_key: str, tag_value: str
) -> list[dict[str, Any]]:
    """The bucket lifecycle rules for the results prefix: abort multipart uploads left
    open after ``abort_days`` (a killed uploader cannot abort its own), and expire objects
    tagged as superseded attempts after ``expire_days``."""
    scope = prefix.strip("/") + "/" if prefix.strip("/") else ""
    return [
        {
            "ID": "basket-abort-incomplete-multipart",
            "Status": "Enabled",
            "Filter": {"Prefix": scope},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": abort_days},
        },
        {
            "ID": "basket-expire-superseded-attempts",
            "Status": "Enabled",
            "Filter": {"And": {"Prefix": scope, "Tags": [{"Key": tag_key, "Value": tag_value}]}},
            "Expiration": {"Days": expire_days},
        },
    ]


def put_lifecycle(s3: Any, bucket: str, rules: Sequence[Mapping[str, Any]]) -> None:
    """Set the bucket's lifecycle rules, keeping any rule of another id already there."""
    from botocore.exceptions import ClientError

    ours = {str(r["ID"]) for r in rules}
    try:
        existing = s3.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", [])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchLifecycleConfiguration":
            raise
        existing = []
    kept = [r for r in existing if str(r.get("ID")) not in ours]
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration={"Rules": [*kept, *map(dict, rules)]}
    )


def sse_args(aws: AwsConfig) -> dict[str, str]:
    """PutObject/upload ExtraArgs for the configured server-side encryption."""
    if aws.sse == "none":
        return {}
    if aws.sse == "aws:kms":
        if not aws.kms_key_id:
            raise ValueError("aws.sse = 'aws:kms' needs aws.kms_key_id")
        return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": aws.kms_key_id}
    return {"ServerSideEncryption": "AES256"}
