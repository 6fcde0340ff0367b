"""``basket quicksight refresh``: one SPICE ingestion per data set, waited for together.

The ingestion id follows :func:`attempt_id`, so a retried refresh of the same run waits
for the ingestion it already started instead of starting, and paying quota for, another. SPICE allows a limited number of ingestions per
data set in 24 hours; hitting it raises :class:`IngestionQuotaError` with what to do.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from quicksight import api
from quicksight.datasets import DATA_SETS
from quicksight.deployment import Deployment, ingestion_id

log = logging.getLogger(__name__)
TERMINAL = frozenset({"COMPLETED", "FAILED", "CANCELLED"})
DATA_SET_NAMES = tuple(s.name for s in DATA_SETS)


class IngestionQuotaError(api.QuickSightError):
    """The daily SPICE ingestion quota of a data set is used up."""


@dataclass(frozen=True)
class Ingestion:
    data_set_id: str
    ingestion_id: str
    status: str
    started: bool  # False: this run's ingestion already existed
    rows_ingested: int | None = None
    rows_dropped: int | None = None
    seconds: int | None = None
    error: str = ""


def attempt_id(run_id: str, attempt: int = 1, mined_at: str | None = None) -> str:
    """The one SPICE ingestion-id policy, used by ``basket quicksight refresh`` and the DAG:
    ``<run id>[-<8 hex of when the run was mined>][-r<attempt>]``.

    The same mined run and attempt give the same id, so a retry that keeps its attempt
    number waits for the ingestion it started (QuickSight refuses a second one with that
    id); a re-mined run (a re-run of its day) or a later attempt (the CLI's ``--attempt``,
    the DAG task's try number, after a failed ingestion) gets a new one.
    """
    if attempt < 1:
        raise ValueError(f"attempt must be >= 1, got {attempt}")
    base = run_id
    if mined_at:
        base = f"{run_id}-{hashlib.sha1(mined_at.encode()).hexdigest()[:8]}"
    return ingestion_id(base if attempt == 1 else f"{base}-r{attempt}")


def start(qs: Any, deployment: Deployment, data_set_id: str, ingestion: str) -> bool:
    """Start a full refresh; False when this ingestion id exists already. Not retried."""
    try:
        qs.create_ingestion(
            AwsAccountId=deployment.account_id,
            DataSetId=data_set_id,
            IngestionId=ingestion,
            IngestionType="FULL_REFRESH",
        )
    except Exception as exc:
        code = api.error_code(exc)
        if code == "ResourceExistsException":
            log.info("ingestion %s of %s exists already; waiting for it", ingestion, data_set_id)
            return False
        if code == "LimitExceededException":
            raise IngestionQuotaError(
                f"QuickSight refused a new SPICE ingestion of data set {data_set_id}: its "
                f"ingestion quota is used up ({exc}). SPICE data sets can be refreshed only "
                "a limited number of times in 24 hours (32 on Enterprise edition, 8 on "
                "Standard). Retry after the window has passed, or set "
                "dashboards.quicksight_import_mode = 'DIRECT_QUERY' to query Athena live."
            ) from exc
        raise
    return True


def describe(qs: Any, deployment: Deployment, data_set_id: str, ingestion: str) -> dict[str, Any]:
    r = api.call(
        qs,
        "describe_ingestion",
        AwsAccountId=deployment.account_id,
        DataSetId=data_set_id,
        IngestionId=ingestion,
    )
    result: dict[str, Any] = r["Ingestion"]
    return result


def cancel(qs: Any, deployment: Deployment, data_set_id: str, ingestion: str) -> None:
    log.warning("cancelling ingestion %s of %s", ingestion, data_set_id)
    try:
        api.call(
            qs,
            "cancel_ingestion",
            AwsAccountId=deployment.account_id,
            DataSetId=data_set_id,
            IngestionId=ingestion,
        )
    except Exception as exc:  # best effort: the timeout is the error that matters
        log.error("could not cancel ingestion %s of %s: %s", ingestion, data_set_id, exc)


def _result(data_set_id: str, ing: dict[str, Any], started: bool) -> Ingestion:
    rows = ing.get("RowInfo", {})
    err = ing.get("ErrorInfo", {})
    return Ingestion(
        data_set_id=data_set_id,
        ingestion_id=str(ing.get("IngestionId", "")),
        status=str(ing["IngestionStatus"]),
        started=started,
        rows_ingested=rows.get("RowsIngested"),
        rows_dropped=rows.get("RowsDropped"),
        seconds=ing.get("IngestionTimeInSeconds"),
        error=f"{err.get('Type', '')}: {err.get('Message', '')}" if err else "",
    )


def refresh(
    qs: Any,
    deployment: Deployment,
    run_id: str,
    *,
    attempt: int = 1,
    mined_at: str | None = None,
    names: tuple[str, ...] = DATA_SET_NAMES,
    interval_s: float = 10.0,
    timeout_s: float = 1800.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[Ingestion]:
    """Start every data set's ingestion, then wait for all of them (one deadline).

    Raises :class:`api.QuickSightError` if one failed or was cancelled, or on timeout
    (after cancelling the unfinished ones); Ctrl-C cancels them too.
    """
    if deployment.import_mode != "SPICE":
        raise api.QuickSightError("the data sets query Athena directly: nothing to refresh")
    ingestion = attempt_id(run_id, attempt, mined_at)
    data_set_ids = [deployment.data_set_id(n) for n in names]
    started = {d: start(qs, deployment, d, ingestion) for d in data_set_ids}
    deadline = clock() + timeout_s
    results: list[Ingestion] = []
    pending = list(data_set_ids)
    try:
        while pending:
            d = pending[0]
            ing = api.poll(
                partial(describe, qs, deployment, d, ingestion),
                lambda i: str(i["IngestionStatus"]) in TERMINAL,
                what=f"ingestion {ingestion} of {d}",
                interval_s=interval_s,
                timeout_s=max(0.0, deadline - clock()),
                sleep=sleep,
                clock=clock,
            )
            results.append(_result(d, ing, started[d]))
            pending.pop(0)
    except (TimeoutError, KeyboardInterrupt) as exc:
        for d in pending:
            cancel(qs, deployment, d, ingestion)
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise api.QuickSightError(f"SPICE refresh timed out: {exc}") from exc
    failed = [r for r in results if r.status != "COMPLETED"]
    if failed:
        detail = "; ".join(f"{r.data_set_id} {r.status} {r.error}".strip() for r in failed)
        raise api.QuickSightError(f"SPICE refresh did not complete: {detail}")
    return results
