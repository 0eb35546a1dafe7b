"""Availability, cached briefly per credential scope, with one upstream call per burst."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from gateway.cache import (
    AsyncCache,
    DistributedLocks,
    ReservationStore,
    SingleFlight,
    StoreUnavailable,
)
from gateway.upstream import (
    Credentials,
    UpstreamClient,
    UpstreamTimeout,
    deadline_scope,
    remaining,
)

logger = logging.getLogger("gateway.availability")

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


def generation_key(credentials: Credentials) -> str:
    # Per account, not per credential scope: a booking by one caller frees or takes slots that
    # every caller of the account sees.
    return f"{NAMESPACE}-gen:{credentials.account_code}"


class CacheObserver(Protocol):
    def cache_lookup(self, cache: str, result: str) -> None: ...


class AvailabilityService:
    """Shared by all requests of a process; every key carries the caller's credential scope.

    Every key also carries the account's generation, bumped by each write through the gateway
    that changes slots: after a booking every caller of the account misses, no keyspace is
    scanned, and a fetch that started before the write is not cached after it.
    """

    def __init__(
        self,
        client: UpstreamClient,
        cache: AsyncCache,
        ttl: float,
        *,
        observer: CacheObserver | None = None,
    ) -> None:
        if not isinstance(cache, ReservationStore):
            raise TypeError("the availability cache must also keep counters (ReservationStore)")
        self._client = client
        self._cache = cache
        self._counters: ReservationStore = cache
        self._ttl = ttl
        self._observer = observer
        self._flight: SingleFlight[list[Mapping[str, Any]]] = SingleFlight()

    def _observe(self, result: str) -> None:
        if self._observer is not None:
            self._observer.cache_lookup("availability", result)

    async def _generation(self, credentials: Credentials) -> int | None:
        if self._ttl <= 0:
            return None
        try:
            return await self._counters.counter(generation_key(credentials))
        except StoreUnavailable:
            return None

    async def slots(
        self, credentials: Credentials, query: AvailabilityQuery
    ) -> list[Mapping[str, Any]]:
        generation = await self._generation(credentials)
        if generation is None:
            # No generation to key by (caching off, or its store is down): never cache.
            self._observe("miss")
            return await self._fetch(credentials, query)
        key = f"{scope_prefix(credentials)}g{generation}:{query.key_part()}"
        cached = await self._cache.get(key)
        if cached is not None:
            self._observe("hit")
            slots: list[Mapping[str, Any]] = orjson.loads(cached)
            return slots
        self._observe("miss")

        async def fetch_upstream() -> list[Mapping[str, Any]]:
            fresh = await self._fetch(credentials, query)
            # Cache only an answer no write has overtaken: a booking made while this fetch was
            # in flight bumped the generation, and this answer may predate it.
            if await self._generation(credentials) == generation:
                await self._cache.set(key, orjson.dumps(fresh), self._ttl)
            return fresh

        async def fetch() -> list[Mapping[str, Any]]:
            # Detached from the request that started it (see SingleFlight): its budget is
            # the upstream client's own timeouts, and each waiter keeps its own deadline.
            with deadline_scope(None):
                if isinstance(self._cache, DistributedLocks):
                    shared = await self._fetch_once_across_replicas(
                        key, self._cache, fetch_upstream
                    )
                    if shared is not None:
                        return shared
                return await fetch_upstream()

        try:
            # In-process single flight first; the Redis lock then spans replicas.
            return await self._flight.run(key, fetch, within=remaining())
        except TimeoutError:
            raise UpstreamTimeout(
                "the request ran out of time waiting for VSee's availability",
                endpoint="GET /availability",
            ) from None

    async def _fetch(
        self, credentials: Credentials, query: AvailabilityQuery
    ) -> list[Mapping[str, Any]]:
        envelope = await self._client.get(
            "/availability", credentials, endpoint="GET /availability", params=query.params()
        )
        data = envelope.data
        return [s for s in data if isinstance(s, dict)] if isinstance(data, list) else []

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
        """After a write that changes slots: every caller of the account misses from now on."""
        try:
            # Kept past any entry's TTL, so an expired counter can never revive old entries.
            await self._counters.bump(generation_key(credentials), max(2 * self._ttl, 60.0))
        except StoreUnavailable:
            # Reads cannot use the generation either while its store is down: nothing is cached.
            logger.warning("could not bump the availability generation; its store is down")
