"""Fuzz (issue 16): the thousand seeded bad CSV files of ``tests/spark/test_fuzz_files.py``
dropped into one folder and ingested by the CSV-drop stream (``basket ingest files
--once``). The stream never fails; every record of every readable file is in ``lines`` or
``quarantine`` (per file, as many as the test counts in the bytes it wrote), and every
file the scan refuses is exactly one quarantine record under its file reason."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from basket_core.reasons import FileReason, Reason
from ingest import stream
from ingest.drops import scan_drops
from ingest.tables import TablePaths
from spark.load import FileRejected, scan_long_file, source_path
from tests.fixtures.kafka import ingest_settings
from tests.spark.fuzz_files import COUNT, SEED, benign, generate

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession


def test_fuzzed_drops_are_all_accounted(ingest_spark: SparkSession, tmp_path: Path) -> None:
    spark = ingest_spark
    settings = ingest_settings(tmp_path)
    paths = TablePaths.under(settings.paths.delta_dir)
    drop = tmp_path / "drop"
    files = generate(SEED, COUNT, drop)
    assert len(files) >= 1000

    expected: dict[str, int] = {}
    refused: dict[str, str] = {}
    for f in files:
        path = os.path.realpath(drop / f.name)
        if not f.data:  # a 0-byte drop never reaches the stager: see the test below
            continue
        try:
            layout = scan_long_file(path, settings.input, settings.columns)
        except FileRejected as exc:
            refused[path] = exc.reason.value
            expected[path] = 1
        else:
            assert layout.records == f.expected_records, (f.name, f.mutations)
            expected[path] = layout.records

    query = stream.start(
        spark, settings, stream.files_source(spark, settings, drop), stream.RunOptions(once=True)
    )
    stream.run(query)  # raises if the query failed

    lines = spark.read.format("delta").load(paths.lines)
    quarantine = spark.read.format("delta").load(paths.quarantine)
    in_lines = Counter({source_path(s): n for s, n in lines.groupBy("source").count().collect()})
    in_quarantine: Counter[str] = Counter()
    file_reasons: dict[str, list[str]] = {}
    row_reasons: Counter[str] = Counter()
    for source, reason, n in quarantine.groupBy("source", "reason").count().collect():
        path = source_path(source)
        in_quarantine[path] += n
        if reason in {r.value for r in FileReason}:
            file_reasons.setdefault(path, []).extend([reason] * n)
        else:
            assert reason in {r.value for r in Reason}, reason
            row_reasons[reason] += n
    assert quarantine.where("reason IS NULL OR detail IS NULL OR detail = ''").count() == 0

    mutations = {os.path.realpath(drop / f.name): f.mutations for f in files}
    off = {
        Path(p).name: (n, in_lines[p], in_quarantine[p], refused.get(p), mutations[p])
        for p, n in expected.items()
        if in_lines[p] + in_quarantine[p] != n
    }
    assert off == {}, "file: (expected, in lines, in quarantine, refused, mutations)"
    assert set(in_lines) | set(in_quarantine) <= set(expected)
    # a refused file: one quarantine record under the scan's reason, nothing in lines
    assert {p: r for p, r in refused.items()} == {
        p: r[0] if len(r) == 1 else r for p, r in file_reasons.items()
    }
    assert not set(refused) & set(in_lines)
    # a file whose mutations change no value: every record in lines
    harmless = [os.path.realpath(drop / f.name) for f in files if benign(f.mutations)]
    assert {p: in_quarantine[p] for p in harmless if in_quarantine[p]} == {}
    print(
        f"\nfuzz drops: {len(files)} files, {len(refused)} refused "
        f"{dict(Counter(r.split(':')[0] for r in refused.values()))}, "
        f"{sum(in_lines.values())} lines, {sum(row_reasons.values())} rows quarantined "
        f"{dict(row_reasons)}"
    )


def test_a_drop_with_another_delimiter_is_quarantined_not_fatal(tmp_path: Path) -> None:
    """Found by the fuzzing: a drop whose header is one column holding ``;`` raised a plain
    InputError out of the stager, failing the stream (and every restart on the same file);
    it is a file refused under ``missing_column``, the hint kept."""
    settings = ingest_settings(tmp_path)
    bad = tmp_path / "semi.csv"
    bad.write_text("InvoiceNo;Description;Quantity\n1;tea;1\n2;jam;1\n")
    (scanned,) = scan_drops([(bad.as_uri(), None)], settings.input, settings.columns)
    assert scanned.layout is None and scanned.rejected is not None
    assert scanned.rejected.reason is FileReason.MISSING_COLUMN
    assert scanned.rejected.records == 2
    assert "try --delimiter ';'" in scanned.rejected.detail


def test_empty_drops_lose_nothing(ingest_spark: SparkSession, tmp_path: Path) -> None:
    """A drop with only blank lines is one ``empty_file`` quarantine record naming it. A
    0-byte drop holds no record and leaves no trace: Spark's file scan skips zero-length
    files, so no micro-batch lists it (README: the drop stream, documented limit). The
    good file beside them is stored either way."""
    spark = ingest_spark
    settings = ingest_settings(tmp_path)
    paths = TablePaths.under(settings.paths.delta_dir)
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "good.csv").write_text(
        "InvoiceNo,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,StoreID\n"
        "1,tea,1,2024-03-01 10:00:00,1.0,C1,S1\n"
    )
    (drop / "empty.csv").write_bytes(b"")
    (drop / "blank.csv").write_bytes(b" \n")
    query = stream.start(
        spark, settings, stream.files_source(spark, settings, drop), stream.RunOptions(once=True)
    )
    stream.run(query)
    quarantine = spark.read.format("delta").load(paths.quarantine)
    held = {Path(source_path(r.source)).name: r.reason for r in quarantine.collect()}
    assert spark.read.format("delta").load(paths.lines).count() == 1
    assert held == {"blank.csv": "empty_file"}
