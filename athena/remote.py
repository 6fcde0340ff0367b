"""The Athena backend of the query pack: ``?`` placeholders plus ExecutionParameters."""

from __future__ import annotations

from typing import Any

from athena.pack import Query, for_athena
from basket_core.aws import athena as athena_api


def run(
    athena: Any, query: Query, values: dict[str, Any], target: athena_api.QueryTarget
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run a pack query on Athena and wait for it; column names and rows."""
    sql, parameters = for_athena(query, values)
    ex = athena_api.execute(athena, sql, target, parameters)
    return athena_api.results(athena, ex.query_id)
