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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
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
    )


def upload_file(
    s3: Any, path: Path, bucket: str, key: str, *, extra_args: Mapping[str, Any], config: Any
) -> None:
    """Upload a file; the transfer manager switches to parallel multipart above the
    config's threshold and aborts the multipart upload if a part fails."""
    s3.upload_file(str(path), bucket, key, ExtraArgs=dict(extra_args), Config=config)


def put_bytes(s3: Any, bucket: str, key: str, body: bytes, *, extra_args: Mapping[str, Any]) -> str:
    """Put a small object; returns its ETag."""
    r = s3.put_object(Bucket=bucket, Key=key, Body=body, **dict(extra_args))
    return str(r["ETag"])


def get_bytes(s3: Any, bucket: str, key: str) -> bytes | None:
    from botocore.exceptions import ClientError

    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return body


def delete(s3: Any, bucket: str, key: str) -> None:
    s3.delete_object(Bucket=bucket, Key=key)


def list_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    """Every key under ``prefix`` (paginated)."""
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(str(o["Key"]) for o in page.get("Contents", []))
    return keys


def sse_args(aws: AwsConfig) -> dict[str, str]:
    """PutObject/upload ExtraArgs for the configured server-side encryption."""
    if aws.sse == "none":
        return {}
    if aws.sse == "aws:kms":
        if not aws.kms_key_id:
            raise ValueError("aws.sse = 'aws:kms' needs aws.kms_key_id")
        return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": aws.kms_key_id}
    return {"ServerSideEncryption": "AES256"}
