"""QuickSight calls against the real moto server, for what moto implements: STS account,
data source create/describe/update, data set creation, dashboard creation and version
status, and starting an ingestion."""

from __future__ import annotations

from typing import Any

import pytest

from basket_core.aws.session import client
from basket_core.config import AwsConfig
from quicksight import api, datasets, definition
from quicksight.deployment import Deployment
from quicksight.refresh import start

PRINCIPAL = "arn:aws:quicksight:us-east-1:123456789012:user/default/alice"


@pytest.fixture
def qs(moto_aws: AwsConfig) -> Any:
    return client(moto_aws, "quicksight", max_attempts=1)


@pytest.fixture
def deployment(moto_aws: AwsConfig) -> Deployment:
    account = api.account_id(client(moto_aws, "sts"))
    return Deployment(account, moto_aws.region, "default", PRINCIPAL, "mb", "market_basket", "wg1")


def test_account_comes_from_sts(deployment: Deployment) -> None:
    assert deployment.account_id == "123456789012"


def test_data_source_is_created_then_found_and_updated(qs: Any, deployment: Deployment) -> None:
    perms = datasets.permissions(PRINCIPAL, datasets.DATA_SOURCE_ACTIONS)
    request = datasets.data_source_request(deployment)
    assert not api.exists(qs, api.DATA_SOURCE, deployment.account_id, deployment.data_source_id)
    done = api.upsert(qs, api.DATA_SOURCE, request, perms)
    assert (done.action, done.arn) == ("created", deployment.data_source_arn)
    assert api.exists(qs, api.DATA_SOURCE, deployment.account_id, deployment.data_source_id)
    got = qs.describe_data_source(
        AwsAccountId=deployment.account_id, DataSourceId=deployment.data_source_id
    )
    ds = got["DataSource"]
    assert ds["Type"] == "ATHENA"
    assert ds["DataSourceParameters"] == {"AthenaParameters": {"WorkGroup": "wg1"}}
    # the update body is the create body less what UpdateDataSource does not take
    update = api.accepted(qs, "update_data_source", request)
    assert (
        "Type" not in update and update["DataSourceParameters"] == request["DataSourceParameters"]
    )
    r = qs.update_data_source(**{**update, "Name": "renamed"})
    assert r["UpdateStatus"] == "UPDATE_SUCCESSFUL"


def test_data_sets_and_dashboard_are_accepted(qs: Any, deployment: Deployment) -> None:
    for s in datasets.DATA_SETS:
        r = api.call(
            qs,
            "create_data_set",
            **datasets.data_set_request(deployment, s),
            Permissions=datasets.permissions(PRINCIPAL, datasets.DATA_SET_ACTIONS),
        )
        assert r["DataSetId"] == deployment.data_set_id(s.name)
    done = api.upsert(
        qs,
        api.DASHBOARD,
        definition.dashboard_request(deployment),
        datasets.permissions(PRINCIPAL, definition.DASHBOARD_ACTIONS),
    )
    assert done.action == "created" and done.version_arn is not None
    version = api.version_number(done.version_arn)
    status = api.dashboard_version_status(
        qs, deployment.account_id, deployment.dashboard_id, version
    )
    assert status == "CREATION_SUCCESSFUL"
    got = qs.describe_dashboard(
        AwsAccountId=deployment.account_id, DashboardId=deployment.dashboard_id
    )
    assert got["Dashboard"]["Name"] == "mb market basket"


def test_ingestion_starts(qs: Any, deployment: Deployment) -> None:
    assert start(qs, deployment, deployment.data_set_id("rules"), "20260102T010000Z-bbbbbb") is True
