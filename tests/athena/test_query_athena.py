"""``basket query --backend athena`` against the moto server's Athena API.

moto does not execute SQL: the test registers the rows Athena would return and checks
what was sent (``?`` placeholders plus ExecutionParameters, workgroup, output location).
"""

from __future__ import annotations

import json
import urllib.request

from click.testing import CliRunner

from basket.cli import main
from basket_core.aws.session import client
from basket_core.config import AwsConfig


def _set_results(endpoint: str, rows: list[list[str]], types: list[str]) -> None:
    body = {
        "region": "us-east-1",
        "results": [
            {
                "rows": [{"Data": [{"VarCharValue": v} for v in row]} for row in rows],
                "column_info": [
                    {"Name": n, "Type": t, "CatalogName": "awsdatacatalog"}
                    for n, t in zip(rows[0], types, strict=True)
                ],
            }
        ],
    }
    req = urllib.request.Request(
        f"{endpoint}/moto-api/static/athena/query-results",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10):
        pass


def test_athena_backend_binds_parameters(moto_aws: AwsConfig) -> None:
    endpoint = str(moto_aws.endpoint_url)
    _set_results(
        endpoint,
        [["place", "segment", "other_item", "together"], ["1", "UK", "tea", "50"]],
        ["integer", "varchar", "varchar", "bigint"],
    )
    args = [
        "query", "bought_together", "--backend", "athena", "--format", "json",
        "-p", "item=O'Brien tea", "--endpoint-url", endpoint, "--bucket", moto_aws.bucket,
        "--workgroup", "primary", "--database", "analytics",
    ]  # fmt: skip
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == [
        {"place": 1, "segment": "UK", "other_item": "tea", "together": 50}
    ]
    athena = client(moto_aws, "athena")
    (qid,) = athena.list_query_executions(WorkGroup="primary")["QueryExecutionIds"]
    q = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
    assert "O'Brien" not in q["Query"] and "?" in q["Query"]
    assert q["ExecutionParameters"][0] == "'O''Brien tea'"
    assert q["ResultConfiguration"]["OutputLocation"].startswith(
        f"s3://{moto_aws.bucket}/{moto_aws.prefix}/_athena-results/"
    )
