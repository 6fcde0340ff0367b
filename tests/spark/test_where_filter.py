"""``--where`` is a filter language, not code: what it lets through, what it refuses, and
that an accepted filter keeps the same rows in Spark."""

from __future__ import annotations

from typing import Any

import pytest

from basket_core.errors import OptionError
from spark.filters import check_columns, check_filter, referenced_columns

ACCEPTED = [
    ("Country = 'France'", "`Country` = 'France'"),
    ("lower(StockCode) like '85%' and Quantity >= 2", None),
    ("year(InvoiceDate) between 2025 and 2026", None),
    ("`odd col` is not null", None),
    ("`we``ird` = 1", "`we``ird` = 1"),
    ("Country in ('France', 'Spain') or not (Quantity < 1)", None),
    ("cast(Quantity as int) > 3", "TRY_CAST(`Quantity` AS INT) > 3"),
    ("upper(trim(Description)) = 'MUG'", None),
    ("substring(StockCode, 1, 2) = '85' and length(Description) < 40", None),
    ("month(InvoiceDate) = 12 and dayofweek(InvoiceDate) = 1", None),
]
REFUSED = [
    ("reflect('java.lang.System', 'getenv', 'AWS_SECRET_ACCESS_KEY') is not null", "reflect()"),
    ("java_method('java.lang.System', 'getenv', 'HOME') = 'x'", "java_method()"),
    ("Country in (select value from text.`/etc/passwd`)", "subquery"),
    ("Country = (select max(value) from text.`/etc/passwd`)", "subquery"),
    ("my_udf(Country) = 1", "my_udf()"),
    ("rand() < 0.5", "rand()"),
    ("current_timestamp() > '2020-01-01'", "current_timestamp()"),
    ("exists(array(1), x -> x > 0)", "not allowed"),
    ("Country = 'x'; drop table lines", "one expression"),
    ("Country = 'x' or", "not a valid filter"),
    ("Country", "not a condition"),
    ("   ", "empty"),
]


@pytest.mark.parametrize(("where", "rendered"), ACCEPTED)
def test_the_filter_language_lets_through(where: str, rendered: str | None) -> None:
    out = check_filter(where)
    if rendered is not None:
        assert out == rendered


@pytest.mark.parametrize(("where", "reason"), REFUSED)
def test_anything_else_is_refused_with_its_name(where: str, reason: str) -> None:
    with pytest.raises(OptionError) as caught:
        check_filter(where)
    message = str(caught.value)
    assert reason in message and "\n" not in message


def test_columns_are_checked_against_the_input() -> None:
    assert referenced_columns("a = 1 and lower(`b c`) like 'x' and a > 0") == ["a", "b c"]
    check_columns("country = 'x'", ["Country", "Quantity"])  # case-insensitive like Spark
    with pytest.raises(OptionError, match="Stor, Till"):
        check_columns("Stor = 1 or Till = 2", ["Country"])


def test_accepted_filters_keep_the_same_rows_in_spark(spark: Any) -> None:
    from pyspark.sql import functions as F

    rows = [("France", "85123A", 2, "2026-12-06"), ("Spain", "22423", 1, "2025-01-01")]
    df = spark.createDataFrame(rows, "Country string, StockCode string, Quantity int, d string")
    df = df.withColumn("d", F.to_date("d")).withColumn("odd col", F.lit(None).cast("string"))
    for where, expected in [
        ("Country = 'France'", {"France"}),
        ("lower(StockCode) like '85%' and Quantity >= 2", {"France"}),
        ("year(d) between 2025 and 2025", {"Spain"}),
        ("`odd col` is null and month(d) = 12", {"France"}),
        ("cast(StockCode as int) > 0", {"Spain"}),  # 85123A is no number: dropped, no error
    ]:
        kept = {r["Country"] for r in df.where(F.expr(check_filter(where))).collect()}
        assert kept == expected, where
