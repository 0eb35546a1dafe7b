"""Availability, cached briefly per credential scope, with one upstream call per burst."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from gateway.cache import AsyncCache, SingleFlight
from gateway.upstream import Credentials, UpstreamClient

NAMESPACE = "avail"


@dataclass(frozen=True, slots=True)
class AvailabilityQuery:
    """The upstream's parameters, normalised so equal questions make equal cache keys."""

    start: int
    end: int
    duration: int = 15
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

        async def fetch() -> list[Mapping[str, Any]]:
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

        return await self._flight.run(key, fetch)

    async def invalidate(self, credentials: Credentials) -> None:
        """Forget this scope's answers after a write that changes availability."""
        await self._cache.delete_prefix(scope_prefix(credentials))
