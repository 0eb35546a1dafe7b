"""Retries, the per-request deadline and the circuit breaker that protect calls to VSee."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from enum import Enum

from ._errors import Overloaded, UpstreamUnavailable

# Set by the HTTP layer for each incoming request; read by every upstream call made for it.
request_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "request_deadline", default=None
)
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


@contextlib.contextmanager
def deadline_scope(seconds: float | None) -> Iterator[None]:
    """Every upstream call inside this block must finish within ``seconds`` from now."""
    token = request_deadline.set(None if seconds is None else time.monotonic() + seconds)
    try:
        yield
    finally:
        request_deadline.reset(token)


def remaining() -> float | None:
    deadline = request_deadline.get()
    return None if deadline is None else deadline - time.monotonic()


@dataclass(frozen=True, slots=True)
class Retry:
    """How reads are retried; writes never are (a retried booking could book twice)."""

    attempts: int = 3
    backoff: float = 0.05
    max_backoff: float = 1.0
    statuses: frozenset[int] = frozenset({502, 503, 504})

    def delay(self, attempt: int) -> float:
        """Capped exponential backoff with full jitter, so retries from many callers spread out."""
        return random.uniform(0, min(self.max_backoff, self.backoff * (2**attempt)))


class BreakerState(Enum):
    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class Failure(Enum):
    """Which of VSee's failures a call saw; the caller's own budget is never one of them."""

    # Could not connect, or the connection broke / went silent: VSee (or the path) is sick.
    CONNECTION = "connection"
    # VSee answered, badly (5xx, or a 2xx that is not its envelope).
    ANSWER = "answer"


# Answer failures are remembered per scope for at most this many scopes; beyond it the
# counts start over, which can only delay opening, never let one caller open the breaker.
_MAX_SCOPES = 1024


class CircuitBreaker:
    """Fail fast while VSee is down, then let one probe call find out whether it is back.

    Opens after ``threshold`` connection-level failures in a row, or after ``threshold``
    answered failures (5xx, bad bodies) seen across at least ``min_scopes`` credential scopes:
    a 500 that one caller provokes with its own parameters is that caller's failure, so one
    caller alone can never open the breaker that every account shares.

    After ``cooldown`` one probe is let through. The probe is a lease: it ends with
    ``record_success``/``record_failure``, or ``release`` (the call never reached VSee, was
    cancelled, or hit the caller's deadline), and it expires on its own after ``probe_ttl``
    seconds, so a probe that vanished can never keep the breaker half-open.
    """

    def __init__(
        self,
        threshold: int = 5,
        cooldown: float = 10.0,
        *,
        min_scopes: int = 2,
        probe_ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[BreakerState], None] | None = None,
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.min_scopes = min_scopes
        self.probe_ttl = probe_ttl
        self._clock = clock
        self._on_change = on_change
        self._connection_failures = 0
        self._answer_failures: dict[str, int] = {}
        self._opened_at = 0.0
        self._state = BreakerState.CLOSED
        self._probe = 0  # ticket of the probe in flight, 0 when none
        self._probe_until = 0.0
        self._tickets = 0
        self.openings = 0
        self.recoveries = 0

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.cooldown:
            self._set(BreakerState.HALF_OPEN)
        return self._state

    def before_call(self) -> int:
        """Admit a call or raise; returns the probe's ticket (0 when the call is no probe)."""
        state = self.state
        if state is BreakerState.CLOSED:
            return 0
        if state is BreakerState.HALF_OPEN and (
            self._probe == 0 or self._clock() >= self._probe_until
        ):
            self._tickets += 1
            self._probe = self._tickets
            self._probe_until = self._clock() + self.probe_ttl
            return self._probe
        raise UpstreamUnavailable("VSee is unavailable right now; try again shortly")

    def release(self, ticket: int) -> None:
        """The call ended without telling anything about VSee; let the next caller probe."""
        if ticket and ticket == self._probe:
            self._probe = 0

    def record_success(self, ticket: int = 0) -> None:
        self._connection_failures = 0
        self._answer_failures.clear()
        self.release(ticket)
        if self._state is not BreakerState.CLOSED:
            self.recoveries += 1
            self._set(BreakerState.CLOSED)

    def record_failure(
        self, ticket: int = 0, *, kind: Failure = Failure.CONNECTION, scope: str | None = None
    ) -> None:
        was_probe = bool(ticket) and ticket == self._probe
        self.release(ticket)
        if was_probe:
            self._open()
            return
        if kind is Failure.CONNECTION:
            self._connection_failures += 1
            if self._connection_failures >= self.threshold:
                self._open()
            return
        key = scope or "-"
        if key not in self._answer_failures and len(self._answer_failures) >= _MAX_SCOPES:
            self._answer_failures.clear()
        self._answer_failures[key] = self._answer_failures.get(key, 0) + 1
        if (
            len(self._answer_failures) >= self.min_scopes
            and sum(self._answer_failures.values()) >= self.threshold
        ):
            self._open()

    def _open(self) -> None:
        self._connection_failures = 0
        self._answer_failures.clear()
        self._opened_at = self._clock()
        if self._state is not BreakerState.OPEN:
            self.openings += 1
        self._set(BreakerState.OPEN)

    def _set(self, state: BreakerState) -> None:
        if state is not self._state:
            self._state = state
            if self._on_change is not None:
                self._on_change(state)


class Bulkhead:
    """At most ``limit`` upstream calls in flight per process; the rest wait their turn.

    The wait counts against the caller's own deadline, never against VSee: a call that cannot
    get a slot in time is refused as ``OVERLOADED`` and the breaker never hears of it. More than
    ``max_queue`` waiting calls are refused at once, so a burst cannot queue without bound.
    """

    def __init__(self, limit: int = 100, max_queue: int = 10_000) -> None:
        self.limit = limit
        self.max_queue = max_queue
        self.in_flight = 0
        self.waiting = 0
        self._semaphore: asyncio.Semaphore | None = None

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.limit)
        semaphore = self._semaphore
        if semaphore.locked():
            if self.waiting >= self.max_queue:
                raise Overloaded("the gateway is busy; try again shortly", retry_after=1)
            left = remaining()
            self.waiting += 1
            try:
                async with asyncio.timeout(None if left is None else max(left, 0.0)):
                    await semaphore.acquire()
            except TimeoutError:
                raise Overloaded(
                    "the gateway is busy and this request ran out of time waiting for VSee; "
                    "try again shortly",
                    retry_after=1,
                ) from None
            finally:
                self.waiting -= 1
        else:
            await semaphore.acquire()
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1
            semaphore.release()
