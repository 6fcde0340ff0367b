"""Every cleaning rule, the quarantine's content, and the reconciliation of counts."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from spark.job import MineRequest, run_mine

HEADER = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country,StoreID\n"
)
GOOD = [
    "1001,A1,  WHITE MUG ,2,2026-11-01 09:00:00,2.50,c1,UK,S1",
    "1001,B2,TEA TOWEL,1,2026-11-01 09:00:00,3.00,c1,UK,S1",
    "1002,A1,WHITE MUG,1,11/2/2026 10:15,2.50,,UK,S1",
    "1002,C3,Tea Towel,1,2026-11-02 10:15:00,1.00,c2,UK,S2",
    '1003,D4,"JAR, ""LARGE""",3,2026-11-03T08:00:00,4.00,c3,FR,S2',
]
BAD = {
    "malformed_row": ["1004,A1,WHITE MUG,1"],
    "blank_transaction_id": [" ,A1,WHITE MUG,1,2026-11-01 09:00:00,2.50,c1,UK,S1"],
    "blank_item": ["1005,A1,   ,1,2026-11-01 09:00:00,2.50,c1,UK,S1"],
    "value_too_long": ["1013,A1," + "MUG " * 251 + ",1,2026-11-01 09:00:00,2.50,c1,UK,S1"],
    "bad_encoding": [
        "1006,A1,WHITE \ufffd MUG,1,2026-11-01 09:00:00,2.50,c1,UK,S1",
        "1014,A1,WHITE MUG,1,2026-11-01 09:00:00,2.50,c\x07,UK,S1",
    ],
    "cancellation": ["C1007,A1,WHITE MUG,-1,2026-11-01 09:00:00,2.50,c1,UK,S1"],
    "bad_quantity": [
        "1008,A1,WHITE MUG,abc,2026-11-01 09:00:00,2.50,c1,UK,S1",
        "1015,A1,WHITE MUG,1e309,2026-11-01 09:00:00,2.50,c1,UK,S1",
        "1016,A1,WHITE MUG,2d,2026-11-01 09:00:00,2.50,c1,UK,S1",
    ],
    "non_positive_quantity": ["1009,A1,WHITE MUG,-2,2026-11-01 09:00:00,2.50,c1,UK,S1"],
    "bad_price": ['1010,A1,WHITE MUG,1,2026-11-01 09:00:00,"1,5",c1,UK,S1'],
    "non_positive_price": ["1011,A1,WHITE MUG,1,2026-11-01 09:00:00,0,c1,UK,S1"],
    "bad_timestamp": ["1012,A1,WHITE MUG,1,2026-13-45 09:00:00,2.50,c1,UK,S1"],
    "duplicate": ["1001,B2,TEA TOWEL,1,2026-11-01 09:00:00,3.00,c1,UK,S1"],
}

FIRST = {rows[0].split(",", 1)[0] for rows in BAD.values()}
"""The invoice of each reason's first line."""


def _invoice(raw: str) -> str:
    """The invoice of a quarantine ``raw`` record (a malformed one holds the line)."""
    record = json.loads(raw)
    return str(record.get("InvoiceNo", record.get("line", "").split(",", 1)[0]))


def _write(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _run(spark, settings, src: Path, **overrides):  # type: ignore[no-untyped-def]
    settings = settings.with_overrides(
        **{"mining.min_support": 0.3, "mining.min_confidence": 0.1, **overrides}
    )
    report = run_mine(settings, MineRequest(inputs=(str(src),), run_id="c1"), spark=spark)
    out = settings.paths.output_dir
    return report, pd.read_parquet(out / "quarantine"), out


def test_every_rule_rejects_with_reason_and_counts_reconcile(spark, settings, tmp_path) -> None:
    src = _write(tmp_path / "pos.csv", GOOD + [r for rows in BAD.values() for r in rows])
    report, quarantine, _ = _run(spark, settings, src)
    c = report.counts
    assert c.input_rows == len(GOOD) + sum(len(v) for v in BAD.values())
    assert c.accepted_rows == len(GOOD)
    assert c.rejected_rows == len(quarantine) == sum(len(v) for v in BAD.values())
    assert c.input_rows == c.accepted_rows + c.rejected_rows
    assert c.rejected_by_reason == {k: len(v) for k, v in BAD.items()}
    assert sorted(quarantine["reason"]) == sorted(k for k, v in BAD.items() for _ in v)
    # every quarantined record names its file and keeps the original fields
    assert quarantine["source"].str.endswith("pos.csv").all()
    records = quarantine.to_dict("records")
    by_reason = {r["reason"]: r for r in records if _invoice(r["raw"]) in FIRST}
    qty = by_reason["bad_quantity"]
    assert qty["field"] == "Quantity" and "abc" in qty["detail"]
    assert json.loads(qty["raw"])["InvoiceNo"] == "1008"
    fields = {(r["reason"], r["field"]) for r in records}
    assert ("bad_encoding", "CustomerID") in fields
    assert ("value_too_long", "Description") in fields
    assert json.loads(by_reason["malformed_row"]["raw"]) == {"line": "1004,A1,WHITE MUG,1"}
    assert (
        by_reason["bad_price"]["field"] == "UnitPrice" and "1,5" in by_reason["bad_price"]["detail"]
    )
    assert by_reason["bad_encoding"]["field"] == "Description"
    assert by_reason["cancellation"]["field"] == "InvoiceNo"
    assert by_reason["bad_timestamp"]["field"] == "InvoiceDate"
    assert "1001" in by_reason["duplicate"]["detail"]


def test_items_are_trimmed_but_case_is_kept(spark, settings, tmp_path) -> None:
    src = _write(tmp_path / "pos.csv", GOOD)
    _, _, out = _run(spark, settings, src, **{"mining.min_support": 0.01})
    items = {i for s in pd.read_parquet(out / "itemsets")["items"] for i in s}
    assert items == {"WHITE MUG", "TEA TOWEL", "Tea Towel", 'JAR, "LARGE"'}


def test_casefold_merges_item_spellings(spark, settings, tmp_path) -> None:
    src = _write(tmp_path / "pos.csv", GOOD)
    _, _, out = _run(
        spark, settings, src, **{"mining.min_support": 0.01, "cleaning.casefold": True}
    )
    items = {i for s in pd.read_parquet(out / "itemsets")["items"] for i in s}
    assert items == {"white mug", "tea towel", 'jar, "large"'}


def test_rules_can_be_switched_off(spark, settings, tmp_path) -> None:
    rows = GOOD + BAD["cancellation"] + BAD["duplicate"] + BAD["non_positive_price"]
    src = _write(tmp_path / "pos.csv", rows)
    report, quarantine, _ = _run(
        spark,
        settings,
        src,
        **{
            "cleaning.cancellation_prefix": "",
            "cleaning.deduplicate": False,
            "cleaning.reject_non_positive_price": False,
            "cleaning.reject_non_positive_quantity": False,
        },
    )
    assert report.counts.rejected_rows == 0 and len(quarantine) == 0
    assert report.counts.accepted_rows == len(rows)


def test_duplicates_keep_exactly_one_copy(spark, settings, tmp_path) -> None:
    row = GOOD[0]
    src = _write(tmp_path / "pos.csv", [row] * 4 + GOOD[1:])
    report, _quarantine, _ = _run(spark, settings, src)
    assert report.counts.rejected_by_reason == {"duplicate": 3}
    assert report.counts.accepted_rows == len(GOOD)


def test_unparseable_price_variants(spark, settings, tmp_path) -> None:
    prices = ("", "NaN", "abc")  # one run: each in a transaction of its own
    bad = [f"109{n},A1,WHITE MUG,1,2026-11-01 09:00:00,{p},c1,UK,S1" for n, p in enumerate(prices)]
    _report, quarantine, _ = _run(spark, settings, _write(tmp_path / "p.csv", [*GOOD, *bad]))
    assert list(quarantine["reason"]) == ["bad_price"] * len(prices)
    details = " | ".join(quarantine["detail"])
    assert "NaN" in details and "abc" in details, details


LINES = [
    "a,b,c",
    "  a , b ,c  ",
    " , a,,b , ",
    "\tTea  Towel ,\u00a0Mug\u00a0, x\ty ",
    "",
    "   ",
    ",,,",
    "A,a, A ,Ä,ä",
    "a;b;c",
    "a | b|c",
    "Straße ,İstanbul, ÉCLAIR",
    "WHITE HANGING HEART,RED RETROSPOT CAKE STAND",  # spaces inside items only
    "a ,b,c,d , e",  # some separators spaced, some not
    "a,b,c ",
    " a,b,c",
]


@pytest.mark.parametrize("sep", [",", ";", "|", "\t", "::"])
@pytest.mark.parametrize(
    ("trim", "casefold", "collapse"),
    [(True, False, False), (False, False, False), (True, True, False), (True, False, True)],
)
def test_basket_split_without_lambdas_equals_the_per_item_rules(
    spark, sep: str, trim: bool, casefold: bool, collapse: bool
) -> None:  # type: ignore[no-untyped-def]
    from pyspark.sql import functions as F

    from basket_core.config import CleaningConfig
    from spark.baskets import _regex_literal, split_items
    from spark.clean import normalise_item

    cleaning = CleaningConfig(trim=trim, casefold=casefold, collapse_whitespace=collapse)
    lines = [line.replace(",", sep) for line in LINES] + LINES
    df = spark.createDataFrame([(i, v) for i, v in enumerate(lines)], "i int, value string")
    per_item = F.filter(
        F.transform(F.split("value", _regex_literal(sep)), lambda x: normalise_item(x, cleaning)),
        lambda x: F.length(x) > 0,
    )
    got = df.select(
        "i", split_items(F.col("value"), sep, cleaning).alias("got"), per_item.alias("want")
    ).collect()
    for row in got:
        assert row["got"] == row["want"], (repr(lines[row["i"]]), sep, cleaning)
