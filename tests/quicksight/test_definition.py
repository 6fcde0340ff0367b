"""QuickSight as code, the pure part: ids from config, data sets from basket_core.schemas, and
request bodies that botocore's own validator accepts for each operation."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
import sqlglot
from botocore.validate import validate_parameters
from click.testing import CliRunner

from basket.cli import main
from basket_core.config import Settings
from basket_core.schemas import PARTITION_COLUMNS, RULES
from quicksight import datasets, definition
from quicksight.deployment import Deployment, deployment_for, ingestion_id, partition

PRINCIPAL = "arn:aws:quicksight:us-east-1:123456789012:group/default/merchandisers"


@pytest.fixture
def deployment() -> Deployment:
    settings = Settings().with_overrides(
        **{"dashboards.quicksight_principal_arn": PRINCIPAL, "athena.database": "mb_test"}
    )
    return deployment_for(settings, "123456789012")


def validate(operation: str, request: dict[str, Any]) -> None:
    qs = boto3.client("quicksight", region_name="us-east-1")
    shape = qs.meta.service_model.operation_model(operation).input_shape
    validate_parameters(request, shape)  # raises ParamValidationError with every problem


def test_ids_and_arns_derive_from_config(deployment: Deployment) -> None:
    assert deployment.data_source_id == "basket-athena"
    assert deployment.data_set_id("rules") == "basket-rules"
    assert (deployment.analysis_id, deployment.dashboard_id) == (
        "basket-analysis",
        "basket-dashboard",
    )
    assert deployment.data_set_arn("rules") == (
        "arn:aws:quicksight:us-east-1:123456789012:dataset/basket-rules"
    )
    assert partition("cn-north-1") == "aws-cn" and partition("us-gov-west-1") == "aws-us-gov"
    assert ingestion_id("20260102T010000Z-bbbbbb") == "20260102T010000Z-bbbbbb"
    assert ingestion_id("run.2026/01 x") == "run-2026-01-x"
    with pytest.raises(ValueError):
        ingestion_id("  ")


def test_deployment_needs_a_principal_and_a_valid_prefix() -> None:
    with pytest.raises(ValueError, match="quicksight_principal_arn"):
        deployment_for(Settings(), "123456789012")
    with pytest.raises(ValueError, match="quicksight_id_prefix"):
        Settings().with_overrides(**{"dashboards.quicksight_id_prefix": "bad prefix!"})


def test_data_sets_take_their_columns_from_the_schemas(deployment: Deployment) -> None:
    spec = datasets.spec("rules")
    req = datasets.data_set_request(deployment, spec)
    table = req["PhysicalTableMap"]["rules"]["CustomSql"]
    assert [c["Name"] for c in table["Columns"]] == [
        *RULES.names,
        *(c.name for c in PARTITION_COLUMNS),
    ]
    types = {c["Name"]: c["Type"] for c in table["Columns"]}
    assert types["antecedent"] == "STRING" and types["count"] == "INTEGER"
    assert types["lift"] == "DECIMAL" and types["dt"] == "STRING"
    sub_types = {c["Name"]: c.get("SubType") for c in table["Columns"]}
    assert sub_types["lift"] == "FLOAT" and sub_types["count"] is None
    assert req["ImportMode"] == "SPICE" and table["DataSourceArn"] == deployment.data_source_arn
    sql = table["SqlQuery"]
    assert 'FROM "mb_test"."latest_rules"' in sql
    assert """array_join("antecedent", ', ') AS "antecedent\"""" in sql
    assert 'CASE WHEN is_infinite("conviction") THEN NULL ELSE "conviction" END' in sql
    assert 'is_infinite("lift")' not in sql  # not nullable: finite by contract
    for s in datasets.DATA_SETS:
        sqlglot.parse_one(datasets.select_sql(s, "mb_test"), read="trino")
    with pytest.raises(KeyError, match="known"):
        datasets.spec("orders")


def test_every_request_is_valid_for_its_operation(deployment: Deployment) -> None:
    validate("CreateDataSource", datasets.data_source_request(deployment))
    for s in datasets.DATA_SETS:
        validate("CreateDataSet", datasets.data_set_request(deployment, s))
    validate("CreateAnalysis", definition.analysis_request(deployment))
    validate("CreateDashboard", definition.dashboard_request(deployment))


def test_definition_has_the_visuals_filters_and_controls(deployment: Deployment) -> None:
    d = definition.definition(deployment)
    assert [x["Identifier"] for x in d["DataSetIdentifierDeclarations"]] == [
        "itemsets",
        "rules",
        "runs",
        "rule_changes",
    ]
    visuals = d["Sheets"][0]["Visuals"]
    assert [next(iter(v)) for v in visuals] == [
        *["KPIVisual"] * 5,
        "BarChartVisual",
        "ScatterPlotVisual",
        "TableVisual",
        "LineChartVisual",
    ]
    table = next(v["TableVisual"] for v in visuals if "TableVisual" in v)
    fmt = table["ConditionalFormatting"]["ConditionalFormattingOptions"][0]["Cell"]
    assert fmt["FieldId"] == "t-lift"
    assert "{lift}" in fmt["TextFormat"]["BackgroundColor"]["Gradient"]["Expression"]
    params = {next(iter(p.values()))["Name"] for p in d["ParameterDeclarations"]}
    assert params == {"minSupport", "minConfidence", "minLift", "item", "segment", "run", "change"}
    controls = {
        next(iter(c.values()))["SourceParameterName"]
        for sheet in d["Sheets"]
        for c in sheet["ParameterControls"]
    }
    assert controls == params
    assert [s["Name"] for s in d["Sheets"]] == ["Overview", "What changed"]
    with pytest.raises(KeyError):
        definition.col("rules", "no_such_column")


def test_cli_deploy_print_calls_nothing(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BASKET_PATHS__OUTPUT_DIR", str(tmp_path / "none"))
    r = CliRunner().invoke(
        main, ["quicksight", "deploy", "--print", "--principal-arn", PRINCIPAL, "--id-prefix", "mb"]
    )
    assert r.exit_code == 0, r.output
    assert "no local run: the sliders get their default ranges" in r.stderr
    out = json.loads(r.stdout)
    assert out["data_source"]["DataSourceId"] == "mb-athena"
    assert [d["DataSetId"] for d in out["data_sets"]] == [
        "mb-itemsets",
        "mb-rules",
        "mb-runs",
        "mb-rule_changes",
    ]
    assert out["dashboard"]["DashboardId"] == "mb-dashboard"
    r = CliRunner().invoke(main, ["quicksight", "deploy", "--print"])
    assert r.exit_code != 0 and "quicksight_principal_arn" in r.output


def test_cli_deploy_sizes_the_sliders_from_the_latest_local_run(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from basket_devtools import sample_results
    from quicksight.ranges import ranges_from_local

    sample_results.write_sample(tmp_path)
    monkeypatch.setenv("BASKET_PATHS__OUTPUT_DIR", str(tmp_path))
    r = CliRunner().invoke(main, ["quicksight", "deploy", "--print", "--principal-arn", PRINCIPAL])
    assert r.exit_code == 0, r.output
    sheets = json.loads(r.stdout)["dashboard"]["Definition"]["Sheets"]
    sent = {
        c["Slider"]["SourceParameterName"]: c["Slider"]
        for sheet in sheets
        for c in sheet.get("ParameterControls", [])
        if "Slider" in c
    }
    from basket_core.config import Settings
    from basket_pipeline import stages

    run = stages.find_run(Settings().with_overrides(**{"paths.output_dir": str(tmp_path)}))
    layout = run.layout()
    want = ranges_from_local(layout.dataset("itemsets"), layout.dataset("rules")).sliders()
    assert want["lift"] != definition.DEFAULT_RANGES.sliders()["lift"]
    lift = next(v for k, v in sent.items() if "lift" in k.lower())
    assert (lift["MinimumValue"], lift["MaximumValue"], lift["StepSize"]) == (
        want["lift"].minimum,
        want["lift"].maximum,
        want["lift"].step,
    )
