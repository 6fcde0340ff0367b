"""The QuickSight calls: create-or-update of one resource, permissions, dashboard
publishing, and one poll loop with a timeout (QuickSight has no boto3 waiters).

Every call goes through :func:`basket_core.aws.session.retry_throttled` except
``create_ingestion``, whose ``LimitExceededException`` is the daily SPICE quota, not
throttling, and must not be retried.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from basket_core.aws.session import retry_throttled

log = logging.getLogger(__name__)
T = TypeVar("T")


class QuickSightError(RuntimeError):
    """A QuickSight resource or ingestion that did not reach its goal."""


@dataclass(frozen=True)
class ResourceKind:
    """One QuickSight resource type and its API operation names."""

    name: str
    id_key: str
    describe: str
    create: str
    update: str
    update_permissions: str


DATA_SOURCE = ResourceKind(
    "data source",
    "DataSourceId",
    "describe_data_source",
    "create_data_source",
    "update_data_source",
    "update_data_source_permissions",
)
DATA_SET = ResourceKind(
    "data set",
    "DataSetId",
    "describe_data_set",
    "create_data_set",
    "update_data_set",
    "update_data_set_permissions",
)
ANALYSIS = ResourceKind(
    "analysis",
    "AnalysisId",
    "describe_analysis",
    "create_analysis",
    "update_analysis",
    "update_analysis_permissions",
)
DASHBOARD = ResourceKind(
    "dashboard",
    "DashboardId",
    "describe_dashboard",
    "create_dashboard",
    "update_dashboard",
    "update_dashboard_permissions",
)


@dataclass(frozen=True)
class Upserted:
    kind: str
    resource_id: str
    action: str  # "created" or "updated"
    arn: str
    version_arn: str | None = None


def error_code(exc: BaseException) -> str:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def call(qs: Any, operation: str, **kwargs: Any) -> dict[str, Any]:
    """``qs.<operation>(**kwargs)``, retried on throttling only."""
    result: dict[str, Any] = retry_throttled(getattr(qs, operation), **kwargs)
    return result


def accepted(qs: Any, operation: str, request: dict[str, Any]) -> dict[str, Any]:
    """``request`` without the keys ``operation`` does not take (updates take fewer)."""
    op_name = qs.meta.method_to_api_mapping[operation]
    members = qs.meta.service_model.operation_model(op_name).input_shape.members
    return {k: v for k, v in request.items() if k in members}


def exists(qs: Any, kind: ResourceKind, account_id: str, resource_id: str) -> bool:
    try:
        call(qs, kind.describe, AwsAccountId=account_id, **{kind.id_key: resource_id})
    except Exception as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return False
        raise
    return True


def upsert(
    qs: Any, kind: ResourceKind, request: dict[str, Any], permissions: list[dict[str, Any]]
) -> Upserted:
    """Create the resource with ``permissions``, or update it and grant them (idempotent)."""
    account_id, resource_id = request["AwsAccountId"], request[kind.id_key]
    if not exists(qs, kind, account_id, resource_id):
        r = call(qs, kind.create, **request, Permissions=permissions)
        log.info("created %s %s", kind.name, resource_id)
        return Upserted(kind.name, resource_id, "created", str(r["Arn"]), r.get("VersionArn"))
    r = call(qs, kind.update, **accepted(qs, kind.update, request))
    call(
        qs,
        kind.update_permissions,
        AwsAccountId=account_id,
        **{kind.id_key: resource_id},
        GrantPermissions=permissions,
    )
    log.info("updated %s %s", kind.name, resource_id)
    return Upserted(kind.name, resource_id, "updated", str(r["Arn"]), r.get("VersionArn"))


def poll(
    fetch: Callable[[], T],
    done: Callable[[T], bool],
    *,
    what: str,
    interval_s: float,
    timeout_s: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Call ``fetch`` every ``interval_s`` until ``done``; :class:`TimeoutError` after
    ``timeout_s``."""
    deadline = clock() + timeout_s
    while True:
        value = fetch()
        if done(value):
            return value
        if clock() >= deadline:
            raise TimeoutError(f"{what}: not finished after {timeout_s:.0f}s")
        sleep(interval_s)


_VERSION = re.compile(r"/version/(\d+)$")


def version_number(version_arn: str) -> int:
    m = _VERSION.search(version_arn)
    if not m:
        raise QuickSightError(f"no version number in {version_arn!r}")
    return int(m.group(1))


def dashboard_version_status(qs: Any, account_id: str, dashboard_id: str, version: int) -> str:
    d = call(
        qs,
        "describe_dashboard",
        AwsAccountId=account_id,
        DashboardId=dashboard_id,
        VersionNumber=version,
    )["Dashboard"]["Version"]
    status = str(d["Status"])
    if status.endswith("FAILED"):
        errors = "; ".join(f"{e.get('Type')}: {e.get('Message')}" for e in d.get("Errors", []))
        raise QuickSightError(f"dashboard {dashboard_id} version {version} {status}: {errors}")
    return status


def publish_dashboard(
    qs: Any,
    account_id: str,
    dashboard_id: str,
    version_arn: str,
    *,
    interval_s: float,
    timeout_s: float,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Wait for a dashboard version to be built, then make it the published one."""
    version = version_number(version_arn)
    poll(
        lambda: dashboard_version_status(qs, account_id, dashboard_id, version),
        lambda s: s.endswith("SUCCESSFUL"),
        what=f"dashboard {dashboard_id} version {version}",
        interval_s=interval_s,
        timeout_s=timeout_s,
        sleep=sleep,
    )
    call(
        qs,
        "update_dashboard_published_version",
        AwsAccountId=account_id,
        DashboardId=dashboard_id,
        VersionNumber=version,
    )
    return version


def account_id(sts: Any) -> str:
    """The caller's account (used when ``dashboards.quicksight_account_id`` is unset)."""
    return str(call(sts, "get_caller_identity")["Account"])
