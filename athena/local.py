"""The local backend: DuckDB over the results folder, with the Athena table and view names.

One view per dataset reads the Parquet files of each run's *current attempt* only (the
attempt the run's pointer names, :mod:`basket_core.layout`; the files directly in the
``run_id=`` folder for a run written before attempts), with ``dt`` and ``run_id`` taken
from the path as strings, as in Athena. Files of an attempt being written, or of one
superseded, are never read, so a query never mixes two mines of a run. The views list
the files; :func:`run` lists them again when a run was switched or added since (the
pointers' stamp, :func:`results_stamp`), so a long-lived connection (the dashboard's)
follows new attempts instead of reading files a later mine retired.

The ``latest_<dataset>`` views' SQL is :func:`athena.ddl.latest_view_select` transpiled,
so both backends agree on which run is the latest. A dataset with no files yet is an
empty view of the right types.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from athena import ddl
from athena.pack import Query, for_duckdb
from basket_core.layout import ATTEMPTS, LATEST, attempt_of, current_layout
from basket_core.schemas import PARTITION_COLUMNS, RESULT_DATASETS, Dataset, duckdb_type

if TYPE_CHECKING:  # pragma: no cover
    import duckdb


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


def dataset_view(root: Path, dataset: Dataset) -> str:
    """``CREATE VIEW <dataset>`` over the runs' current Parquet files (or empty, typed)."""
    cols = [*dataset.columns, *PARTITION_COLUMNS]
    name = ddl.ident(dataset.name)
    files = current_files(root, dataset.name)
    if not files:
        select = ", ".join(f'CAST(NULL AS {duckdb_type(c.type)}) AS "{c.name}"' for c in cols)
        return f"CREATE OR REPLACE VIEW {name} AS SELECT {select} WHERE false"
    data = ", ".join(f'"{c.name}"' for c in dataset.columns)
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


def latest_view(dataset: Dataset) -> str:
    import sqlglot

    select = sqlglot.transpile(ddl.latest_view_select(dataset), read="trino", write="duckdb")[0]
    return f"CREATE OR REPLACE VIEW {ddl.ident(ddl.LATEST_PREFIX + dataset.name)} AS {select}"


def view_statements(root: Path, datasets: tuple[Dataset, ...] = RESULT_DATASETS) -> list[str]:
    return [dataset_view(root, d) for d in datasets] + [latest_view(d) for d in datasets]


_STATE = "basket_local_state"
"""A one-row table in each connection: the results root and the stamp its views are of."""


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


def _create_views(
    con: duckdb.DuckDBPyConnection, root: Path, datasets: tuple[Dataset, ...]
) -> None:
    stamp = results_stamp(root)
    for sql in view_statements(root, datasets):
        con.execute(sql)
    con.execute(
        f"CREATE OR REPLACE TABLE {_STATE} AS SELECT ? AS root, ? AS stamp", [str(root), stamp]
    )


def connect(
    root: Path, datasets: tuple[Dataset, ...] = RESULT_DATASETS
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the tables and latest_* views over ``root``."""
    import duckdb

    con = duckdb.connect(":memory:")
    _create_views(con, Path(root), datasets)
    return con


def refresh_if_switched(con: duckdb.DuckDBPyConnection) -> bool:
    """List the current attempts' files again if a run was switched or added since the
    views were made; True if it did."""
    import duckdb

    try:
        row = con.execute(f"SELECT root, stamp FROM {_STATE}").fetchone()
    except duckdb.CatalogException:
        return False  # not made by connect()
    if row is None:
        return False
    root = Path(str(row[0]))
    if results_stamp(root) == row[1]:
        return False
    try:
        _create_views(con, root, RESULT_DATASETS)
    except duckdb.TransactionException:  # another cursor is refreshing them right now
        return False
    return True


def run(
    con: duckdb.DuckDBPyConnection, query: Query, values: dict[str, Any]
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run a pack query with bound parameters (on views of the current attempts);
    column names and rows."""
    refresh_if_switched(con)
    cur = con.execute(for_duckdb(query), values)
    columns = [d[0] for d in cur.description or []]
    return columns, [tuple(r) for r in cur.fetchall()]
