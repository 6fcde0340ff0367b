"""Athena query execution: start, one poll loop with a timeout, cancel on interrupt,
and Athena's own error text (``StateChangeReason``) on failure."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from basket_core.aws.session import retry_throttled
from basket_core.layout import Target

if TYPE_CHECKING:  # pragma: no cover
    from basket_core.config import Settings

log = logging.getLogger(__name__)

TERMINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})


class AthenaQueryError(RuntimeError):
    def __init__(self, query_id: str, state: str, reason: str) -> None:
        super().__init__(f"Athena query {query_id} {state}: {reason or 'no reason given'}")
        self.query_id, self.state, self.reason = query_id, state, reason


@dataclass(frozen=True)
class QueryTarget:
    """Where queries run and where Athena writes their results."""

    workgroup: str
    output_location: str | None
    database: str | None = None
    poll_interval_s: float = 1.0
    timeout_s: float = 600.0
    encryption: tuple[tuple[str, str], ...] = (("EncryptionOption", "SSE_S3"),)
    """Athena's ``EncryptionConfiguration`` of the query results (:func:`result_encryption`)."""

    @classmethod
    def of(cls, settings: Settings) -> QueryTarget:
        """The configured workgroup and database; results under ``athena.output_location``,
        by default ``_athena-results/`` beside the published results, encrypted as the
        results are."""
        a = settings.athena
        return cls(
            workgroup=a.workgroup,
            output_location=a.output_location or f"{Target.of(settings.aws).root}/_athena-results/",
            database=a.database,
            poll_interval_s=a.poll_interval_s,
            timeout_s=a.timeout_s,
            encryption=result_encryption(settings.aws.sse, settings.aws.kms_key_id),
        )


def result_encryption(sse: str, kms_key_id: str | None) -> tuple[tuple[str, str], ...]:
    """How Athena encrypts query results: with the results' KMS key under SSE-KMS, else
    SSE-S3. Query results are copies of the data, so ``aws.sse = "none"`` still gets
    SSE-S3 (and the IAM policy denies unencrypted writes anyway)."""
    if sse == "aws:kms":
        if not kms_key_id:
            raise ValueError("aws.sse = 'aws:kms' needs aws.kms_key_id")
        return (("EncryptionOption", "SSE_KMS"), ("KmsKey", kms_key_id))
    return (("EncryptionOption", "SSE_S3"),)


@dataclass(frozen=True)
class Execution:
    query_id: str
    state: str
    reason: str


def request_token(sql: str, parameters: Sequence[str] = (), salt: str = "") -> str:
    """A deterministic ClientRequestToken: a retried start never runs a query twice."""
    h = hashlib.sha256("\x1f".join([salt, sql, *parameters]).encode()).hexdigest()
    return h[:64]


def start(
    athena: Any,
    sql: str,
    target: QueryTarget,
    parameters: Sequence[str] = (),
    token: str | None = None,
) -> str:
    kwargs: dict[str, Any] = {"QueryString": sql, "WorkGroup": target.workgroup}
    if target.database:
        kwargs["QueryExecutionContext"] = {"Database": target.database}
    if target.output_location:
        kwargs["ResultConfiguration"] = {
            "OutputLocation": target.output_location,
            "EncryptionConfiguration": dict(target.encryption),
        }
    if parameters:
        kwargs["ExecutionParameters"] = list(parameters)
    if token:
        kwargs["ClientRequestToken"] = token
    r = retry_throttled(athena.start_query_execution, **kwargs)
    return str(r["QueryExecutionId"])


def status(athena: Any, query_id: str) -> Execution:
    q = retry_throttled(athena.get_query_execution, QueryExecutionId=query_id)["QueryExecution"]
    st = q["Status"]
    return Execution(query_id, str(st["State"]), str(st.get("StateChangeReason", "")))


def wait(
    athena: Any,
    query_id: str,
    target: QueryTarget,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Execution:
    """Poll until the query ends; cancel it on timeout or Ctrl-C; raise unless it succeeded."""
    deadline = clock() + target.timeout_s
    try:
        while True:
            ex = status(athena, query_id)
            if ex.state in TERMINAL:
                break
            if clock() >= deadline:
                cancel(athena, query_id)
                raise AthenaQueryError(
                    query_id, "TIMED_OUT", f"still {ex.state} after {target.timeout_s:.0f}s"
                )
            sleep(target.poll_interval_s)
    except KeyboardInterrupt:
        cancel(athena, query_id)
        raise
    if ex.state != "SUCCEEDED":
        raise AthenaQueryError(query_id, ex.state, ex.reason)
    return ex


def cancel(athena: Any, query_id: str) -> None:
    log.warning("cancelling Athena query %s", query_id)
    try:
        retry_throttled(athena.stop_query_execution, QueryExecutionId=query_id)
    except Exception as exc:  # best effort: the original error matters more
        log.error("could not cancel %s: %s", query_id, exc)


def execute(
    athena: Any,
    sql: str,
    target: QueryTarget,
    parameters: Sequence[str] = (),
    *,
    token: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Execution:
    """Start a query and wait for it (see :func:`wait`)."""
    query_id = start(athena, sql, target, parameters, token)
    return wait(athena, query_id, target, sleep=sleep)


_CASTS: dict[str, Callable[[str], Any]] = {
    "tinyint": int,
    "smallint": int,
    "integer": int,
    "bigint": int,
    "double": float,
    "float": float,
    "real": float,
    "boolean": lambda v: v.lower() == "true",
}


def results(athena: Any, query_id: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of a finished query (numbers and booleans converted)."""
    columns: list[str] = []
    casts: list[Callable[[str], Any]] = []
    rows: list[tuple[Any, ...]] = []
    first = True
    for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id):
        rs = page["ResultSet"]
        if not columns:
            info = rs["ResultSetMetadata"]["ColumnInfo"]
            columns = [str(c["Name"]) for c in info]
            casts = [_CASTS.get(str(c["Type"]).lower(), str) for c in info]
        for row in rs.get("Rows", []):
            values = [d.get("VarCharValue") for d in row["Data"]]
            if first:  # the header row
                first = False
                if values == columns:
                    continue
            rows.append(
                tuple(None if v is None else f(v) for f, v in zip(casts, values, strict=False))
            )
    return columns, rows
