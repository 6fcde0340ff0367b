"""``basket powerbi export``: the .pbids file, the DSN settings and the Power Query (M)
templates, checked for structure and for content taken from the config and schemas."""

from __future__ import annotations

import configparser
import json
import re
from pathlib import Path

import sqlglot
from click.testing import CliRunner

from basket.cli import main
from basket_core.schemas import ITEMSETS, PARTITION_COLUMNS, RULE_CHANGES, RULES
from quicksight import powerbi
from quicksight.datasets import spec

ODBC = powerbi.OdbcSettings(
    dsn="mb-athena",
    region="eu-west-1",
    database="mb_prod",
    workgroup="analysts",
    output_location="s3://mb-results/athena/",
    profile="bi",
)


def m_string(text: str, name: str) -> str:
    """The value of ``name = "..."`` in an M let-expression, unescaped."""
    m = re.search(rf'^\s*{name} = "((?:[^"]|"")*)",$', text, re.M)
    assert m, f"no {name} in the query"
    return m.group(1).replace('""', '"')


def test_pbids_points_at_the_dsn() -> None:
    doc = json.loads(powerbi.pbids(ODBC))
    assert doc["version"] == "0.1"
    (conn,) = doc["connections"]
    assert conn["details"] == {
        "protocol": "odbc",
        "address": {"connectionString": "dsn=mb-athena"},
    }
    assert conn["mode"] == "Import"


def test_dsn_settings_as_ini_and_doc() -> None:
    ini = configparser.ConfigParser()
    ini.optionxform = str  # type: ignore[assignment,method-assign]
    ini.read_string(powerbi.odbc_ini(ODBC))
    section = dict(ini["mb-athena"])
    assert section == {
        "Driver": powerbi.DRIVER,
        "Description": "Market basket results in Athena database mb_prod",
        "AwsRegion": "eu-west-1",
        "Catalog": "AwsDataCatalog",
        "Schema": "mb_prod",
        "Workgroup": "analysts",
        "S3OutputLocation": "s3://mb-results/athena/",
        "AuthenticationType": "IAM Profile",
        "AWSProfile": "bi",
    }
    doc = powerbi.dsn_doc(ODBC)
    for key, value in section.items():
        assert f"| `{key}` | `{value}` |" in doc
    assert "mb-athena.pbids" in doc and "latest_rules.pq" in doc
    no_profile = powerbi.OdbcSettings("d", "us-east-1", "db", "primary", "s3://b/x/")
    assert "AWSProfile" not in powerbi.odbc_ini(no_profile)
    assert "AuthenticationType=Default Credentials" in powerbi.odbc_ini(no_profile)


def test_m_query_has_the_view_sql_and_every_column_typed() -> None:
    for name, dataset in (("rules", RULES), ("itemsets", ITEMSETS), ("rule_changes", RULE_CHANGES)):
        text = powerbi.m_query(ODBC, spec(name))
        assert text.count("let\n") == 1 and text.rstrip().endswith("in\n    Typed")
        assert m_string(text, "Dsn") == "mb-athena"
        sql = m_string(text, "Sql")
        assert f'FROM "mb_prod"."latest_{name}"' in sql
        sqlglot.parse_one(sql, read="trino")
        typed = re.findall(r'\{"(\w+)", ([\w. ]+)\}', text)
        assert [c for c, _ in typed] == [*dataset.names, *(c.name for c in PARTITION_COLUMNS)]
        types = dict(typed)
        if name == "rule_changes":
            assert types["lift_before"] == "type number" and types["count_after"] == "Int64.Type"
            continue
        assert types["support"] == "type number" and types["count"] == "Int64.Type"
        assert 'Odbc.Query("dsn=" & Dsn, Sql)' in text
    rules = m_string(powerbi.m_query(ODBC, spec("rules")), "Sql")
    assert """array_join("antecedent", ', ') AS "antecedent\"""" in rules


def test_cli_export_writes_every_file(tmp_path: Path) -> None:
    out = tmp_path / "pbi"
    r = CliRunner().invoke(
        main,
        [
            "powerbi",
            "export",
            "--out",
            str(out),
            "--dsn",
            "mb-athena",
            "--region",
            "eu-west-1",
            "--database",
            "mb_prod",
            "--bucket",
            "mb-results",
        ],
    )
    assert r.exit_code == 0, r.output
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "athena-dsn.md",
        "latest_itemsets.pq",
        "latest_rule_changes.pq",
        "latest_rules.pq",
        "mb-athena.pbids",
        "odbc.ini",
    ]
    ini = (out / "odbc.ini").read_text()
    assert "S3OutputLocation=s3://mb-results/market-basket/_athena-results/" in ini
    assert "AwsRegion=eu-west-1" in ini
    assert json.loads((out / "mb-athena.pbids").read_text())["connections"]
