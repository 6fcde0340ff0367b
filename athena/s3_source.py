"""The local backend over the published copy: DuckDB reading the results in S3.

``basket query --backend local --source s3`` runs the pack on DuckDB, as over the local
folder (:mod:`athena.local`), but over the objects the publisher put under
``s3://<bucket>/<prefix>/`` (:class:`basket_core.layout.Target`), so the embedded default
proves that what was published is queryable, with the same tables and ``latest_*``
views.

Only current attempts are read, as the S3 pointers name them: each run's pointer
``_attempts/dt=D/run_id=R.json`` is read first, then the objects below
``<dataset>/dt=D/run_id=R/attempt=<its attempt>/``; an attempt being uploaded, never
switched, or superseded is not read (a run without a pointer — published before attempts
existed — is read from the files directly in its ``run_id=`` folder, never from an
``attempt=`` below it, like the local reader). The publisher switches a pointer only once
every object of the attempt is uploaded and verified, so a reader never sees a
half-published attempt.

The objects are read with pyarrow's :class:`~pyarrow.fs.S3FileSystem` (region,
``endpoint_url`` for moto/MinIO, credentials from the standard chain through the
project's boto3 session, so the same profile the publisher uses): each dataset is a
:class:`pyarrow.dataset.FileSystemDataset` over exactly the listed Parquet objects, with
``dt``/``run_id`` attached per file, registered in DuckDB and wrapped in the view Athena
has. DuckDB scans it lazily (projection and partition filters pushed down), so nothing
is downloaded whole. DuckDB needs no extension for this (no httpfs), and the connection
is made with extension auto-install off, so it never tries to download one. Spark's INT96
timestamps read as microseconds, as DuckDB reads them from a local file, so both sources
give the same types (checked on a Spark-mined run as well as the sample).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from athena import ddl
from basket_core.layout import ATTEMPTS, LATEST, Pointer, Target, attempt_of
from basket_core.schemas import PARTITION_COLUMNS, RESULT_DATASETS, Dataset, arrow_type, duckdb_type

if TYPE_CHECKING:  # pragma: no cover
    import duckdb
    import pyarrow.dataset as pads
    import pyarrow.fs as pafs

    from basket_core.config import AwsConfig

_READERS = 16
"""Pointers read in parallel (one small GET each)."""
_REGISTERED = "basket_s3_"
"""Prefix of the Arrow datasets registered in the connection (one per result dataset)."""


def filesystem(aws: AwsConfig) -> pafs.S3FileSystem:
    """pyarrow's S3 filesystem for the configured region and endpoint. Credentials come
    from the standard chain through the same boto3 session as every other AWS client
    (environment, ``aws.profile``, instance role); when that finds none, pyarrow's own
    chain is left to try."""
    import pyarrow.fs as pafs

    from basket_core.aws.session import session

    kwargs: dict[str, Any] = {"region": aws.region}
    if aws.endpoint_url:
        url = urlsplit(aws.endpoint_url)
        kwargs["scheme"] = url.scheme or "https"
        kwargs["endpoint_override"] = url.netloc or url.path
    creds = session(aws).get_credentials()
    if creds is not None:
        frozen = creds.get_frozen_credentials()
        kwargs.update(
            access_key=frozen.access_key,
            secret_key=frozen.secret_key,
            session_token=frozen.token,
        )
    return pafs.S3FileSystem(**kwargs)


@dataclass(frozen=True)
class S3Results:
    """The published results under one S3 root, read through ``fs``."""

    target: Target
    fs: pafs.FileSystem

    @classmethod
    def of(cls, aws: AwsConfig, fs: pafs.FileSystem | None = None) -> S3Results:
        return cls(Target.of(aws), fs if fs is not None else filesystem(aws))

    @property
    def label(self) -> str:
        return self.target.root

    def path(self, rel: str) -> str:
        """``bucket/key`` of a path below the root (pyarrow's S3 path form)."""
        return f"{self.target.bucket}/{self.target.key(rel)}"

    def _listing(self, rel: str) -> list[tuple[str, pafs.FileInfo]]:
        """Every object below ``rel`` (recursive), with its path relative to ``rel``."""
        import pyarrow.fs as pafs

        base = self.path(rel).rstrip("/")
        selector = pafs.FileSelector(base, recursive=True, allow_not_found=True)
        out = []
        for info in self.fs.get_file_info(selector):
            if info.type == pafs.FileType.File:
                out.append((info.path.removeprefix(base + "/"), info))
        return sorted(out, key=lambda pair: pair[0])

    def pointers(self) -> tuple[str, dict[tuple[str, str], Pointer]]:
        """The stamp (:meth:`stamp`) and every run's S3 pointer by ``(dt, run_id)``, from
        one listing of ``_attempts/``."""
        listing = self._listing(ATTEMPTS)
        names = []
        for inner, _info in listing:
            run = _pointer_run(inner)
            if run is not None:
                names.append((run, inner))

        def read(item: tuple[tuple[str, str], str]) -> tuple[tuple[str, str], Pointer] | None:
            run, inner = item
            try:
                with self.fs.open_input_stream(self.path(f"{ATTEMPTS}/{inner}")) as fh:
                    body = json.loads(fh.read())
            except FileNotFoundError:
                return None  # removed since the listing
            return run, Pointer.from_dict(body)

        with ThreadPoolExecutor(max_workers=_READERS) as pool:
            pointers = dict(p for p in pool.map(read, names) if p is not None)
        return self._stamp(listing), pointers

    def current_files(
        self, dataset: str, pointers: dict[tuple[str, str], Pointer]
    ) -> list[tuple[str, str, str]]:
        """``(path, dt, run_id)`` of the Parquet objects of every run's current attempt of
        a dataset, in a stable order."""
        files = []
        for inner, info in self._listing(dataset):
            parts = inner.split("/")
            if (
                len(parts) < 3
                or not parts[0].startswith("dt=")
                or not parts[1].startswith("run_id=")
            ):
                continue
            dt, run_id = parts[0].removeprefix("dt="), parts[1].removeprefix("run_id=")
            rest = "/".join(parts[2:])
            if not rest.endswith(".parquet") or any(p.startswith((".", "_")) for p in parts[2:]):
                continue
            pointer = pointers.get((dt, run_id))
            current = pointer.attempt if pointer else ""
            if attempt_of(rest) != current:
                continue  # another attempt: being uploaded, never switched, or superseded
            files.append((info.path, dt, run_id))
        return files

    def stamp(self) -> str:
        """Changes whenever a run's pointer or the manifest is written (a switch, a new
        run): a digest of their names, sizes and modification times."""
        return self._stamp(self._listing(ATTEMPTS))

    def _stamp(self, pointers: list[tuple[str, pafs.FileInfo]]) -> str:
        h = hashlib.sha256()
        entries = [(f"{ATTEMPTS}/{inner}", info) for inner, info in pointers]
        latest = self.fs.get_file_info(self.path(LATEST))
        entries.append((LATEST, latest))
        for rel, info in entries:
            h.update(f"{rel}\x1f{info.size}\x1f{info.mtime_ns}\n".encode())
        return h.hexdigest()


def _pointer_run(inner: str) -> tuple[str, str] | None:
    """``(dt, run_id)`` of a pointer's path below ``_attempts/`` (None: not a pointer)."""
    parts = inner.split("/")
    if (
        len(parts) != 2
        or not parts[0].startswith("dt=")
        or not parts[1].startswith("run_id=")
        or not parts[1].endswith(".json")
    ):
        return None
    dt = parts[0].removeprefix("dt=")
    try:
        date.fromisoformat(dt)
    except ValueError:
        return None
    return dt, parts[1].removeprefix("run_id=").removesuffix(".json")


def arrow_dataset(
    fs: pafs.FileSystem, dataset: Dataset, files: Iterable[tuple[str, str, str]]
) -> pads.FileSystemDataset:
    """A lazy Arrow dataset over exactly ``files``, with ``dt``/``run_id`` per file.

    The schema is the first file's (as DuckDB's ``read_parquet`` takes types from the
    files), with any declared column it lacks added in its declared type; a file without
    a column reads it as null. INT96 timestamps (Spark's default) read as microseconds,
    as DuckDB reads them from a local file."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as pads

    listed = list(files)
    fmt = pads.ParquetFileFormat(
        read_options=pads.ParquetReadOptions(coerce_int96_timestamp_unit="us")
    )
    first = fmt.inspect(listed[0][0], filesystem=fs)
    fields = [
        first.field(c.name)
        if c.name in first.names
        else pa.field(c.name, arrow_type(c.type), nullable=True)
        for c in dataset.columns
    ]
    fields += [pa.field(c.name, pa.string()) for c in PARTITION_COLUMNS]
    schema = pa.schema(fields)
    partitions = [
        (pc.field("dt") == pc.scalar(dt)) & (pc.field("run_id") == pc.scalar(run_id))
        for _path, dt, run_id in listed
    ]
    return pads.FileSystemDataset.from_paths(
        [path for path, _dt, _run in listed],
        schema=schema,
        format=fmt,
        filesystem=fs,
        partitions=partitions,
    )


def create_views(
    con: duckdb.DuckDBPyConnection,
    results: S3Results,
    datasets: tuple[Dataset, ...] = RESULT_DATASETS,
) -> str:
    """(Re)create the tables and ``latest_*`` views of ``con`` over the current attempts
    in S3 (an empty view of the right types for a dataset with no objects); the stamp of
    the pointers they were made from."""
    import pyarrow.fs as pafs

    from athena import local

    if results.fs.get_file_info(results.target.bucket).type == pafs.FileType.NotFound:
        raise FileNotFoundError(f"bucket {results.target.bucket!r} not found")
    stamp, pointers = results.pointers()
    for dataset in datasets:
        name = ddl.ident(dataset.name)
        files = results.current_files(dataset.name, pointers)
        if not files:
            con.execute(local.empty_view(dataset))
            continue
        source = _REGISTERED + dataset.name
        con.register(source, arrow_dataset(results.fs, dataset, files))
        data = ", ".join(f'"{c.name}"' for c in dataset.columns)
        parts = ", ".join(
            f'CAST("{c.name}" AS {duckdb_type(c.type)}) AS "{c.name}"' for c in PARTITION_COLUMNS
        )
        con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT {data}, {parts} FROM {source}")
    for dataset in datasets:
        con.execute(local.latest_view(dataset))
    return stamp
