"""CSV drops from different tills: each file is read by its own header. A drop whose
columns come in another order lands in the right fields; a drop without a header, with a
mapped column missing, or with broken gzip is quarantined as one record naming the file,
and the stream goes on. Every record of every file is in ``lines`` or ``quarantine``."""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from basket_core.reasons import FileReason
from ingest import stream
from ingest.drops import DropStager, expected_records, scan_drops
from ingest.tables import TablePaths
from tests.fixtures.kafka import HEADER, ingest_settings, sample_rows

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession

NAMES = HEADER.split(",")
# Description <-> StockCode and Quantity <-> UnitPrice swapped, as another export does
REORDERED = ["InvoiceNo", "Description", "StockCode", "UnitPrice", "InvoiceDate", "Quantity"]
REORDERED += ["CustomerID", "StoreID"]


def reorder(row: str) -> str:
    values = dict(zip(NAMES, row.split(","), strict=True))
    return ",".join(values[n] for n in REORDERED)


def test_drops_with_other_column_orders_and_bad_files(
    ingest_spark: SparkSession, tmp_path: Path
) -> None:
    spark = ingest_spark
    settings = ingest_settings(tmp_path)
    paths = TablePaths.under(settings.paths.delta_dir)
    drop = tmp_path / "drop"
    drop.mkdir()
    rows = sample_rows(12)
    half = len(rows) // 2
    (drop / "till-a.csv").write_text(HEADER + "\n" + "\n".join(rows[:half]) + "\n\n")
    (drop / "till-b.csv").write_text(
        ",".join(REORDERED) + "\n" + "\n".join(reorder(r) for r in rows[half:]) + "\n"
    )
    (drop / "no-header.csv").write_text("\n".join(rows[:3]) + "\n")
    (drop / "no-price.csv").write_text(HEADER.replace("UnitPrice", "Price") + "\n" + rows[0] + "\n")
    packed = gzip.compress((HEADER + "\n" + "\n".join(rows) + "\n").encode())
    (drop / "cut.csv.gz").write_bytes(packed[: len(packed) // 2])

    query = stream.start(
        spark,
        settings,
        stream.files_source(spark, settings, drop),
        stream.RunOptions(once=True),
    )
    stream.run(query)

    lines = spark.read.format("delta").load(paths.lines)
    stored = {
        (r["transaction_id"], r["item"]): (r["quantity"], r["price"], r["attributes"])
        for r in lines.collect()
    }
    for row in rows:
        values = dict(zip(NAMES, row.split(","), strict=True))
        key = (values["InvoiceNo"], values["Description"])
        if key not in stored:
            continue  # a duplicate line of the sample, quarantined
        quantity, price, attributes = stored[key]
        assert (quantity, price) == (float(values["Quantity"]), float(values["UnitPrice"]))
        assert attributes == {"StockCode": values["StockCode"]}
    assert len(stored) > len(rows) // 2

    quarantine = spark.read.format("delta").load(paths.quarantine)
    whole = {
        Path(r["source"]).name: (r["reason"], r["detail"])
        for r in quarantine.collect()
        if r["reason"] in {reason.value for reason in FileReason}
    }
    assert whole["no-header.csv"][0] == "missing_header"
    assert "3 data records not read" in whole["no-header.csv"][1]
    assert whole["no-price.csv"][0] == "missing_column"
    assert "'UnitPrice'" in whole["no-price.csv"][1]
    assert whole["cut.csv.gz"][0] == "unreadable_file"
    assert set(whole) == {"no-header.csv", "no-price.csv", "cut.csv.gz"}
    # every record of the readable files is in one of the two tables
    readable = len(rows)
    assert lines.count() + quarantine.count() == readable + 3


def test_stager_counts_what_the_files_hold(ingest_spark: SparkSession, tmp_path: Path) -> None:
    settings = ingest_settings(tmp_path)
    rows = sample_rows(3)
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "\n\n" + "\n".join(rows) + "\n   \n")
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(rows) + "\n")
    uris = [(good.as_uri(), None), (bad.as_uri(), None)]
    scanned = scan_drops(uris, settings.input, settings.columns)
    assert [d.layout.records if d.layout else None for d in scanned] == [len(rows), None]
    assert expected_records(scanned) == len(rows) + 1

    listing = ingest_spark.createDataFrame(
        [(good.as_uri(), None), (bad.as_uri(), None)], "path string, modificationTime timestamp"
    )
    stager = DropStager(ingest_spark, settings.input, settings.columns)
    staged = stager(listing)
    assert stager.expected == len(rows) + 1
    assert staged.count() == stager.expected
    by_file = Counter(Path(r[0]).name for r in staged.select("_source").collect())
    assert by_file == {"good.csv": len(rows), "bad.csv": 1}
