"""How fast the purge targets call AWS: paced, retried calls through a shared control plane, and
the S3 purge's delete rate.

Lambda's control plane (about 15 requests/s per account and region, shared with every deploy),
EC2's mutating-call bucket and CloudWatch Logs' DescribeLogStreams/DeleteLogStream quotas are
account-wide: a housekeeping job must stay well below them, not race deploys for them.

`TokenBucket` spaces requests to a steady rate. `PacedClient` wraps a boto3 client: every attempt
of every call takes a token first (retries included, because AWS counts them too), is counted in the
report's `api_calls`, and is retried on throttling or a transient server error with capped,
fully jittered exponential back-off. Clients are built with botocore's own retries off
(`max_attempts=1`) so this is the only retry layer and the bucket sees every request.

Pages are fetched by hand with each API's own token names rather than through botocore
paginators: a paginator gives up on the first throttled page, while here each page request is
paced and retried on its own and a stopped run can hand the token on as a cursor.

S3 has no such account-wide budget but a per-prefix one that grows with load: `Pacer` leaves the
S3 purge's deletes unpaced until the first SlowDown, then keeps them just under what the prefix
takes (botocore's standard retries resend the throttled call itself).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

# Error codes AWS uses for "slow down" across Lambda, EC2, CloudWatch Logs and the tagging API.
THROTTLING = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "EC2ThrottledException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
    }
)
TRANSIENT_STATUS = frozenset({500, 502, 503, 504})


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class RealClock:
    """Wall-clock time; tests pass a fake one so no test waits or measures real time."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class TokenBucket:
    """At most `rate` requests per second on average, with bursts of at most `burst`."""

    def __init__(self, rate: float, burst: float = 1.0, clock: Clock | None = None) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate!r}")
        self.rate, self.burst = rate, burst
        self.clock = clock or RealClock()
        self._tokens = burst
        self._last = self.clock.monotonic()

    def take(self) -> None:
        now = self.clock.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1:
            self._tokens -= 1
            return
        wait = (1 - self._tokens) / self.rate
        self.clock.sleep(wait)
        # The token that accrued while we slept is spent on this request.
        self._tokens, self._last = 0.0, now + wait


class Pacer:
    """Deletes per second for the prefix: unpaced until S3 answers SlowDown, then additive
    increase and multiplicative decrease around what the prefix takes (TCP's rule, as S3's
    "reached gradually" scaling asks). One instance per run: nothing outlives an invocation."""

    BASELINE = 3500.0  # keys/s S3 documents per prefix: where pacing starts
    FLOOR = 1000.0  # below this a run would not drain its in-flight batches within the reserve
    DECREASE = 0.85
    INCREASE = 0.02  # of the rate, per 1,000 keys deleted

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate: float | None = None
        self._clock, self._sleep = clock, sleep
        self._next = 0.0
        self._last_cut = float("-inf")
        self._lock = threading.Lock()

    def wait(self, keys: int) -> None:
        with self._lock:
            if self.rate is None:
                return
            now = self._clock()
            start = max(self._next, now)
            self._next = start + keys / self.rate
        if start > now:
            self._sleep(start - now)

    def slow_down(self) -> None:
        with self._lock:
            now = self._clock()
            if now - self._last_cut < 1.0:  # SlowDowns of calls in flight together are one signal
                return
            self._last_cut = now
            self.rate = (
                self.BASELINE if self.rate is None else max(self.FLOOR, self.rate * self.DECREASE)
            )

    def success(self, keys: int) -> None:
        with self._lock:
            if self.rate is not None:
                self.rate += self.rate * self.INCREASE * keys / 1000


def is_transient(exc: Exception) -> bool:
    """Throttling, a 5xx, or a dropped connection: worth another paced attempt."""
    from botocore.exceptions import ClientError, ConnectionError, ReadTimeoutError

    if isinstance(exc, (ConnectionError, ReadTimeoutError)):
        return True
    if not isinstance(exc, ClientError):
        return False
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return error_code(exc) in THROTTLING or status in TRANSIENT_STATUS


def error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code") or type(exc).__name__)


def operation_name(method: str) -> str:
    """`list_versions_by_function` -> `ListVersionsByFunction`, as the API and metrics name it."""
    return "".join(part[:1].upper() + part[1:] for part in method.split("_"))


@dataclass
class PacedClient:
    """A boto3 client whose calls are paced, counted and retried (see the module docstring)."""

    client: Any
    counts: Counter[str]
    bucket: TokenBucket | None = None
    clock: Clock = field(default_factory=RealClock)
    attempts: int = 8
    base_delay: float = 0.25
    max_delay: float = 20.0
    rng: random.Random = field(default_factory=random.Random)
    retries: Counter[str] = field(default_factory=Counter)  # transient error code -> count

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        op = operation_name(method)
        for attempt in range(1, self.attempts + 1):
            if self.bucket is not None:
                self.bucket.take()
            self.counts[op] += 1
            try:
                result: dict[str, Any] = getattr(self.client, method)(**params)
                return result
            except Exception as exc:
                if attempt == self.attempts or not is_transient(exc):
                    raise
                self.retries[error_code(exc)] += 1
            self.clock.sleep(self.backoff(attempt))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max_delay, base * 2**attempt)]."""
        return self.rng.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))

    def pages(
        self,
        method: str,
        *,
        token: str = "Marker",
        next_token: str = "NextMarker",
        start: str | None = None,
        **params: Any,
    ) -> Iterator[dict[str, Any]]:
        """Every page of a listing, from `start` (a token) on; stops when no token comes back."""
        current = start
        while True:
            extra = {token: current} if current else {}
            page = self.call(method, **params, **extra)
            yield page
            current = page.get(next_token)
            if not current:
                return

    def items(self, method: str, key: str, **pages: Any) -> Iterator[dict[str, Any]]:
        """The entries under `key` of every page of a listing (`pages` as for `pages`)."""
        for page in self.pages(method, **pages):
            yield from page[key]


def client(service: str) -> Any:
    """The shared lazily built client for `service`, its retries left to `PacedClient`."""
    from functions.runtime import aws

    return aws.client(service, max_attempts=1)
