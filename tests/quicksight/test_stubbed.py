"""QuickSight calls moto does not implement (describe_data_set, analyses, dashboard
versions, describe_ingestion...), with botocore's Stubber: the exact requests, in order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from click.testing import CliRunner

from basket.cli import main
from quicksight import api, datasets, definition
from quicksight.deploy import deploy
from quicksight.deployment import Deployment
from quicksight.refresh import IngestionQuotaError, refresh

ACCOUNT = "123456789012"
PRINCIPAL = f"arn:aws:quicksight:us-east-1:{ACCOUNT}:user/default/alice"
RUN = "20260102T010000Z-bbbbbb"
DEPLOYMENT = Deployment(
    ACCOUNT, "us-east-1", "default", PRINCIPAL, "mb", "market_basket", "primary"
)
NOT_FOUND = "ResourceNotFoundException"


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s

    def clock(self) -> float:
        return self.now


@pytest.fixture
def qs() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "quicksight",
        region_name="us-east-1",
        aws_access_key_id="stub",
        aws_secret_access_key="stub",
    )
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def _perm(actions: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{"Principal": PRINCIPAL, "Actions": list(actions)}]


def _arn(kind: str, rid: str) -> str:
    return f"arn:aws:quicksight:us-east-1:{ACCOUNT}:{kind}/{rid}"


RESOURCES: list[tuple[api.ResourceKind, str, str, dict[str, Any], tuple[str, ...], str]] = [
    (
        api.DATA_SOURCE,
        "datasource",
        "DataSource",
        datasets.data_source_request(DEPLOYMENT),
        datasets.DATA_SOURCE_ACTIONS,
        "mb-athena",
    ),
    *[
        (
            api.DATA_SET,
            "dataset",
            "DataSet",
            datasets.data_set_request(DEPLOYMENT, s),
            datasets.DATA_SET_ACTIONS,
            f"mb-{s.name}",
        )
        for s in datasets.DATA_SETS
    ],
    (
        api.ANALYSIS,
        "analysis",
        "Analysis",
        definition.analysis_request(DEPLOYMENT),
        definition.ANALYSIS_ACTIONS,
        "mb-analysis",
    ),
]


def _describe_dashboard(stub: Stubber, version: int, status: str, errors: Any = ()) -> None:
    stub.add_response(
        "describe_dashboard",
        {
            "Dashboard": {
                "DashboardId": "mb-dashboard",
                "Version": {
                    "VersionNumber": version,
                    "Status": status,
                    **({"Errors": list(errors)} if errors else {}),
                },
            },
            "Status": 200,
        },
        {"AwsAccountId": ACCOUNT, "DashboardId": "mb-dashboard", "VersionNumber": version},
    )


def test_deploy_creates_everything_with_permissions(qs: tuple[Any, Stubber]) -> None:
    client, stub = qs
    for kind, arn_kind, _, request, actions, rid in RESOURCES:
        ident = {"AwsAccountId": ACCOUNT, kind.id_key: rid}
        stub.add_client_error(kind.describe, NOT_FOUND, expected_params=ident)
        stub.add_response(
            kind.create,
            {"Arn": _arn(arn_kind, rid), "Status": 202},
            {**request, "Permissions": _perm(actions)},
        )
    board = definition.dashboard_request(DEPLOYMENT)
    ident = {"AwsAccountId": ACCOUNT, "DashboardId": "mb-dashboard"}
    stub.add_client_error("describe_dashboard", NOT_FOUND, expected_params=ident)
    stub.add_response(
        "create_dashboard",
        {
            "Arn": _arn("dashboard", "mb-dashboard"),
            "VersionArn": _arn("dashboard", "mb-dashboard") + "/version/1",
            "Status": 202,
        },
        {**board, "Permissions": _perm(definition.DASHBOARD_ACTIONS)},
    )
    _describe_dashboard(stub, 1, "CREATION_IN_PROGRESS")
    _describe_dashboard(stub, 1, "CREATION_SUCCESSFUL")
    stub.add_response(
        "update_dashboard_published_version",
        {"DashboardId": "mb-dashboard", "Status": 200},
        {**ident, "VersionNumber": 1},
    )
    t = FakeTime()
    done = deploy(client, DEPLOYMENT, interval_s=2, timeout_s=60, sleep=t.sleep)
    assert [(u.kind, u.resource_id, u.action) for u in done] == [
        ("data source", "mb-athena", "created"),
        ("data set", "mb-itemsets", "created"),
        ("data set", "mb-rules", "created"),
        ("data set", "mb-runs", "created"),
        ("data set", "mb-rule_changes", "created"),
        ("analysis", "mb-analysis", "created"),
        ("dashboard", "mb-dashboard", "created"),
    ]
    assert t.sleeps == [2]


def test_deploy_again_updates_in_place_and_publishes_the_new_version(
    qs: tuple[Any, Stubber],
) -> None:
    client, stub = qs
    for kind, arn_kind, key, request, actions, rid in RESOURCES:
        ident = {"AwsAccountId": ACCOUNT, kind.id_key: rid}
        stub.add_response(kind.describe, {key: {kind.id_key: rid}, "Status": 200}, ident)
        update = {k: v for k, v in request.items() if k not in ("Type", "Tags")}
        stub.add_response(kind.update, {"Arn": _arn(arn_kind, rid), "Status": 202}, update)
        stub.add_response(
            kind.update_permissions, {"Status": 200}, {**ident, "GrantPermissions": _perm(actions)}
        )
    ident = {"AwsAccountId": ACCOUNT, "DashboardId": "mb-dashboard"}
    stub.add_response(  # it exists (at version 3)
        "describe_dashboard", {"Dashboard": {"DashboardId": "mb-dashboard"}, "Status": 200}, ident
    )
    stub.add_response(
        "update_dashboard",
        {
            "Arn": _arn("dashboard", "mb-dashboard"),
            "VersionArn": _arn("dashboard", "mb-dashboard") + "/version/4",
            "Status": 202,
        },
        definition.dashboard_request(DEPLOYMENT),
    )
    stub.add_response(
        "update_dashboard_permissions",
        {"Status": 200},
        {**ident, "GrantPermissions": _perm(definition.DASHBOARD_ACTIONS)},
    )
    _describe_dashboard(stub, 4, "UPDATE_SUCCESSFUL")
    stub.add_response(
        "update_dashboard_published_version",
        {"DashboardId": "mb-dashboard", "Status": 200},
        {**ident, "VersionNumber": 4},
    )
    done = deploy(client, DEPLOYMENT, interval_s=1, timeout_s=60, sleep=FakeTime().sleep)
    assert {u.action for u in done} == {"updated"}


_INGESTION = {
    "Arn": _arn("dataset", "mb-rules") + f"/ingestions/{RUN}",
    "IngestionId": RUN,
    "CreatedTime": datetime(2026, 1, 2, 2, 0, tzinfo=UTC),
}


def _ingestion(stub: Stubber, data_set: str, status: str, **extra: Any) -> None:
    stub.add_response(
        "describe_ingestion",
        {"Ingestion": {**_INGESTION, "IngestionStatus": status, **extra}, "Status": 200},
        {"AwsAccountId": ACCOUNT, "DataSetId": data_set, "IngestionId": RUN},
    )


def _start(stub: Stubber, data_set: str, ingestion: str = RUN) -> None:
    stub.add_response(
        "create_ingestion",
        {"IngestionId": ingestion, "IngestionStatus": "INITIALIZED", "Status": 201},
        {
            "AwsAccountId": ACCOUNT,
            "DataSetId": data_set,
            "IngestionId": ingestion,
            "IngestionType": "FULL_REFRESH",
        },
    )


DATA_SET_IDS = ["mb-itemsets", "mb-rules", "mb-runs", "mb-rule_changes"]
DONE = {"RowInfo": {"RowsIngested": 11, "RowsDropped": 0}, "IngestionTimeInSeconds": 12}


def test_refresh_starts_one_ingestion_per_data_set_and_polls(qs: tuple[Any, Stubber]) -> None:
    client, stub = qs
    for d in DATA_SET_IDS:
        _start(stub, d)
    _ingestion(stub, "mb-itemsets", "QUEUED")
    _ingestion(stub, "mb-itemsets", "RUNNING")
    _ingestion(stub, "mb-itemsets", "COMPLETED", **DONE)
    _ingestion(stub, "mb-rules", "COMPLETED", **DONE)
    _ingestion(stub, "mb-runs", "COMPLETED", **DONE)
    _ingestion(stub, "mb-rule_changes", "COMPLETED", **DONE)
    t = FakeTime()
    results = refresh(
        client, DEPLOYMENT, RUN, interval_s=5, timeout_s=60, sleep=t.sleep, clock=t.clock
    )
    assert [(r.data_set_id, r.status, r.started, r.rows_ingested) for r in results] == [
        (d, "COMPLETED", True, 11) for d in DATA_SET_IDS
    ]
    assert t.sleeps == [5, 5]


def test_refresh_of_the_same_run_waits_for_the_existing_ingestion(
    qs: tuple[Any, Stubber],
) -> None:
    client, stub = qs
    stub.add_client_error(
        "create_ingestion",
        "ResourceExistsException",
        expected_params={
            "AwsAccountId": ACCOUNT,
            "DataSetId": "mb-rules",
            "IngestionId": RUN,
            "IngestionType": "FULL_REFRESH",
        },
    )
    _ingestion(stub, "mb-rules", "COMPLETED", **DONE)
    results = refresh(client, DEPLOYMENT, RUN, names=("rules",), sleep=FakeTime().sleep)
    assert [(r.data_set_id, r.started) for r in results] == [("mb-rules", False)]


def test_a_second_attempt_gets_its_own_ingestion_id(qs: tuple[Any, Stubber]) -> None:
    client, stub = qs
    _start(stub, "mb-runs", f"{RUN}-r2")
    stub.add_response(
        "describe_ingestion",
        {"Ingestion": {**_INGESTION, "IngestionStatus": "COMPLETED"}, "Status": 200},
        {"AwsAccountId": ACCOUNT, "DataSetId": "mb-runs", "IngestionId": f"{RUN}-r2"},
    )
    refresh(client, DEPLOYMENT, RUN, attempt=2, names=("runs",), sleep=FakeTime().sleep)


def test_daily_quota_is_reported_clearly_and_not_retried(qs: tuple[Any, Stubber]) -> None:
    client, stub = qs
    stub.add_client_error(
        "create_ingestion",
        "LimitExceededException",
        "Ingestion limit exceeded for DataSet mb-itemsets",
        http_status_code=429,
    )
    with pytest.raises(IngestionQuotaError) as info:
        refresh(client, DEPLOYMENT, RUN, sleep=FakeTime().sleep)
    text = str(info.value)
    assert "mb-itemsets" in text and "quota" in text and "24 hours" in text
    assert "DIRECT_QUERY" in text


def test_failed_ingestion_raises_with_the_service_error(qs: tuple[Any, Stubber]) -> None:
    client, stub = qs
    _start(stub, "mb-rules")
    _ingestion(
        stub,
        "mb-rules",
        "FAILED",
        ErrorInfo={"Type": "SOURCE_TABLE_NOT_FOUND", "Message": "latest_rules does not exist"},
    )
    with pytest.raises(api.QuickSightError, match="SOURCE_TABLE_NOT_FOUND: latest_rules"):
        refresh(client, DEPLOYMENT, RUN, names=("rules",), sleep=FakeTime().sleep)


def test_timeout_cancels_the_unfinished_ingestions(qs: tuple[Any, Stubber]) -> None:
    client, stub = qs
    for d in ("mb-itemsets", "mb-rules"):
        _start(stub, d)
    for _ in range(4):  # t = 0, 10, 20, 30: still running at the 30 s deadline
        _ingestion(stub, "mb-itemsets", "RUNNING")
    for d in ("mb-itemsets", "mb-rules"):
        stub.add_response(
            "cancel_ingestion",
            {"IngestionId": RUN, "Status": 200},
            {"AwsAccountId": ACCOUNT, "DataSetId": d, "IngestionId": RUN},
        )
    t = FakeTime()
    with pytest.raises(api.QuickSightError, match="timed out"):
        refresh(
            client,
            DEPLOYMENT,
            RUN,
            names=("itemsets", "rules"),
            interval_s=10,
            timeout_s=30,
            sleep=t.sleep,
            clock=t.clock,
        )
    assert t.now == 30


def test_direct_query_has_nothing_to_refresh(qs: tuple[Any, Stubber]) -> None:
    from dataclasses import replace

    with pytest.raises(api.QuickSightError, match="nothing to refresh"):
        refresh(qs[0], replace(DEPLOYMENT, import_mode="DIRECT_QUERY"), RUN)


def test_cli_refresh_and_quota_message(
    qs: tuple[Any, Stubber], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    client, stub = qs
    monkeypatch.setattr("basket.commands.quicksight.clients", lambda settings: (client, None))
    args = [
        "quicksight",
        "refresh",
        "--account-id",
        ACCOUNT,
        "--principal-arn",
        PRINCIPAL,
        "--id-prefix",
        "mb",
        "--run-id",
        RUN,
        "--data-set",
        "rules",
    ]
    _start(stub, "mb-rules")
    _ingestion(stub, "mb-rules", "COMPLETED", **DONE)
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert f"mb-rules: COMPLETED (started, ingestion {RUN}, 11 rows, 0 dropped)" in r.output
    stub.add_client_error("create_ingestion", "LimitExceededException", "limit")
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 1 and "quota is used up" in r.output
    r = CliRunner().invoke(main, [*args[:-4], "--output", str(tmp_path)])
    assert r.exit_code == 1 and "no --run-id given" in r.output
