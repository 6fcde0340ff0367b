"""Values no point-of-sale feed means are quarantined under their rule's reason, naming
the field, while the good line beside each one is still accepted: non-finite numbers,
Java type suffixes, hex, NaN, control characters in any mapped text field, and items or
ids over their length limit. The last test runs such lines through ``basket mine`` from
a real CSV file and checks the quarantine's ``raw`` stays small."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
from pydantic import ValidationError

from basket_core.config import CleaningConfig, ColumnsConfig, InputConfig, Settings
from basket_devtools.generate import COLUMNS  # the retailer CSV's header
from spark.clean import RAW_FIELD_CHARS, SHOWN_CHARS, clean_lines
from spark.job import MineRequest, run_mine

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession

GOOD = dict(
    zip(
        COLUMNS,
        ("1001", "A1", "WHITE MUG", "2", "2026-11-01 09:00:00", "2.50", "c1", "UK", "S1"),
        strict=True,
    )
)
SCHEMA = ", ".join(f"`{c}` string" for c in COLUMNS) + ", _source string"


def _clean(
    spark: SparkSession, *bad: dict[str, str], cleaning: CleaningConfig | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(accepted lines, quarantine records in input order) of the good line followed by
    ``bad`` lines: each the good line with some fields replaced, its invoice number
    ``2000 + i`` unless the replacement sets one, its ``source`` ``line<i>``."""
    lines = [GOOD] + [{**GOOD, "InvoiceNo": str(2000 + i), **b} for i, b in enumerate(bad)]
    rows = [(*line.values(), f"line{i:03d}") for i, line in enumerate(lines)]
    _, cleaned = clean_lines(
        spark.createDataFrame(rows, SCHEMA),
        data_columns=COLUMNS,
        columns=ColumnsConfig(),
        cleaning=cleaning or CleaningConfig(deduplicate=False),
        timestamp_formats=InputConfig().timestamp_formats,
        corrupt_col=None,
    )
    accepted = [r.asDict() for r in cleaned.accepted.collect()]
    rejected = sorted((r.asDict() for r in cleaned.rejected.collect()), key=lambda r: r["source"])
    return accepted, rejected


def _rejections(spark: SparkSession, *bad: dict[str, str], **cleaning: Any) -> list[dict[str, Any]]:
    """The quarantine records of the ``bad`` lines, one each, in order, after checking
    that the good line beside them was accepted."""
    accepted, rejected = _clean(spark, *bad, cleaning=CleaningConfig(deduplicate=False, **cleaning))
    assert [a["transaction_id"] for a in accepted] == [GOOD["InvoiceNo"]]
    assert [r["source"] for r in rejected] == [f"line{i + 1:03d}" for i in range(len(bad))]
    return rejected


def _reasons(rejected: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(r["reason"], r["field"]) for r in rejected}


def test_overflowing_quantity_is_bad_quantity(spark) -> None:
    """Plain decimal text whose double is infinite: Spark's cast gives +/-inf, which
    was stored as the quantity; it is not finite, so it is not a quantity."""
    values = ["1e309", "-1e309", "1E400", "9" * 400]
    rejected = _rejections(spark, *[{"Quantity": v} for v in values])
    assert _reasons(rejected) == {("bad_quantity", "Quantity")}
    for value, got in zip(values, rejected, strict=True):
        assert f"Quantity='{value[:SHOWN_CHARS]}" in got["detail"]


def test_infinity_price_is_bad_price(spark) -> None:
    values = ["Infinity", "-Infinity", "+Infinity", "inf", " Infinity "]
    rejected = _rejections(spark, *[{"UnitPrice": v} for v in values])
    assert _reasons(rejected) == {("bad_price", "UnitPrice")}
    assert all("is not a finite decimal number" in r["detail"] for r in rejected)


def test_java_type_suffixes_are_bad_quantity(spark) -> None:
    """Spark casts through Java's parser, which reads ``2d`` as the double 2.0."""
    values = ["2d", "2f", "2D", "2F", "2.5d", "1e2f"]
    rejected = _rejections(spark, *[{"Quantity": v} for v in values])
    assert _reasons(rejected) == {("bad_quantity", "Quantity")}
    assert [r["detail"] for r in rejected] == [
        f"Quantity='{v}' is not a finite decimal number" for v in values
    ]


def test_nul_inside_a_number_is_bad_price(spark) -> None:
    """Spark's cast trims control characters away (``1\\0`` was 1.0); the detail shows
    the NUL escaped, never as a raw byte."""
    values = ["1\x00", "\x001", "1\x002", "2\x00.50"]
    rejected = _rejections(spark, *[{"UnitPrice": v} for v in values])
    assert _reasons(rejected) == {("bad_price", "UnitPrice")}
    assert all("\\u0000" in r["detail"] and "\x00" not in r["detail"] for r in rejected)


def test_nan_variants_are_bad_quantity(spark) -> None:
    values = ["NaN", "nan", "-NaN", "+NaN", " NaN "]
    rejected = _rejections(spark, *[{"Quantity": v} for v in values])
    assert _reasons(rejected) == {("bad_quantity", "Quantity")}


def test_hex_numbers_are_bad_quantity(spark) -> None:
    """Java reads ``0x1p3`` as 8.0."""
    values = ["0x10", "0x1p3", "0X1P3", "0x1.8p1"]
    rejected = _rejections(spark, *[{"Quantity": v} for v in values])
    assert _reasons(rejected) == {("bad_quantity", "Quantity")}


def test_plain_decimals_are_still_accepted(spark) -> None:
    """The strict form keeps every way a till writes a number: sign, no integer part,
    a trailing point, an exponent, blanks around it."""
    values = {
        " 3 ": 3.0,
        "+2": 2.0,
        "1.": 1.0,
        ".5": 0.5,
        "1e2": 100.0,
        "2.50E+1": 25.0,
        "5E-1": 0.5,
        "\t4\t": 4.0,
        "007": 7.0,
    }
    accepted, rejected = _clean(
        spark,
        *[{"Quantity": q, "UnitPrice": q, "StockCode": q} for q in values],
    )
    assert rejected == []
    by_code = {a["StockCode"]: a for a in accepted if a["StockCode"] != GOOD["StockCode"]}
    assert {code: (a["quantity"], a["price"]) for code, a in by_code.items()} == {
        q: (v, v) for q, v in values.items()
    }


def test_a_long_bad_number_is_cut_in_the_detail(spark) -> None:
    value = "12x" * 5000
    (got,) = _rejections(spark, {"Quantity": value})
    assert (got["reason"], got["field"]) == ("bad_quantity", "Quantity")
    assert f"... ({len(value)} characters)" in got["detail"]
    assert len(got["detail"]) < SHOWN_CHARS + 100


CONTROL = [
    ("InvoiceNo", "10\x0001"),
    ("Description", "WHITE\x00MUG"),
    ("Description", "WHITE MUG\x7f"),
    ("Description", "WHITE\x92MUG"),  # a C1 control: Windows-1252 read as Latin-1
    ("CustomerID", "c\x07"),
    ("CustomerID", "c\ufffd"),
    ("StoreID", "S\x1b[0m"),
    ("StoreID", "\x00"),
    ("InvoiceDate", "2026-11-01\x0009:00:00"),
    ("InvoiceDate", "2026-11-01 09:00:00\x00"),
]


def test_control_characters_in_any_text_field_are_bad_encoding(spark) -> None:
    rejected = _rejections(spark, *[{column: value} for column, value in CONTROL])
    assert [(r["reason"], r["field"]) for r in rejected] == [
        ("bad_encoding", column) for column, _ in CONTROL
    ]
    for (column, _), got in zip(CONTROL, rejected, strict=True):
        assert got["detail"].startswith(f"undecodable or control characters in {column}='")


def test_tabs_and_line_breaks_in_text_are_kept(spark) -> None:
    """A quoted CSV field may hold a tab or a line break; those are not control
    characters to quarantine (the rule joins the fields with a line feed to scan them)."""
    accepted, rejected = _clean(spark, {"Description": "TEA\tTOWEL", "CustomerID": "c\r\n2"})
    assert rejected == [] and len(accepted) == 2


def test_a_1mb_item_is_value_too_long(spark) -> None:
    (got,) = _rejections(spark, {"Description": "X" * 1_000_000})
    assert (got["reason"], got["field"]) == ("value_too_long", "Description")
    assert got["detail"] == "Description is 1000000 characters, over the limit of 1000"
    record = json.loads(got["raw"])
    assert len(got["raw"]) < RAW_FIELD_CHARS + 400
    assert record["InvoiceNo"] == "2000"
    assert record["Description"].endswith("...[truncated: 1000000 characters in all]")


def test_an_id_over_the_limit_is_value_too_long(spark) -> None:
    columns = ["InvoiceNo", "CustomerID", "StoreID"]
    rejected = _rejections(spark, *[{column: "7" * 201} for column in columns])
    assert [(r["reason"], r["field"]) for r in rejected] == [
        ("value_too_long", column) for column in columns
    ]
    assert [r["detail"] for r in rejected] == [
        f"{column} is 201 characters, over the limit of 200" for column in columns
    ]


def test_values_at_the_limits_are_accepted(spark) -> None:
    """The limits count characters after trimming, not bytes: 1,000 accented letters
    (2,000 UTF-8 bytes) with blanks around them are an item within the limit."""
    at_limit = {
        "Description": "  " + "\u00e9" * 1000 + "  ",
        "CustomerID": "c" * 200,
        "StoreID": "s" * 200,
    }
    accepted, rejected = _clean(spark, at_limit, {"InvoiceNo": "9" * 200})
    assert rejected == [] and len(accepted) == 3


def test_the_limits_are_configurable(spark) -> None:
    item, store = _rejections(
        spark,
        {"Description": "TEA TOWELS"},
        {"StoreID": "S1234"},
        max_item_length=9,
        max_id_length=4,
    )
    assert (item["reason"], item["field"]) == ("value_too_long", "Description")
    assert item["detail"] == "Description is 10 characters, over the limit of 9"
    assert (store["reason"], store["field"]) == ("value_too_long", "StoreID")
    assert store["detail"] == "StoreID is 5 characters, over the limit of 4"


@pytest.mark.parametrize("field", ["max_item_length", "max_id_length"])
def test_the_limits_must_be_positive(monkeypatch, field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        CleaningConfig(**{field: 0})
    monkeypatch.setenv(f"BASKET_CLEANING__{field.upper()}", "-1")
    with pytest.raises(ValidationError, match=field):
        Settings()


def test_the_length_rule_comes_before_the_character_rule(spark) -> None:
    """A runaway value with a control character in it is reported by its length: the
    character regex never runs over it."""
    (got,) = _rejections(spark, {"Description": "\x00" + "X" * 5000})
    assert (got["reason"], got["field"]) == ("value_too_long", "Description")


BAD_LINES = {
    "1e309": ("2001,A1,WHITE MUG,1e309,2026-11-01 09:00:00,2.50,c1,UK,S1", "bad_quantity"),
    "infinity": ("2002,A1,WHITE MUG,1,2026-11-01 09:00:00,Infinity,c1,UK,S1", "bad_price"),
    "suffix": ("2003,A1,WHITE MUG,2d,2026-11-01 09:00:00,2.50,c1,UK,S1", "bad_quantity"),
    "nul": ("2004,A1,WHITE MUG,1\x00,2026-11-01 09:00:00,2.50,c1,UK,S1", "bad_quantity"),
    "nul_text": ("2005,A1,WHITE MUG,1,2026-11-01 09:00:00,2.50,c\x001,UK,S1", "bad_encoding"),
    "hex": ("2006,A1,WHITE MUG,1,2026-11-01 09:00:00,0x1p3,c1,UK,S1", "bad_price"),
    "1mb": (
        "2007,A1," + "X" * 1_000_000 + ",1,2026-11-01 09:00:00,2.50,c1,UK,S1",
        "value_too_long",
    ),
    "1mb_malformed": ("2008,A1," + "Y" * 1_000_000, "malformed_row"),
}


def test_a_csv_file_with_such_values_through_basket_mine(spark, settings, tmp_path) -> None:
    """End to end from a real file: the CSV reader keeps the NUL bytes and the 1 MB lines,
    every bad line lands in quarantine under its reason, the good lines are mined, the
    counts reconcile, and no quarantine ``raw`` is anywhere near a megabyte."""
    header = ",".join(COLUMNS)
    good = [
        "1001,A1,WHITE MUG,2,2026-11-01 09:00:00,2.50,c1,UK,S1",
        "1001,B2,TEA TOWEL,1,2026-11-01 09:00:00,3.00,c1,UK,S1",
        "1002,A1,WHITE MUG,1,2026-11-02 10:15:00,2.50,c2,UK,S2",
    ]
    src: Path = tmp_path / "pos.csv"
    lines = [header, *good, *[line for line, _ in BAD_LINES.values()]]
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = settings.with_overrides(**{"mining.min_support": 0.3, "mining.min_confidence": 0.1})
    report = run_mine(settings, MineRequest(inputs=(str(src),), run_id="v1"), spark=spark)
    quarantine = pd.read_parquet(settings.paths.output_dir / "quarantine")
    counts = report.counts
    assert counts.accepted_rows == len(good)
    assert counts.rejected_rows == len(BAD_LINES) == len(quarantine)
    by_id = {line.split(",", 1)[0]: reason for line, reason in BAD_LINES.values()}
    raw_ids = [
        json.loads(raw).get("InvoiceNo") or json.loads(raw)["line"].split(",", 1)[0]
        for raw in quarantine["raw"]
    ]
    assert dict(zip(raw_ids, quarantine["reason"], strict=True)) == by_id
    assert quarantine["raw"].str.len().max() < RAW_FIELD_CHARS + 600
    assert quarantine["detail"].str.len().max() < 200
