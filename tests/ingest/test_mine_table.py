"""``basket mine --table <delta_dir>/lines`` on the table ingest wrote gives the same
itemsets and rules as mining the source CSV, also with a date window; a transaction whose
lines arrived in different micro-batches is still one basket."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ingest import stream
from ingest.tables import TablePaths
from spark.job import MineRequest, run_mine
from spark.report import Counts
from tests import reference as ref
from tests.fixtures.kafka import HEADER, ingest_settings, sample_rows, write_csv

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import SparkSession

    from basket_core.config import Settings

MINING = {"mining.min_support": 0.04, "mining.min_confidence": 0.2}


def _rules(out: Path) -> pd.DataFrame:
    df = ref.read_rules(out)
    cols = [c for c in ("support", "confidence", "lift") if c in df.columns]
    return df[cols].sort_index().round(9)


def _mine(
    spark: SparkSession, settings: Settings, out: Path, request: MineRequest
) -> tuple[dict[frozenset[str], int], pd.DataFrame, Counts]:
    s = settings.with_overrides(**{"paths.output_dir": str(out)})
    report = run_mine(s, request, spark=spark)
    return ref.read_itemsets(out), _rules(out), report.counts


def test_mining_the_ingested_table_equals_mining_the_csv(
    ingest_spark: SparkSession, tmp_path: Path
) -> None:
    spark = ingest_spark
    settings = ingest_settings(tmp_path, **MINING)
    rows = sample_rows(150, seed=5)
    # two drops, one micro-batch each; the cut splits a transaction over both
    cut = next(i for i in range(len(rows) // 2, len(rows)) if rows[i][:4] == rows[i - 1][:4])
    drop = tmp_path / "drop"
    drop.mkdir()
    write_csv(drop / "part-1.csv", rows[:cut])
    write_csv(drop / "part-2.csv", rows[cut:])
    source = stream.files_source(spark, settings, drop, max_files_per_trigger=1)
    query = stream.start(spark, settings, source, stream.RunOptions(once=True))
    stream.run(query)
    assert sum(1 for p in query.recentProgress if p["numInputRows"]) == 2
    table = TablePaths.under(settings.paths.delta_dir).lines
    split_tx = rows[cut][:4]
    sources = spark.read.format("delta").load(table).where(f"transaction_id = '{split_tx}'")
    assert sources.select("source").distinct().count() == 2

    whole = write_csv(tmp_path / "all.csv", rows)
    for window in ((None, None), (date(2024, 3, 2), date(2024, 3, 3))):
        start, end = window
        tag = "all" if start is None else "window"
        from_csv = _mine(
            spark,
            settings,
            tmp_path / f"csv-{tag}",
            MineRequest(inputs=(str(whole),), run_id="csv", start_date=start, end_date=end),
        )
        from_table = _mine(
            spark,
            settings,
            tmp_path / f"table-{tag}",
            MineRequest(table=table, run_id="table", start_date=start, end_date=end),
        )
        csv_itemsets, csv_rules, csv_counts = from_csv
        table_itemsets, table_rules, table_counts = from_table
        assert len(csv_itemsets) > 10 and len(csv_rules) > 5, tag
        assert table_itemsets == csv_itemsets, tag
        pd.testing.assert_frame_equal(table_rules, csv_rules)
        assert table_counts.baskets == csv_counts.baskets, tag


def test_extra_csv_columns_segment_and_filter_the_table_as_they_do_the_csv(
    ingest_spark: SparkSession, tmp_path: Path
) -> None:
    """A CSV drop's unmapped columns (Country, StockCode) are kept in ``attributes``;
    ``--segment-by Country`` and ``--where "Country = 'FR'"`` on the table give what they
    give on the CSV."""
    spark = ingest_spark
    settings = ingest_settings(tmp_path, **MINING)
    countries = ("UK", "FR", "DE")
    rows = [f"{r},{countries[int(r.split(',')[0].lstrip('C')) % 3]}" for r in sample_rows(240)]
    header = f"{HEADER},Country"
    drop = tmp_path / "drop"
    drop.mkdir()
    write_csv(drop / "part-1.csv", rows, header)
    query = stream.start(
        spark, settings, stream.files_source(spark, settings, drop), stream.RunOptions(once=True)
    )
    stream.run(query)
    table = TablePaths.under(settings.paths.delta_dir).lines
    stored = spark.read.format("delta").load(table)
    keys = {k for r in stored.selectExpr("map_keys(attributes) k").collect() for k in r["k"]}
    assert keys == {"StockCode", "Country"}  # the mapped columns are not repeated

    whole = write_csv(tmp_path / "all.csv", rows, header)
    for tag, options in (("seg", {"segment_by": "Country"}), ("fr", {"where": "Country = 'FR'"})):
        csv_sets, csv_rules, csv_counts = _mine(
            spark, settings, tmp_path / f"csv-{tag}", MineRequest(inputs=(str(whole),), **options)
        )
        table_sets, table_rules, table_counts = _mine(
            spark, settings, tmp_path / f"table-{tag}", MineRequest(table=table, **options)
        )
        assert len(csv_sets) > 5, tag
        assert table_sets == csv_sets, tag
        pd.testing.assert_frame_equal(table_rules, csv_rules)
        assert table_counts.baskets == csv_counts.baskets, tag
    by_segment = {
        name: sorted(
            (seg, tuple(items), n)
            for seg, items, n in pd.read_parquet(tmp_path / name / "itemsets")[
                ["segment", "items", "count"]
            ].itertuples(index=False)
        )
        for name in ("csv-seg", "table-seg")
    }
    assert by_segment["table-seg"] == by_segment["csv-seg"]
    assert {seg for seg, _, _ in by_segment["table-seg"]} == set(countries)


def test_a_table_from_before_attributes_gets_the_column(
    ingest_spark: SparkSession, tmp_path: Path
) -> None:
    from delta.tables import DeltaTable

    from basket_core.schemas import spark_schema
    from ingest.tables import LINES_TABLE, PARTITION, ensure_tables

    spark = ingest_spark
    paths = TablePaths.under(tmp_path / "delta")
    old = spark_schema(LINES_TABLE)
    old.fields = [f for f in old.fields if f.name != "attributes"]
    DeltaTable.create(spark).location(paths.lines).addColumns(old).partitionedBy(
        PARTITION
    ).execute()
    ensure_tables(spark, paths)
    ensure_tables(spark, paths)  # again: nothing left to add
    schema = spark.read.format("delta").load(paths.lines).schema
    assert schema["attributes"].dataType.simpleString() == "map<string,string>"
    assert schema.names[-1] == "attributes"
