"""Retries, the per-request deadline and the circuit breaker that protect calls to VSee."""

from __future__ import annotations

import contextlib
import contextvars
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum

from ._errors import UpstreamUnavailable

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


class CircuitBreaker:
    """After ``threshold`` failures in a row, fail fast for ``cooldown`` seconds, then probe.

    While open, callers get ``UPSTREAM_UNAVAILABLE`` at once instead of piling onto a VSee that
    is down; after the cool-down one probe call goes through, and its outcome closes or reopens.
    """

    def __init__(
        self,
        threshold: int = 5,
        cooldown: float = 10.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[BreakerState], None] | None = None,
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._on_change = on_change
        self._failures = 0
        self._opened_at = 0.0
        self._state = BreakerState.CLOSED
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.cooldown:
            self._set(BreakerState.HALF_OPEN)
        return self._state

    def before_call(self) -> None:
        state = self.state
        if state is BreakerState.OPEN or (state is BreakerState.HALF_OPEN and self._probing):
            raise UpstreamUnavailable("VSee is unavailable right now; try again shortly")
        if state is BreakerState.HALF_OPEN:
            self._probing = True

    def record_success(self) -> None:
        self._failures = 0
        self._probing = False
        if self._state is not BreakerState.CLOSED:
            self._set(BreakerState.CLOSED)

    def record_failure(self) -> None:
        self._failures += 1
        was_probe = self._probing
        self._probing = False
        if was_probe or self._failures >= self.threshold:
            self._opened_at = self._clock()
            self._set(BreakerState.OPEN)

    def _set(self, state: BreakerState) -> None:
        if state is not self._state:
            self._state = state
            if self._on_change is not None:
                self._on_change(state)
