"""The ``--where`` filter language: a row predicate, never code.

A filter reaches the miner from the command line, a DAG parameter or a dashboard, so it
is parsed (sqlglot, Spark dialect) and only this is let through: column references,
literals, comparisons, ``AND``/``OR``/``NOT``, ``IN`` over literals, ``BETWEEN``,
``LIKE``/``ILIKE``, ``IS [NOT] NULL``, arithmetic, ``CAST`` and the pure functions in
:data:`FUNCTIONS`. Everything else — ``reflect``, ``java_method``, subqueries, file
sources (``text.`/path```), UDFs, any unknown function — is refused with
:class:`~basket_core.errors.OptionError` naming it. The accepted filter is rendered again
with every identifier quoted, and casts become ``TRY_CAST`` so a bad value drops the row
instead of failing the run.
"""

from __future__ import annotations

from collections.abc import Iterable

from basket_core.errors import OptionError

_STRUCTURE = frozenset(
    {
        "Column",
        "Identifier",
        "Literal",
        "Boolean",
        "Null",
        "Paren",
        "Tuple",
        "DataType",
        "DataTypeParam",
        "Var",
    }
)
_OPERATORS = frozenset(
    {
        "EQ",
        "NEQ",
        "NullSafeEQ",
        "NullSafeNEQ",
        "GT",
        "GTE",
        "LT",
        "LTE",
        "And",
        "Or",
        "Not",
        "In",
        "Between",
        "Like",
        "ILike",
        "Is",
        "Neg",
        "Add",
        "Sub",
        "Mul",
        "Div",
        "Mod",
        "Cast",
        "TryCast",
    }
)
FUNCTIONS = frozenset(
    {
        "Lower",
        "Upper",
        "Trim",
        "Substring",
        "Length",
        "Concat",
        "Coalesce",
        "Abs",
        "Round",
        "Floor",
        "Ceil",
        "Year",
        "Quarter",
        "Month",
        "Day",
        "DayOfMonth",
        "DayOfWeek",
        "DayOfYear",
        "WeekOfYear",
        "Hour",
        "Minute",
        "ToDate",
        "TsOrDsToDate",
        "StrToDate",
        "DateTrunc",
        "TimestampTrunc",
    }
)
"""Pure, deterministic functions a filter may call (sqlglot expression names)."""
ALLOWED = _STRUCTURE | _OPERATORS | FUNCTIONS


def _describe(node: object) -> str:
    from sqlglot import exp

    if isinstance(node, exp.Anonymous):
        return f"function {node.name}()"
    if isinstance(node, exp.Func):
        return f"function {node.sql_name().lower()}()"
    if isinstance(node, exp.Subquery | exp.Select | exp.Table | exp.From):
        return "a subquery or table"
    return type(node).__name__


def check_filter(where: str) -> str:
    """The filter as safe Spark SQL (identifiers quoted, casts as ``TRY_CAST``); raises
    :class:`OptionError` for anything outside the filter language."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError

    text = where.strip()
    if not text:
        raise OptionError("--where is empty")
    try:
        parsed = sqlglot.parse(text, read="spark")
    except ParseError as exc:
        problem = exc.errors[0]["description"] if exc.errors else str(exc)
        raise OptionError(f"--where {where!r} is not a valid filter: {problem}") from None
    if len(parsed) != 1 or parsed[0] is None:
        raise OptionError(f"--where {where!r} must be one expression")
    tree = parsed[0]
    for node in tree.walk():
        name = type(node).__name__
        if name not in ALLOWED:
            raise OptionError(
                f"--where {where!r}: {_describe(node)} is not allowed in a filter (columns, "
                "literals, comparisons, AND/OR/NOT, IN, BETWEEN, LIKE, IS NULL and "
                "lower/upper/trim/substring/length/date parts only)"
            )
        if isinstance(node, exp.In) and node.args.get("query") is not None:
            raise OptionError(f"--where {where!r}: IN takes a list of values, not a subquery")
    if isinstance(tree, exp.Column | exp.Literal):
        raise OptionError(f"--where {where!r} is a value, not a condition")
    # sqlglot reads Spark's CAST as a safe cast; the Databricks generator writes it as
    # TRY_CAST, which Spark 4 (ANSI mode) needs to turn a bad value into NULL.
    return tree.sql(dialect="databricks", identify=True)


def referenced_columns(where: str) -> list[str]:
    """The column names a valid filter reads, in order of first use."""
    import sqlglot
    from sqlglot import exp

    seen: dict[str, None] = {}
    for column in sqlglot.parse_one(where, read="spark").find_all(exp.Column):
        seen.setdefault(column.name, None)
    return list(seen)


def check_columns(where: str, available: Iterable[str]) -> None:
    """Refuse a filter over columns the input does not have, naming them."""
    have = {c.lower() for c in available}
    missing = [c for c in referenced_columns(where) if c.lower() not in have]
    if missing:
        raise OptionError(
            f"--where {where!r} names column(s) {', '.join(missing)} that the input lacks; "
            f"columns are: {', '.join(available)}"
        )
