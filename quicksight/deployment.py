"""Everything a QuickSight deployment is named after, derived from the settings.

IDs are ``<quicksight_id_prefix>-<thing>``, so one configuration always addresses the same
resources (re-running ``deploy`` updates them) and two prefixes never collide. An
ingestion id is the run id made safe, so a retried refresh of a run finds its own
ingestion instead of starting (and paying for) a second one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from basket_core.config import Settings

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def partition(region: str) -> str:
    """The ARN partition of a region."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


@dataclass(frozen=True)
class Deployment:
    """One configuration's QuickSight resources: where they live, who owns them, what
    they read."""

    account_id: str
    region: str
    namespace: str
    principal_arn: str
    prefix: str
    database: str
    workgroup: str
    import_mode: str = "SPICE"

    @property
    def data_source_id(self) -> str:
        return f"{self.prefix}-athena"

    def data_set_id(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    @property
    def analysis_id(self) -> str:
        return f"{self.prefix}-analysis"

    @property
    def dashboard_id(self) -> str:
        return f"{self.prefix}-dashboard"

    def arn(self, resource_type: str, resource_id: str) -> str:
        return (
            f"arn:{partition(self.region)}:quicksight:{self.region}:{self.account_id}:"
            f"{resource_type}/{resource_id}"
        )

    @property
    def data_source_arn(self) -> str:
        return self.arn("datasource", self.data_source_id)

    def data_set_arn(self, name: str) -> str:
        return self.arn("dataset", self.data_set_id(name))


def ingestion_id(run_id: str) -> str:
    """A valid IngestionId (``[A-Za-z0-9_-]{1,128}``) derived from the run id."""
    safe = _UNSAFE.sub("-", run_id.strip())[:128]
    if not safe:
        raise ValueError("an ingestion id needs a run id")
    return safe


def deployment_for(settings: Settings, account_id: str) -> Deployment:
    """The configured deployment in QuickSight account ``account_id``; ValueError while
    no owner (``dashboards.quicksight_principal_arn``) is set."""
    d = settings.dashboards
    if not d.quicksight_principal_arn:
        raise ValueError(
            "set dashboards.quicksight_principal_arn (BASKET_DASHBOARDS__QUICKSIGHT_PRINCIPAL_ARN)"
            " to the QuickSight user or group that owns the resources"
        )
    return Deployment(
        account_id=account_id,
        region=settings.aws.region,
        namespace=d.quicksight_namespace,
        principal_arn=d.quicksight_principal_arn,
        prefix=d.quicksight_id_prefix,
        database=settings.athena.database,
        workgroup=settings.athena.workgroup,
        import_mode=d.quicksight_import_mode,
    )
