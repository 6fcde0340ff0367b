"""The dashboard a user opens (issue 18): KPI row, itemsets of two or more items inside the
filters, sliders over the run's own range, segment and run controls, the run history from
``runs``, number formats, FLOAT sub-types, a grid layout and a case-insensitive item search;
the whole Definition still valid for botocore's service model."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from botocore.validate import validate_parameters

from basket_core.layout import RunLayout
from basket_core.schemas import RUNS
from quicksight import datasets, definition
from quicksight.deploy import deploy
from quicksight.deployment import Deployment
from quicksight.ranges import (
    DataRanges,
    data_ranges,
    ranges_for_run,
    ranges_from_local,
    slider,
)

DEPLOYMENT = Deployment(
    "123456789012",
    "us-east-1",
    "default",
    "arn:aws:quicksight:us-east-1:123456789012:user/default/alice",
    "mb",
    "market_basket",
    "primary",
)
# a run whose supports are all below the old slider's first step (0.01)
ITEMSETS = [
    {"support": 0.0021},
    {"support": 0.0043},
    {"support": 0.0187},
]
RULES = [
    {"support": 0.0021, "confidence": 0.31, "lift": 1.4},
    {"support": 0.0034, "confidence": 0.62, "lift": 7.9},
    {"support": 0.0043, "confidence": 0.88, "lift": 23.5},
]


def _validate(operation: str, request: dict[str, Any]) -> None:
    qs = boto3.client("quicksight", region_name="us-east-1")
    validate_parameters(request, qs.meta.service_model.operation_model(operation).input_shape)


@pytest.fixture
def ranges() -> DataRanges:
    return data_ranges(ITEMSETS, RULES)


@pytest.fixture
def d(ranges: DataRanges) -> dict[str, Any]:
    return definition.definition(DEPLOYMENT, ranges)


def _sheet(d: dict[str, Any]) -> dict[str, Any]:
    sheet: dict[str, Any] = d["Sheets"][0]
    return sheet


def _visuals(d: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """visual id -> (visual type, body)"""
    out = {}
    for v in _sheet(d)["Visuals"]:
        ((kind, body),) = v.items()
        out[body["VisualId"]] = (kind, body)
    return out


def _filters(d: dict[str, Any]) -> list[tuple[dict[str, Any], str, dict[str, Any]]]:
    """(group, filter type, filter) for every filter."""
    return [
        (g, kind, body) for g in d["FilterGroups"] for f in g["Filters"] for kind, body in f.items()
    ]


def _scoped(group: dict[str, Any], sheet: str = definition.SHEET_ID) -> set[str]:
    """The visuals of ``sheet`` the filter group applies to (none if on another sheet)."""
    (scope,) = group["ScopeConfiguration"]["SelectedSheets"]["SheetVisualScopingConfigurations"]
    assert scope["Scope"] == "SELECTED_VISUALS"
    assert scope["SheetId"] in (definition.SHEET_ID, definition.CHANGES_SHEET_ID)
    return set(scope["VisualIds"]) if scope["SheetId"] == sheet else set()


def _calculated(d: dict[str, Any], data_set: str, name: str) -> str:
    (expr,) = [
        c["Expression"]
        for c in d["CalculatedFields"]
        if (c["DataSetIdentifier"], c["Name"]) == (data_set, name)
    ]
    return str(expr)


def test_the_whole_definition_is_valid_for_botocore(ranges: DataRanges) -> None:
    _validate("CreateAnalysis", definition.analysis_request(DEPLOYMENT, ranges))
    _validate("CreateDashboard", definition.dashboard_request(DEPLOYMENT, ranges=ranges))
    _validate("UpdateDashboard", definition.dashboard_request(DEPLOYMENT, ranges=ranges))
    for s in datasets.DATA_SETS:
        _validate("CreateDataSet", datasets.data_set_request(DEPLOYMENT, s))


def test_kpi_row_baskets_items_itemsets_rules_quarantined_share(d: dict[str, Any]) -> None:
    visuals = _visuals(d)
    kpis = [(vid, body) for vid, (kind, body) in visuals.items() if kind == "KPIVisual"]
    measured = []
    for _, body in kpis:
        wells = body["ChartConfiguration"]["FieldWells"]
        (value,) = wells["Values"]
        column = value["NumericalMeasureField"]["Column"]
        assert column["DataSetIdentifier"] == "runs"
        measured.append(column["ColumnName"])
        (trend,) = wells["TrendGroups"]  # the newest run's value, the older ones as sparkline
        assert trend["DateDimensionField"]["Column"]["ColumnName"] == "started_at"
    assert measured == ["baskets", "distinct_items", "itemsets", "rules", "quarantined_share"]
    share = _calculated(d, "runs", "quarantined_share")
    assert "{rejected_rows} / {input_rows}" in share and "{input_rows} > 0" in share
    # only succeeded runs, and the run control, reach the KPIs
    groups = {g["FilterGroupId"]: g for g, _, _ in _filters(d)}
    kpi_ids = {vid for vid, _ in kpis}
    assert kpi_ids <= _scoped(groups["fg-runs-succeeded"])
    assert _scoped(groups["fg-runs-run"]) == kpi_ids


def test_itemsets_bar_shows_two_or_more_items_and_is_inside_the_filters(
    d: dict[str, Any],
) -> None:
    on_bar = [(g, kind, f) for g, kind, f in _filters(d) if definition.BAR_ID in _scoped(g)]
    assert all(f["Column"]["DataSetIdentifier"] == "itemsets" for _, _, f in on_bar)
    by_column = {f["Column"]["ColumnName"]: (g, kind, f) for g, kind, f in on_bar}
    g, kind, size = by_column["size"]
    assert kind == "NumericRangeFilter"
    assert size["RangeMinimum"] == {"StaticValue": 2.0} and size["IncludeMinimum"] is True
    assert _scoped(g) == {definition.BAR_ID}
    _, _, support = by_column["support"]
    assert support["RangeMinimum"] == {"Parameter": "minSupport"}
    _, _, segment = by_column["segment"]
    assert segment["Configuration"]["CustomFilterConfiguration"]["ParameterName"] == "segment"
    assert "item_match" in by_column  # the item search
    kind, bar = _visuals(d)[definition.BAR_ID]
    assert "2 or more items" in bar["Title"]["FormatText"]["PlainText"]


def test_sliders_span_the_runs_own_range(d: dict[str, Any]) -> None:
    sliders = {
        c["Slider"]["SourceParameterName"]: c["Slider"]
        for c in _sheet(d)["ParameterControls"]
        if "Slider" in c
    }
    support = sliders["minSupport"]
    # data 0.0021..0.0187: step 0.0005 (≈ span / 50), bounds rounded outwards
    assert (support["MinimumValue"], support["MaximumValue"], support["StepSize"]) == (
        0.002,
        0.019,
        0.0005,
    )
    assert support["MinimumValue"] <= 0.0021 and support["MaximumValue"] >= 0.0187
    assert (support["MaximumValue"] - support["MinimumValue"]) / support["StepSize"] <= 60
    lift = sliders["minLift"]
    assert (lift["MinimumValue"], lift["MaximumValue"], lift["StepSize"]) == (1.0, 23.5, 0.5)
    confidence = sliders["minConfidence"]
    assert (
        confidence["MinimumValue"],
        confidence["MaximumValue"],
        confidence["StepSize"],
    ) == (0.3, 0.88, 0.02)
    defaults = {
        p["DecimalParameterDeclaration"]["Name"]: p["DecimalParameterDeclaration"]["DefaultValues"][
            "StaticValues"
        ]
        for p in d["ParameterDeclarations"]
        if "DecimalParameterDeclaration" in p
    }
    # nothing filtered out on opening; lift starts at independence (1) when in range
    assert defaults == {"minSupport": [0.002], "minConfidence": [0.3], "minLift": [1.0]}


def test_slider_rounding_and_edge_cases() -> None:
    s = slider(0.0, 1.0)
    assert (s.minimum, s.maximum, s.step, s.default) == (0.0, 1.0, 0.02, 0.0)
    one = slider(0.25, 0.25)  # a single value still gives a usable slider
    assert one.minimum <= 0.25 <= one.maximum and one.minimum < one.maximum
    assert slider(2.0, 9.0, default=1.0).default == 2.0  # clamped into the range
    with pytest.raises(ValueError):
        slider(1.0, 0.0)
    empty = data_ranges([], [])  # nothing mined: the defaults
    assert empty == DataRanges()
    with_inf = data_ranges([{"support": 0.1}], [{"support": 0.1, "confidence": 1.0, "lift": 2.0}])
    assert with_inf.lift == (2.0, 2.0)


def test_ranges_from_a_runs_local_parquet(tmp_path: Any) -> None:
    (tmp_path / "itemsets").mkdir()
    (tmp_path / "rules").mkdir()
    pq.write_table(pa.Table.from_pylist(ITEMSETS), tmp_path / "itemsets" / "part-0.parquet")
    pq.write_table(pa.Table.from_pylist(RULES), tmp_path / "rules" / "part-0.parquet")
    got = ranges_from_local(tmp_path / "itemsets", tmp_path / "rules")
    assert got == data_ranges(ITEMSETS, RULES)
    assert got.support == (0.0021, 0.0187) and got.lift == (1.4, 23.5)


def test_ranges_of_a_local_run_at_its_attempt(tmp_path: Any) -> None:
    layout = RunLayout(str(tmp_path), date(2026, 1, 2), "20260102T010000Z-bbbbbb")
    for name, rows in (("itemsets", ITEMSETS), ("rules", RULES)):
        folder = Path(layout.dataset(name))
        folder.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(rows), folder / "part-0.parquet")
    assert ranges_for_run(layout) == data_ranges(ITEMSETS, RULES)


def test_segment_and_run_controls_are_wired_to_parameters_and_filters(
    d: dict[str, Any],
) -> None:
    drop_downs = {
        c["Dropdown"]["SourceParameterName"]: c["Dropdown"]
        for c in _sheet(d)["ParameterControls"]
        if "Dropdown" in c
    }
    assert set(drop_downs) == {"segment", "run"}
    assert drop_downs["segment"]["SelectableValues"]["LinkToDataSetColumn"] == {
        "DataSetIdentifier": "itemsets",
        "ColumnName": "segment",
    }
    assert drop_downs["run"]["SelectableValues"]["LinkToDataSetColumn"] == {
        "DataSetIdentifier": "runs",
        "ColumnName": "run_id",
    }
    declared = {next(iter(p.values()))["Name"] for p in d["ParameterDeclarations"]}
    control_ids = [
        next(iter(c.values()))["ParameterControlId"] for c in _sheet(d)["ParameterControls"]
    ]
    assert len(set(control_ids)) == len(control_ids)
    for name in ("segment", "run"):
        assert name in declared
    bound: dict[str, set[str]] = {}
    for g, kind, f in _filters(d):
        if kind == "CategoryFilter" and "CustomFilterConfiguration" in f["Configuration"]:
            cfg = f["Configuration"]["CustomFilterConfiguration"]
            assert (
                cfg["MatchOperator"] == "EQUALS" and cfg["SelectAllOptions"] == "FILTER_ALL_VALUES"
            )
            bound.setdefault(cfg["ParameterName"], set()).update(_scoped(g))
    assert bound["segment"] == {definition.BAR_ID, definition.TABLE_ID, definition.SCATTER_ID}
    assert bound["run"] == set(definition.KPI_IDS)
    # every parameter a filter or calculated field names is declared
    named = {
        f.get("RangeMinimum", {}).get("Parameter")
        for _, kind, f in _filters(d)
        if kind == "NumericRangeFilter"
    } - {None}
    assert named | set(bound) <= declared
    for c in d["CalculatedFields"]:
        assert set(re.findall(r"\$\{(\w+)\}", c["Expression"])) <= declared


def test_what_changed_sheet_reads_rule_changes(d: dict[str, Any]) -> None:
    (sheet,) = [s for s in d["Sheets"] if s["SheetId"] == definition.CHANGES_SHEET_ID]
    assert sheet["Name"] == "What changed"
    kinds = {next(iter(v.values()))["VisualId"]: next(iter(v)) for v in sheet["Visuals"]}
    assert kinds == {
        definition.CHANGE_COUNTS_ID: "BarChartVisual",
        definition.CHANGES_TABLE_ID: "TableVisual",
    }
    table = next(v["TableVisual"] for v in sheet["Visuals"] if "TableVisual" in v)
    columns = [
        f["Column"]
        for f in table["ChartConfiguration"]["FieldWells"]["TableUnaggregatedFieldWells"]["Values"]
    ]
    assert {c["DataSetIdentifier"] for c in columns} == {"rule_changes"}
    assert [c["ColumnName"] for c in columns] == list(definition.CHANGE_TABLE_COLUMNS)
    assert {"change", "lift_before", "lift_after", "fisher_p_adjusted"} <= {
        c["ColumnName"] for c in columns
    }
    (layout,) = sheet["Layouts"]
    elements = layout["Configuration"]["GridLayout"]["Elements"]
    assert sorted(e["ElementId"] for e in elements) == sorted(kinds)
    controls = {
        c["Dropdown"]["SourceParameterName"]: c["Dropdown"] for c in sheet["ParameterControls"]
    }
    assert set(controls) == {"segment", "change"}
    assert controls["change"]["SelectableValues"]["LinkToDataSetColumn"] == {
        "DataSetIdentifier": "rule_changes",
        "ColumnName": "change",
    }
    bound = {
        f["Configuration"]["CustomFilterConfiguration"]["ParameterName"]: _scoped(
            g, definition.CHANGES_SHEET_ID
        )
        for g, kind, f in _filters(d)
        if kind == "CategoryFilter" and f["Column"]["DataSetIdentifier"] == "rule_changes"
    }
    assert bound == {
        "segment": {definition.CHANGE_COUNTS_ID, definition.CHANGES_TABLE_ID},
        "change": {definition.CHANGES_TABLE_ID},
    }
    assert "rule_changes" in {x["Identifier"] for x in d["DataSetIdentifierDeclarations"]}
    spec = datasets.spec("rule_changes")
    assert spec.table == "latest_rule_changes"
    sql = datasets.select_sql(spec, "market_basket")
    assert 'FROM "market_basket"."latest_rule_changes"' in sql


def test_rules_table_shows_significance_and_redundancy(d: dict[str, Any]) -> None:
    _, table = _visuals(d)[definition.TABLE_ID]
    names = [
        f["Column"]["ColumnName"]
        for f in table["ChartConfiguration"]["FieldWells"]["TableUnaggregatedFieldWells"]["Values"]
    ]
    assert names[-3:] == ["fisher_p_adjusted", "improvement", "redundant"]
    rules = datasets.data_set_request(DEPLOYMENT, datasets.spec("rules"))
    (physical,) = rules["PhysicalTableMap"].values()
    types = {c["Name"]: c["Type"] for c in physical["CustomSql"]["Columns"]}
    assert (types["redundant"], types["fisher_p_adjusted"], types["consequent_size"]) == (
        "BOOLEAN",
        "DECIMAL",
        "INTEGER",
    )


def test_run_history_line_chart_reads_the_runs_data_set(d: dict[str, Any]) -> None:
    kind, chart = _visuals(d)[definition.HISTORY_ID]
    assert kind == "LineChartVisual"
    wells = chart["ChartConfiguration"]["FieldWells"]["LineChartAggregatedFieldWells"]
    (x,) = wells["Category"]
    assert x["DateDimensionField"]["Column"] == {
        "DataSetIdentifier": "runs",
        "ColumnName": "started_at",
    }
    values = [v["NumericalMeasureField"]["Column"] for v in wells["Values"]]
    assert values == [
        {"DataSetIdentifier": "runs", "ColumnName": "itemsets"},
        {"DataSetIdentifier": "runs", "ColumnName": "rules"},
    ]
    # the history is not narrowed to the chosen run, only to succeeded runs
    on_history = {
        g["FilterGroupId"] for g, _, _ in _filters(d) if definition.HISTORY_ID in _scoped(g)
    }
    assert on_history == {"fg-runs-succeeded"}
    assert "runs" in {x["Identifier"] for x in d["DataSetIdentifierDeclarations"]}


def _formats(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        found = [node["FormatConfiguration"]] if "FormatConfiguration" in node else []
        return found + [f for v in node.values() for f in _formats(v)]
    if isinstance(node, list):
        return [f for v in node for f in _formats(v)]
    return []


def test_number_formats(d: dict[str, Any]) -> None:
    visuals = _visuals(d)

    def fmt(visual: str, field_id: str) -> dict[str, Any]:
        _, body = visuals[visual]
        (field,) = [
            f
            for f in _walk(body)
            if isinstance(f, dict) and f.get("FieldId") == field_id and "Column" in f
        ]
        out: dict[str, Any] = field["FormatConfiguration"]
        return out

    baskets = fmt("kpi-baskets", "kpi-baskets-value")["FormatConfiguration"]
    number = baskets["NumberDisplayFormatConfiguration"]
    assert number["DecimalPlacesConfiguration"] == {"DecimalPlaces": 0}
    assert number["SeparatorConfiguration"]["ThousandsSeparator"]["Visibility"] == "VISIBLE"
    share = fmt("kpi-quarantined", "kpi-quarantined-value")["FormatConfiguration"]
    assert "PercentageDisplayFormatConfiguration" in share
    assert (
        "PercentageDisplayFormatConfiguration"
        in (fmt(definition.BAR_ID, "support")["FormatConfiguration"])
    )
    table_support = fmt(definition.TABLE_ID, "t-support")["NumberFormatConfiguration"]
    assert "PercentageDisplayFormatConfiguration" in table_support["FormatConfiguration"]
    table_lift = fmt(definition.TABLE_ID, "t-lift")["NumberFormatConfiguration"]
    assert table_lift["FormatConfiguration"]["NumberDisplayFormatConfiguration"][
        "DecimalPlacesConfiguration"
    ] == {"DecimalPlaces": 2}
    assert len(_formats(d)) >= 12


def _walk(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [node, *(x for v in node.values() for x in _walk(v))]
    if isinstance(node, list):
        return [x for v in node for x in _walk(v)]
    return []


def test_every_double_column_is_a_float_decimal() -> None:
    seen = 0
    for s in datasets.DATA_SETS:
        req = datasets.data_set_request(DEPLOYMENT, s)
        (table,) = req["PhysicalTableMap"].values()
        types = {c.name: c.type for c in s.columns}
        for column in table["CustomSql"]["Columns"]:
            if types[column["Name"]] == "double":
                assert (column["Type"], column.get("SubType")) == ("DECIMAL", "FLOAT")
                seen += 1
            else:
                assert "SubType" not in column
    assert seen >= 13  # itemsets.support, the rules' 12 measures, runs' thresholds
    runs = datasets.data_set_request(DEPLOYMENT, datasets.spec("runs"))
    (table,) = runs["PhysicalTableMap"].values()
    assert {c["Name"] for c in table["CustomSql"]["Columns"]} >= set(RUNS.names)


def test_grid_layout_covers_every_visual_without_overlaps(d: dict[str, Any]) -> None:
    sheet = _sheet(d)
    (layout,) = sheet["Layouts"]
    elements = layout["Configuration"]["GridLayout"]["Elements"]
    assert sorted(e["ElementId"] for e in elements) == sorted(_visuals(d))
    cells: dict[tuple[int, int], str] = {}
    for e in elements:
        assert e["ElementType"] == "VISUAL"
        assert e["ColumnIndex"] + e["ColumnSpan"] <= 36
        for c in range(e["ColumnIndex"], e["ColumnIndex"] + e["ColumnSpan"]):
            for r in range(e["RowIndex"], e["RowIndex"] + e["RowSpan"]):
                assert (c, r) not in cells, f"{e['ElementId']} overlaps {cells[(c, r)]}"
                cells[(c, r)] = e["ElementId"]
    kpis = [e for e in elements if e["ElementId"] in definition.KPI_IDS]
    assert {e["RowIndex"] for e in kpis} == {0}  # one row, on top
    assert min(e["RowIndex"] for e in elements if e not in kpis) >= max(
        e["RowIndex"] + e["RowSpan"] for e in kpis
    )


def test_item_search_is_case_insensitive(d: dict[str, Any]) -> None:
    for data_set, searched in (("itemsets", "{items}"), ("rules", "{antecedent}")):
        expr = _calculated(d, data_set, "item_match")
        # both the field and the parameter are lower-cased before the match
        assert "toLower(${item})" in expr
        assert re.search(r"locate\(toLower\([^$]*" + re.escape(searched), expr)
        assert "coalesce(${item}, '') = ''" in expr  # unset or empty matches everything
    item_filters = [
        (g, f) for g, kind, f in _filters(d) if f["Column"]["ColumnName"] == "item_match"
    ]
    scoped = set()
    for g, f in item_filters:
        assert f["MatchOperator"] == "EQUALS" and f["Value"] == 1.0
        scoped |= _scoped(g)
    assert scoped == {definition.BAR_ID, definition.TABLE_ID, definition.SCATTER_ID}
    # no filter compares a field with the raw parameter any more
    assert not [
        f
        for _, kind, f in _filters(d)
        if kind == "CategoryFilter"
        and f["Configuration"].get("CustomFilterConfiguration", {}).get("ParameterName") == "item"
    ]


def test_deploy_passes_the_ranges_to_the_analysis_and_dashboard(ranges: DataRanges) -> None:
    sent: list[tuple[str, dict[str, Any]]] = []

    class Recorder:
        def __getattr__(self, operation: str) -> Any:
            def call(**kwargs: Any) -> dict[str, Any]:
                sent.append((operation, kwargs))
                if operation.startswith("describe_"):
                    from botocore.exceptions import ClientError

                    raise ClientError({"Error": {"Code": "ResourceNotFoundException"}}, operation)
                return {"Arn": "arn", "CreationStatus": "CREATION_SUCCESSFUL"}

            return call

    deploy(Recorder(), DEPLOYMENT, ranges=ranges, sleep=lambda _: None)
    definitions = [k["Definition"] for op, k in sent if "Definition" in k]
    assert len(definitions) == 2
    for got in definitions:
        assert got == definition.definition(DEPLOYMENT, ranges)
