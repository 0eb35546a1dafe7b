"""In-process cache backend: a bounded cachetools TLRU cache with a TTL per entry."""

from __future__ import annotations

import time
from typing import Any

from cachetools import TLRUCache

from ._base import StoreUnavailable


def _expires_at(_key: Any, value: tuple[float, bytes], _now: float) -> float:
    return value[0]


class MemoryCache:
    """Bounded (LRU beyond ``maxsize``) and per-process; the default backend.

    With ``evict=False`` (idempotency records) a full cache refuses new reservations with
    ``StoreUnavailable`` instead of evicting, as a ``noeviction`` Redis does: anyone can make
    a reservation (before VSee has seen the token), so evicting would let a stranger erase
    members' records and turn their retries into second writes.
    """

    def __init__(self, maxsize: int = 10_000, *, evict: bool = True) -> None:
        self._evict = evict
        self._data: TLRUCache[str, tuple[float, bytes]] = TLRUCache(
            maxsize=maxsize, ttu=_expires_at, timer=time.monotonic
        )
        self._counters: dict[str, int] = {}

    async def get(self, key: str) -> bytes | None:
        entry = self._data.get(key)
        return None if entry is None else entry[1]

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        if ttl <= 0:
            return
        self._data[key] = (time.monotonic() + ttl, value)

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)

    async def delete_prefix(self, prefix: str) -> int:
        doomed = [key for key in list(self._data.keys()) if key.startswith(prefix)]
        for key in doomed:
            self._data.pop(key, None)
        return len(doomed)

    async def reserve(self, key: str, value: bytes, ttl: float) -> bytes | None:
        # No await between the check and the store: atomic within the event loop.
        existing = self._data.get(key)
        if existing is not None:
            return existing[1]
        if not self._evict and len(self._data) >= self._data.maxsize:
            self._data.expire()
            if len(self._data) >= self._data.maxsize:
                raise StoreUnavailable("the in-memory reservation store is full")
        self._data[key] = (time.monotonic() + ttl, value)
        return None

    async def replace(self, key: str, value: bytes, ttl: float) -> None:
        self._data[key] = (time.monotonic() + ttl, value)

    async def discard(self, key: str) -> None:
        self._data.pop(key, None)

    async def counter(self, key: str) -> int:
        return self._counters.get(key, 0)

    async def bump(self, key: str, ttl: float) -> int:
        # Counters live outside the LRU: an evicted generation would bring stale entries back.
        # They grow only with accounts that completed a write through this process.
        value = self._counters.get(key, 0) + 1
        self._counters[key] = value
        return value

    async def ping(self) -> bool:
        return True

    async def aclose(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
