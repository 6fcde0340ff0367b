"""The local backend: DuckDB over the results folder, with the Athena table and view names.

One view per dataset reads the Parquet files of each run's *current attempt* only (the
attempt the run's pointer names, :mod:`basket_core.layout`; the files directly in the
``run_id=`` folder for a run written before attempts), with ``dt`` and ``run_id`` taken
from the path as strings, as in Athena. Files of an attempt being written, or of one
superseded, are never read, so a query never mixes two mines of a run. The file list is
fixed when the connection is made; a superseded attempt is kept
(``publish.retain_attempts``) so a connection made just before a switch still reads.

The ``latest_<dataset>`` views' SQL is :func:`athena.ddl.latest_view_select` transpiled,
so both backends agree on which run is the latest. A dataset with no files yet is an
empty view of the right types.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from athena import ddl
from athena.pack import Query, for_duckdb
from basket_core.layout import attempt_of, current_layout
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


def connect(
    root: Path, datasets: tuple[Dataset, ...] = RESULT_DATASETS
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the tables and latest_* views over ``root``."""
    import duckdb

    con = duckdb.connect(":memory:")
    for sql in view_statements(root, datasets):
        con.execute(sql)
    return con


def run(
    con: duckdb.DuckDBPyConnection, query: Query, values: dict[str, Any]
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run a pack query with bound parameters; column names and rows."""
    cur = con.execute(for_duckdb(query), values)
    columns = [d[0] for d in cur.description or []]
    return columns, [tuple(r) for r in cur.fetchall()]
