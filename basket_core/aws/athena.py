"""Athena through PyAthena: one connection per :class:`QueryTarget`, queries run with
PyAthena's cursor (start, poll, cancel on Ctrl-C, results paged with ``NextToken`` and
typed by its default converter: ``timestamp`` -> ``datetime``, ``decimal`` -> ``Decimal``,
``array``/``map``/``row`` -> ``list``/``dict``, numbers and booleans), a timeout that
cancels the query, and Athena's own error text (``StateChangeReason``) on failure.

One retry policy: botocore's (``aws.retry_mode``, ``aws.max_attempts``,
:func:`basket_core.aws.session.client_config`) on the client PyAthena uses; PyAthena's own
retry layer is switched off (:data:`NO_RETRIES`). A retried ``StartQueryExecution`` keeps
the ``ClientRequestToken`` botocore generated for the call, so it never runs a query twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from basket_core.layout import Target

if TYPE_CHECKING:  # pragma: no cover
    from pyathena.connection import Connection
    from pyathena.cursor import Cursor
    from pyathena.model import AthenaQueryExecution

    from basket_core.config import AwsConfig, Settings

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
class Result:
    """A finished query: its id, column names and typed rows (empty for DDL)."""

    query_id: str
    columns: list[str]
    rows: list[tuple[Any, ...]]


class _TimedOut(Exception):
    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state


def no_retries() -> Any:
    """PyAthena's retry layer switched off (one attempt): botocore's retries are the only
    ones."""
    from pyathena.util import RetryConfig

    return RetryConfig(attempt=1)


class Athena:
    """Queries on one :class:`QueryTarget` through a PyAthena connection
    (:func:`connect` builds both)."""

    def __init__(
        self,
        connection: Connection[Any],
        target: QueryTarget,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.connection, self.target, self.clock = connection, target, clock

    @property
    def client(self) -> Any:
        """The boto3 Athena client every call goes through."""
        return self.connection.client

    def execute(self, sql: str, parameters: Sequence[str] = ()) -> Result:
        """Run ``sql`` (``?`` placeholders bound server-side to ``parameters``, Athena's
        ExecutionParameters) and wait for it; its typed rows. Cancels the query after
        ``timeout_s`` or on Ctrl-C; raises :class:`AthenaQueryError` unless it succeeded."""
        from pyathena.error import OperationalError

        deadline = self.clock() + self.target.timeout_s
        last: dict[str, AthenaQueryExecution] = {}

        def on_poll(execution: Any) -> None:
            last["ex"] = execution
            if execution.state not in TERMINAL and self.clock() >= deadline:
                raise _TimedOut(str(execution.state))

        cursor: Cursor = self.connection.cursor(on_poll=on_poll)
        try:
            cursor.execute(sql, list(parameters) or None, paramstyle="qmark")
        except _TimedOut as t:
            query_id = str(cursor.query_id)
            self._cancel(query_id)
            raise AthenaQueryError(
                query_id, "TIMED_OUT", f"still {t.state} after {self.target.timeout_s:.0f}s"
            ) from None
        except OperationalError as exc:
            ex = last.get("ex")
            if ex is None or cursor.query_id is None:
                raise
            raise AthenaQueryError(
                str(cursor.query_id), str(ex.state), str(ex.state_change_reason or "")
            ) from exc
        try:
            columns = [str(d[0]) for d in cursor.description or []]
            rows = [tuple(r) for r in cursor.fetchall()]
        finally:
            cursor.close()
        return Result(str(cursor.query_id), columns, rows)

    def _cancel(self, query_id: str) -> None:
        log.warning("cancelling Athena query %s", query_id)
        try:
            self.client.stop_query_execution(QueryExecutionId=query_id)
        except Exception as exc:  # best effort: the original error matters more
            log.error("could not cancel %s: %s", query_id, exc)


def connect(aws: AwsConfig, target: QueryTarget) -> Athena:
    """A PyAthena connection to ``target`` with the configured region, profile and
    endpoint (a moto server in tests), the results written under
    ``target.output_location`` with ``target.encryption``, botocore's retries only."""
    import pyathena

    from basket_core.aws.session import client_config, session

    encryption = dict(target.encryption)
    connection = pyathena.connect(
        s3_staging_dir=target.output_location or "",
        region_name=aws.region,
        work_group=target.workgroup or "",
        schema_name=target.database,
        poll_interval=target.poll_interval_s,
        encryption_option=encryption.get("EncryptionOption"),
        kms_key=encryption.get("KmsKey"),
        session=session(aws),
        config=client_config(aws),
        endpoint_url=aws.endpoint_url,
        retry_config=no_retries(),
        kill_on_interrupt=True,
    )
    return Athena(connection, target)


def for_settings(settings: Settings) -> Athena:
    """:func:`connect` to the configured target (:meth:`QueryTarget.of`)."""
    return connect(settings.aws, QueryTarget.of(settings))
