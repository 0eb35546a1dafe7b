"""The async cache interface every backend (memory, Redis) implements, and its contract."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class AsyncCache(Protocol):
    """Bytes in, bytes out, with a TTL per entry.

    Keys are built by callers and always start with a namespace and the caller's credential scope
    (see ``gateway.cache.key``), so invalidating one caller's entries is a prefix delete.
    """

    async def get(self, key: str) -> bytes | None:
        """The value, or ``None`` when absent or expired."""

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        """Store ``value`` for ``ttl`` seconds (a ``ttl`` of 0 or less stores nothing)."""

    async def delete(self, key: str) -> None:
        """Forget one key; absent keys are fine."""

    async def delete_prefix(self, prefix: str) -> int:
        """Forget every key starting with ``prefix``; returns how many were removed."""

    async def ping(self) -> bool:
        """Whether the backend is usable right now (for readiness)."""

    async def aclose(self) -> None:
        """Release connections."""


@runtime_checkable
class DistributedLocks(Protocol):
    """Short locks shared by every replica (Redis), for single flight across processes."""

    async def acquire_lock(self, key: str, ttl: float) -> str | None:
        """A token if now held; ``None`` if another holds it; ``""`` if locks are unavailable."""

    async def release_lock(self, key: str, token: str) -> None:
        """Release a lock this caller holds (a no-op once it expired or passed on)."""


class StoreUnavailable(Exception):
    """The store could not answer; the caller must not act as if it had."""


@runtime_checkable
class ReservationStore(Protocol):
    """Atomic reservations and counters whose failures are reported, never read as a miss.

    For what must not silently degrade (idempotency reservations, availability generations):
    every method raises ``StoreUnavailable`` when the backend cannot answer.
    """

    async def reserve(self, key: str, value: bytes, ttl: float) -> bytes | None:
        """Store ``value`` unless ``key`` exists; ``None`` if reserved now, else what is there."""

    async def replace(self, key: str, value: bytes, ttl: float) -> None:
        """Overwrite ``key`` (a reservation's outcome)."""

    async def discard(self, key: str) -> None:
        """Remove ``key`` (a reservation whose request was never sent)."""

    async def counter(self, key: str) -> int:
        """The counter's value (0 when never bumped)."""

    async def bump(self, key: str, ttl: float) -> int:
        """Add one to the counter, keep it at least ``ttl`` seconds, and return the new value."""
