"""The Athena backend (PyAthena) against the moto server's Athena API.

moto does not execute SQL: the tests queue the rows Athena would return (with the column
metadata real Athena sends) and check what was sent (``?`` placeholders plus
ExecutionParameters, workgroup, output location, encryption) and what came back typed.
botocore event hooks on the client PyAthena uses stand in for Athena where moto cannot
(a failed or slow query, throttling, a second page of results).
"""

from __future__ import annotations

import json
import urllib.request
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner

from athena import pack, remote
from basket.cli import main
from basket_core.aws import athena as athena_api
from basket_core.aws.session import client
from basket_core.config import AwsConfig

WG = "primary"


def _set_results(endpoint: str, rows: list[list[str | None]], types: list[str]) -> None:
    """Queue one query's result in moto: a header row of the column names, then ``rows``;
    ColumnInfo as Athena sends it (``Precision``/``Scale``/``Nullable`` included)."""
    header = [str(v) for v in rows[0]]
    body = {
        "region": "us-east-1",
        "results": [
            {
                "rows": [
                    {"Data": [{} if v is None else {"VarCharValue": v} for v in row]}
                    for row in rows
                ],
                "column_info": [
                    {
                        "CatalogName": "hive",
                        "SchemaName": "",
                        "TableName": "",
                        "Name": n,
                        "Label": n,
                        "Type": t,
                        "Precision": 17 if t == "decimal" else 0,
                        "Scale": 4 if t == "decimal" else 0,
                        "Nullable": "UNKNOWN",
                        "CaseSensitive": t == "varchar",
                    }
                    for n, t in zip(header, types, strict=True)
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


def _target(aws: AwsConfig, **kw: Any) -> athena_api.QueryTarget:
    out = f"s3://{aws.bucket}/{aws.prefix}/_athena-results/"
    return athena_api.QueryTarget(WG, out, "analytics", poll_interval_s=0.01, **kw)


def _sent(aws: AwsConfig) -> list[dict[str, Any]]:
    """The query executions moto recorded (a plain client, no hooks)."""
    athena = client(aws, "athena")
    ids = athena.list_query_executions(WorkGroup=WG)["QueryExecutionIds"]
    return [athena.get_query_execution(QueryExecutionId=i)["QueryExecution"] for i in ids]


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
        "--workgroup", WG, "--database", "analytics",
    ]  # fmt: skip
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == [
        {"place": 1, "segment": "UK", "other_item": "tea", "together": 50}
    ]
    (q,) = _sent(moto_aws)
    assert "O'Brien" not in q["Query"] and "?" in q["Query"]
    assert q["ExecutionParameters"][0] == "'O''Brien tea'"
    assert q["QueryExecutionContext"]["Database"] == "analytics"
    assert q["ResultConfiguration"]["OutputLocation"].startswith(
        f"s3://{moto_aws.bucket}/{moto_aws.prefix}/_athena-results/"
    )
    assert q["ResultConfiguration"]["EncryptionConfiguration"] == {"EncryptionOption": "SSE_S3"}


def test_results_come_back_typed(moto_aws: AwsConfig) -> None:
    """What the old client returned as text (timestamps, dates, decimals, arrays, maps)
    comes back as Python values, converted by PyAthena's default converter (a map's
    values stay text: Athena's ColumnInfo says only ``map``, not of what)."""
    _set_results(
        str(moto_aws.endpoint_url),
        [
            ["finished_at", "dt", "lift", "support", "antecedent", "counts", "ok", "n", "note"],
            [
                "2026-01-02 03:04:05.123", "2026-01-02", "1.75", "0.0125",
                "[milk, bread]", "{milk=3, bread=2}", "true", "42", None,
            ],
            [
                "2026-01-03 00:00:00.000", "2026-01-03", "2.5", "0.5000",
                "[]", "{}", "false", "7", "x",
            ],
        ],
        ["timestamp", "date", "double", "decimal", "array", "map", "boolean", "bigint", "varchar"],
    )  # fmt: skip
    athena = athena_api.connect(moto_aws, _target(moto_aws))
    query = pack.load("run_list")
    columns, rows = remote.run(athena, query, query.bind({}))
    assert columns == [
        "finished_at", "dt", "lift", "support", "antecedent", "counts", "ok", "n", "note",
    ]  # fmt: skip
    assert rows == [
        (
            datetime(2026, 1, 2, 3, 4, 5, 123000), date(2026, 1, 2), 1.75, Decimal("0.0125"),
            ["milk", "bread"], {"milk": "3", "bread": "2"}, True, 42, None,
        ),
        (datetime(2026, 1, 3), date(2026, 1, 3), 2.5, Decimal("0.5000"), [], {}, False, 7, "x"),
    ]  # fmt: skip
    first = rows[0]
    assert isinstance(first[0], datetime) and isinstance(first[2], float)
    assert isinstance(first[4], list) and isinstance(first[3], Decimal)


def test_results_follow_next_token(moto_aws: AwsConfig) -> None:
    """The cursor pages through GetQueryResults: moto's one page is cut in two with a
    NextToken; the second page is answered from the rest."""
    rows = [["n"], *([str(i)] for i in range(5))]
    _set_results(str(moto_aws.endpoint_url), rows, ["integer"])  # type: ignore[arg-type]
    athena = athena_api.connect(moto_aws, _target(moto_aws))
    rest: list[Any] = []
    tokens: list[str | None] = []

    def cut(parsed: dict[str, Any], **_: Any) -> None:
        if "NextToken" not in parsed and not rest and len(parsed["ResultSet"]["Rows"]) > 3:
            rest.extend(parsed["ResultSet"]["Rows"][3:])
            parsed["ResultSet"]["Rows"] = parsed["ResultSet"]["Rows"][:3]
            parsed["NextToken"] = "page-2"

    def second_page(params: dict[str, Any], **_: Any) -> Any:
        token = json.loads(params["body"] or b"{}").get("NextToken")  # the serialized request
        tokens.append(token)
        if token != "page-2":
            return None
        from botocore.awsrequest import AWSResponse

        meta = {"ColumnInfo": [{"Name": "n", "Type": "integer"}]}
        page = {"ResultSet": {"Rows": rest, "ResultSetMetadata": meta}}
        return AWSResponse("", 200, {}, None), page

    events = athena.client.meta.events
    events.register("after-call.athena.GetQueryResults", cut)
    events.register("before-call.athena.GetQueryResults", second_page)
    result = athena.execute("SELECT n FROM t")
    assert result.rows == [(0,), (1,), (2,), (3,), (4,)]
    assert tokens[-1] == "page-2"


class _States:
    """Rewrites GetQueryExecution's state, as a slow or failing Athena query would."""

    def __init__(self, states: list[tuple[str, str]]) -> None:
        self.states = states

    def __call__(self, parsed: dict[str, Any], **_: Any) -> None:
        state, reason = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        parsed["QueryExecution"]["Status"] = {"State": state, "StateChangeReason": reason}


def test_failed_query_surfaces_athena_error_text(moto_aws: AwsConfig) -> None:
    athena = athena_api.connect(moto_aws, _target(moto_aws))
    states = _States(
        [("QUEUED", ""), ("RUNNING", ""), ("FAILED", "line 1:8: Column 'x' cannot be resolved")]
    )
    athena.client.meta.events.register("after-call.athena.GetQueryExecution", states)
    with pytest.raises(athena_api.AthenaQueryError, match="cannot be resolved") as err:
        athena.execute("SELECT ?", ["1"])
    assert err.value.state == "FAILED"
    (q,) = _sent(moto_aws)
    assert err.value.query_id == q["QueryExecutionId"]
    assert q["WorkGroup"] == WG and q["ExecutionParameters"] == ["1"]


def test_query_results_are_encrypted_with_the_results_key(moto_aws: AwsConfig) -> None:
    from basket_core.config import Settings

    kms = Settings().model_copy(deep=True)
    kms.aws = moto_aws.model_copy(update={"sse": "aws:kms", "kms_key_id": "arn:aws:kms:k-1"})
    kms.athena.workgroup, kms.athena.poll_interval_s = WG, 0.01
    athena_api.for_settings(kms).execute("SELECT 1")
    (q,) = _sent(moto_aws)
    assert q["ResultConfiguration"]["EncryptionConfiguration"] == {
        "EncryptionOption": "SSE_KMS",
        "KmsKey": "arn:aws:kms:k-1",
    }
    plain = Settings().model_copy(deep=True)
    plain.aws.sse = "none"  # results are copies of the data: never unencrypted
    assert dict(athena_api.QueryTarget.of(plain).encryption) == {"EncryptionOption": "SSE_S3"}


def test_query_is_cancelled_on_timeout_and_interrupt(moto_aws: AwsConfig) -> None:
    ticks = iter(range(0, 1000, 3))
    athena = athena_api.connect(moto_aws, _target(moto_aws, timeout_s=5))
    athena.clock = lambda: float(next(ticks))
    athena.client.meta.events.register(
        "after-call.athena.GetQueryExecution", _States([("RUNNING", "")])
    )
    with pytest.raises(athena_api.AthenaQueryError, match="TIMED_OUT"):
        athena.execute("SELECT 1")
    (q,) = _sent(moto_aws)
    assert q["Status"]["State"] == "CANCELLED"  # moto recorded the StopQueryExecution

    athena = athena_api.connect(moto_aws, _target(moto_aws))
    interrupted: list[bool] = []

    def interrupt_once(**_: Any) -> None:
        if not interrupted:
            interrupted.append(True)
            raise KeyboardInterrupt

    athena.client.meta.events.register("before-call.athena.GetQueryExecution", interrupt_once)
    with pytest.raises(KeyboardInterrupt):
        athena.execute("SELECT 2")
    states = {x["Query"]: x["Status"]["State"] for x in _sent(moto_aws)}
    assert states["SELECT 2"] == "CANCELLED"


def test_one_retry_policy_botocores(moto_aws: AwsConfig) -> None:
    """The client PyAthena calls retries in botocore's standard (or adaptive) mode with
    the configured attempts; PyAthena's own retry layer is off; a throttled start is sent
    exactly ``max_attempts`` times, with the same ClientRequestToken each time."""
    from pyathena.error import DatabaseError

    aws = moto_aws.model_copy(update={"max_attempts": 2})
    athena = athena_api.connect(aws, _target(aws))
    retries = athena.client.meta.config.retries
    assert retries == {"mode": "standard", "total_max_attempts": 2}
    assert athena.connection._retry_config.attempt == 1
    adaptive = moto_aws.model_copy(update={"retry_mode": "adaptive", "max_attempts": 7})
    assert athena_api.connect(adaptive, _target(adaptive)).client.meta.config.retries == {
        "mode": "adaptive",
        "total_max_attempts": 7,
    }

    tokens: list[str] = []

    def throttle(request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        tokens.append(json.loads(request.body)["ClientRequestToken"])
        body = b'{"__type": "ThrottlingException", "message": "Rate exceeded"}'
        return AWSResponse(
            request.url, 400, {"Content-Type": "application/x-amz-json-1.1"}, _Raw(body)
        )

    athena.client.meta.events.register("before-send.athena.StartQueryExecution", throttle)
    with pytest.raises(DatabaseError, match=r"ThrottlingException|Rate exceeded"):
        athena.execute("SELECT 1")
    assert len(tokens) == 2 and len(set(tokens)) == 1
    assert _sent(moto_aws) == []


class _Raw:
    """The raw stream of a canned botocore response."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body
