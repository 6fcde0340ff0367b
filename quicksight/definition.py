"""The analysis and dashboard Definition (QuickSight's JSON "as code"), built in Python.

One sheet: top itemsets (bar chart), the rules table with lift shaded from white (lift 1)
to green (lift 3), support-vs-confidence scatter sized by lift, and controls bound to
parameters: item text, minimum support, confidence and lift. Column names come from
:mod:`basket_core.schemas`, so a renamed column fails here, not in the console.
"""

from __future__ import annotations

from typing import Any

from basket_core.schemas import ITEMSETS, RULES
from quicksight.deployment import Deployment

SHEET_ID = "overview"
ITEMSETS_ID, RULES_ID = "itemsets", "rules"
RULE_LABEL = "rule"
RULE_ITEMS = "rule_items"
BAR_ID, TABLE_ID, SCATTER_ID = "top-itemsets", "rules-table", "rules-scatter"
THRESHOLDS: tuple[tuple[str, str, str, float, float, float], ...] = (
    # parameter, rules column, control title, max, step, default
    ("minSupport", "support", "Min support", 1.0, 0.01, 0.0),
    ("minConfidence", "confidence", "Min confidence", 1.0, 0.05, 0.0),
    ("minLift", "lift", "Min lift", 10.0, 0.1, 1.0),
)
ITEM_PARAM = "item"
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


def col(data_set: str, name: str) -> dict[str, str]:
    """A column reference; a schema column is checked against :mod:`basket_core.schemas`."""
    dataset = {ITEMSETS_ID: ITEMSETS, RULES_ID: RULES}[data_set]
    if name not in (RULE_LABEL, RULE_ITEMS):
        dataset.column(name)  # KeyError for a column the schema does not have
    return {"DataSetIdentifier": data_set, "ColumnName": name}


def _title(text: str) -> dict[str, Any]:
    return {"Visibility": "VISIBLE", "FormatText": {"PlainText": text}}


def _measure(field_id: str, column: dict[str, str], agg: str = "MAX") -> dict[str, Any]:
    return {
        "NumericalMeasureField": {
            "FieldId": field_id,
            "Column": column,
            "AggregationFunction": {"SimpleNumericalAggregation": agg},
        }
    }


def _category(field_id: str, column: dict[str, str]) -> dict[str, Any]:
    return {"CategoricalDimensionField": {"FieldId": field_id, "Column": column}}


def _number(field_id: str, column: dict[str, str]) -> dict[str, Any]:
    return {"NumericalDimensionField": {"FieldId": field_id, "Column": column}}


def itemsets_bar(top_n: int = 20) -> dict[str, Any]:
    return {
        "BarChartVisual": {
            "VisualId": BAR_ID,
            "Title": _title("Most frequent itemsets"),
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


RULE_TABLE_COLUMNS = ("segment", "antecedent", "consequent", "support", "confidence", "lift")


def rules_table() -> dict[str, Any]:
    values = [
        {"FieldId": f"t-{name}", "Column": col(RULES_ID, name)} for name in RULE_TABLE_COLUMNS
    ]
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


def parameters() -> list[dict[str, Any]]:
    decimals = [
        {
            "DecimalParameterDeclaration": {
                "ParameterValueType": "SINGLE_VALUED",
                "Name": name,
                "DefaultValues": {"StaticValues": [default]},
            }
        }
        for name, _, _, _, _, default in THRESHOLDS
    ]
    item = {
        "StringParameterDeclaration": {
            "ParameterValueType": "SINGLE_VALUED",
            "Name": ITEM_PARAM,
            "ValueWhenUnset": {"ValueWhenUnsetOption": "NULL"},
        }
    }
    return [*decimals, item]


def controls() -> list[dict[str, Any]]:
    sliders = [
        {
            "Slider": {
                "ParameterControlId": f"c-{name}",
                "Title": title,
                "SourceParameterName": name,
                "MinimumValue": 0.0,
                "MaximumValue": maximum,
                "StepSize": step,
            }
        }
        for name, _, title, maximum, step, _ in THRESHOLDS
    ]
    text = {
        "TextField": {
            "ParameterControlId": "c-item",
            "Title": "Item contains",
            "SourceParameterName": ITEM_PARAM,
        }
    }
    return [text, *sliders]


def filter_groups() -> list[dict[str, Any]]:
    scope = {
        "SelectedSheets": {
            "SheetVisualScopingConfigurations": [
                {
                    "SheetId": SHEET_ID,
                    "Scope": "SELECTED_VISUALS",
                    "VisualIds": [TABLE_ID, SCATTER_ID],
                }
            ]
        }
    }
    thresholds = [
        {
            "NumericRangeFilter": {
                "FilterId": f"f-{column}",
                "Column": col(RULES_ID, column),
                "RangeMinimum": {"Parameter": name},
                "IncludeMinimum": True,
                "NullOption": "NON_NULLS_ONLY",
            }
        }
        for name, column, *_ in THRESHOLDS
    ]
    item = {
        "CategoryFilter": {
            "FilterId": "f-item",
            "Column": col(RULES_ID, RULE_ITEMS),
            "Configuration": {
                "CustomFilterConfiguration": {
                    "MatchOperator": "CONTAINS",
                    "ParameterName": ITEM_PARAM,
                    "SelectAllOptions": "FILTER_ALL_VALUES",
                    "NullOption": "NON_NULLS_ONLY",
                }
            },
        }
    }
    return [
        {
            "FilterGroupId": "fg-thresholds",
            "Filters": thresholds,
            "ScopeConfiguration": scope,
            "Status": "ENABLED",
            "CrossDataset": "SINGLE_DATASET",
        },
        {
            "FilterGroupId": "fg-item",
            "Filters": [item],
            "ScopeConfiguration": scope,
            "Status": "ENABLED",
            "CrossDataset": "SINGLE_DATASET",
        },
    ]


def definition(deployment: Deployment) -> dict[str, Any]:
    """The Definition shared by the analysis and the dashboard."""
    return {
        "DataSetIdentifierDeclarations": [
            {"Identifier": name, "DataSetArn": deployment.data_set_arn(name)}
            for name in (ITEMSETS_ID, RULES_ID)
        ],
        "CalculatedFields": [
            {
                "DataSetIdentifier": RULES_ID,
                "Name": RULE_LABEL,
                "Expression": "concat({antecedent}, ' → ', {consequent})",
            },
            {
                "DataSetIdentifier": RULES_ID,
                "Name": RULE_ITEMS,
                "Expression": "toLower(concat({antecedent}, ' | ', {consequent}))",
            },
        ],
        "ParameterDeclarations": parameters(),
        "FilterGroups": filter_groups(),
        "Sheets": [
            {
                "SheetId": SHEET_ID,
                "Name": "Overview",
                "ParameterControls": controls(),
                "Visuals": [itemsets_bar(), rules_table(), rules_scatter()],
            }
        ],
    }


def analysis_request(deployment: Deployment) -> dict[str, Any]:
    return {
        "AwsAccountId": deployment.account_id,
        "AnalysisId": deployment.analysis_id,
        "Name": f"{deployment.prefix} market basket",
        "Definition": definition(deployment),
    }


def dashboard_request(deployment: Deployment, version: str = "") -> dict[str, Any]:
    return {
        "AwsAccountId": deployment.account_id,
        "DashboardId": deployment.dashboard_id,
        "Name": f"{deployment.prefix} market basket",
        "Definition": definition(deployment),
        "DashboardPublishOptions": PUBLISH_OPTIONS,
        "VersionDescription": version or "deployed by basket quicksight deploy",
    }
