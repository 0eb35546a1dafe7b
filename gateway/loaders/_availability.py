"""Availability, cached briefly per credential scope, with one upstream call per burst."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from gateway.cache import AsyncCache, DistributedLocks, SingleFlight
from gateway.upstream import Credentials, UpstreamClient

NAMESPACE = "avail"
# Cross-replica single flight: hold the lock no longer than one upstream call may take, and
# wait for another replica's answer only briefly before fetching independently.
LOCK_TTL = 10.0
LOCK_WAIT = 3.0
LOCK_POLL = 0.05


@dataclass(frozen=True, slots=True)
class AvailabilityQuery:
    """The upstream's parameters, normalised so equal questions make equal cache keys."""

    start: int
    end: int
    # Sent only when the caller gives one: VSee then uses the consultation's own length.
    duration: int | None = None
    member_id: str | None = None
    provider_id: str | None = None
    room_code: str | None = None
    consultation_id: str | None = None
    intake_id: str | None = None

    def params(self) -> dict[str, str | int | None]:
        return {
            "start": self.start,
            "end": self.end,
            "duration": self.duration,
            "member_id": self.member_id,
            "provider_id": self.provider_id,
            "room_code": self.room_code,
            "consultation_id": self.consultation_id,
            "intake_id": self.intake_id,
        }

    def key_part(self) -> str:
        return "&".join(f"{k}={v}" for k, v in sorted(self.params().items()) if v is not None)


def scope_prefix(credentials: Credentials) -> str:
    return f"{NAMESPACE}:{credentials.scope}:"


class CacheObserver(Protocol):
    def cache_lookup(self, cache: str, result: str) -> None: ...


class AvailabilityService:
    """Shared by all requests of a process; every key carries the caller's credential scope."""

    def __init__(
        self,
        client: UpstreamClient,
        cache: AsyncCache,
        ttl: float,
        *,
        observer: CacheObserver | None = None,
    ) -> None:
        self._client = client
        self._cache = cache
        self._ttl = ttl
        self._observer = observer
        self._flight: SingleFlight[list[Mapping[str, Any]]] = SingleFlight()

    def _observe(self, result: str) -> None:
        if self._observer is not None:
            self._observer.cache_lookup("availability", result)

    async def slots(
        self, credentials: Credentials, query: AvailabilityQuery
    ) -> list[Mapping[str, Any]]:
        key = scope_prefix(credentials) + query.key_part()
        cached = await self._cache.get(key)
        if cached is not None:
            self._observe("hit")
            slots: list[Mapping[str, Any]] = orjson.loads(cached)
            return slots
        self._observe("miss")

        async def fetch_upstream() -> list[Mapping[str, Any]]:
            envelope = await self._client.get(
                "/availability", credentials, endpoint="GET /availability", params=query.params()
            )
            data = envelope.data
            fresh: list[Mapping[str, Any]] = (
                [s for s in data if isinstance(s, dict)] if isinstance(data, list) else []
            )
            # Only a successful answer reaches the cache: failures propagate and are retried.
            await self._cache.set(key, orjson.dumps(fresh), self._ttl)
            return fresh

        async def fetch() -> list[Mapping[str, Any]]:
            if isinstance(self._cache, DistributedLocks) and self._ttl > 0:
                shared = await self._fetch_once_across_replicas(key, self._cache, fetch_upstream)
                if shared is not None:
                    return shared
            return await fetch_upstream()

        # In-process single flight first; the Redis lock then spans replicas.
        return await self._flight.run(key, fetch)

    async def _fetch_once_across_replicas(
        self,
        key: str,
        locks: DistributedLocks,
        fetch_upstream: Callable[[], Awaitable[list[Mapping[str, Any]]]],
    ) -> list[Mapping[str, Any]] | None:
        """Fetch under a short shared lock; if another replica holds it, wait for its answer.

        The wait is bounded: past it (or if the holder failed) this replica fetches itself, so
        a crashed holder costs at most ``LOCK_WAIT`` seconds, never a failed query.
        """
        token = await locks.acquire_lock(key, LOCK_TTL)
        if token is None:
            waited = 0.0
            while waited < LOCK_WAIT:
                await asyncio.sleep(LOCK_POLL)
                waited += LOCK_POLL
                cached = await self._cache.get(key)
                if cached is not None:
                    self._observe("hit")
                    slots: list[Mapping[str, Any]] = orjson.loads(cached)
                    return slots
            return None
        try:
            return await fetch_upstream()
        finally:
            if token:
                await locks.release_lock(key, token)

    async def invalidate(self, credentials: Credentials) -> None:
        """Forget this scope's answers after a write that changes availability."""
        await self._cache.delete_prefix(scope_prefix(credentials))
