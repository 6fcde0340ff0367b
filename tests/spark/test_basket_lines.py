"""Basket-format lines: the bad-encoding rule looks at the whole line when the plain split
puts every character of the line but separators and spaces into an item, and at each item
otherwise. Either way a line is rejected exactly when one of its items holds a bad
character, which each case here checks item by item, independently of the rule's code."""

from __future__ import annotations

import json
from typing import Any

import pytest

from basket_core.config import CleaningConfig
from basket_core.reasons import Reason
from spark.baskets import parse_basket_lines
from spark.char_check import has_bad_chars

ITEMS = [
    ["milk", "bread"],
    ["caf\ufffd", "tea"],  # undecodable bytes
    ["nul\x00here", "eggs"],
    ["bell\x07", "  spaced  "],
    ["c1\x85", "ok"],  # a C1 control
    ["tab\tinside", "line"],  # tabs are allowed
    ["\x1b[31mred", "x"],
    ["last", "\x7f"],
]


def _lines(sep: str) -> list[str]:
    return [sep.join(items) for items in ITEMS] + [f"  {sep}  ", f"ok{sep}\x01{sep}"]


@pytest.mark.parametrize(
    ("sep", "cleaning"),
    [
        (",", CleaningConfig()),  # the plain split: one regex per line
        (";", CleaningConfig(casefold=True)),
        ("\t", CleaningConfig()),
        ("\x1f", CleaningConfig()),  # ASCII unit separator: itself a control character
        (" | ", CleaningConfig()),  # spaces in the separator: the per-item path
        (",", CleaningConfig(collapse_whitespace=True)),  # per item: tabs become spaces
    ],
    ids=["comma", "casefold", "tab", "unit-separator", "spaced", "collapse"],
)
def test_a_line_is_bad_encoding_exactly_when_an_item_is(
    spark: Any, sep: str, cleaning: Any
) -> None:
    from pyspark.sql import functions as F

    lines = _lines(sep)
    raw = spark.createDataFrame([(line, "f.txt", i) for i, line in enumerate(lines)]).toDF(
        "value", "_source", "_row_id"
    )
    classified, baskets, quarantine = parse_basket_lines(raw, sep=sep, cleaning=cleaning)
    rows = {r["_row_id"]: r for r in classified.orderBy("_row_id").collect()}
    assert len(rows) == len(lines)
    rejected = 0
    for i in range(len(lines)):
        items, reason = rows[i]["items"], rows[i]["_reason"]
        if not items:
            assert reason == Reason.EMPTY_BASKET.value, lines[i]
        elif any(has_bad_chars(item) for item in items):
            assert reason == Reason.BAD_ENCODING.value, (lines[i], items)
        else:
            assert reason is None, (lines[i], items)
        rejected += reason is not None
    assert rejected >= 6  # the data does exercise the rule
    assert baskets.count() + quarantine.count() == len(lines)
    assert quarantine.where(F.col("reason") == Reason.BAD_ENCODING.value).count() == sum(
        r["_reason"] == Reason.BAD_ENCODING.value for r in rows.values()
    )
    # the unit separator is never an item's character, so it does not reject the line
    assert rows[0]["_reason"] is None
    # quarantine keeps each rejected line's text, word for word
    kept = sorted(json.loads(r["raw"])["line"] for r in quarantine.collect())
    assert kept == sorted(lines[i] for i, r in rows.items() if r["_reason"] is not None)


def test_the_python_and_spark_patterns_reject_the_same_characters(spark: Any) -> None:
    from pyspark.sql import functions as F

    from spark.clean import _BAD_CHARS

    # every character of the Basic Multilingual Plane but the surrogates, and a few beyond
    codes = [*range(0xD800), *range(0xE000, 0x10000), 0x10000, 0x1F600, 0xE0001, 0x10FFFF]
    text = "".join(map(chr, codes))
    rows = spark.createDataFrame([(ch,) for ch in text], "c string")
    flagged = {r["c"] for r in rows.where(F.col("c").rlike(_BAD_CHARS)).collect()}
    assert flagged == {ch for ch in text if has_bad_chars(ch)}
    assert len(flagged) == 9 + 2 + 18 + 33 + 1


@pytest.mark.parametrize(
    ("encoding", "data", "kept", "rejected"),
    [
        # Spark's text reader has no encoding option: without the decode these items came
        # out as U+FFFD and their lines were rejected as bad encoding
        (
            "latin-1",
            "CAFÉ,THÉ\nMILK,BREAD\n".encode("latin-1"),
            [["BREAD", "MILK"], ["CAFÉ", "THÉ"]],
            [],
        ),
        # 0x81 is not a cp1252 character: that line, and only it, is rejected
        ("cp1252", b"\x80URO,CR\xc8ME\nBAD\x81,OK\n", [["CRÈME", "€URO"]], ["BAD\ufffd,OK"]),
        # a UTF-8 byte-order mark is not part of the first item (Hadoop skips it)
        ("utf-8", b"\xef\xbb\xbfMILK,BREAD\nMILK,TEA\n", [["BREAD", "MILK"], ["MILK", "TEA"]], []),
        ("utf-8-sig", b"\xef\xbb\xbfMILK,BREAD\n", [["BREAD", "MILK"]], []),
        # a byte that is not UTF-8 is rejected, with the line as Spark decodes it
        ("utf-8", b"CAF\xc9,TEA\nMILK\n", [["MILK"]], ["CAF\ufffd,TEA"]),
    ],
    ids=["latin-1", "cp1252", "utf-8-bom", "utf-8-sig", "utf-8-invalid"],
)
def test_basket_files_are_decoded_with_the_configured_encoding(
    spark: Any,
    tmp_path: Any,
    encoding: str,
    data: bytes,
    kept: list[list[str]],
    rejected: list[str],
) -> None:
    from basket_core.config import InputConfig
    from spark.load import inspect_basket, prove_files, read_basket_lines

    path = tmp_path / "baskets.txt"
    path.write_bytes(data)
    inp = InputConfig(format="basket", encoding=encoding)
    raw, _ = read_basket_lines(spark, [str(path)], inp)
    # the driver's byte check proves a file clean exactly when Spark's rule rejects no
    # line of it; with the proof the rule is left out, and the result is the same
    proven = prove_files(inspect_basket([str(path)], inp), encoding).clean
    assert proven == (not rejected)
    for skip_rule in {False, proven}:
        _, baskets, quarantine = parse_basket_lines(
            raw, sep=",", cleaning=CleaningConfig(), proven_clean=skip_rule
        )
        assert sorted(r["items"] for r in baskets.collect()) == kept
        lines = [json.loads(r["raw"])["line"] for r in quarantine.collect()]
        assert lines == rejected
        assert {r["reason"] for r in quarantine.collect()} <= {Reason.BAD_ENCODING.value}


@pytest.mark.parametrize(
    ("sep", "cleaning", "lines", "unspaced"),
    [
        (",", CleaningConfig(), ["milk,bread", "  tea,milk  ", "a,,b"], True),
        (",", CleaningConfig(), ["milk,bread", "tea , milk", "a,b"], False),
        (",", CleaningConfig(), ["milk,bread", "tea, milk"], False),
        (";", CleaningConfig(casefold=True), ["MILK;Bread", "tea;MILK"], True),
        # lower-casing turns "X " into "x ": the file lacks "x " as read, but a line has it
        ("x", CleaningConfig(casefold=True), ["milkxbread", "teaX milk"], False),
    ],
    ids=["unspaced", "spaced-both", "spaced-after", "casefold", "letter-separator"],
)
def test_a_file_without_spaced_separators_splits_the_same_on_the_bare_separator(
    spark: Any, tmp_path: Any, sep: str, cleaning: Any, lines: list[str], unspaced: bool
) -> None:
    from basket_core.config import InputConfig
    from spark.baskets import spaced_separators
    from spark.load import inspect_basket, prove_files, read_basket_lines

    path = tmp_path / "baskets.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    inp = InputConfig(format="basket", basket_sep=sep)
    raw, _ = read_basket_lines(spark, [str(path)], inp)
    spaced = spaced_separators(sep)
    proof = prove_files(inspect_basket([str(path)], inp), "utf-8", spaced)
    assert (proof.lacks >= set(spaced)) == unspaced or sep == "x"

    def baskets(proven: bool) -> list[list[str]]:
        _, found, _ = parse_basket_lines(raw, sep=sep, cleaning=cleaning, proven_unspaced=proven)
        return sorted(r["items"] for r in found.collect())

    assert baskets(proof.lacks >= set(spaced)) == baskets(False)
    # and the bare split is what the proof saves: told wrongly, a spaced line splits wrong
    if not unspaced and sep != "x":
        assert baskets(True) != baskets(False)
