"""boto3 sessions and clients built from settings, and a throttling-only retry helper.

Every client retries with botocore's own policy (:func:`client_config`: ``aws.retry_mode``,
``aws.max_attempts``). Athena calls (:mod:`basket_core.aws.athena`) rely on it alone;
:func:`retry_throttled` is a slower whole-operation layer still used by the Glue,
QuickSight and publish calls.

Credentials come only from the standard chain (environment, profile, instance role);
nothing here reads or stores a key. ``endpoint_url`` points every client at an
S3-compatible or moto endpoint.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    import boto3
    from botocore.config import Config

    from basket_core.config import AwsConfig

log = logging.getLogger(__name__)

T = TypeVar("T")

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "EC2ThrottledException",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "PriorRequestNotComplete",
    }
)


def session(aws: AwsConfig) -> boto3.Session:
    """A boto3 session for the configured profile and region."""
    import boto3

    return boto3.Session(profile_name=aws.profile, region_name=aws.region)


def client_config(aws: AwsConfig, *, max_attempts: int | None = None) -> Config:
    """The botocore config of every client: region, and the one retry policy of AWS
    calls — botocore's ``aws.retry_mode`` (``standard``: exponential backoff with jitter
    on throttling, transient errors and dropped connections; ``adaptive`` adds client-side
    rate limiting) with ``aws.max_attempts`` attempts per call, the first included.
    ``max_attempts`` overrides the setting (``1``: no retry, for calls a caller polls)."""
    from botocore.config import Config

    attempts = aws.max_attempts if max_attempts is None else max_attempts
    return Config(
        region_name=aws.region,
        retries={"mode": aws.retry_mode, "total_max_attempts": attempts},
        user_agent_extra="basket-pipeline",
    )


def client(aws: AwsConfig, service: str, *, max_attempts: int | None = None) -> Any:
    """A client for ``service`` honouring ``endpoint_url``, region and profile, retrying
    as :func:`client_config` says."""
    config = client_config(aws, max_attempts=max_attempts)
    sess: Any = session(aws)  # Any: the stubs overload client() per literal service name
    return sess.client(service, endpoint_url=aws.endpoint_url, config=config)


def is_throttling(exc: BaseException) -> bool:
    """True for an AWS error that means "slow down" (never for auth or validation errors)."""
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        return code in THROTTLING_CODES
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and is_throttling(cause)


def backoff_delays(attempts: int, *, base: float = 0.5, cap: float = 20.0) -> list[float]:
    """Full-jitter exponential backoff upper bounds for ``attempts - 1`` retries."""
    return [min(cap, base * 2**n) for n in range(max(0, attempts - 1))]


def retry_throttled(
    fn: Callable[..., T],
    *args: Any,
    attempts: int = 5,
    base: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
    **kwargs: Any,
) -> T:
    """Call ``fn(*args, **kwargs)``, retrying with jittered backoff only on throttling."""
    delays = backoff_delays(attempts, base=base)
    for n in range(attempts):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if n == attempts - 1 or not is_throttling(exc):
                raise
            delay = random.uniform(0, delays[n])
            log.warning("throttled (%s); retry %d/%d in %.1fs", exc, n + 1, attempts - 1, delay)
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
