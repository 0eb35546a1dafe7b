"""In-process cache backend: a bounded cachetools TLRU cache with a TTL per entry."""

from __future__ import annotations

import time
from typing import Any

from cachetools import TLRUCache


def _expires_at(_key: Any, value: tuple[float, bytes], _now: float) -> float:
    return value[0]


class MemoryCache:
    """Bounded (LRU beyond ``maxsize``) and per-process; the default backend."""

    def __init__(self, maxsize: int = 10_000) -> None:
        self._data: TLRUCache[str, tuple[float, bytes]] = TLRUCache(
            maxsize=maxsize, ttu=_expires_at, timer=time.monotonic
        )

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

    async def ping(self) -> bool:
        return True

    async def aclose(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
