"""Input shapes (gzip, folders, globs, header-less, other delimiters, Delta table),
filters and segments, and one clear error per kind of bad input."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from basket.cli import main
from basket_core.reasons import FileReason
from spark.job import MineRequest, run_mine
from spark.load import FileRejected, InputError

ROWS = [
    # InvoiceNo, Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country
    ("1", "milk", "1", "2026-11-01 09:00:00", "1.0", "c1", "UK"),
    ("1", "bread", "1", "2026-11-01 09:00:00", "2.0", "c1", "UK"),
    ("2", "milk", "1", "2026-11-01 15:00:00", "1.0", "c1", "UK"),
    ("2", "jam", "1", "2026-11-01 15:00:00", "3.0", "c1", "UK"),
    ("3", "milk", "1", "2026-11-02 10:00:00", "1.0", "c2", "FR"),
    ("3", "bread", "1", "2026-11-02 10:00:00", "2.0", "c2", "FR"),
    ("4", "wine", "1", "2026-11-03 10:00:00", "9.0", "c3", "FR"),
    ("4", "cheese", "1", "2026-11-03 10:00:00", "5.0", "c3", "FR"),
]
HEADER = (
    "InvoiceNo",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
)


def _csv(rows, delimiter: str = ",", header: bool = True) -> str:  # type: ignore[no-untyped-def]
    lines = [delimiter.join(HEADER)] if header else []
    lines += [delimiter.join(r) for r in rows]
    return "\n".join(lines) + "\n"


def _settings(settings, **kw):  # type: ignore[no-untyped-def]
    return settings.with_overrides(
        **{"columns.store": "", "mining.min_support": 0.2, "mining.min_confidence": 0.1, **kw}
    )


def _itemsets(out: Path) -> dict[tuple[str, tuple[str, ...]], int]:
    df = pd.read_parquet(out / "itemsets")
    return {
        (s, tuple(i)): int(c)
        for s, i, c in zip(df["segment"], df["items"], df["count"], strict=True)
    }


def test_gzip_folder_and_glob_inputs_give_the_same_result(spark, settings, tmp_path) -> None:
    folder = tmp_path / "drops"
    folder.mkdir()
    (folder / "a.csv").write_text(_csv(ROWS[:4]))
    with gzip.open(folder / "b.csv.gz", "wt") as fh:
        fh.write(_csv(ROWS[4:]))
    (folder / "_SUCCESS").write_text("")
    results = []
    for spec in (str(folder), str(folder / "*.csv*")):
        s = _settings(settings, **{"paths.output_dir": tmp_path / spec.count("*").__str__()})
        report = run_mine(s, MineRequest(inputs=(spec,), run_id="g"), spark=spark)
        assert report.counts.input_rows == len(ROWS)
        results.append(_itemsets(s.paths.output_dir))
    assert results[0] == results[1]
    assert results[0][("all", ("bread", "milk"))] == 2


def test_headerless_semicolon_file_with_column_positions(spark, settings, tmp_path) -> None:
    src = tmp_path / "pos.txt"
    src.write_text(_csv(ROWS, delimiter=";", header=False))
    s = _settings(
        settings,
        **{
            "input.delimiter": ";",
            "columns.transaction": "0",
            "columns.item": "1",
            "columns.quantity": "2",
            "columns.timestamp": "3",
            "columns.price": "4",
            "columns.customer": "5",
        },
    )
    report = run_mine(s, MineRequest(inputs=(str(src),), run_id="h"), spark=spark)
    assert report.counts.accepted_rows == len(ROWS)
    assert _itemsets(s.paths.output_dir)[("all", ("bread", "milk"))] == 2


def test_window_where_segments_and_item_map(spark, settings, tmp_path) -> None:
    src = tmp_path / "pos.csv"
    src.write_text(_csv(ROWS))
    s = _settings(settings)
    windowed = run_mine(
        s,
        MineRequest(
            inputs=(str(src),), run_id="w", start_date=date(2026, 11, 2), end_date=date(2026, 11, 3)
        ),
        spark=spark,
    )
    assert windowed.counts.baskets == 2
    assert windowed.counts.filtered_rows == 4

    s2 = _settings(settings, **{"paths.output_dir": tmp_path / "where"})
    run_mine(s2, MineRequest(inputs=(str(src),), run_id="x", where="Country = 'FR'"), spark=spark)
    assert {i for _, i in _itemsets(s2.paths.output_dir)} >= {("cheese", "wine")}
    assert ("all", ("jam",)) not in _itemsets(s2.paths.output_dir)

    s3 = _settings(settings, **{"paths.output_dir": tmp_path / "seg", "mining.min_support": 0.5})
    run_mine(s3, MineRequest(inputs=(str(src),), run_id="s", segment_by="Country"), spark=spark)
    seg = _itemsets(s3.paths.output_dir)
    assert seg[("UK", ("milk",))] == 2 and seg[("FR", ("bread", "milk"))] == 1
    assert seg[("FR", ("cheese", "wine"))] == 1

    mapping = tmp_path / "map.csv"
    mapping.write_text("item,category\nmilk,dairy\ncheese,dairy\nwine,drinks\n")
    s4 = _settings(settings, **{"paths.output_dir": tmp_path / "map"})
    run_mine(s4, MineRequest(inputs=(str(src),), run_id="m", item_map=mapping), spark=spark)
    mapped = _itemsets(s4.paths.output_dir)
    assert mapped[("all", ("dairy",))] == 4 and ("all", ("drinks", "dairy")) not in mapped
    assert mapped[("all", ("dairy", "drinks"))] == 1


def test_customer_day_baskets(spark, settings, tmp_path) -> None:
    src = tmp_path / "pos.csv"
    src.write_text(_csv(ROWS))
    s = _settings(settings, **{"mining.basket_by": "customer-day"})
    report = run_mine(s, MineRequest(inputs=(str(src),), run_id="cd"), spark=spark)
    assert report.counts.baskets == 3  # c1's two invoices on 11-01 are one basket
    assert _itemsets(s.paths.output_dir)[("all", ("bread", "jam", "milk"))] == 1


def test_delta_table_gives_the_same_result_as_csv(spark, settings, tmp_path) -> None:
    from spark.clean import clean_lines
    from spark.load import read_long

    src = tmp_path / "pos.csv"
    src.write_text(_csv(ROWS))
    s = _settings(settings)
    raw = read_long(spark, [str(src)], s.input, s.columns)
    _, cleaned = clean_lines(
        raw.df,
        data_columns=raw.data_columns,
        columns=s.columns,
        cleaning=s.cleaning,
        timestamp_formats=s.input.timestamp_formats,
    )
    table = tmp_path / "delta" / "lines"
    cleaned.accepted.write.format("delta").partitionBy("event_date").save(str(table))
    from_csv = run_mine(s, MineRequest(inputs=(str(src),), run_id="csv"), spark=spark)
    s_table = _settings(settings, **{"paths.output_dir": tmp_path / "t"})
    from_table = run_mine(s_table, MineRequest(table=str(table), run_id="tbl"), spark=spark)
    assert _itemsets(s.paths.output_dir) == _itemsets(s_table.paths.output_dir)
    assert from_table.counts.baskets == from_csv.counts.baskets
    windowed = run_mine(
        _settings(settings, **{"paths.output_dir": tmp_path / "tw"}),
        MineRequest(table=str(table), run_id="tw", start_date=date(2026, 11, 3)),
        spark=spark,
    )
    assert windowed.counts.baskets == 1


@pytest.mark.parametrize(
    ("content", "kw", "message"),
    [
        (None, {}, "input not found"),
        ("", {}, "input file is empty"),
        (_csv(ROWS).replace("Description", "Item"), {}, "'Description' (--item-col) not in header"),
        (_csv(ROWS, delimiter=";"), {}, "wrong delimiter? try --delimiter ';'"),
        (_csv(ROWS, delimiter="\t"), {}, "wrong delimiter? try --delimiter '\\t'"),
    ],
)
def test_bad_input_fails_before_spark_with_one_clear_line(
    settings, tmp_path, content: str | None, kw: dict, message: str
) -> None:
    src = tmp_path / "in.csv"
    if content is not None:
        src.write_text(content)
    with pytest.raises(InputError) as err:
        run_mine(_settings(settings, **kw), MineRequest(inputs=(str(src),)), spark=None)
    assert message in str(err.value)
    assert str(src) in str(err.value)


@pytest.mark.parametrize(
    ("content", "sep", "hint"),
    [
        ("milk;bread\nbread;tea\n", ",", "try --sep ';'"),
        ("milk\tbread\ntea\n", ",", "try --sep '\\t'"),
        ("milk|bread\n", " | ", "try --sep '|'"),  # the spaced separator is not in the file
    ],
)
def test_basket_file_without_the_separator_fails_with_a_hint(
    settings, tmp_path, content: str, sep: str, hint: str
) -> None:
    """Every basket would be one item named after its whole line: refused, not mined."""
    src = tmp_path / "baskets.txt"
    src.write_text(content)
    s = settings.with_overrides(**{"input.format": "basket", "input.basket_sep": sep})
    with pytest.raises(FileRejected) as err:
        run_mine(s, MineRequest(inputs=(str(src),)), spark=None)
    assert err.value.reason == FileReason.WRONG_SEPARATOR
    assert str(src) in str(err.value) and hint in str(err.value)


def test_basket_file_of_single_items_is_mined(spark, settings, tmp_path) -> None:
    """One-item baskets hold no separator and no other one either: nothing to refuse."""
    src = tmp_path / "baskets.txt"
    src.write_text("milk\nbread\nmilk\n")
    s = settings.with_overrides(
        **{"input.format": "basket", "input.basket_sep": ";", "mining.min_support": 0.5}
    )
    report = run_mine(s, MineRequest(inputs=(str(src),)), spark=spark)
    assert (report.counts.baskets, report.counts.itemsets) == (3, 1)


def test_cli_empty_separator_exits_with_one_line(tmp_path) -> None:
    """An empty --sep would split every line into its characters."""
    src = tmp_path / "baskets.txt"
    src.write_text("milk,bread\n")
    result = CliRunner().invoke(
        main, ["mine", "--input", str(src), "--format", "basket", "--sep", ""]
    )
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "Error: input.basket_sep: must be a non-empty text without line breaks, got ''"
    ]


def test_all_rows_rejected_is_an_error(spark, settings, tmp_path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(
        _csv([(f"C{n}", "milk", "-1", "2026-11-01 09:00:00", "1", "c", "UK") for n in range(5)])
    )
    with pytest.raises(InputError, match=r"all 5 rows .* were rejected \(cancellation: 5\)"):
        run_mine(_settings(settings), MineRequest(inputs=(str(src),)), spark=spark)


def test_cli_bad_input_exits_nonzero_with_one_line(tmp_path) -> None:
    result = CliRunner().invoke(main, ["mine", "--input", str(tmp_path / "nope.csv")])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: input not found: {tmp_path / 'nope.csv'}"


def test_every_command_has_help() -> None:
    runner = CliRunner()
    top = runner.invoke(main, ["--help"])
    assert top.exit_code == 0
    from basket.cli import LazyGroup

    names = LazyGroup().list_commands(None)  # type: ignore[arg-type]
    assert "mine" in names
    for name in names:
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage:" in result.output
