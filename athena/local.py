"""The local backend: DuckDB over the results folder, with the Athena table and view names.

One view per dataset reads the Parquet files of each run's *current attempt* only (the
attempt the run's pointer names, :mod:`basket_core.layout`; the files directly in the
``run_id=`` folder for a run written before attempts), with ``dt`` and ``run_id`` taken
from the path as strings, as in Athena. Files of an attempt being written, or of one
superseded, are never read, so a query never mixes two mines of a run. The views list
the files; :func:`run` lists them again when a run was switched or added since (the
pointers' stamp, :func:`results_stamp`), so a long-lived connection (the dashboard's)
follows new attempts instead of reading files a later mine retired.

Which run is the latest is :func:`athena.ddl.latest_run_subquery`'s answer on these views,
so both backends agree; it is found once per listing of the files, and the ``latest_<dataset>``
views and a query's ``run_id`` of '' then name that run as a constant (:func:`run`), so
DuckDB reads that run's files only. A dataset with no files yet is an empty view of the
right types.

:func:`connect_s3` makes the same tables and views over the published copy in S3 instead
of the folder (:mod:`athena.s3_source`: each run's current attempt as its S3 pointer
names it, read through pyarrow's S3 filesystem). DuckDB never downloads an extension.
"""

from __future__ import annotations

import hashlib
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from athena import ddl
from athena.pack import Query, for_duckdb
from basket_core.layout import ATTEMPTS, LATEST, attempt_of, current_layout, validate_run_id
from basket_core.schemas import PARTITION_COLUMNS, RESULT_DATASETS, RUNS, Dataset, duckdb_type

if TYPE_CHECKING:  # pragma: no cover
    import duckdb
    import pyarrow.fs as pafs

    from athena.s3_source import S3Results
    from basket_core.config import AwsConfig


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _visible(path: Path) -> bool:
    return not path.name.startswith((".", "_"))


def current_files(root: Path, dataset: str) -> list[Path]:
    """The Parquet files of every run's current attempt of a dataset, in a stable order."""
    from datetime import date

    files: list[Path] = []
    for run_dir in sorted((root / dataset).glob("dt=*/run_id=*")):
        if not run_dir.is_dir():
            continue
        try:
            dt = date.fromisoformat(run_dir.parent.name.removeprefix("dt="))
            layout = current_layout(root, dt, run_dir.name.removeprefix("run_id="))
        except ValueError:
            continue  # not a run folder of this layout
        folder = Path(layout.dataset(dataset))
        for path in sorted(folder.rglob("*.parquet")):
            inner = path.relative_to(folder).as_posix()
            if not all(_visible(Path(part)) for part in inner.split("/")):
                continue
            if not layout.attempt and attempt_of(inner):
                continue  # an attempt below a run that has no pointer yet: not switched
            files.append(path)
    return files


def empty_view(dataset: Dataset) -> str:
    """``CREATE VIEW <dataset>`` with no rows, of the dataset's types."""
    cols = [*dataset.columns, *PARTITION_COLUMNS]
    select = ", ".join(f'CAST(NULL AS {duckdb_type(c.type)}) AS "{c.name}"' for c in cols)
    return f"CREATE OR REPLACE VIEW {ddl.ident(dataset.name)} AS SELECT {select} WHERE false"


def file_columns(files: list[Path]) -> set[str]:
    """The column names any of the Parquet files has (their footers only): a column added
    to a schema after every one of them was written reads as null. DuckDB reads the
    footers (no pyarrow import: ``basket query`` starts faster)."""
    import duckdb

    listed = ", ".join(_literal(p.as_posix()) for p in files)
    with duckdb.connect(":memory:", config=dict(_NO_DOWNLOADS)) as con:
        rows = con.execute(f"SELECT DISTINCT name FROM parquet_schema([{listed}])").fetchall()
    return {str(r[0]) for r in rows}


def dataset_view(root: Path, dataset: Dataset) -> str:
    """``CREATE VIEW <dataset>`` over the runs' current Parquet files (or empty, typed)."""
    name = ddl.ident(dataset.name)
    files = current_files(root, dataset.name)
    if not files:
        return empty_view(dataset)
    present = file_columns(files)
    data = ", ".join(
        f'"{c.name}"'
        if c.name in present
        else f'CAST(NULL AS {duckdb_type(c.type)}) AS "{c.name}"'  # added after these files
        for c in dataset.columns
    )
    parts = ", ".join(
        f"CAST(regexp_extract(filename, '/{c.name}=([^/]+)/', 1) AS {duckdb_type(c.type)}) "
        f'AS "{c.name}"'
        for c in PARTITION_COLUMNS
    )
    listed = ", ".join(_literal(p.as_posix()) for p in files)
    return (
        f"CREATE OR REPLACE VIEW {name} AS SELECT {data}, {parts} FROM read_parquet([{listed}], "
        "hive_partitioning = false, union_by_name = true, filename = true)"
    )


def latest_view(dataset: Dataset, latest_run: str = "") -> str:
    """``CREATE VIEW latest_<dataset>``: :func:`athena.ddl.latest_view_select` transpiled,
    or, given the latest run's id as :func:`latest_run_id` found it on these views, the
    same rows with that id as a constant, so DuckDB reads only that run's files (a run id
    from a subquery is known only while the query runs: every run's files are scanned)."""
    name = ddl.ident(ddl.LATEST_PREFIX + dataset.name)
    if latest_run:
        table = ddl.ident(dataset.name)
        where = f"t.run_id = {_literal(validate_run_id(latest_run))}"
        return f"CREATE OR REPLACE VIEW {name} AS SELECT t.* FROM {table} AS t WHERE {where}"
    import sqlglot

    select = sqlglot.transpile(ddl.latest_view_select(dataset), read="trino", write="duckdb")[0]
    return f"CREATE OR REPLACE VIEW {name} AS {select}"


LATEST_RUN_SQL = (
    "SELECT r.run_id FROM runs AS r WHERE r.status = 'succeeded' "
    "ORDER BY r.dt DESC, r.finished_at DESC, r.run_id DESC LIMIT 1"
)
""":func:`athena.ddl.latest_run_subquery` in DuckDB's SQL (a test checks they agree)."""


def latest_run_id(con: duckdb.DuckDBPyConnection) -> str:
    """The id of the latest succeeded run on the connection's ``runs`` view ('' if none)."""
    row = con.execute(LATEST_RUN_SQL).fetchone()
    return "" if row is None or row[0] is None else str(row[0])


def view_statements(
    root: Path, datasets: tuple[Dataset, ...] = RESULT_DATASETS, latest_run: str = ""
) -> list[str]:
    return [dataset_view(root, d) for d in datasets] + [
        latest_view(d, latest_run) for d in datasets
    ]


_STATE = "basket_local_state"
"""A one-row table in each connection: the results root, the stamp its views are of, for
S3 the key of its :class:`athena.s3_source.S3Results` in :data:`_S3_SOURCES`, and the
latest run's id on those views ('' if none)."""
_S3_SOURCES: dict[str, S3Results] = {}
"""The S3 sources of the connections made by :func:`connect_s3`, so a refresh can list
them again."""
_NO_DOWNLOADS = {"autoinstall_known_extensions": False}
"""DuckDB never downloads an extension here (no httpfs: pyarrow reads S3)."""
_READ_SETTINGS = {**_NO_DOWNLOADS, "parquet_metadata_cache": True}
"""Parquet footers are read once per connection, not once per reference to a view in
each query (a run's files never change: a new attempt writes new files); rule_changes
names the rules nine times, and its planning went from ~78 ms to ~44 ms."""


def results_stamp(root: Path) -> str:
    """Changes whenever a run is switched to a new attempt or a run is added: a digest of
    every pointer's name and modification time, ``_latest.json``'s, and the run folders of
    the ``runs`` dataset (runs from before attempts have no pointer)."""
    h = hashlib.sha256()
    entries = [*(root / ATTEMPTS).glob("dt=*/run_id=*.json"), root / LATEST]
    entries += [p for p in (root / "runs").glob("dt=*/run_id=*")]
    for path in sorted(entries):
        try:
            h.update(f"{path.relative_to(root)}\x1f{path.stat().st_mtime_ns}\n".encode())
        except FileNotFoundError:
            continue
    return h.hexdigest()


def _save_state(
    con: duckdb.DuckDBPyConnection, root: str, stamp: str, source: str = "", latest: str = ""
) -> None:
    con.execute(
        f"CREATE OR REPLACE TABLE {_STATE} AS "
        "SELECT ? AS root, ? AS stamp, ? AS source, ? AS latest_run",
        [root, stamp, source, latest],
    )


def _create_views(
    con: duckdb.DuckDBPyConnection, root: Path, datasets: tuple[Dataset, ...]
) -> None:
    """The dataset views, then the latest run's id on them, then the ``latest_*`` views
    with that id as a constant. The stamp is taken first: a run added meanwhile changes
    it, and the next :func:`run` makes them all again."""
    stamp = results_stamp(root)
    for d in datasets:
        con.execute(dataset_view(root, d))
    latest = latest_run_id(con) if RUNS in datasets else ""
    for d in datasets:
        con.execute(latest_view(d, latest))
    _save_state(con, str(root), stamp, latest=latest)


def _create_s3_views(
    con: duckdb.DuckDBPyConnection, key: str, datasets: tuple[Dataset, ...]
) -> None:
    from athena import s3_source

    results = _S3_SOURCES[key]
    stamp = s3_source.create_views(con, results, datasets)
    latest = latest_run_id(con) if RUNS in datasets else ""
    _save_state(con, results.label, stamp, key, latest)


def connect(
    root: Path, datasets: tuple[Dataset, ...] = RESULT_DATASETS, *, threads: int | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the tables and latest_* views over ``root``; ``threads``
    per query (default: DuckDB's, one per core)."""
    import duckdb

    config: dict[str, str | bool | int | float | list[str]] = dict(_READ_SETTINGS)
    if threads is not None:
        config["threads"] = threads
    con = duckdb.connect(":memory:", config=config)
    _create_views(con, Path(root), datasets)
    return con


def connect_s3(
    aws: AwsConfig,
    datasets: tuple[Dataset, ...] = RESULT_DATASETS,
    *,
    fs: pafs.FileSystem | None = None,
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the same tables and latest_* views over the published copy
    in ``s3://<aws.bucket>/<aws.prefix>/``: each run's current attempt as its S3 pointer
    names it (:mod:`athena.s3_source`). The objects are Arrow datasets registered on this
    connection, which its ``cursor()`` copies do not see: query the connection itself."""
    import secrets

    import duckdb

    from athena import s3_source

    results = s3_source.S3Results.of(aws, fs)
    key = f"{results.label}#{secrets.token_hex(8)}"
    _S3_SOURCES[key] = results
    con = duckdb.connect(":memory:", config=dict(_NO_DOWNLOADS))
    try:
        _create_s3_views(con, key, datasets)
    except BaseException:
        con.close()
        _S3_SOURCES.pop(key, None)
        raise
    return con


def refresh_if_switched(con: duckdb.DuckDBPyConnection) -> bool:
    """List the current attempts' files again if a run was switched or added since the
    views were made; True if it did."""
    import duckdb

    try:
        rows = con.execute(f"SELECT root, stamp, source FROM {_STATE}").fetchall()
    except duckdb.CatalogException:
        return False  # not made by connect()
    if not rows:
        return False
    row = rows[0]
    key = str(row[2] or "")
    if key:
        results = _S3_SOURCES.get(key)
        if results is None or results.stamp() == row[1]:
            return False
        refresh = partial(_create_s3_views, con, key, RESULT_DATASETS)
    else:
        root = Path(str(row[0]))
        if results_stamp(root) == row[1]:
            return False
        refresh = partial(_create_views, con, root, RESULT_DATASETS)
    try:
        refresh()
    except duckdb.TransactionException:  # another cursor is refreshing them right now
        return False
    return True


def resolve_latest(
    con: duckdb.DuckDBPyConnection, query: Query, values: dict[str, Any]
) -> dict[str, Any]:
    """``values`` with a ``run_id`` of '' (the latest run, in every pack query that takes
    one) replaced by the latest run's id itself, as the views' state has it: the same rows,
    but the query's run filter is a constant DuckDB prunes the other runs' files with."""
    if values.get("run_id") != "" or "run_id" not in {p.name for p in query.params}:
        return values
    import duckdb

    try:
        row = con.execute(f"SELECT latest_run FROM {_STATE}").fetchone()
    except duckdb.Error:  # not made by connect(): the query's subquery finds the run
        return values
    latest = str(row[0]) if row and row[0] else ""
    return {**values, "run_id": latest} if latest else values


def run(
    con: duckdb.DuckDBPyConnection, query: Query, values: dict[str, Any]
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run a pack query with bound parameters (on views of the current attempts);
    column names and rows."""
    refresh_if_switched(con)
    values = resolve_latest(con, query, values)
    cur = con.execute(for_duckdb(query), values)
    columns = [d[0] for d in cur.description or []]
    return columns, [tuple(r) for r in cur.fetchall()]
