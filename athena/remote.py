"""The Athena backend of the query pack: ``?`` placeholders plus ExecutionParameters,
run through PyAthena (:class:`basket_core.aws.athena.Athena`), rows typed."""

from __future__ import annotations

from typing import Any

from athena.pack import Query, for_athena
from basket_core.aws.athena import Athena


def run(
    athena: Athena, query: Query, values: dict[str, Any]
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run a pack query on Athena and wait for it; column names and typed rows."""
    sql, parameters = for_athena(query, values)
    result = athena.execute(sql, parameters)
    return result.columns, result.rows
