"""The local backend: DuckDB over the results folder, with the Athena table and view names.

One view per dataset reads ``<root>/<dataset>/**/*.parquet`` with Hive partitioning
(``dt`` and ``run_id`` as strings, as in Athena), plus the ``latest_<dataset>`` views,
whose SQL is :func:`athena.ddl.latest_view_select` transpiled, so both backends agree on
which run is the latest. A dataset with no files yet is an empty view of the right types.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from athena import ddl
from athena.pack import Query, for_duckdb
from basket_core.schemas import PARTITION_COLUMNS, RESULT_DATASETS, Dataset, duckdb_type

if TYPE_CHECKING:  # pragma: no cover
    import duckdb


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def dataset_view(root: Path, dataset: Dataset) -> str:
    """``CREATE VIEW <dataset>`` over the local Parquet files (or empty, typed)."""
    cols = [*dataset.columns, *PARTITION_COLUMNS]
    name = ddl.ident(dataset.name)
    folder = root / dataset.name
    if not any(folder.glob("**/*.parquet")):
        select = ", ".join(f'CAST(NULL AS {duckdb_type(c.type)}) AS "{c.name}"' for c in cols)
        return f"CREATE OR REPLACE VIEW {name} AS SELECT {select} WHERE false"
    hive_types = ", ".join(f"'{c.name}': '{duckdb_type(c.type)}'" for c in PARTITION_COLUMNS)
    select = ", ".join(f'"{c.name}"' for c in cols)
    glob = _literal(f"{folder.as_posix()}/**/*.parquet")
    return (
        f"CREATE OR REPLACE VIEW {name} AS SELECT {select} FROM read_parquet({glob}, "
        f"hive_partitioning = true, hive_types = {{{hive_types}}}, union_by_name = true)"
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
