"""How long a Spark Connect client keeps trying a server that stopped answering.

The client library retries an unreachable server (gRPC UNAVAILABLE) for over 10 minutes,
in silence, and does so again for every call that follows the failed one (the error
lookup, the release of the operation, the session's release at exit): a command whose
server was killed hung for 2 minutes and more before it failed. :class:`BoundedRetries`
keeps the library's choice of which errors to retry, waits at most about ``seconds`` in
all, and after giving up lets the calls of the next ``seconds`` fail at once, so the
command ends with one error soon after the server went away; a long-lived client (the
dashboard) retries normally again after that.
"""

from __future__ import annotations

import time

from pyspark.sql.connect.client.retries import DefaultPolicy, RetryPolicyState

FIRST_WAIT_MS = 100
LONGEST_WAIT_MS = 5_000


def retry_waits(seconds: float) -> list[int]:
    """The waits (ms) between attempts: doubling from :data:`FIRST_WAIT_MS` up to
    :data:`LONGEST_WAIT_MS`, until they add up to ``seconds``."""
    waits: list[int] = []
    wait = FIRST_WAIT_MS
    while sum(waits) < seconds * 1000:
        waits.append(wait)
        wait = min(wait * 2, LONGEST_WAIT_MS)
    return waits


class BoundedRetries(DefaultPolicy):
    """:class:`DefaultPolicy` within ``seconds`` (see the module doc)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            max_retries=len(retry_waits(seconds)),
            initial_backoff=FIRST_WAIT_MS,
            backoff_multiplier=2.0,
            max_backoff=LONGEST_WAIT_MS,
            max_server_retry_delay=int(seconds * 1000),
        )
        self.seconds = seconds
        self.gave_up_at: float | None = None

    def can_retry(self, e: BaseException) -> bool:
        if self.gave_up_at is not None and time.monotonic() - self.gave_up_at < self.seconds:
            return False
        return bool(super().can_retry(e))

    def to_state(self) -> RetryPolicyState:
        return _State(self)


class _State(RetryPolicyState):
    def __init__(self, policy: BoundedRetries) -> None:
        super().__init__(policy)
        self.bounded = policy

    def next_attempt(self, exception: BaseException | None = None) -> int | None:
        wait = super().next_attempt(exception)
        if wait is None:
            self.bounded.gave_up_at = time.monotonic()
        return wait
