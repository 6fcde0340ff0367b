"""Glue catalog definitions built from :mod:`basket_core.schemas` (pure), and the two ways to
apply them: Glue API calls (:func:`setup_glue`, :func:`add_partitions_glue`) or Athena DDL
(:mod:`athena.ddl`, run in order by :func:`run_statements`). Both produce the same catalog.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from athena import ddl
from basket_core.aws import glue as glue_api
from basket_core.schemas import PARTITION_COLUMNS, RESULT_DATASETS, Column, Dataset, athena_type

if TYPE_CHECKING:  # pragma: no cover
    from basket_core.aws.athena import Athena

PARQUET_SERDE = {
    "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
    "Parameters": {"serialization.format": "1"},
}
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
_TRINO_TYPES = {
    "string": "varchar",
    "bigint": "bigint",
    "int": "integer",
    "double": "double",
    "boolean": "boolean",
    "timestamp": "timestamp",
    "date": "date",
    "array<string>": "array(varchar)",
}


def _glue_column(c: Column) -> dict[str, str]:
    return {"Name": c.name, "Type": athena_type(c.type), "Comment": c.doc[:255]}


def _storage(dataset: Dataset, location: str) -> dict[str, Any]:
    return {
        "Columns": [_glue_column(c) for c in dataset.columns],
        "Location": location,
        "InputFormat": PARQUET_INPUT,
        "OutputFormat": PARQUET_OUTPUT,
        "SerdeInfo": PARQUET_SERDE,
        "Compressed": False,
        "StoredAsSubDirectories": False,
    }


def table_input(dataset: Dataset, root: str) -> dict[str, Any]:
    """Glue ``TableInput`` equal to :func:`athena.ddl.create_table`."""
    return {
        "Name": ddl.ident(dataset.name),
        "Description": dataset.doc,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"EXTERNAL": "TRUE", **dict(ddl.TABLE_PROPERTIES)},
        "PartitionKeys": [_glue_column(c) for c in PARTITION_COLUMNS],
        "StorageDescriptor": _storage(dataset, ddl.table_location(root, dataset)),
    }


def partition_input(
    dataset: Dataset, root: str, dt: date, run_id: str, attempt: str = ""
) -> dict[str, Any]:
    """Glue ``PartitionInput`` of the run at ``attempt`` (its location is that folder)."""
    location = ddl.partition_location(root, dataset, dt, run_id, attempt)
    return {"Values": [dt.isoformat(), run_id], "StorageDescriptor": _storage(dataset, location)}


def view_input(database: str, dataset: Dataset) -> dict[str, Any]:
    """Glue ``TableInput`` of the ``latest_<dataset>`` view in Athena's Presto-view form."""
    cols = [*dataset.columns, *PARTITION_COLUMNS]
    sql = ddl.latest_view_select(dataset, database)
    view = {
        "originalSql": sql,
        "catalog": "awsdatacatalog",
        "schema": database,
        "columns": [{"name": c.name, "type": _TRINO_TYPES[c.type]} for c in cols],
    }
    encoded = base64.b64encode(json.dumps(view).encode()).decode()
    return {
        "Name": ddl.ident(ddl.LATEST_PREFIX + dataset.name),
        "TableType": "VIRTUAL_VIEW",
        "Parameters": {"presto_view": "true", "comment": "Presto View"},
        "ViewOriginalText": f"/* Presto View: {encoded} */",
        "ViewExpandedText": "/* Presto View */",
        "StorageDescriptor": {
            "Columns": [_glue_column(c) for c in cols],
            "SerdeInfo": {},
        },
    }


@dataclass
class CatalogReport:
    database_created: bool = False
    tables: dict[str, str] = field(default_factory=dict)
    partitions: dict[str, tuple[int, int]] = field(default_factory=dict)


def setup_glue(
    glue: Any, database: str, root: str, datasets: tuple[Dataset, ...] = RESULT_DATASETS
) -> CatalogReport:
    """Database, tables and latest_* views through the Glue API (idempotent)."""
    report = CatalogReport()
    report.database_created = glue_api.ensure_database(
        glue, ddl.ident(database), "Market basket results"
    )
    for d in datasets:
        report.tables[d.name] = glue_api.upsert_table(glue, database, table_input(d, root))
    for d in datasets:
        view = view_input(database, d)
        report.tables[view["Name"]] = glue_api.upsert_table(glue, database, view)
    return report


def add_partitions_glue(
    glue: Any,
    database: str,
    root: str,
    dt: date,
    run_id: str,
    datasets: tuple[Dataset, ...] = RESULT_DATASETS,
    attempt: str = "",
) -> CatalogReport:
    """One run's partition in every table at ``attempt`` (idempotent): created, or, when
    there, moved to that attempt (``partitions``: created, already there)."""
    report = CatalogReport()
    for d in datasets:
        created, existing = glue_api.create_partitions(
            glue, database, d.name, [partition_input(d, root, dt, run_id, attempt)]
        )
        if existing and attempt:
            glue_api.upsert_partition(
                glue, database, d.name, partition_input(d, root, dt, run_id, attempt)
            )
        report.partitions[d.name] = (created, existing)
    return report


def switch_partitions_glue(
    glue: Any,
    database: str,
    root: str,
    dt: date,
    run_id: str,
    attempt: str,
    datasets: tuple[Dataset, ...] = RESULT_DATASETS,
) -> dict[str, str]:
    """Point the run's partition of every table at ``attempt``: what a publish calls once
    every file of the attempt is uploaded and verified, before it retires the old one.
    Per table ``created``, ``updated`` or ``no-table`` (a catalog not set up yet)."""
    return {
        d.name: glue_api.upsert_partition(
            glue, database, d.name, partition_input(d, root, dt, run_id, attempt)
        )
        for d in datasets
    }


def run_statements(athena: Athena, statements: list[str]) -> list[str]:
    """Run DDL through Athena (a :class:`basket_core.aws.athena.Athena`) one statement at
    a time, in order; the query ids.

    A start retried by botocore keeps the ClientRequestToken botocore generated for the
    call, so a retry never runs a statement twice.
    """
    return [athena.execute(sql).query_id for sql in statements]
