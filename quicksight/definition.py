"""The analysis and dashboard Definition (QuickSight's JSON "as code"), built in Python.

One sheet on a 36-column grid:

- a KPI row from the ``runs`` data set: baskets, distinct items, itemsets, rules and the
  quarantined share of the rows read, each the latest succeeded run's (or the chosen run's);
- the most frequent itemsets of two or more items (bar chart), and the rules'
  support-vs-confidence scatter sized by lift;
- the rules table with lift shaded from white (lift 1) to green (lift 3);
- the run history: itemsets and rules per run over time (line chart over ``runs``).

A second sheet, "What changed", reads ``rule_changes`` (the latest run against the previous
run of its kind): the number of rules new, strengthened, weakened and gone (bar chart) and
the table of changed rules with their lift and confidence before and now and the p-values,
with segment and kind-of-change controls.

Controls bound to parameters: segment and run (drop-downs over the data's own values), item
text (case-insensitive), minimum support, confidence and lift (sliders over the deployed
run's own range, :mod:`quicksight.ranges`). Column names come from
:mod:`basket_core.schemas`, so a renamed column fails here, not in the console.
"""

from __future__ import annotations

from typing import Any

from basket_core.schemas import ITEMSETS, PARTITION_COLUMNS, RULE_CHANGES, RULES, RUNS
from quicksight.deployment import Deployment
from quicksight.ranges import DEFAULT_RANGES, DataRanges

SHEET_ID = "overview"
CHANGES_SHEET_ID = "changes"
ITEMSETS_ID, RULES_ID, RUNS_ID, CHANGES_ID = "itemsets", "rules", "runs", "rule_changes"
DATA_SET_IDS = (ITEMSETS_ID, RULES_ID, RUNS_ID, CHANGES_ID)
RULE_LABEL = "rule"
ITEM_MATCH = "item_match"
QUARANTINED_SHARE = "quarantined_share"
BAR_ID, TABLE_ID, SCATTER_ID, HISTORY_ID = (
    "top-itemsets",
    "rules-table",
    "rules-scatter",
    "run-history",
)
KPIS: tuple[tuple[str, str, str], ...] = (
    # visual id, runs column, title
    ("kpi-baskets", "baskets", "Baskets"),
    ("kpi-items", "distinct_items", "Items"),
    ("kpi-itemsets", "itemsets", "Itemsets"),
    ("kpi-rules", "rules", "Rules"),
    ("kpi-quarantined", QUARANTINED_SHARE, "Quarantined"),
)
KPI_IDS = tuple(k[0] for k in KPIS)
CHANGE_COUNTS_ID, CHANGES_TABLE_ID = "change-counts", "changes-table"
THRESHOLDS: tuple[tuple[str, str, str], ...] = (
    # parameter, column (rules; support also itemsets), control title
    ("minSupport", "support", "Min support"),
    ("minConfidence", "confidence", "Min confidence"),
    ("minLift", "lift", "Min lift"),
)
ITEM_PARAM, SEGMENT_PARAM, RUN_PARAM, CHANGE_PARAM = "item", "segment", "run", "change"
MIN_ITEMSET_SIZE = 2
ANALYSIS_ACTIONS = (
    "quicksight:RestoreAnalysis",
    "quicksight:UpdateAnalysisPermissions",
    "quicksight:DeleteAnalysis",
    "quicksight:DescribeAnalysisPermissions",
    "quicksight:QueryAnalysis",
    "quicksight:DescribeAnalysis",
    "quicksight:UpdateAnalysis",
)
DASHBOARD_ACTIONS = (
    "quicksight:DescribeDashboard",
    "quicksight:ListDashboardVersions",
    "quicksight:UpdateDashboardPermissions",
    "quicksight:QueryDashboard",
    "quicksight:UpdateDashboard",
    "quicksight:DeleteDashboard",
    "quicksight:DescribeDashboardPermissions",
    "quicksight:UpdateDashboardPublishedVersion",
)
PUBLISH_OPTIONS = {
    "AdHocFilteringOption": {"AvailabilityStatus": "ENABLED"},
    "ExportToCSVOption": {"AvailabilityStatus": "ENABLED"},
    "SheetControlsOption": {"VisibilityState": "EXPANDED"},
}
CALCULATED = {
    # (data set, name): expression. The item search lower-cases both sides, so it is
    # case-insensitive; an empty or unset search matches everything.
    (ITEMSETS_ID, ITEM_MATCH): (
        "ifelse(coalesce(${item}, '') = '' OR locate(toLower({items}), toLower(${item})) > 0, 1, 0)"
    ),
    (RULES_ID, ITEM_MATCH): (
        "ifelse(coalesce(${item}, '') = '' OR "
        "locate(toLower(concat({antecedent}, ' | ', {consequent})), toLower(${item})) > 0, 1, 0)"
    ),
    (RULES_ID, RULE_LABEL): "concat({antecedent}, ' → ', {consequent})",
    (RUNS_ID, QUARANTINED_SHARE): ("ifelse({input_rows} > 0, {rejected_rows} / {input_rows}, 0)"),
    (CHANGES_ID, RULE_LABEL): "concat({antecedent}, ' → ', {consequent})",
}
_SCHEMAS = {ITEMSETS_ID: ITEMSETS, RULES_ID: RULES, RUNS_ID: RUNS, CHANGES_ID: RULE_CHANGES}


def col(data_set: str, name: str) -> dict[str, str]:
    """A column reference; a schema column is checked against :mod:`basket_core.schemas`."""
    dataset = _SCHEMAS[data_set]
    if (data_set, name) not in CALCULATED and name not in {c.name for c in PARTITION_COLUMNS}:
        dataset.column(name)  # KeyError for a column the schema does not have
    return {"DataSetIdentifier": data_set, "ColumnName": name}


def _title(text: str) -> dict[str, Any]:
    return {"Visibility": "VISIBLE", "FormatText": {"PlainText": text}}


def count_format() -> dict[str, Any]:
    """Whole numbers with a thousands separator: 18,532."""
    return {
        "FormatConfiguration": {
            "NumberDisplayFormatConfiguration": {
                "SeparatorConfiguration": {
                    "ThousandsSeparator": {"Symbol": "COMMA", "Visibility": "VISIBLE"}
                },
                "DecimalPlacesConfiguration": {"DecimalPlaces": 0},
            }
        }
    }


def percent_format(decimals: int = 2) -> dict[str, Any]:
    """A fraction shown as a percentage: 0.0123 → 1.23%."""
    return {
        "FormatConfiguration": {
            "PercentageDisplayFormatConfiguration": {
                "DecimalPlacesConfiguration": {"DecimalPlaces": decimals}
            }
        }
    }


def decimal_format(decimals: int = 2) -> dict[str, Any]:
    return {
        "FormatConfiguration": {
            "NumberDisplayFormatConfiguration": {
                "DecimalPlacesConfiguration": {"DecimalPlaces": decimals}
            }
        }
    }


COLUMN_FORMATS: dict[str, Any] = {
    "support": percent_format(2),
    "confidence": percent_format(1),
    "lift": decimal_format(2),
    "count": count_format(),
    QUARANTINED_SHARE: percent_format(2),
    "improvement": decimal_format(3),
    "lift_before": decimal_format(2),
    "lift_after": decimal_format(2),
    "lift_ratio": decimal_format(2),
    "confidence_before": percent_format(1),
    "confidence_after": percent_format(1),
    "confidence_delta": percent_format(1),
}


def _format(name: str) -> dict[str, Any]:
    return COLUMN_FORMATS.get(name, count_format())


def _measure(field_id: str, column: dict[str, str], agg: str = "MAX") -> dict[str, Any]:
    return {
        "NumericalMeasureField": {
            "FieldId": field_id,
            "Column": column,
            "AggregationFunction": {"SimpleNumericalAggregation": agg},
            "FormatConfiguration": _format(column["ColumnName"]),
        }
    }


def _category(field_id: str, column: dict[str, str]) -> dict[str, Any]:
    return {"CategoricalDimensionField": {"FieldId": field_id, "Column": column}}


def _number(field_id: str, column: dict[str, str]) -> dict[str, Any]:
    return {
        "NumericalDimensionField": {
            "FieldId": field_id,
            "Column": column,
            "FormatConfiguration": _format(column["ColumnName"]),
        }
    }


def _run_time(field_id: str) -> dict[str, Any]:
    return {
        "DateDimensionField": {
            "FieldId": field_id,
            "Column": col(RUNS_ID, "started_at"),
            "DateGranularity": "MINUTE",
        }
    }


def kpi(visual_id: str, column: str, title: str) -> dict[str, Any]:
    """One figure of the latest run in view: the KPI's trend group is the run's start, so its
    value is the newest run's and the sparkline the runs before it."""
    return {
        "KPIVisual": {
            "VisualId": visual_id,
            "Title": _title(title),
            "ChartConfiguration": {
                "FieldWells": {
                    "Values": [_measure(f"{visual_id}-value", col(RUNS_ID, column))],
                    "TrendGroups": [_run_time(f"{visual_id}-when")],
                },
                "KPIOptions": {
                    "PrimaryValueDisplayType": "ACTUAL",
                    "Sparkline": {"Type": "LINE", "Visibility": "VISIBLE"},
                },
            },
        }
    }


def itemsets_bar(top_n: int = 20) -> dict[str, Any]:
    return {
        "BarChartVisual": {
            "VisualId": BAR_ID,
            "Title": _title(f"Most frequent itemsets of {MIN_ITEMSET_SIZE} or more items"),
            "ChartConfiguration": {
                "FieldWells": {
                    "BarChartAggregatedFieldWells": {
                        "Category": [_category("items", col(ITEMSETS_ID, "items"))],
                        "Values": [_measure("support", col(ITEMSETS_ID, "support"))],
                        "Colors": [_category("segment", col(ITEMSETS_ID, "segment"))],
                    }
                },
                "SortConfiguration": {
                    "CategorySort": [{"FieldSort": {"FieldId": "support", "Direction": "DESC"}}],
                    "CategoryItemsLimit": {"ItemsLimit": top_n, "OtherCategories": "EXCLUDE"},
                },
                "Orientation": "HORIZONTAL",
                "BarsArrangement": "CLUSTERED",
            },
        }
    }


RULE_TABLE_COLUMNS = (
    "segment",
    "antecedent",
    "consequent",
    "support",
    "confidence",
    "lift",
    "fisher_p_adjusted",
    "improvement",
    "redundant",
)
CHANGE_TABLE_COLUMNS = (
    "change",
    "segment",
    "antecedent",
    "consequent",
    "lift_before",
    "lift_after",
    "lift_ratio",
    "confidence_before",
    "confidence_after",
    "confidence_delta",
    "confidence_change_p",
    "fisher_p_adjusted",
    "previous_dt",
)


def _table_fields(data_set: str, prefix: str, names: tuple[str, ...]) -> list[dict[str, Any]]:
    values = []
    for name in names:
        field: dict[str, Any] = {"FieldId": f"{prefix}-{name}", "Column": col(data_set, name)}
        if name in COLUMN_FORMATS:
            field["FormatConfiguration"] = {"NumberFormatConfiguration": COLUMN_FORMATS[name]}
        values.append(field)
    return values


def rules_table() -> dict[str, Any]:
    values = _table_fields(RULES_ID, "t", RULE_TABLE_COLUMNS)
    lift_gradient = {
        "Gradient": {
            "Expression": "MAX({lift})",
            "Color": {
                "Stops": [
                    {"GradientOffset": 0.0, "DataValue": 1.0, "Color": "#FFFFFF"},
                    {"GradientOffset": 100.0, "DataValue": 3.0, "Color": "#2EA043"},
                ]
            },
        }
    }
    return {
        "TableVisual": {
            "VisualId": TABLE_ID,
            "Title": _title("Rules (strongest lift first)"),
            "ChartConfiguration": {
                "FieldWells": {"TableUnaggregatedFieldWells": {"Values": values}},
                "SortConfiguration": {
                    "RowSort": [{"FieldSort": {"FieldId": "t-lift", "Direction": "DESC"}}]
                },
            },
            "ConditionalFormatting": {
                "ConditionalFormattingOptions": [
                    {
                        "Cell": {
                            "FieldId": "t-lift",
                            "TextFormat": {"BackgroundColor": lift_gradient},
                        }
                    }
                ]
            },
        }
    }


def rules_scatter() -> dict[str, Any]:
    return {
        "ScatterPlotVisual": {
            "VisualId": SCATTER_ID,
            "Title": _title("Rules: support vs confidence (size: lift)"),
            "ChartConfiguration": {
                "FieldWells": {
                    "ScatterPlotUnaggregatedFieldWells": {
                        "XAxis": [_number("s-support", col(RULES_ID, "support"))],
                        "YAxis": [_number("s-confidence", col(RULES_ID, "confidence"))],
                        "Size": [_measure("s-lift", col(RULES_ID, "lift"))],
                        "Label": [_category("s-rule", col(RULES_ID, RULE_LABEL))],
                    }
                },
            },
        }
    }


def run_history() -> dict[str, Any]:
    """Itemsets and rules per run over time, from the ``runs`` data set."""
    return {
        "LineChartVisual": {
            "VisualId": HISTORY_ID,
            "Title": _title("Run history: itemsets and rules per run"),
            "ChartConfiguration": {
                "FieldWells": {
                    "LineChartAggregatedFieldWells": {
                        "Category": [_run_time("h-started")],
                        "Values": [
                            _measure("h-itemsets", col(RUNS_ID, "itemsets"), "SUM"),
                            _measure("h-rules", col(RUNS_ID, "rules"), "SUM"),
                        ],
                    }
                },
                "SortConfiguration": {
                    "CategorySort": [{"FieldSort": {"FieldId": "h-started", "Direction": "ASC"}}]
                },
                "Type": "LINE",
            },
        }
    }


def change_counts() -> dict[str, Any]:
    """Rules new, strengthened, weakened and gone in the latest run (bar per kind)."""
    return {
        "BarChartVisual": {
            "VisualId": CHANGE_COUNTS_ID,
            "Title": _title("Rules that changed since the previous run, by kind"),
            "ChartConfiguration": {
                "FieldWells": {
                    "BarChartAggregatedFieldWells": {
                        "Category": [_category("c-change", col(CHANGES_ID, "change"))],
                        "Values": [
                            {
                                "CategoricalMeasureField": {
                                    "FieldId": "c-rules",
                                    "Column": col(CHANGES_ID, RULE_LABEL),
                                    "AggregationFunction": "COUNT",
                                }
                            }
                        ],
                        "Colors": [_category("c-segment", col(CHANGES_ID, "segment"))],
                    }
                },
                "SortConfiguration": {
                    "CategorySort": [{"FieldSort": {"FieldId": "c-change", "Direction": "ASC"}}]
                },
                "Orientation": "HORIZONTAL",
                "BarsArrangement": "STACKED",
            },
        }
    }


def changes_table() -> dict[str, Any]:
    """Every changed rule, biggest lift ratio first."""
    return {
        "TableVisual": {
            "VisualId": CHANGES_TABLE_ID,
            "Title": _title("Changed rules: lift and confidence before and now"),
            "ChartConfiguration": {
                "FieldWells": {
                    "TableUnaggregatedFieldWells": {
                        "Values": _table_fields(CHANGES_ID, "ct", CHANGE_TABLE_COLUMNS)
                    }
                },
                "SortConfiguration": {
                    "RowSort": [
                        {"FieldSort": {"FieldId": "ct-change", "Direction": "ASC"}},
                        {"FieldSort": {"FieldId": "ct-lift_ratio", "Direction": "DESC"}},
                    ]
                },
            },
        }
    }


def change_visuals() -> list[dict[str, Any]]:
    return [change_counts(), changes_table()]


def visuals() -> list[dict[str, Any]]:
    return [
        *(kpi(*k) for k in KPIS),
        itemsets_bar(),
        rules_scatter(),
        rules_table(),
        run_history(),
    ]


GRID_COLUMNS = 36
KPI_SPAN, KPI_ROWS = 7, 4


def layout() -> dict[str, Any]:
    """A 36-column grid: the KPI row, then the bar and the scatter side by side, the rules
    table, and the run history."""
    half = GRID_COLUMNS // 2
    cells: list[tuple[str, int, int, int, int]] = [  # id, column, row, column span, row span
        *((vid, i * KPI_SPAN, 0, KPI_SPAN, KPI_ROWS) for i, vid in enumerate(KPI_IDS)),
        (BAR_ID, 0, KPI_ROWS, half, 12),
        (SCATTER_ID, half, KPI_ROWS, half, 12),
        (TABLE_ID, 0, KPI_ROWS + 12, GRID_COLUMNS, 14),
        (HISTORY_ID, 0, KPI_ROWS + 26, GRID_COLUMNS, 10),
    ]
    return {
        "Configuration": {
            "GridLayout": {
                "Elements": [
                    {
                        "ElementId": vid,
                        "ElementType": "VISUAL",
                        "ColumnIndex": c,
                        "RowIndex": r,
                        "ColumnSpan": cs,
                        "RowSpan": rs,
                    }
                    for vid, c, r, cs, rs in cells
                ],
                "CanvasSizeOptions": {"ScreenCanvasSizeOptions": {"ResizeOption": "RESPONSIVE"}},
            }
        }
    }


def changes_layout() -> dict[str, Any]:
    """The "What changed" sheet: the counts by kind above the table."""
    cells = [(CHANGE_COUNTS_ID, 0, 0, GRID_COLUMNS, 8), (CHANGES_TABLE_ID, 0, 8, GRID_COLUMNS, 18)]
    return {
        "Configuration": {
            "GridLayout": {
                "Elements": [
                    {
                        "ElementId": vid,
                        "ElementType": "VISUAL",
                        "ColumnIndex": c,
                        "RowIndex": r,
                        "ColumnSpan": cs,
                        "RowSpan": rs,
                    }
                    for vid, c, r, cs, rs in cells
                ],
                "CanvasSizeOptions": {"ScreenCanvasSizeOptions": {"ResizeOption": "RESPONSIVE"}},
            }
        }
    }


def parameters(ranges: DataRanges = DEFAULT_RANGES) -> list[dict[str, Any]]:
    sliders = ranges.sliders()
    decimals = [
        {
            "DecimalParameterDeclaration": {
                "ParameterValueType": "SINGLE_VALUED",
                "Name": name,
                "DefaultValues": {"StaticValues": [sliders[column].default]},
            }
        }
        for name, column, _ in THRESHOLDS
    ]
    strings = [
        {
            "StringParameterDeclaration": {
                "ParameterValueType": "SINGLE_VALUED",
                "Name": name,
                "ValueWhenUnset": {"ValueWhenUnsetOption": "NULL"},
            }
        }
        for name in (ITEM_PARAM, SEGMENT_PARAM, RUN_PARAM, CHANGE_PARAM)
    ]
    return [*decimals, *strings]


def controls(ranges: DataRanges = DEFAULT_RANGES) -> list[dict[str, Any]]:
    limits = ranges.sliders()
    sliders = [
        {
            "Slider": {
                "ParameterControlId": f"c-{name}",
                "Title": title,
                "SourceParameterName": name,
                "MinimumValue": limits[column].minimum,
                "MaximumValue": limits[column].maximum,
                "StepSize": limits[column].step,
            }
        }
        for name, column, title in THRESHOLDS
    ]
    drop_downs = [
        {
            "Dropdown": {
                "ParameterControlId": f"c-{name}",
                "Title": title,
                "SourceParameterName": name,
                "Type": "SINGLE_SELECT",
                "SelectableValues": {"LinkToDataSetColumn": col(data_set, column)},
            }
        }
        for name, title, data_set, column in (
            (SEGMENT_PARAM, "Segment", ITEMSETS_ID, "segment"),
            (RUN_PARAM, "Run (KPI row)", RUNS_ID, "run_id"),
        )
    ]
    text = {
        "TextField": {
            "ParameterControlId": "c-item",
            "Title": "Item contains (any case)",
            "SourceParameterName": ITEM_PARAM,
        }
    }
    return [*drop_downs, text, *sliders]


def change_controls() -> list[dict[str, Any]]:
    """The "What changed" sheet's segment (the same parameter as the overview's) and kind."""
    return [
        {
            "Dropdown": {
                "ParameterControlId": f"cc-{name}",
                "Title": title,
                "SourceParameterName": name,
                "Type": "SINGLE_SELECT",
                "SelectableValues": {"LinkToDataSetColumn": col(CHANGES_ID, column)},
            }
        }
        for name, title, column in (
            (SEGMENT_PARAM, "Segment", "segment"),
            (CHANGE_PARAM, "Change", "change"),
        )
    ]


def _scope(*visual_ids: str, sheet: str = SHEET_ID) -> dict[str, Any]:
    return {
        "SelectedSheets": {
            "SheetVisualScopingConfigurations": [
                {"SheetId": sheet, "Scope": "SELECTED_VISUALS", "VisualIds": list(visual_ids)}
            ]
        }
    }


def _group(
    group_id: str, filters: list[dict[str, Any]], *visual_ids: str, sheet: str = SHEET_ID
) -> dict[str, Any]:
    return {
        "FilterGroupId": group_id,
        "Filters": filters,
        "ScopeConfiguration": _scope(*visual_ids, sheet=sheet),
        "Status": "ENABLED",
        "CrossDataset": "SINGLE_DATASET",
    }


def _at_least(filter_id: str, column: dict[str, str], value: str | float) -> dict[str, Any]:
    bound = {"Parameter": value} if isinstance(value, str) else {"StaticValue": value}
    return {
        "NumericRangeFilter": {
            "FilterId": filter_id,
            "Column": column,
            "RangeMinimum": bound,
            "IncludeMinimum": True,
            "NullOption": "NON_NULLS_ONLY",
        }
    }


def _equals_parameter(filter_id: str, column: dict[str, str], parameter: str) -> dict[str, Any]:
    """``column = ${parameter}``; every value while the parameter is unset."""
    return {
        "CategoryFilter": {
            "FilterId": filter_id,
            "Column": column,
            "Configuration": {
                "CustomFilterConfiguration": {
                    "MatchOperator": "EQUALS",
                    "ParameterName": parameter,
                    "SelectAllOptions": "FILTER_ALL_VALUES",
                    "NullOption": "NON_NULLS_ONLY",
                }
            },
        }
    }


def _item_match(filter_id: str, data_set: str) -> dict[str, Any]:
    return {
        "NumericEqualityFilter": {
            "FilterId": filter_id,
            "Column": col(data_set, ITEM_MATCH),
            "Value": 1.0,
            "MatchOperator": "EQUALS",
            "NullOption": "NON_NULLS_ONLY",
        }
    }


def filter_groups() -> list[dict[str, Any]]:
    rule_visuals = (TABLE_ID, SCATTER_ID)
    thresholds = [
        _at_least(f"f-rules-{column}", col(RULES_ID, column), name)
        for name, column, _ in THRESHOLDS
    ]
    succeeded = {
        "CategoryFilter": {
            "FilterId": "f-runs-succeeded",
            "Column": col(RUNS_ID, "status"),
            "Configuration": {
                "FilterListConfiguration": {
                    "MatchOperator": "CONTAINS",
                    "CategoryValues": ["succeeded"],
                    "NullOption": "NON_NULLS_ONLY",
                }
            },
        }
    }
    return [
        _group("fg-rules-thresholds", thresholds, *rule_visuals),
        _group(
            "fg-itemsets-size",
            [_at_least("f-itemsets-size", col(ITEMSETS_ID, "size"), float(MIN_ITEMSET_SIZE))],
            BAR_ID,
        ),
        _group(
            "fg-itemsets-support",
            [_at_least("f-itemsets-support", col(ITEMSETS_ID, "support"), "minSupport")],
            BAR_ID,
        ),
        _group(
            "fg-itemsets-segment",
            [_equals_parameter("f-itemsets-segment", col(ITEMSETS_ID, "segment"), SEGMENT_PARAM)],
            BAR_ID,
        ),
        _group(
            "fg-rules-segment",
            [_equals_parameter("f-rules-segment", col(RULES_ID, "segment"), SEGMENT_PARAM)],
            *rule_visuals,
        ),
        _group("fg-itemsets-item", [_item_match("f-itemsets-item", ITEMSETS_ID)], BAR_ID),
        _group("fg-rules-item", [_item_match("f-rules-item", RULES_ID)], *rule_visuals),
        _group(
            "fg-runs-run",
            [_equals_parameter("f-runs-run", col(RUNS_ID, "run_id"), RUN_PARAM)],
            *KPI_IDS,
        ),
        _group("fg-runs-succeeded", [succeeded], *KPI_IDS, HISTORY_ID),
        _group(
            "fg-changes-segment",
            [_equals_parameter("f-changes-segment", col(CHANGES_ID, "segment"), SEGMENT_PARAM)],
            CHANGE_COUNTS_ID,
            CHANGES_TABLE_ID,
            sheet=CHANGES_SHEET_ID,
        ),
        _group(
            "fg-changes-change",
            [_equals_parameter("f-changes-change", col(CHANGES_ID, "change"), CHANGE_PARAM)],
            CHANGES_TABLE_ID,
            sheet=CHANGES_SHEET_ID,
        ),
    ]


def definition(deployment: Deployment, ranges: DataRanges = DEFAULT_RANGES) -> dict[str, Any]:
    """The Definition shared by the analysis and the dashboard; the sliders span ``ranges``
    (the deployed run's own, :func:`quicksight.ranges.data_ranges`)."""
    return {
        "DataSetIdentifierDeclarations": [
            {"Identifier": name, "DataSetArn": deployment.data_set_arn(name)}
            for name in DATA_SET_IDS
        ],
        "CalculatedFields": [
            {"DataSetIdentifier": data_set, "Name": name, "Expression": expression}
            for (data_set, name), expression in CALCULATED.items()
        ],
        "ParameterDeclarations": parameters(ranges),
        "FilterGroups": filter_groups(),
        "Sheets": [
            {
                "SheetId": SHEET_ID,
                "Name": "Overview",
                "ParameterControls": controls(ranges),
                "Visuals": visuals(),
                "Layouts": [layout()],
            },
            {
                "SheetId": CHANGES_SHEET_ID,
                "Name": "What changed",
                "ParameterControls": change_controls(),
                "Visuals": change_visuals(),
                "Layouts": [changes_layout()],
            },
        ],
    }


def analysis_request(deployment: Deployment, ranges: DataRanges = DEFAULT_RANGES) -> dict[str, Any]:
    return {
        "AwsAccountId": deployment.account_id,
        "AnalysisId": deployment.analysis_id,
        "Name": f"{deployment.prefix} market basket",
        "Definition": definition(deployment, ranges),
    }


def dashboard_request(
    deployment: Deployment, version: str = "", ranges: DataRanges = DEFAULT_RANGES
) -> dict[str, Any]:
    return {
        "AwsAccountId": deployment.account_id,
        "DashboardId": deployment.dashboard_id,
        "Name": f"{deployment.prefix} market basket",
        "Definition": definition(deployment, ranges),
        "DashboardPublishOptions": PUBLISH_OPTIONS,
        "VersionDescription": version or "deployed by basket quicksight deploy",
    }
