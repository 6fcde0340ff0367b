"""Input the user can trust (issue 16): several files are each read by their own header,
the run's input count comes from the files themselves and a run whose classification
loses a record fails, and every ordinary mistake ends in one line and a non-zero exit."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from basket.cli import main
from spark.job import MineRequest, run_mine
from spark.load import FileRejected, inspect_long
from spark.reads import ReconcileError, load_clean
from spark.report import Counts

HEADER = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice"]
HEADER += ["CustomerID", "Country"]
ROWS = [
    ["536365", "85123A", "WHITE HANGING HEART", "6", "2010-12-01 08:26:00", "2.55", "17850", "UK"],
    ["536365", "71053", "WHITE METAL LANTERN", "6", "2010-12-01 08:26:00", "3.39", "17850", "UK"],
    [
        "536366",
        "22633",
        "HAND WARMER UNION JACK",
        "6",
        "2010-12-01 08:28:00",
        "1.85",
        "17850",
        "UK",
    ],
    ["536366", "22632", "HAND WARMER RED POLKA", "6", "2010-12-01 08:28:00", "1.85", "17850", "UK"],
    ["536367", "84879", "BIRD ORNAMENT", "32", "2010-12-01 08:34:00", "1.69", "13047", "UK"],
    ["536367", "22745", "POPPY'S PLAYHOUSE", "6", "2010-12-01 08:34:00", "2.10", "13047", "UK"],
]
REORDERED = ["InvoiceNo", "Description", "StockCode", "UnitPrice", "InvoiceDate", "Quantity"]
REORDERED += ["CustomerID", "Country"]


def write(path: Path, names: list[str], rows: list[list[str]], *, header: bool = True) -> Path:
    index = [HEADER.index(n) for n in names]
    lines = [",".join(names)] if header else []
    lines += [",".join(r[i] for i in index) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def _settings(settings):  # type: ignore[no-untyped-def]
    return settings.with_overrides(
        **{"columns.store": "", "mining.min_support": 0.3, "mining.min_confidence": 0.1}
    )


def test_files_with_other_column_orders_map_by_name(spark, settings, tmp_path) -> None:
    a = write(tmp_path / "a.csv", HEADER, ROWS[:3])
    with a.open("a") as fh:
        fh.write("\n   \n")  # blank lines: skipped, and counted as such
    b = write(tmp_path / "b.csv", REORDERED, ROWS[3:])
    s = _settings(settings)
    report = run_mine(s, MineRequest(inputs=(str(a), str(b)), run_id="two"), spark=spark)
    c = report.counts
    assert (c.input_rows, c.accepted_rows, c.rejected_rows) == (6, 6, 0)
    assert c.skipped_lines == {"blank": 2, "header": 2}
    rules = pd.read_csv(report.exports / "rules.csv")
    items = {i for side in ("antecedent", "consequent") for v in rules[side] for i in json.loads(v)}
    assert "BIRD ORNAMENT" in items  # not the stock code 84879, as a positional read gave
    assert not any(i.isdigit() for i in items)


def test_a_headerless_file_among_headed_ones_is_refused_by_name(settings, tmp_path) -> None:
    a = write(tmp_path / "a.csv", HEADER, ROWS[:3])
    bare = write(tmp_path / "bare.csv", HEADER, ROWS[3:], header=False)
    with pytest.raises(FileRejected, match="no header") as err:
        run_mine(_settings(settings), MineRequest(inputs=(str(a), str(bare))), spark=None)
    assert str(bare) in str(err.value)
    assert err.value.records == 3


def test_a_record_lost_between_file_and_rules_fails_the_run(spark, settings, tmp_path) -> None:
    """The per-file count is the scan's, not accepted + rejected: if it differs from what
    Spark classified (here the scan is told of one record more than the file holds, as a
    reader that drops a row would look), the run stops before writing anything."""
    a = write(tmp_path / "a.csv", HEADER, ROWS)
    s = _settings(settings)
    inspected = inspect_long([str(a)], s.input, s.columns)
    assert inspected.files[0].records == len(ROWS)
    off = replace(inspected, files=(replace(inspected.files[0], records=len(ROWS) + 1),))
    with pytest.raises(ReconcileError, match=r"7 data records in the file, 6 classified"):
        load_clean(
            spark, s, inputs=(str(a),), table=None, inspected=off, counts=Counts(), cached=[]
        )
    counts = Counts()
    load_clean(
        spark, s, inputs=(str(a),), table=None, inspected=inspected, counts=counts, cached=[]
    )
    assert counts.input_rows == counts.accepted_rows + counts.rejected_rows == len(ROWS)


def test_utf8_bom_header_is_recognised(spark, settings, tmp_path) -> None:
    a = write(tmp_path / "bom.csv", HEADER, ROWS)
    a.write_bytes(b"\xef\xbb\xbf" + a.read_bytes())
    report = run_mine(_settings(settings), MineRequest(inputs=(str(a),), run_id="bom"), spark=spark)
    assert report.counts.accepted_rows == len(ROWS)


def _bad_files(tmp: Path) -> dict[str, Path]:
    good = write(tmp / "good.csv", HEADER, ROWS)
    packed = gzip.compress(good.read_bytes() * 50)
    (tmp / "cut.csv.gz").write_bytes(packed[: len(packed) // 2])
    (tmp / "fake.csv.gz").write_text("not gzip at all\n")
    (tmp / "utf16.csv").write_bytes(good.read_text().encode("utf-16"))
    (tmp / "dup.csv").write_text(good.read_text().replace("StockCode", "Quantity", 1))
    (tmp / "tick.csv").write_text(good.read_text().replace("StockCode", "Stock`Code", 1))
    return {p.name: p for p in tmp.iterdir()}


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--min-support", "0"], 2, "mining.min_support: must be a fraction in (0, 1]"),
        (["--min-support", "1.5"], 2, "mining.min_support"),
        (["--min-support", "nan"], 2, "mining.min_support"),
        (["--min-confidence", "2"], 2, "mining.min_confidence"),
        (["--max-size", "0"], 2, "max_size must be >= 1"),
        (["--encoding", "UTF-16"], 2, "convert the files to UTF-8"),
        (["--encoding", "no-such-codec"], 2, "unknown encoding"),
        (["--delimiter", ";;"], 2, "must be one character"),
        (["--start-date", "2026-02-01", "--end-date", "2026-01-01"], 2, "is after --end-date"),
        (["--where", "reflect('java.lang.System','getenv','HOME') = 'x'"], 2, "not allowed"),
        (["-i", "{cut.csv.gz}"], 1, "truncated or corrupt gzip data"),
        (["-i", "{fake.csv.gz}"], 1, "named .gz but is not gzip data"),
        (["-i", "{utf16.csv}"], 1, "UTF-16 byte-order mark"),
        (["-i", "{dup.csv}"], 1, "header names column(s) 'Quantity' more than once"),
        (["-i", "{tick.csv}"], 1, "contain a backtick"),
    ],
)
def test_mistakes_end_in_one_line_before_spark(
    tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    files = _bad_files(tmp_path)
    argv = [str(files[a[1:-1]]) if a.startswith("{") else a for a in args]
    if "-i" not in argv:
        argv = ["-i", str(files["good.csv"]), *argv]
    result = CliRunner().invoke(
        main, ["mine", "--store-col", "", "-o", str(tmp_path / "out"), *argv]
    )
    assert result.exit_code == code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert message in lines[0]
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_a_default_optional_column_may_be_absent_but_a_named_one_may_not(
    settings, tmp_path, caplog
) -> None:
    """UCI-shaped files have no StoreID: the default store mapping is left empty with a
    note; a store column the user names is required; customer-day baskets need the
    customer column even when it is mapped by default."""
    a = write(tmp_path / "a.csv", HEADER, ROWS)
    s = settings.with_overrides(**{"mining.min_support": 0.3})
    assert s.columns.store == "StoreID"
    inspected = inspect_long([str(a)], s.input, s.columns)
    assert "StoreID" in inspected.data_columns and "StoreID" not in inspected.files[0].columns
    assert "no 'StoreID' column (the default --store-col): store left empty" in caplog.text
    named = s.with_overrides(**{"columns.store": "Shop"})
    with pytest.raises(FileRejected, match=r"'Shop' \(--store-col\) not in header"):
        inspect_long([str(a)], named.input, named.columns)
    no_customer = write(tmp_path / "b.csv", [n for n in HEADER if n != "CustomerID"], ROWS)
    by_day = s.with_overrides(**{"mining.basket_by": "customer-day"})
    with pytest.raises(FileRejected, match="CustomerID"):
        run_mine(by_day, MineRequest(inputs=(str(no_customer),)), spark=None)


def test_mine_without_the_default_store_column(spark, settings, tmp_path) -> None:
    a = write(tmp_path / "a.csv", HEADER, ROWS)
    s = settings.with_overrides(**{"mining.min_support": 0.3, "mining.min_confidence": 0.1})
    report = run_mine(s, MineRequest(inputs=(str(a),), run_id="nostore"), spark=spark)
    assert report.counts.accepted_rows == len(ROWS) and report.counts.rules > 0


@pytest.mark.parametrize(
    ("encoding", "description", "rejected"),
    [
        ("utf-8", "CAFÉ".encode(), False),
        ("utf-8", b"CAF\xc9", True),  # not UTF-8: U+FFFD in Spark
        ("utf-8", b"MUG\x00", True),
        ("utf-8", "MUG\u0085".encode(), True),  # a C1 control
        ("latin-1", b"CAF\xc9", False),
        ("latin-1", b"MUG\x85", True),  # a C1 control in Latin-1
        ("cp1252", b"CAF\xc9 \x80", False),  # É and the euro sign
        ("cp1252", b"MUG\x81", True),  # not a cp1252 character
    ],
)
def test_csv_files_proven_clean_skip_the_rule_and_lose_nothing(
    spark, settings, tmp_path, encoding: str, description: bytes, rejected: bool
) -> None:
    """The driver's byte check lets Spark skip the bad-encoding rule only for a file in
    which the rule would reject nothing: a row with a bad byte is still quarantined."""
    from spark.load import prove_files

    path = write(tmp_path / "a.csv", HEADER, ROWS)
    path.write_bytes(path.read_bytes().replace(b"WHITE METAL LANTERN", description))
    s = _settings(settings).with_overrides(**{"input.encoding": encoding})
    inspected = inspect_long([str(path)], s.input, s.columns)
    assert prove_files(inspected, encoding).clean == (not rejected)
    counts = Counts()
    loaded = load_clean(
        spark, s, inputs=(str(path),), table=None, inspected=inspected, counts=counts, cached=[]
    )
    reasons = [r["reason"] for r in loaded.quarantine.collect()]
    assert reasons == (["bad_encoding"] if rejected else [])
    assert counts.input_rows == counts.accepted_rows + counts.rejected_rows == len(ROWS)


@pytest.mark.parametrize(
    ("rule_on", "cleaning", "passes"),
    [
        (True, {}, 1),  # the rule can be skipped, and the bare split
        (False, {}, 1),  # the bare split alone
        (True, {"cleaning.collapse_whitespace": True}, 1),  # the rule alone
        (False, {"cleaning.collapse_whitespace": True}, 0),  # nothing the pass could save
    ],
)
def test_basket_files_get_the_byte_pass_only_for_what_it_can_skip(
    spark, settings, tmp_path, monkeypatch, caplog, rule_on: bool, cleaning: dict, passes: int
) -> None:
    """The driver reads every basket file once more only when the settings leave it
    something to skip, and says that Spark skips the bad-encoding rule only when the rule
    is on. With the rule off, a line with a control character is mined like any other."""
    import logging

    import spark.reads as reads
    from spark.load import inspect_basket

    path = tmp_path / "baskets.txt"
    path.write_bytes(b"milk,bread\ntea,caf\x07e\n,\n")
    s = settings.with_overrides(
        **{
            "input.format": "basket",
            "input.basket_sep": ",",
            "cleaning.reject_bad_encoding": rule_on,
            **cleaning,
        }
    )
    calls = []
    real = reads.prove_files
    monkeypatch.setattr(reads, "prove_files", lambda *a: calls.append(a) or real(*a))
    counts = Counts()
    with caplog.at_level(logging.INFO, logger="spark.reads"):
        loaded = load_clean(
            spark,
            s,
            inputs=(str(path),),
            table=None,
            inspected=inspect_basket([str(path)], s.input),
            counts=counts,
            cached=[],
        )
    assert len(calls) == passes
    assert "skips the bad-encoding rule" not in caplog.text  # the file holds a BEL
    reasons = sorted(r["reason"] for r in loaded.quarantine.collect())
    assert reasons == (["bad_encoding", "empty_basket"] if rule_on else ["empty_basket"])
    assert counts.input_rows == counts.accepted_rows + counts.rejected_rows == 3


def test_basket_files_proven_clean_say_the_rule_is_skipped(spark, settings, tmp_path, caplog):
    import logging

    from spark.load import inspect_basket

    path = tmp_path / "baskets.txt"
    path.write_text("milk,bread\ntea,café\n", encoding="utf-8")
    for rule_on in (True, False):
        s = settings.with_overrides(
            **{"input.format": "basket", "cleaning.reject_bad_encoding": rule_on}
        )
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="spark.reads"):
            load_clean(
                spark,
                s,
                inputs=(str(path),),
                table=None,
                inspected=inspect_basket([str(path)], s.input),
                counts=Counts(),
                cached=[],
            )
        assert ("Spark skips the bad-encoding rule" in caplog.text) == rule_on
