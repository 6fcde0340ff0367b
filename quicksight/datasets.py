"""The Athena data source and the QuickSight data sets, as request bodies (pure).

Each data set is a custom SQL over an Athena table or ``latest_*`` view, with its columns
taken from :mod:`basket_core.schemas`: arrays become ``', '``-joined strings (QuickSight has no
array type) and infinite values of a nullable double (``conviction`` when confidence is 1)
become nulls, which SPICE would otherwise skip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from athena import ddl
from basket_core.schemas import (
    ITEMSETS,
    PARTITION_COLUMNS,
    RULE_CHANGES,
    RULES,
    RUNS,
    Column,
    Dataset,
)
from quicksight.deployment import Deployment

QS_TYPES = {
    "string": "STRING",
    "bigint": "INTEGER",
    "int": "INTEGER",
    "double": "DECIMAL",
    "boolean": "BOOLEAN",
    "timestamp": "DATETIME",
    "date": "DATETIME",
    "array<string>": "STRING",
}
DATA_SOURCE_ACTIONS = (
    "quicksight:DescribeDataSource",
    "quicksight:DescribeDataSourcePermissions",
    "quicksight:PassDataSource",
    "quicksight:UpdateDataSource",
    "quicksight:DeleteDataSource",
    "quicksight:UpdateDataSourcePermissions",
)
DATA_SET_ACTIONS = (
    "quicksight:DescribeDataSet",
    "quicksight:DescribeDataSetPermissions",
    "quicksight:PassDataSet",
    "quicksight:DescribeIngestion",
    "quicksight:ListIngestions",
    "quicksight:UpdateDataSet",
    "quicksight:DeleteDataSet",
    "quicksight:CreateIngestion",
    "quicksight:CancelIngestion",
    "quicksight:UpdateDataSetPermissions",
)


@dataclass(frozen=True)
class DataSetSpec:
    """A QuickSight data set: its short name and the Athena table or view it reads."""

    name: str
    dataset: Dataset
    table: str

    @property
    def columns(self) -> tuple[Column, ...]:
        return (*self.dataset.columns, *PARTITION_COLUMNS)


DATA_SETS: tuple[DataSetSpec, ...] = (
    DataSetSpec("itemsets", ITEMSETS, ddl.LATEST_PREFIX + ITEMSETS.name),
    DataSetSpec("rules", RULES, ddl.LATEST_PREFIX + RULES.name),
    DataSetSpec("runs", RUNS, RUNS.name),
    # the latest run's changes against the previous run of its kind
    DataSetSpec("rule_changes", RULE_CHANGES, ddl.LATEST_PREFIX + RULE_CHANGES.name),
)


def spec(name: str) -> DataSetSpec:
    for s in DATA_SETS:
        if s.name == name:
            return s
    raise KeyError(f"unknown data set {name!r}; known: {', '.join(s.name for s in DATA_SETS)}")


def permissions(principal_arn: str, actions: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{"Principal": principal_arn, "Actions": list(actions)}]


def _select(c: Column) -> str:
    name = f'"{ddl.ident(c.name)}"'
    if c.type == "array<string>":
        return f"array_join({name}, ', ') AS {name}"
    if c.type == "double" and c.nullable:  # the schema's finite measures are not nullable
        return f"CASE WHEN is_infinite({name}) THEN NULL ELSE {name} END AS {name}"
    return name


def select_sql(s: DataSetSpec, database: str) -> str:
    """The data set's Athena (Trino) SQL."""
    cols = ",\n    ".join(_select(c) for c in s.columns)
    return f'SELECT\n    {cols}\nFROM "{ddl.ident(database)}"."{ddl.ident(s.table)}"'


def input_column(c: Column) -> dict[str, str]:
    """A data set column; a double is a DECIMAL of sub-type FLOAT (QuickSight's default
    sub-type, FIXED, would round supports and lifts to four decimal places)."""
    column = {"Name": c.name, "Type": QS_TYPES[c.type]}
    if c.type == "double":
        column["SubType"] = "FLOAT"
    return column


def data_source_request(deployment: Deployment) -> dict[str, Any]:
    return {
        "AwsAccountId": deployment.account_id,
        "DataSourceId": deployment.data_source_id,
        "Name": f"{deployment.prefix} Athena ({deployment.workgroup})",
        "Type": "ATHENA",
        "DataSourceParameters": {"AthenaParameters": {"WorkGroup": deployment.workgroup}},
    }


def data_set_request(deployment: Deployment, s: DataSetSpec) -> dict[str, Any]:
    return {
        "AwsAccountId": deployment.account_id,
        "DataSetId": deployment.data_set_id(s.name),
        "Name": f"{deployment.prefix} {s.name}",
        "ImportMode": deployment.import_mode,
        "PhysicalTableMap": {
            s.name: {
                "CustomSql": {
                    "DataSourceArn": deployment.data_source_arn,
                    "Name": s.table,
                    "SqlQuery": select_sql(s, deployment.database),
                    "Columns": [input_column(c) for c in s.columns],
                }
            }
        },
        "LogicalTableMap": {s.name: {"Alias": s.name, "Source": {"PhysicalTableId": s.name}}},
    }
