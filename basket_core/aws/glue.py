"""Glue Data Catalog calls, each idempotent: databases, tables (create or update) and
partitions (``batch_create_partition``; already existing ones are fine)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from basket_core.aws.session import retry_throttled

BATCH = 100  # batch_create_partition accepts at most 100 partitions per call


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", {}) or {}
    return str(response.get("Error", {}).get("Code", ""))


def ensure_database(glue: Any, name: str, description: str = "") -> bool:
    """Create the database unless it exists; True if it was created."""
    try:
        retry_throttled(
            glue.create_database, DatabaseInput={"Name": name, "Description": description}
        )
    except Exception as exc:
        if _code(exc) == "AlreadyExistsException":
            return False
        raise
    return True


def upsert_table(glue: Any, database: str, table_input: Mapping[str, Any]) -> str:
    """Create the table, or update it in place; returns ``"created"`` or ``"updated"``."""
    try:
        retry_throttled(glue.create_table, DatabaseName=database, TableInput=dict(table_input))
    except Exception as exc:
        if _code(exc) != "AlreadyExistsException":
            raise
        retry_throttled(glue.update_table, DatabaseName=database, TableInput=dict(table_input))
        return "updated"
    return "created"


def create_partitions(
    glue: Any, database: str, table: str, partitions: Sequence[Mapping[str, Any]]
) -> tuple[int, int]:
    """Add partitions; returns ``(created, already_there)``. Other errors raise."""
    created = existing = 0
    for start in range(0, len(partitions), BATCH):
        chunk = [dict(p) for p in partitions[start : start + BATCH]]
        r = retry_throttled(
            glue.batch_create_partition,
            DatabaseName=database,
            TableName=table,
            PartitionInputList=chunk,
        )
        errors = r.get("Errors", [])
        bad = [e for e in errors if e["ErrorDetail"]["ErrorCode"] != "AlreadyExistsException"]
        if bad:
            raise RuntimeError(f"Glue batch_create_partition on {database}.{table}: {bad}")
        existing += len(errors)
        created += len(chunk) - len(errors)
    return created, existing


def upsert_partition(glue: Any, database: str, table: str, partition: Mapping[str, Any]) -> str:
    """Create the partition, or update it in place (its location moves in one catalog
    write); ``"created"``, ``"updated"``, or ``"no-table"`` when the table does not exist
    (nothing reads it yet, so there is nothing to switch)."""
    values = list(partition["Values"])
    try:
        retry_throttled(
            glue.update_partition,
            DatabaseName=database,
            TableName=table,
            PartitionValueList=values,
            PartitionInput=dict(partition),
        )
        return "updated"
    except Exception as exc:
        if _code(exc) != "EntityNotFoundException":
            raise
    try:
        retry_throttled(
            glue.create_partition,
            DatabaseName=database,
            TableName=table,
            PartitionInput=dict(partition),
        )
    except Exception as exc:
        if _code(exc) == "EntityNotFoundException":
            return "no-table"
        if _code(exc) == "AlreadyExistsException":  # created in between: update it
            return upsert_partition(glue, database, table, partition)
        raise
    return "created"


def partition_location(glue: Any, database: str, table: str, values: Sequence[str]) -> str | None:
    """Where a partition's files are (None: no such partition)."""
    try:
        r = glue.get_partition(DatabaseName=database, TableName=table, PartitionValues=list(values))
    except Exception as exc:
        if _code(exc) == "EntityNotFoundException":
            return None
        raise
    return str(r["Partition"]["StorageDescriptor"]["Location"])


def partition_values(glue: Any, database: str, table: str) -> list[list[str]]:
    """Every partition's values of a table, sorted."""
    values: list[list[str]] = []
    pages = glue.get_paginator("get_partitions").paginate(DatabaseName=database, TableName=table)
    for page in pages:
        values.extend(list(p["Values"]) for p in page.get("Partitions", []))
    return sorted(values)


def table_names(glue: Any, database: str) -> list[str]:
    names: list[str] = []
    for page in glue.get_paginator("get_tables").paginate(DatabaseName=database):
        names.extend(str(t["Name"]) for t in page.get("TableList", []))
    return sorted(names)
