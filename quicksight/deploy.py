"""``basket quicksight deploy``: data source, data sets, analysis and dashboard, each
created or updated in place (running it twice changes nothing but versions)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from quicksight import api, datasets, definition
from quicksight.deployment import Deployment
from quicksight.ranges import DEFAULT_RANGES, DataRanges


def deploy(
    qs: Any,
    deployment: Deployment,
    *,
    interval_s: float = 5.0,
    timeout_s: float = 600.0,
    sleep: Callable[[float], None] = time.sleep,
    ranges: DataRanges = DEFAULT_RANGES,
) -> list[api.Upserted]:
    """Deploy everything in dependency order; the dashboard's new version is published.
    The sliders span ``ranges``: the run being deployed
    (:func:`quicksight.ranges.ranges_from_local` or :func:`quicksight.ranges.data_ranges`)."""
    owner = deployment.principal_arn
    done = [
        api.upsert(
            qs,
            api.DATA_SOURCE,
            datasets.data_source_request(deployment),
            datasets.permissions(owner, datasets.DATA_SOURCE_ACTIONS),
        )
    ]
    for spec in datasets.DATA_SETS:
        done.append(
            api.upsert(
                qs,
                api.DATA_SET,
                datasets.data_set_request(deployment, spec),
                datasets.permissions(owner, datasets.DATA_SET_ACTIONS),
            )
        )
    done.append(
        api.upsert(
            qs,
            api.ANALYSIS,
            definition.analysis_request(deployment, ranges),
            datasets.permissions(owner, definition.ANALYSIS_ACTIONS),
        )
    )
    board = api.upsert(
        qs,
        api.DASHBOARD,
        definition.dashboard_request(deployment, ranges=ranges),
        datasets.permissions(owner, definition.DASHBOARD_ACTIONS),
    )
    done.append(board)
    if board.version_arn:
        api.publish_dashboard(
            qs,
            deployment.account_id,
            deployment.dashboard_id,
            board.version_arn,
            interval_s=interval_s,
            timeout_s=timeout_s,
            sleep=sleep,
        )
    return done
