"""Athena DDL, generated from :mod:`basket_core.schemas` (pure functions returning SQL text).

- ``CREATE DATABASE IF NOT EXISTS``;
- one ``CREATE EXTERNAL TABLE IF NOT EXISTS`` per result dataset: Parquet under
  ``<root>/<dataset>/``, partitioned by ``dt`` and ``run_id`` (Hive DDL, as Athena wants);
- one ``ALTER TABLE ... ADD IF NOT EXISTS PARTITION`` per dataset and run (no MSCK REPAIR),
  followed by ``ALTER TABLE ... PARTITION ... SET LOCATION`` when the run was published
  as an attempt: a partition's location is the run's current attempt folder, so moving
  it is how Athena readers switch from one attempt to the next at once;
- one ``latest_<dataset>`` view per table (Trino DML, as Athena wants for views): the rows
  of the latest succeeded run in ``runs`` — newest ``dt``, then newest ``finished_at``
  (:func:`basket_core.layout.latest_order`), so a backfill never becomes latest.

Identifiers are validated, not escaped: a name that is not a plain identifier is refused.
"""

from __future__ import annotations

import re
from datetime import date

from basket_core.layout import attempt_folder, validate_run_id
from basket_core.schemas import (
    PARTITION_COLUMNS,
    RESULT_DATASETS,
    RUNS,
    Column,
    Dataset,
    athena_type,
)

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,254}$")
_S3_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/[^'\\\s]*)?$")
LATEST_PREFIX = "latest_"
TABLE_PROPERTIES = (("classification", "parquet"), ("parquet.compression", "SNAPPY"))


def ident(name: str) -> str:
    """A validated Athena (Glue) identifier: lower case letters, digits and underscores."""
    if not _IDENT.match(name):
        raise ValueError(f"{name!r} is not a valid Athena name (lower-case letters, digits, _)")
    return name


def s3_root(uri: str) -> str:
    """A validated ``s3://bucket/prefix`` without a trailing slash."""
    uri = uri.rstrip("/")
    if not _S3_URI.match(uri):
        raise ValueError(f"{uri!r} is not an s3://bucket/prefix URI")
    return uri


def _comment(text: str) -> str:
    return text.replace("\\", "/").replace("'", "\\'")


def _column(c: Column) -> str:
    return f"  `{ident(c.name)}` {athena_type(c.type)} COMMENT '{_comment(c.doc)}'"


def table_location(root: str, dataset: Dataset) -> str:
    return f"{s3_root(root)}/{dataset.name}/"


def partition_location(
    root: str, dataset: Dataset, dt: date, run_id: str, attempt: str = ""
) -> str:
    """The run's folder, at ``attempt`` (``""``: a run published before attempts)."""
    run = f"{table_location(root, dataset)}dt={dt.isoformat()}/run_id={validate_run_id(run_id)}/"
    folder = attempt_folder(attempt)
    return f"{run}{folder}/" if folder else run


def create_database(database: str, comment: str = "Market basket analysis results") -> str:
    return f"CREATE DATABASE IF NOT EXISTS `{ident(database)}` COMMENT '{_comment(comment)}'"


def create_table(database: str, dataset: Dataset, root: str) -> str:
    cols = ",\n".join(_column(c) for c in dataset.columns)
    parts = ", ".join(
        f"`{ident(c.name)}` {athena_type(c.type)} COMMENT '{_comment(c.doc)}'"
        for c in PARTITION_COLUMNS
    )
    props = ", ".join(f"'{k}'='{v}'" for k, v in TABLE_PROPERTIES)
    return (
        f"CREATE EXTERNAL TABLE IF NOT EXISTS `{ident(database)}`.`{ident(dataset.name)}` (\n"
        f"{cols}\n)\n"
        f"COMMENT '{_comment(dataset.doc)}'\n"
        f"PARTITIONED BY ({parts})\n"
        "STORED AS PARQUET\n"
        f"LOCATION '{table_location(root, dataset)}'\n"
        f"TBLPROPERTIES ({props})"
    )


def latest_run_subquery(database: str | None = None) -> str:
    """The run id of the newest succeeded run (Trino SQL)."""
    runs = f'"{ident(database)}"."{RUNS.name}"' if database else RUNS.name
    return (
        f"SELECT r.run_id FROM {runs} AS r WHERE r.status = 'succeeded' "
        "ORDER BY r.dt DESC, r.finished_at DESC, r.run_id DESC LIMIT 1"
    )


def latest_view_select(dataset: Dataset, database: str | None = None) -> str:
    table = f'"{ident(database)}"."{ident(dataset.name)}"' if database else ident(dataset.name)
    return f"SELECT t.* FROM {table} AS t WHERE t.run_id = ({latest_run_subquery(database)})"


def latest_view(database: str, dataset: Dataset) -> str:
    name = ident(LATEST_PREFIX + dataset.name)
    return (
        f'CREATE OR REPLACE VIEW "{ident(database)}"."{name}" AS\n'
        f"{latest_view_select(dataset, database)}"
    )


def _partition_spec(dt: date, run_id: str) -> str:
    return f"PARTITION (dt = '{dt.isoformat()}', run_id = '{validate_run_id(run_id)}')"


def add_partition(
    database: str, dataset: Dataset, root: str, dt: date, run_id: str, attempt: str = ""
) -> str:
    return (
        f"ALTER TABLE `{ident(database)}`.`{ident(dataset.name)}` ADD IF NOT EXISTS "
        f"{_partition_spec(dt, run_id)} "
        f"LOCATION '{partition_location(root, dataset, dt, run_id, attempt)}'"
    )


def set_partition_location(
    database: str, dataset: Dataset, root: str, dt: date, run_id: str, attempt: str
) -> str:
    """Move an existing partition to the run's current attempt (one catalog update)."""
    return (
        f"ALTER TABLE `{ident(database)}`.`{ident(dataset.name)}` {_partition_spec(dt, run_id)} "
        f"SET LOCATION '{partition_location(root, dataset, dt, run_id, attempt)}'"
    )


def setup_statements(
    database: str, root: str, datasets: tuple[Dataset, ...] = RESULT_DATASETS
) -> list[str]:
    """Everything ``basket athena setup`` runs, in order (tables before views)."""
    return [
        create_database(database),
        *(create_table(database, d, root) for d in datasets),
        *(latest_view(database, d) for d in datasets),
    ]


def add_partition_statements(
    database: str,
    root: str,
    dt: date,
    run_id: str,
    datasets: tuple[Dataset, ...] = RESULT_DATASETS,
    attempt: str = "",
) -> list[str]:
    """Per table: add the run's partition at ``attempt``; with an attempt, then move an
    existing partition there too (the ADD keeps an existing partition's location)."""
    statements = []
    for d in datasets:
        statements.append(add_partition(database, d, root, dt, run_id, attempt))
        if attempt:
            statements.append(set_partition_location(database, d, root, dt, run_id, attempt))
    return statements
